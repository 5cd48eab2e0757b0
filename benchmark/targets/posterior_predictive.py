"""The Dirichlet-categorical (for two outcomes, Beta-Bernoulli) posterior predictive."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, field_validator, model_validator

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import FiniteTarget, register_target, reject_booleans


@register_target("posterior_predictive")
class PosteriorPredictive(FiniteTarget):
    """The next outcome's probability after observing ``counts`` under a Dirichlet prior.

    P(outcome k) = (prior_k + c_k) / sum_j (prior_j + c_j), with c_k the count of outcome k.
    ``prior`` is one concentration for every outcome (1: the uniform Beta(1,1) /
    Dirichlet(1,..,1)) or one per outcome. With ``discount`` gamma < 1, ``sequence`` (the
    observations in order) replaces ``counts`` and the i-th of n observations weighs
    gamma^(n-1-i): the latest counts most.
    """

    value_kind = ValueKind.LABEL
    outcomes: list[str | int] = Field(min_length=2)
    counts: list[int] | None = None
    sequence: list[str | int] | None = None
    prior: float | list[float] = 1.0
    discount: float = Field(default=1.0, gt=0.0, le=1.0)

    @field_validator("outcomes", "sequence", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        if isinstance(value, list):
            reject_booleans(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PosteriorPredictive:
        k = len(self.outcomes)
        if len(set(map(str, self.outcomes))) != k:
            raise ValueError(f"outcomes must be distinct, got {self.outcomes}")
        if (self.counts is None) == (self.sequence is None):
            raise ValueError("give either counts or sequence (the observed outcomes in order)")
        if self.counts is not None and (len(self.counts) != k or min(self.counts) < 0):
            raise ValueError(f"counts must be {k} non-negative integers, one per outcome")
        if self.sequence is not None and not set(self.sequence) <= set(self.outcomes):
            raise ValueError("sequence holds values that are not outcomes")
        if self.discount < 1.0 and self.sequence is None:
            raise ValueError("discount needs sequence: the order of the observations")
        prior = self.prior if isinstance(self.prior, list) else [self.prior] * k
        if len(prior) != k or min(prior) <= 0:
            raise ValueError(f"prior must be one positive number or {k}, one per outcome")
        return self

    def kind(self) -> ValueKind:
        first = self.outcomes[0]
        return ValueKind.INTEGER if isinstance(first, int) else ValueKind.LABEL

    def support(self) -> list[Outcome]:
        return list(self.outcomes)

    def evidence(self) -> np.ndarray:
        """The (discounted) count of each outcome."""
        if self.counts is not None:
            return np.asarray(self.counts, dtype=float)
        assert self.sequence is not None
        n = len(self.sequence)
        weights = self.discount ** np.arange(n - 1, -1, -1, dtype=float)
        index = {o: i for i, o in enumerate(self.outcomes)}
        evidence = np.zeros(len(self.outcomes))
        for value, weight in zip(self.sequence, weights, strict=True):
            evidence[index[value]] += weight
        return evidence

    def probabilities(self) -> np.ndarray:
        k = len(self.outcomes)
        prior = np.asarray(self.prior if isinstance(self.prior, list) else [self.prior] * k)
        alpha = prior + self.evidence()
        return np.asarray(alpha / alpha.sum(), dtype=float)
