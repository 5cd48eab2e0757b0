"""The target distribution interface.

A target is a small pydantic model (its fields are the YAML parameters) that
knows its support, probabilities, how to sample exactly from a numpy Generator,
and a summary. Subclasses pick one of the analysis families below; the
statistics applied to a model's answers follow from the family.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from enum import Enum
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from randbench.outcomes import Outcome, ValueKind
from randbench.registry import Registry


class Analysis(str, Enum):
    """Which family of statistics judges samples from a target (see randbench.metrics)."""

    CATEGORICAL = "categorical"
    DISCRETE_UNBOUNDED = "discrete_unbounded"
    CONTINUOUS = "continuous"
    COIN_SEQUENCE = "coin_sequence"
    PERMUTATION = "permutation"
    SUBSET = "subset"
    STRING = "string"
    POINT_MASS = "point_mass"
    OPEN_ENDED = "open_ended"


class TargetSummary(BaseModel):
    """Closed-form facts about a target, shown by ``randbench tasks show``."""

    model_config = ConfigDict(extra="forbid")

    support_size: float
    """Number of outcomes (``math.inf`` for unbounded or continuous supports)."""
    mean: float | None = None
    variance: float | None = None
    entropy: float | None = None
    """Shannon entropy in nats (differential entropy for continuous targets)."""


class Target(BaseModel, ABC):
    """A distribution that correct answers to a task should follow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    analysis: ClassVar[Analysis]
    value_kind: ClassVar[ValueKind]
    """The kind of value answers take; override :meth:`kind` when it depends on the fields."""

    def kind(self) -> ValueKind:
        return self.value_kind

    def judged_as(self) -> Analysis:
        """The family of statistics that judges this target's answers: its class's, unless
        the target is deterministic (:meth:`FiniteTarget.judged_as`)."""
        return self.analysis

    @abstractmethod
    def contains(self, value: Outcome) -> bool:
        """Whether ``value`` is in the support (an answer outside it is invalid)."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        """Draw ``n`` exact i.i.d. samples."""

    @abstractmethod
    def summary(self) -> TargetSummary: ...

    def support(self) -> list[Outcome] | None:
        """The finite support in a canonical order, or None when it cannot be enumerated."""
        return None

    def probabilities(self) -> np.ndarray:
        """Probabilities aligned with :meth:`support` (only for enumerable supports)."""
        raise NotImplementedError(f"{type(self).__name__} has no enumerable support")

    def describe(self) -> str:
        """One line for humans, e.g. ``uniform_int(low=1, high=6)``."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.model_dump().items())
        return f"{TARGETS_BY_CLASS.get(type(self), type(self).__name__)}({args})"


class FiniteTarget(Target, ABC):
    """A target with a small enumerable support: judged by the categorical statistics."""

    analysis: ClassVar[Analysis] = Analysis.CATEGORICAL

    @abstractmethod
    def support(self) -> list[Outcome]: ...

    @abstractmethod
    def probabilities(self) -> np.ndarray: ...

    def contains(self, value: Outcome) -> bool:
        return value in self._index()

    def judged_as(self) -> Analysis:
        """A target with one outcome of positive weight (a coin with P(heads) = 0) is a
        deterministic control, judged as a point mass: by its miss rate, without a
        goodness-of-fit p-value (every test of it would be degenerate)."""
        if int(np.count_nonzero(self.probabilities() > 0)) == 1:
            return Analysis.POINT_MASS
        return self.analysis

    def pmf(self, value: Outcome) -> float:
        i = self._index().get(value)
        return 0.0 if i is None else float(self.probabilities()[i])

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(X <= x) for numeric supports (integers, dice sums, binomial counts)."""
        support = self.support()
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in support):
            raise TypeError(f"{type(self).__name__} has no order: its outcomes are not numbers")
        order = np.argsort(np.asarray(support, dtype=float))
        values = np.asarray(support, dtype=float)[order]
        cumulative = np.cumsum(self.probabilities()[order])
        index = np.searchsorted(values, np.asarray(x, dtype=float), side="right")
        return np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0)

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        support = self.support()
        idx = rng.choice(len(support), size=n, p=self.probabilities())
        return [support[i] for i in idx]

    def summary(self) -> TargetSummary:
        p = self.probabilities()
        nz = p[p > 0]
        entropy = float(-(nz * np.log(nz)).sum()) + 0.0  # no -0.0
        support = self.support()
        mean = variance = None
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in support):
            x = np.asarray(support, dtype=float)
            mean = float((p * x).sum())
            variance = float((p * (x - mean) ** 2).sum())
        return TargetSummary(
            support_size=len(support), mean=mean, variance=variance, entropy=entropy
        )

    def _index(self) -> dict[Outcome, int]:
        return self._support_index

    @cached_property
    def _support_index(self) -> dict[Outcome, int]:
        return {v: i for i, v in enumerate(self.support())}


class ScipyTarget(Target, ABC):
    """A target that is a scipy.stats distribution with every parameter fixed."""

    @abstractmethod
    def scipy_dist(self) -> Any:
        """The frozen scipy.stats distribution with every parameter explicit."""

    def cdf(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # degenerate cases (geometric p=1)
            return np.asarray(self.scipy_dist().cdf(x), dtype=float)

    def summary(self) -> TargetSummary:
        dist = self.scipy_dist()
        return TargetSummary(
            support_size=math.inf,
            mean=float(dist.mean()),
            variance=float(dist.var()),
            entropy=float(dist.entropy()),
        )


class DiscreteUnboundedTarget(ScipyTarget, ABC):
    """An integer distribution with infinite support (Poisson, geometric): judged by a
    simulated discrete KS test and binned statistics."""

    analysis: ClassVar[Analysis] = Analysis.DISCRETE_UNBOUNDED
    value_kind: ClassVar[ValueKind] = ValueKind.INTEGER

    def contains(self, value: Outcome) -> bool:
        low = self.scipy_dist().support()[0]
        return isinstance(value, int) and not isinstance(value, bool) and value >= low

    def pmf(self, value: Outcome) -> float:
        return float(self.scipy_dist().pmf(value)) if self.contains(value) else 0.0

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        return [int(v) for v in self.scipy_dist().rvs(size=n, random_state=rng)]


class ContinuousTarget(ScipyTarget, ABC):
    """A real-valued distribution: judged by AD/KS/CvM with known parameters."""

    analysis: ClassVar[Analysis] = Analysis.CONTINUOUS
    value_kind: ClassVar[ValueKind] = ValueKind.REAL

    decimals: int | None = Field(default=None, ge=0, le=12)
    """Decimal places answers are printed with (rounding creates ties; see the statistics)."""

    def contains(self, value: Outcome) -> bool:
        """A finite number in the support, widened by half a printed unit when answers are
        rounded to ``decimals`` (0.0 is a fair answer for a uniform draw of 0.04 at 1 decimal)."""
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        low, high = self.scipy_dist().support()
        slack = 0.0 if self.decimals is None else 0.5 * 10.0**-self.decimals * (1 + 1e-9)
        return math.isfinite(value) and low - slack <= value <= high + slack

    def pdf(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.scipy_dist().pdf(x), dtype=float)

    def quantile_bins(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` bins of equal target probability, as the answers are printed: the inner
        edges (a value's bin is ``searchsorted(edges, value, side="right")``) and each bin's
        probability. When answers are rounded to ``decimals``, each edge moves to the
        midpoint between two printed values, so that no rounded answer lies on an edge and
        a bin's probability is that of the rounded answers it holds: a rounded answer r is
        in a bin exactly when the unrounded draw is, so the probabilities are exact (equal
        quantiles would be wrong by up to half a printed unit's mass per edge: a perfect
        sampler of random_decimal then sat 0.009 above its TVD null). Edges that meet are
        merged, so a coarse rounding gives fewer bins."""
        dist = self.scipy_dist()
        edges = np.asarray(dist.ppf(np.linspace(0, 1, count + 1)[1:-1]), dtype=float)
        if self.decimals is not None:
            unit = 10.0**-self.decimals
            edges = np.unique((np.floor(edges / unit) + 0.5) * unit)
        probs = np.diff(np.concatenate([[0.0], dist.cdf(edges), [1.0]]))
        return edges, np.asarray(probs, dtype=float)

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        draws = self.scipy_dist().rvs(size=n, random_state=rng)
        if self.decimals is not None:
            draws = np.round(draws, self.decimals)
        return [float(v) for v in draws]


class UniformStructuredTarget(Target, ABC):
    """Uniform over a large combinatorial set (orders, subsets, strings, sequences).

    Judged by its family's component tests; when the set is small enough
    (``ENUMERABLE``), it is also enumerated, so the categorical statistics and
    logprob mode apply to it as well.
    """

    ENUMERABLE: ClassVar[int] = 5000

    @abstractmethod
    def count(self) -> int:
        """How many outcomes the target has."""

    @abstractmethod
    def enumerate(self) -> list[Outcome]:
        """Every outcome in canonical order (only called when :meth:`count` is small)."""

    def support(self) -> list[Outcome] | None:
        return self.enumerate() if self.count() <= self.ENUMERABLE else None

    def probabilities(self) -> np.ndarray:
        support = self.support()
        if support is None:
            raise NotImplementedError(f"{self.count()} outcomes are too many to enumerate")
        return np.full(len(support), 1.0 / len(support))

    def log_pmf(self, value: Outcome) -> float:
        return -math.log(self.count()) if self.contains(value) else -math.inf

    def summary(self) -> TargetSummary:
        count = self.count()
        return TargetSummary(support_size=count, entropy=math.log(count))


def reject_booleans(values: Any, what: str = "outcome") -> None:
    """Refuse YAML booleans where labels or numbers are meant.

    YAML reads unquoted ``yes``, ``no``, ``on``, ``off``, ``true`` and ``false`` as booleans,
    which would otherwise become the integers 1 and 0 without a word.
    """
    found = list(values) if isinstance(values, list | tuple | dict) else [values]
    booleans = [v for v in found if isinstance(v, bool)]
    if booleans:
        raise ValueError(
            f"{what} {booleans[0]!r} is a YAML boolean: quote it "
            "(unquoted yes, no, on, off, true and false are read as booleans)"
        )


TARGETS: Registry[type[Target]] = Registry("target")
TARGETS_BY_CLASS: dict[type[Target], str] = {}


def register_target(name: str) -> Any:
    """Class decorator: make a target available to task YAMLs under ``name``."""

    def decorate(cls: type[Target]) -> type[Target]:
        TARGETS.register(name)(cls)
        TARGETS_BY_CLASS[cls] = name
        return cls

    return decorate
