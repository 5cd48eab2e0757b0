"""``text``: the whole answer, stripped (open-ended tasks).

Complete reasoning blocks (``<think>..</think>``) are removed and surrounding whitespace
stripped; nothing else changes. An empty answer is invalid. ``format`` prints the text.
"""

from __future__ import annotations

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers._text import drop_reasoning
from randbench.parsers.base import Parser, register_parser
from randbench.targets.base import Target


@register_parser("text")
class TextParser(Parser):
    """The whole answer."""

    value_kinds = frozenset({ValueKind.TEXT})

    def parse(self, text: str, target: Target) -> ParseResult:
        answer = drop_reasoning(text).strip()
        if not answer:
            return ParseResult.invalid("empty answer")
        return ParseResult.ok(answer)

    def format(self, value: Outcome, target: Target) -> str:
        return str(value)
