from __future__ import annotations

from typing import Any

from pydantic import Field
from scipy import stats

from randbench.targets.base import ContinuousTarget, register_target


@register_target("exponential")
class Exponential(ContinuousTarget):
    """Waiting time at ``rate`` events per unit (mean 1/rate)."""

    rate: float = Field(gt=0.0)

    def scipy_dist(self) -> Any:
        return stats.expon(loc=0.0, scale=1.0 / self.rate)
