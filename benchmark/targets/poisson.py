from __future__ import annotations

from typing import Any

from pydantic import Field
from scipy import stats

from randbench.targets.base import DiscreteUnboundedTarget, register_target


@register_target("poisson")
class Poisson(DiscreteUnboundedTarget):
    """The number of events at ``rate`` per unit."""

    rate: float = Field(gt=0.0, le=1e6)

    def scipy_dist(self) -> Any:
        return stats.poisson(mu=self.rate, loc=0)
