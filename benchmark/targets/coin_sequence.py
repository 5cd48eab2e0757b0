from __future__ import annotations

import itertools
import math

import numpy as np
from pydantic import Field, field_validator

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import (
    Analysis,
    TargetSummary,
    UniformStructuredTarget,
    register_target,
    reject_booleans,
)


@register_target("coin_sequence")
class CoinSequence(UniformStructuredTarget):
    """``length`` i.i.d. flips, the first symbol with probability ``p``; a tuple of symbols."""

    analysis = Analysis.COIN_SEQUENCE
    value_kind = ValueKind.SEQUENCE
    length: int = Field(ge=1, le=100_000)
    p: float = Field(default=0.5, ge=0.0, le=1.0)
    symbols: list[str] = Field(default_factory=lambda: ["H", "T"])

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols_are_text(cls, symbols: object) -> object:
        """``[0, 1]`` in YAML means the symbols "0" and "1"."""
        if not isinstance(symbols, list | tuple):
            return symbols
        reject_booleans(symbols, "symbol")
        return [str(s) for s in symbols]

    @field_validator("symbols")
    @classmethod
    def _two_symbols(cls, symbols: list[str]) -> list[str]:
        if len(symbols) != 2 or symbols[0] == symbols[1] or not all(symbols):
            raise ValueError(f"give two distinct non-empty symbols, got {symbols}")
        return symbols

    def count(self) -> int:
        return int(2**self.length)

    def enumerate(self) -> list[Outcome]:
        return list(itertools.product(self.symbols, repeat=self.length))

    def probabilities(self) -> np.ndarray:
        support = self.support()
        if support is None:
            raise NotImplementedError(f"2^{self.length} sequences are too many to enumerate")
        return np.exp([self.log_pmf(s) for s in support])

    def log_pmf(self, value: Outcome) -> float:
        if not self.contains(value):
            return -math.inf
        assert isinstance(value, tuple)
        heads = sum(1 for s in value if s == self.symbols[0])
        return _xlogy(heads, self.p) + _xlogy(self.length - heads, 1 - self.p)

    def contains(self, value: Outcome) -> bool:
        return (
            isinstance(value, tuple)
            and len(value) == self.length
            and all(s in self.symbols for s in value)
        )

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        first = rng.random((n, self.length)) < self.p
        return [tuple(self.symbols[0] if f else self.symbols[1] for f in row) for row in first]

    def summary(self) -> TargetSummary:
        per_flip = -sum(q * math.log(q) for q in (self.p, 1 - self.p) if q > 0) + 0.0
        return TargetSummary(support_size=self.count(), entropy=self.length * per_flip)


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y) if y > 0 else -math.inf
