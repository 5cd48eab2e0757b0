from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import field_validator

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import FiniteTarget, register_target, reject_booleans

SUM_TOLERANCE = 1e-6


@register_target("categorical")
class Categorical(FiniteTarget):
    """Explicit outcomes with weights summing to 1 (labels, or integers such as loaded dice)."""

    value_kind = ValueKind.LABEL
    weights: dict[int | str, float]

    @field_validator("weights", mode="before")
    @classmethod
    def _no_booleans(cls, weights: Any) -> Any:
        if isinstance(weights, dict):
            reject_booleans(weights)
        return weights

    @field_validator("weights")
    @classmethod
    def _a_distribution(cls, weights: dict[int | str, float]) -> dict[int | str, float]:
        if len(weights) < 1:
            raise ValueError("give at least one outcome with its weight")
        not_finite = [k for k, w in weights.items() if not math.isfinite(w)]
        if not_finite:
            raise ValueError(f"weights must be finite numbers: {not_finite}")
        negative = [k for k, w in weights.items() if w < 0]
        if negative:
            raise ValueError(f"weights must not be negative: {negative}")
        if {type(k) for k in weights} == {int, str}:
            raise ValueError("outcomes must be all labels or all integers, not a mix")
        total = math.fsum(weights.values())
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise ValueError(f"weights sum to {total:.6g}, expected 1")
        return weights

    def kind(self) -> ValueKind:
        first = next(iter(self.weights))
        return ValueKind.INTEGER if isinstance(first, int) else ValueKind.LABEL

    def support(self) -> list[Outcome]:
        return list(self.weights)

    def probabilities(self) -> np.ndarray:
        p = np.asarray(list(self.weights.values()), dtype=float)
        return np.asarray(p / p.sum(), dtype=float)
