"""``subset``: ``k`` distinct items of the target, order ignored.

Items are read as for ``permutation``; the value is a tuple in the target's item order
(so ``cherry, apple`` and ``apple, cherry`` are the same outcome). Problems:
``unknown item: 'kiwi'``, ``repeated item: 'apple'``, ``expected 3 items, got 2``.

``format`` joins the items, in the target's order, with ``separator`` (default ``", "``).
"""

from __future__ import annotations

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers.base import register_parser
from randbench.parsers.permutation import ItemsParser, join_items, target_items
from randbench.targets.base import Target


def subset_size(target: Target) -> int | None:
    k = getattr(target, "k", None)
    if isinstance(k, int):
        return k
    try:
        support = target.support()
    except Exception:
        return None
    sizes = {len(v) for v in support or [] if isinstance(v, tuple)}
    return sizes.pop() if len(sizes) == 1 else None


@register_parser("subset")
class SubsetParser(ItemsParser):
    """``k`` distinct items of the target, in any order."""

    value_kinds = frozenset({ValueKind.SUBSET})

    def parse(self, text: str, target: Target) -> ParseResult:
        read = self.read(text, target)
        if isinstance(read, ParseResult):
            return read
        items, found, problems = read
        k = subset_size(target)
        distinct = set(found)
        if k is not None and len(distinct) != k:
            problems.append(f"expected {k} items, got {len(distinct)}")
        if problems:
            return ParseResult.invalid("; ".join(problems))
        return ParseResult.ok(tuple(x for x in items if x in distinct))

    def format(self, value: Outcome, target: Target) -> str:
        items = target_items(target) or []
        if isinstance(value, tuple):
            order = {x: i for i, x in enumerate(items)}
            value = tuple(sorted(value, key=lambda x: order.get(x, len(order))))
        return join_items(value, self.separator)
