from __future__ import annotations

from typing import Any

from pydantic import model_validator
from scipy import stats

from randbench.targets.base import ContinuousTarget, register_target


@register_target("uniform_real")
class UniformReal(ContinuousTarget):
    """Every real number from ``low`` to ``high`` equally likely."""

    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> UniformReal:
        if self.high <= self.low:
            raise ValueError(f"high ({self.high}) must be > low ({self.low})")
        return self

    def scipy_dist(self) -> Any:
        return stats.uniform(loc=self.low, scale=self.high - self.low)
