"""The check that the statistics themselves are right: a perfect sampler must be rejected
at rate alpha. For one target of every analysis family, draw ``runs`` exact samples,
judge each with :func:`randbench.metrics.evaluate`, and count p < alpha."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from randbench.metrics import evaluate
from randbench.outcomes import ParseResult
from randbench.targets import TARGETS, Target


@dataclass(frozen=True)
class CalibrationCase:
    label: str
    target: Target
    n: int


@dataclass(frozen=True)
class CalibrationRow:
    label: str
    analysis: str
    test: str
    n: int
    runs: int
    rejection_rate: float
    band: tuple[float, float]

    @property
    def inside(self) -> bool:
        return self.band[0] <= self.rejection_rate <= self.band[1]


def _case(label: str, name: str, size: int, **params: object) -> CalibrationCase:
    return CalibrationCase(label, TARGETS.get(name).model_validate(params), size)


CASES: tuple[CalibrationCase, ...] = (
    _case("d6, n=30 (Monte Carlo chi-square)", "uniform_int", 30, low=1, high=6),
    _case("d6, n=600 (asymptotic chi-square)", "uniform_int", 600, low=1, high=6),
    _case("1-100, n=200 (sparse)", "uniform_int", 200, low=1, high=100),
    _case("weighted colours, n=200", "categorical", 200, weights={"r": 0.5, "g": 0.3, "b": 0.2}),
    _case("coin, n=100", "uniform_choice", 100, choices=["heads", "tails"]),
    _case("2d6 sum, n=200", "dice_sum", 200, dice=2, sides=6),
    _case("binomial(10, 0.3), n=200", "binomial", 200, n=10, p=0.3),
    _case("Poisson(3), n=200", "poisson", 200, rate=3),
    _case("geometric(0.3), n=200", "geometric", 200, p=0.3),
    _case("normal(50, 10) to 1 decimal, n=200", "normal", 200, mean=50, sd=10, decimals=1),
    _case("exponential(1) to 2 decimals, n=200", "exponential", 200, rate=1, decimals=2),
    _case("uniform 0-10 to 2 decimals, n=200", "uniform_real", 200, low=0, high=10, decimals=2),
    _case("20 coin flips, 50 answers", "coin_sequence", 50, length=20),
    _case("100 flips of a 0.7 coin, 50 answers", "coin_sequence", 50, length=100, p=0.7),
    _case("shuffle of 5, n=200", "permutation", 200, items=["a", "b", "c", "d", "e"]),
    _case("shuffle of 3, n=60", "permutation", 60, items=["a", "b", "c"]),
    _case("lottery 6 of 49, n=200", "subset", 200, items=list(range(1, 50)), k=6),
    _case("password, 8 of [a-z0-9] with both, n=200", "string", 200, length=8,
          charset=["lower", "digits"], require=["lower", "digits"]),
    _case("UUID v4, n=100", "uuid4", 100),
)  # fmt: skip


def calibrate(
    case: CalibrationCase, *, runs: int, alpha: float, seed: int, n_sim: int
) -> CalibrationRow:
    rng = np.random.default_rng(seed)
    rejected, test = 0, ""
    for _ in range(runs):
        outcomes = [ParseResult.ok(v) for v in case.target.sample(rng, case.n)]
        metrics = evaluate(case.target, outcomes, rng=rng, n_sim=n_sim)
        assert metrics.p_value is not None and metrics.test is not None
        rejected += metrics.p_value < alpha
        test = metrics.test
    low, high = scipy_stats.binom.interval(0.99, runs, alpha)
    return CalibrationRow(
        label=case.label,
        analysis=case.target.analysis.value,
        test=test,
        n=case.n,
        runs=runs,
        rejection_rate=rejected / runs,
        band=(low / runs, high / runs),
    )


def calibration_table(rows: list[CalibrationRow], alpha: float) -> str:
    lines = [
        f"| target | family | test | n | runs | rejected at {alpha} | 99% band | ok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.label} | {r.analysis} | {r.test} | {r.n} | {r.runs} | {r.rejection_rate:.3f} "
        f"| {r.band[0]:.3f}–{r.band[1]:.3f} | {'yes' if r.inside else 'NO'} |"
        for r in rows
    ]
    return "\n".join(lines)
