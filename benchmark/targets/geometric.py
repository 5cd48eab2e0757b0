from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from scipy import stats

from randbench.targets.base import DiscreteUnboundedTarget, register_target


@register_target("geometric")
class Geometric(DiscreteUnboundedTarget):
    """Trials up to and including the first success (``start: 1``), or failures before it (0)."""

    p: float = Field(gt=0.0, le=1.0)
    start: Literal[0, 1] = 1

    def scipy_dist(self) -> Any:
        return stats.geom(self.p, loc=self.start - 1)
