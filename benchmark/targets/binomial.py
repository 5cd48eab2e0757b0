from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy import stats

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import FiniteTarget, register_target


@register_target("binomial")
class Binomial(FiniteTarget):
    """The number of successes in ``n`` independent trials of probability ``p``."""

    value_kind = ValueKind.INTEGER
    n: int = Field(ge=1, le=100_000)
    p: float = Field(ge=0.0, le=1.0)

    def support(self) -> list[Outcome]:
        return list(range(self.n + 1))

    def probabilities(self) -> np.ndarray:
        return np.asarray(stats.binom.pmf(np.arange(self.n + 1), self.n, self.p), dtype=float)
