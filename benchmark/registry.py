"""A name -> class registry filled by a decorator, one per pluggable kind.

Adding a target, a parser, a backend or an elicitation method is one file with
one ``@REGISTRY.register("name")`` line; the registry is what the task schema
and the CLI consult, so nothing else needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """A name that no plug-in registered; the message lists the known ones."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = known
        super().__init__(f"unknown {kind} {name!r}; expected one of: {', '.join(known)}")

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[T]):
    """Plug-ins of one kind, by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return decorate

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.names()) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def import_plugins(package: str, path: Iterable[str]) -> None:
    """Import every module of a plug-in package (but ``base``), so that their decorators run:
    adding a plug-in is then one new file."""
    for module in pkgutil.iter_modules(path):
        if module.name != "base":
            importlib.import_module(f"{package}.{module.name}")


def import_entry_points(group: str, registry: Registry[T]) -> dict[str, str]:
    """Plug-ins of other distributions: each entry point of ``group`` names a module, whose
    decorators register what it holds, or an object, registered under the entry point's
    name (``[project.entry-points."randbench.backends"] mine = "my_pkg.backend:MyBackend"``).
    An entry point whose name is registered already is left alone: randbench's own win.
    Returns the entry points that did not import: name -> what went wrong."""
    from importlib.metadata import entry_points

    failed = {}
    for point in entry_points(group=group):
        if point.name in registry:
            continue
        try:
            loaded = point.load()
        except Exception as error:  # a stranger's import may raise anything
            source = point.dist.name if point.dist else "an installed distribution"
            failed[point.name] = (
                f"{registry.kind} plug-in {point.name!r} ({point.value}) from {source} "
                f"does not import: {type(error).__name__}: {error}"
            )
            continue
        if not isinstance(loaded, ModuleType) and point.name not in registry:
            registry.register(point.name)(loaded)
    return failed
