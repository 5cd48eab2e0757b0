"""``permutation``: every item of the target exactly once, in the order given.

Items are read as described in :mod:`randbench.parsers._items` (JSON lists, comma or
line-separated lists, ``3 1 2``, ``BAC``, chatter around them). Problems are reported in a fixed
order, each naming the items: ``unknown item: 'kiwi'``, ``repeated item: 'apple'``,
``missing item: 'cherry'`` (several joined with ``;``).

``format`` joins the items with ``separator`` (default ``", "``).
"""

from __future__ import annotations

from collections import Counter

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers._items import read_items
from randbench.parsers._text import shorten
from randbench.parsers.base import Parser, register_parser
from randbench.targets.base import Target


def target_items(target: Target) -> list[Outcome] | None:
    """The target's items: its ``items`` field, else the elements of a tuple support."""
    items = getattr(target, "items", None)
    if items is None:
        try:
            support = target.support()
        except Exception:
            support = None
        tuples = [v for v in support or [] if isinstance(v, tuple)]
        if not tuples:
            return None
        items = list(dict.fromkeys(x for t in tuples for x in t))
    return list(items)


def _names(values: list[object]) -> str:
    shown = ", ".join(shorten(v, 30) for v in values[:5])
    return shown + (f" (and {len(values) - 5} more)" if len(values) > 5 else "")


def item_problems(
    found: list[Outcome], unknown: list[str], items: list[Outcome], repeats: bool = True
) -> list[str]:
    """Reasons for unknown and repeated items, in that order (empty when there are none)."""
    problems = []
    if unknown:
        word = "items" if len(unknown) > 1 else "item"
        problems.append(f"unknown {word}: {_names(list(unknown))}")
    counts = Counter(found)
    repeated = [x for x in items if counts[x] > 1]
    if repeats and repeated:
        word = "items" if len(repeated) > 1 else "item"
        problems.append(f"repeated {word}: {_names(list(repeated))}")
    return problems


def join_items(value: Outcome, separator: str) -> str:
    if isinstance(value, tuple):
        return separator.join(str(x) for x in value)
    return str(value)


class ItemsParser(Parser):
    """Shared by ``permutation`` and ``subset``: items of the target, read from a list."""

    separator: str = ", "
    """Between items in the canonical answer text (parsing accepts any separator)."""

    def check_fits(self, target: Target) -> str | None:
        misfit = super().check_fits(target)
        if misfit is None and not target_items(target):
            kind = next(iter(self.value_kinds)).value
            return f"parser {kind} needs a target with items"
        return misfit

    def read(
        self, text: str, target: Target
    ) -> tuple[list[Outcome], list[Outcome], list[str]] | ParseResult:
        """(the target's items, the items found in order, problems so far) or an invalid result."""
        items = target_items(target)
        if not items:
            return ParseResult.invalid("the target has no items")
        read = read_items(text, items)
        if isinstance(read, str):
            return ParseResult.invalid(read)
        found, unknown = read
        return items, found, item_problems(found, unknown, items)


@register_parser("permutation")
class PermutationParser(ItemsParser):
    """Every item of the target exactly once."""

    value_kinds = frozenset({ValueKind.PERMUTATION})

    def parse(self, text: str, target: Target) -> ParseResult:
        read = self.read(text, target)
        if isinstance(read, ParseResult):
            return read
        items, found, problems = read
        missing = [x for x in items if x not in set(found)]
        if missing:
            word = "items" if len(missing) > 1 else "item"
            problems.append(f"missing {word}: {_names(list(missing))}")
        if problems:
            return ParseResult.invalid("; ".join(problems))
        return ParseResult.ok(tuple(found))

    def format(self, value: Outcome, target: Target) -> str:
        return join_items(value, self.separator)
