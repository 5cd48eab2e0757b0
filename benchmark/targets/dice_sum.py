from __future__ import annotations

from functools import cached_property

import numpy as np
from pydantic import Field

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import FiniteTarget, register_target


@register_target("dice_sum")
class DiceSum(FiniteTarget):
    """The sum of ``dice`` fair dice with ``sides`` faces each (NdM), exact pmf by convolution."""

    value_kind = ValueKind.INTEGER
    dice: int = Field(ge=1, le=100)
    sides: int = Field(ge=2, le=1000)

    def support(self) -> list[Outcome]:
        return list(range(self.dice, self.dice * self.sides + 1))

    def probabilities(self) -> np.ndarray:
        return self._pmf.copy()

    @cached_property
    def _pmf(self) -> np.ndarray:
        one = np.full(self.sides, 1.0 / self.sides)
        pmf = np.ones(1)
        for _ in range(self.dice):
            pmf = np.convolve(pmf, one)
        return np.asarray(pmf / pmf.sum(), dtype=float)

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        rolls = rng.integers(1, self.sides + 1, size=(n, self.dice))
        return [int(v) for v in rolls.sum(axis=1)]
