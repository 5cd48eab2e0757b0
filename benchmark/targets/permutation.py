from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from pydantic import field_validator

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import (
    Analysis,
    UniformStructuredTarget,
    register_target,
    reject_booleans,
)


def no_boolean_items(items: Any) -> Any:
    """Before validation: unquoted YAML yes/no/true/false are booleans, not items."""
    if isinstance(items, list | tuple):
        reject_booleans(items, "item")
    return items


def distinct_items(items: list[str | int]) -> list[str | int]:
    """Items must be distinct: a repeated item makes orders indistinguishable."""
    if len(items) < 2:
        raise ValueError(f"give at least 2 items, got {len(items)}")
    repeated = sorted({str(i) for i in items if items.count(i) > 1})
    if repeated:
        raise ValueError(f"items must be distinct; repeated: {repeated}")
    return items


@register_target("permutation")
class Permutation(UniformStructuredTarget):
    """Every order of ``items`` equally likely (a fair shuffle); outcome: a tuple of the items."""

    analysis = Analysis.PERMUTATION
    value_kind = ValueKind.PERMUTATION
    items: list[str | int]

    _no_booleans = field_validator("items", mode="before")(no_boolean_items)
    _distinct = field_validator("items")(distinct_items)

    def count(self) -> int:
        return math.factorial(len(self.items))

    def enumerate(self) -> list[Outcome]:
        return list(itertools.permutations(self.items))

    def contains(self, value: Outcome) -> bool:
        if not isinstance(value, tuple) or len(value) != len(self.items):
            return False
        try:
            return set(value) == set(self.items)
        except TypeError:  # an unhashable element is no item
            return False

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        orders = rng.permuted(np.tile(np.arange(len(self.items)), (n, 1)), axis=1)
        return [tuple(self.items[i] for i in row) for row in orders]
