"""How many marks a Poisson process inserts between the words of a text, at most one per gap."""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field
from scipy import stats

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import FiniteTarget, register_target


@register_target("poisson_insertions")
class PoissonInsertions(FiniteTarget):
    """The number of gaps, of the ``words - 1`` between words, that get a mark.

    Marks arrive in each gap as a Poisson process of ``rate`` per gap; with at most one
    mark written per gap, a gap is marked with probability 1 - e^(-rate), independently,
    so the count is Binomial(words - 1, 1 - e^(-rate)) (Gupta et al.'s Poisson task).
    """

    value_kind = ValueKind.INTEGER
    words: int = Field(ge=2, le=10_000)
    rate: float = Field(gt=0.0, le=50.0)

    @property
    def gap_probability(self) -> float:
        return -math.expm1(-self.rate)

    def support(self) -> list[Outcome]:
        return list(range(self.words))

    def probabilities(self) -> np.ndarray:
        gaps = self.words - 1
        pmf = stats.binom.pmf(np.arange(gaps + 1), gaps, self.gap_probability)
        return np.asarray(pmf, dtype=float)
