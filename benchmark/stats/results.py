"""Small immutable result types shared by every statistics module.

All fields are plain Python floats (never numpy scalars), so results serialise to JSON
and compare with ``==`` without surprises.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Interval", "NullBand", "TestResult"]


@dataclass(frozen=True)
class TestResult:
    """Outcome of a hypothesis test.

    ``method`` says how the p-value was obtained: ``"asymptotic"`` (a limiting
    distribution), ``"monte_carlo"`` (simulation from the null, or permutation) or
    ``"exact"``. ``df`` is the degrees of freedom where an asymptotic law was used.
    """

    __test__ = False  # not a pytest test class, despite the name

    statistic: float
    p_value: float
    method: str
    df: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "statistic", float(self.statistic))
        object.__setattr__(self, "p_value", float(self.p_value))
        if self.df is not None:
            object.__setattr__(self, "df", float(self.df))


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]``; ``method`` names how it was computed."""

    low: float
    high: float
    method: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))


@dataclass(frozen=True)
class NullBand:
    """Mean and central 95% range of a statistic under a perfect sampler."""

    mean: float
    low: float
    high: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", float(self.mean))
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
