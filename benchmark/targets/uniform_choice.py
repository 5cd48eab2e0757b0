from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import field_validator

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import FiniteTarget, register_target, reject_booleans


@register_target("uniform_choice")
class UniformChoice(FiniteTarget):
    """One label from a list, each equally likely."""

    value_kind = ValueKind.LABEL
    choices: list[str]

    @field_validator("choices", mode="before")
    @classmethod
    def _no_booleans(cls, choices: Any) -> Any:
        if isinstance(choices, list):
            reject_booleans(choices, "choice")
        return choices

    @field_validator("choices")
    @classmethod
    def _distinct(cls, choices: list[str]) -> list[str]:
        if not choices:
            raise ValueError("give at least one choice")
        repeated = sorted({c for c in choices if choices.count(c) > 1})
        if repeated:
            raise ValueError(f"choices must be distinct; repeated: {repeated}")
        return choices

    def support(self) -> list[Outcome]:
        return list(self.choices)

    def probabilities(self) -> np.ndarray:
        return np.full(len(self.choices), 1.0 / len(self.choices))
