from __future__ import annotations

import numpy as np

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import Analysis, FiniteTarget, register_target


@register_target("point_mass")
class PointMass(FiniteTarget):
    """One right answer: a deterministic control (a die with 6 on every face, 2+2)."""

    analysis = Analysis.POINT_MASS
    value_kind = ValueKind.LABEL
    value: int | float | str

    def kind(self) -> ValueKind:
        if isinstance(self.value, bool | str):
            return ValueKind.LABEL
        return ValueKind.INTEGER if isinstance(self.value, int) else ValueKind.REAL

    def support(self) -> list[Outcome]:
        return [self.value]

    def probabilities(self) -> np.ndarray:
        return np.ones(1)
