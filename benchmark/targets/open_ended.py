from __future__ import annotations

import math

import numpy as np

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import Analysis, Target, TargetSummary, register_target


@register_target("open_ended")
class OpenEnded(Target):
    """No target distribution (stories, names): only diversity is measured."""

    analysis = Analysis.OPEN_ENDED
    value_kind = ValueKind.TEXT

    def contains(self, value: Outcome) -> bool:
        return isinstance(value, str)

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        raise NotImplementedError("an open-ended task has no target distribution to sample from")

    def summary(self) -> TargetSummary:
        return TargetSummary(support_size=math.inf)
