from __future__ import annotations

import numpy as np
from pydantic import model_validator

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import FiniteTarget, register_target


@register_target("uniform_int")
class UniformInt(FiniteTarget):
    """Every integer from ``low`` to ``high`` inclusive, equally likely."""

    value_kind = ValueKind.INTEGER
    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self) -> UniformInt:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def support(self) -> list[Outcome]:
        return list(range(self.low, self.high + 1))

    def probabilities(self) -> np.ndarray:
        k = self.high - self.low + 1
        return np.full(k, 1.0 / k)
