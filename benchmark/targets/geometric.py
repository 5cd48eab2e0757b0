from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field
from scipy import stats

from randbench.targets.base import DiscreteUnboundedTarget, TargetSummary, register_target


@register_target("geometric")
class Geometric(DiscreteUnboundedTarget):
    """Trials up to and including the first success (``start: 1``), or failures before it (0)."""

    p: float = Field(gt=0.0, le=1.0)
    start: Literal[0, 1] = 1

    def scipy_dist(self) -> Any:
        return stats.geom(p=self.p, loc=self.start - 1)

    def summary(self) -> TargetSummary:
        """Closed forms (scipy's entropy is NaN at ``p = 1``, where the answer is certain)."""
        p, q = self.p, 1.0 - self.p
        entropy = -sum(x * math.log(x) for x in (p, q) if x > 0) / p + 0.0
        return TargetSummary(
            support_size=math.inf, mean=self.start + q / p, variance=q / p**2, entropy=entropy
        )
