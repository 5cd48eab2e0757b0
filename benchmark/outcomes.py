"""What a parsed answer is: a value the target can judge, or an invalid outcome with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

Outcome = int | float | str | tuple[Any, ...]
"""A parsed answer. Sequences, permutations and subsets are tuples (subsets sorted)."""


class ValueKind(str, Enum):
    """What kind of value a parser produces and a target judges; the two must agree."""

    INTEGER = "integer"
    REAL = "real"
    LABEL = "label"
    SEQUENCE = "sequence"
    PERMUTATION = "permutation"
    SUBSET = "subset"
    STRING = "string"
    TEXT = "text"
    VERBALIZED = "verbalized"


@dataclass(frozen=True)
class ParseResult:
    """One model answer after parsing: exactly one of ``value`` and ``invalid_reason`` is set."""

    value: Outcome | None = None
    invalid_reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.invalid_reason is None

    @classmethod
    def ok(cls, value: Outcome) -> ParseResult:
        return cls(value=value)

    @classmethod
    def invalid(cls, reason: str) -> ParseResult:
        return cls(invalid_reason=reason)
