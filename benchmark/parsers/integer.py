from __future__ import annotations

import re

from randbench.outcomes import ParseResult, ValueKind
from randbench.parsers.base import Parser, register_parser
from randbench.targets.base import Target

_INTEGER = re.compile(r"(?<![\w.])[-+]?\d+(?![\w.]*\d)")


@register_parser("integer")
class IntegerParser(Parser):
    """The single integer in the answer; none or several different ones is invalid."""

    value_kinds = frozenset({ValueKind.INTEGER})

    def parse(self, text: str, target: Target) -> ParseResult:
        found = {int(m) for m in _INTEGER.findall(text)}
        if not found:
            return ParseResult.invalid("no integer in the answer")
        if len(found) > 1:
            return ParseResult.invalid(f"several integers in the answer: {sorted(found)}")
        return ParseResult.ok(found.pop())
