"""``count``: how many times a mark occurs in the answer (a rewritten text, say).

Options: ``of`` (the mark, e.g. ``"*"``). Occurrences are counted without overlap; reasoning
blocks and code fences are not removed (the mark may be any character). An answer with no
words (empty, or marks only) is invalid. The value is a count, not a text the model would
write, so logprob mode cannot score these tasks.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers.base import Parser, register_parser
from randbench.targets.base import Target


@register_parser("count")
class Count(Parser):
    value_kinds: ClassVar[frozenset[ValueKind]] = frozenset({ValueKind.INTEGER})
    scorable: ClassVar[bool] = False
    of: str = Field(min_length=1)

    def parse(self, text: str, target: Target) -> ParseResult:
        if not any(c.isalnum() for c in text.replace(self.of, "")):
            return ParseResult(invalid_reason="no words in the answer")
        return ParseResult(value=text.count(self.of))

    def format(self, value: Outcome, target: Target) -> str:
        """Words with ``value`` marks between them (``w * w * w`` for 2)."""
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"count: {value!r} is not a count")
        return "w" + f" {self.of} w" * value
