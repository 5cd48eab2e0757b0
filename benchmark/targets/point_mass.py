from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import field_validator

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import Analysis, FiniteTarget, register_target, reject_booleans


@register_target("point_mass")
class PointMass(FiniteTarget):
    """One right answer: a deterministic control (a die with 6 on every face, 2+2).

    Judged as a point mass (accuracy), yet a finite target all the same: support
    ``[value]``, probabilities ``[1]``. The value kind follows the value's type.
    """

    analysis = Analysis.POINT_MASS
    value_kind = ValueKind.LABEL
    value: int | float | str

    @field_validator("value", mode="before")
    @classmethod
    def _no_boolean(cls, value: Any) -> Any:
        reject_booleans(value, "value")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"value must be a finite number, got {value}")
        return value

    def kind(self) -> ValueKind:
        if isinstance(self.value, str):
            return ValueKind.LABEL
        return ValueKind.INTEGER if isinstance(self.value, int) else ValueKind.REAL

    def support(self) -> list[Outcome]:
        return [self.value]

    def probabilities(self) -> np.ndarray:
        return np.ones(1)
