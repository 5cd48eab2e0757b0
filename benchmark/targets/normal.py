from __future__ import annotations

from typing import Any

from pydantic import Field
from scipy import stats

from randbench.targets.base import ContinuousTarget, register_target


@register_target("normal")
class Normal(ContinuousTarget):
    """Gaussian with ``mean`` and standard deviation ``sd``."""

    mean: float = 0.0
    sd: float = Field(gt=0.0)

    def scipy_dist(self) -> Any:
        return stats.norm(loc=self.mean, scale=self.sd)
