"""Build a registered plug-in (target or parser) from its YAML spec.

Targets and parsers share one spec shape: a name, or a one-key mapping from the
name to its options (``integer`` / ``{uniform_int: {low: 1, high: 6}}``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from randbench.registry import Registry

P = TypeVar("P", bound=BaseModel)

PluginSpec = str | dict[str, dict[str, Any] | None]


class PluginError(ValueError):
    """A spec that does not build: each problem is (field path below the spec, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m in problems))


def spec_name(spec: str | Mapping[str, Any]) -> str:
    return spec if isinstance(spec, str) else next(iter(spec))


def canonical_spec(spec: PluginSpec) -> dict[str, dict[str, Any]]:
    """``uuid4`` and ``{uuid4: {}}`` are one spec: the form hashed into a task's identity."""
    if isinstance(spec, str):
        return {spec: {}}
    return {name: dict(options or {}) for name, options in spec.items()}


def build_plugin(registry: Registry[type[P]], spec: PluginSpec) -> P:
    """Instantiate the plug-in that ``spec`` names, or raise :class:`PluginError`."""
    if isinstance(spec, dict) and len(spec) != 1:
        raise PluginError([("", f"expected one {registry.kind} name, got {len(spec)}")])
    name = spec_name(spec)
    if name not in registry:
        raise PluginError([("", unknown_name_message(registry.kind, name, registry.names()))])
    options = spec.get(name) if isinstance(spec, dict) else None
    if options is not None and not isinstance(options, dict):
        raise PluginError([(name, f"expected a mapping of options, got {type(options).__name__}")])
    cls = registry.get(name)
    try:
        return cls.model_validate(options or {})
    except ValidationError as error:
        raise PluginError(
            [
                (
                    ".".join(str(part) for part in (name, *e["loc"])),
                    describe_validation_error(e, cls.model_fields),
                )
                for e in error.errors()
            ]
        ) from None


def unknown_name_message(kind: str, name: str, known: Sequence[str]) -> str:
    """``unknown target 'unifrom_int' (did you mean 'uniform_int'?); expected one of: ...``."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}; expected one of: {', '.join(known)}"


def describe_validation_error(error: Any, fields: Iterable[str]) -> str:
    """Pydantic's message for one error, reworded where the default confuses task authors."""
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        known = sorted(fields)
        if not known:
            return f"unknown field {name!r}; this takes no options"
        return unknown_name_message("field", name, known)
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if "input" in error and kind not in ("value_error", "assertion_error"):
        message += f" (got {error['input']!r})"
    return message
