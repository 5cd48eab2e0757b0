"""``real``: the single number in the answer, as a float.

Numbers may carry a sign, decimals (``.5``, ``3.``), scientific notation (``1.2e-3``,
``6.02E23``) and ``1,234.5``-style thousands separators; as for ``integer``, exactly one
distinct value must appear (a bold span breaks a tie), and non-finite values are invalid.

``format`` prints the value with the target's ``decimals`` when it has them
(``decimals: 2`` -> ``3.14``), otherwise the shortest text that reads back exactly.
"""

from __future__ import annotations

import math
import re

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers._text import bold, plain
from randbench.parsers.base import Parser, register_parser
from randbench.parsers.integer import pick_one
from randbench.targets.base import Target

_NUMBER = re.compile(
    r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)"
    r"(?:[eE][-+\u2212]?\d+)?(?!\w*\d|\.\d)"
)


def numbers(text: str) -> list[float] | str:
    """The distinct finite numbers in ``text`` in order, or why one is unreadable."""
    found: dict[float, None] = {}
    for m in _NUMBER.finditer(text):
        token = m.group(0).replace(",", "").replace("\u2212", "-")
        value = float(token)
        if not math.isfinite(value):
            return f"not a finite number: {token[:20]}"
        found[value] = None
    return list(found)


@register_parser("real")
class RealParser(Parser):
    """The single real number in the answer."""

    value_kinds = frozenset({ValueKind.REAL})

    def parse(self, text: str, target: Target) -> ParseResult:
        found = numbers(plain(text))
        if isinstance(found, str):
            return ParseResult.invalid(found)
        strong = numbers(bold(text))
        return pick_one(
            list(found), None if isinstance(strong, str) else list(strong), "number", "numbers"
        )

    def format(self, value: Outcome, target: Target) -> str:
        decimals = getattr(target, "decimals", None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(decimals, int) and decimals >= 0:
                return f"{float(value):.{decimals}f}"
            return repr(float(value))
        return str(value)
