from __future__ import annotations

import itertools
import math

import numpy as np
from pydantic import Field, field_validator, model_validator

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import Analysis, UniformStructuredTarget, register_target
from randbench.targets.permutation import distinct_items, no_boolean_items


@register_target("subset")
class Subset(UniformStructuredTarget):
    """Every ``k``-subset of ``items`` equally likely; outcome: the chosen items in item order."""

    analysis = Analysis.SUBSET
    value_kind = ValueKind.SUBSET
    items: list[str | int]
    k: int = Field(ge=1)

    _no_booleans = field_validator("items", mode="before")(no_boolean_items)
    _distinct = field_validator("items")(distinct_items)

    @model_validator(mode="after")
    def _k_fits(self) -> Subset:
        if self.k > len(self.items):
            raise ValueError(
                f"k ({self.k}) must be at most the number of items ({len(self.items)})"
            )
        return self

    def count(self) -> int:
        return math.comb(len(self.items), self.k)

    def enumerate(self) -> list[Outcome]:
        return list(itertools.combinations(self.items, self.k))

    def contains(self, value: Outcome) -> bool:
        if not isinstance(value, tuple) or len(value) != self.k:
            return False
        position = {item: i for i, item in enumerate(self.items)}
        try:
            indices = [position.get(v, -1) for v in value]
        except TypeError:  # an unhashable element is no item
            return False
        return -1 not in indices and indices == sorted(set(indices))

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        keys = rng.random((n, len(self.items)))
        chosen = np.sort(np.argsort(keys, axis=1)[:, : self.k], axis=1)
        return [tuple(self.items[i] for i in row) for row in chosen]
