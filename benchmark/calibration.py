"""The check that the statistics themselves are right: a perfect sampler must be rejected
at rate alpha. For targets of every analysis family, draw ``runs`` exact samples, judge
each with :func:`randbench.metrics.evaluate`, and count p < alpha at 0.05 and 0.01
(``randbench calibrate``, which writes docs/calibration.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats as scipy_stats

from randbench.metrics import BINOMIAL, evaluate
from randbench.outcomes import ParseResult
from randbench.stats import binomial_test, wilson_interval
from randbench.targets import TARGETS, Target


@dataclass(frozen=True)
class CalibrationCase:
    label: str
    target: Target
    n: int


ALPHAS = (0.05, 0.01)
HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class CalibrationRow:
    """One target's perfect-sampler p-values: how often each alpha rejects, with a 95%
    Wilson interval, and the histogram of the p-values (uniform for a calibrated test)."""

    label: str
    analysis: str
    test: str
    n: int
    p_values: tuple[float, ...]
    sizes: dict[float, float] = field(default_factory=dict)
    """The test's exact size at each alpha where it is discrete and known (the exact
    binomial test: the largest attainable size at or below alpha, by enumeration); a
    calibrated test rejects at its size, alpha otherwise."""
    lower_p_values: tuple[float, ...] = ()
    """The lower-tail p-values, P(TVD <= observed) (``values.p_value_lower``): a perfect
    sampler is flagged too regular at most alpha of the time (ties make it conservative)."""
    lower_sizes: dict[float, float] = field(default_factory=dict)
    """The flag's exact size at each alpha where the TVD is over a small whole support
    (:func:`whole_support_tvd`), below alpha by the TVD's ties (:func:`lower_tail_size`)."""

    @property
    def runs(self) -> int:
        return len(self.p_values)

    def rejection_rate(self, alpha: float = 0.05) -> float:
        return sum(p < alpha for p in self.p_values) / self.runs

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        """95% Wilson interval of the rejection rate at ``alpha``."""
        rejected = sum(p < alpha for p in self.p_values)
        ci = wilson_interval(rejected, self.runs)
        return ci.low, ci.high

    def lower_rate(self, alpha: float = 0.05) -> tuple[float, float, float]:
        """Share of runs flagged too regular at ``alpha``, with its 95% Wilson interval."""
        flagged = sum(p < alpha for p in self.lower_p_values)
        ci = wilson_interval(flagged, len(self.lower_p_values))
        return flagged / len(self.lower_p_values), ci.low, ci.high

    def lower_size(self, alpha: float = 0.05) -> float:
        return self.lower_sizes.get(alpha, alpha)

    def lower_inside(self, alpha: float = 0.05) -> bool:
        """The flagged rate lies in the binomial 99% band around the attainable size."""
        runs = len(self.lower_p_values)
        low, high = scipy_stats.binom.interval(0.99, runs, self.lower_size(alpha))
        return bool(low / runs <= self.lower_rate(alpha)[0] <= high / runs)

    def size(self, alpha: float = 0.05) -> float:
        return self.sizes.get(alpha, alpha)

    def band(self, alpha: float = 0.05) -> tuple[float, float]:
        """The binomial 99% interval of a test that rejects at exactly its size: a
        rejection rate outside it is evidence of a miscalibrated test."""
        low, high = scipy_stats.binom.interval(0.99, self.runs, self.size(alpha))
        return low / self.runs, high / self.runs

    def inside(self, alpha: float = 0.05) -> bool:
        low, high = self.band(alpha)
        return low <= self.rejection_rate(alpha) <= high

    def histogram(self) -> np.ndarray:
        counts, _ = np.histogram(self.p_values, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
        return counts


def _case(label: str, name: str, size: int, **params: object) -> CalibrationCase:
    return CalibrationCase(label, TARGETS.get(name).model_validate(params), size)


CASES: tuple[CalibrationCase, ...] = (
    _case("d6, n=50 (the library's default n)", "uniform_int", 50, low=1, high=6),
    _case("d6, n=30 (Monte Carlo chi-square)", "uniform_int", 30, low=1, high=6),
    _case("d6, n=600 (asymptotic chi-square)", "uniform_int", 600, low=1, high=6),
    _case("1-100, n=200 (sparse)", "uniform_int", 200, low=1, high=100),
    _case("1-100, n=50 (sparse, the default n)", "uniform_int", 50, low=1, high=100),
    _case("weighted colours, n=200", "categorical", 200, weights={"r": 0.5, "g": 0.3, "b": 0.2}),
    _case("coin, n=100", "uniform_choice", 100, choices=["heads", "tails"]),
    _case("coin, n=50 (exact binomial)", "uniform_choice", 50, choices=["heads", "tails"]),
    _case("2d6 sum, n=200", "dice_sum", 200, dice=2, sides=6),
    _case("binomial(10, 0.3), n=200", "binomial", 200, n=10, p=0.3),
    _case("Poisson(3), n=200", "poisson", 200, rate=3),
    _case("geometric(0.3), n=200", "geometric", 200, p=0.3),
    _case("normal(50, 10) to 1 decimal, n=200", "normal", 200, mean=50, sd=10, decimals=1),
    _case("normal(50, 10) to 1 decimal, n=50", "normal", 50, mean=50, sd=10, decimals=1),
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


def calibrate(case: CalibrationCase, *, runs: int, seed: int, n_sim: int) -> CalibrationRow:
    rng = np.random.default_rng(seed)
    p_values: list[float] = []
    lower: list[float] = []
    test = ""
    for _ in range(runs):
        outcomes = [ParseResult.ok(v) for v in case.target.sample(rng, case.n)]
        metrics = evaluate(case.target, outcomes, rng=rng, n_sim=n_sim)
        assert metrics.p_value is not None and metrics.test is not None
        p_values.append(metrics.p_value)
        if metrics.values.get("p_value_lower") is not None:
            lower.append(float(metrics.values["p_value_lower"] or 0.0))
        test = metrics.test
    sizes = {a: binomial_test_size(case, a) for a in ALPHAS} if test == BINOMIAL else {}
    discrete = bool(lower) and whole_support_tvd(case)
    lower_sizes = (
        {a: lower_tail_size(case, a, n_sim=n_sim, seed=seed) for a in ALPHAS} if discrete else {}
    )
    row = CalibrationRow(
        case.label, case.target.analysis.value, test, case.n, tuple(p_values),
        lower_p_values=tuple(lower), lower_sizes=lower_sizes,
    )  # fmt: skip
    return replace(row, sizes=sizes)


LOWER_SIZE_DRAWS = 100_000
MAX_SIZED_SUPPORT = 1000


def whole_support_tvd(case: CalibrationCase) -> bool:
    """The TVD is over the target's whole support, small enough to simulate: categorical
    targets and shuffles of a few items (a shuffle of 3 has six orders). Binned and
    unbounded targets, and large supports, take so many TVD values that ties do not matter."""
    if case.target.analysis.value not in ("categorical", "permutation"):
        return False
    support = case.target.support()
    return support is not None and len(support) <= MAX_SIZED_SUPPORT


def lower_tail_size(case: CalibrationCase, alpha: float, *, n_sim: int, seed: int) -> float:
    """How often the too-regular flag fires on a perfect sampler of a categorical target.

    The TVD of ``n`` answers takes few values (a fair coin's at n = 100 is 0 with
    probability 0.080), so the flag cannot fire at exactly alpha. It fires when the
    Monte Carlo p-value ``(1 + X) / (n_sim + 1)`` is below alpha, where X, the null draws
    at or below the observed TVD t, is Binomial(n_sim, P(TVD <= t)); summed over the
    TVD's values t (their probabilities from draws independent of the p-values'), that is
    the procedure's exact size. A test that is not randomised cannot exceed it by much,
    and an honest flag should not fall short of it."""
    probs = case.target.probabilities()
    rng = np.random.default_rng([seed, 1])
    counts = rng.multinomial(case.n, probs, size=LOWER_SIZE_DRAWS)
    tvd = np.round(0.5 * np.abs(counts / case.n - probs).sum(axis=1), 12)
    _, frequency = np.unique(tvd, return_counts=True)
    mass = frequency / LOWER_SIZE_DRAWS
    largest_x = math.ceil(alpha * (n_sim + 1) - 1) - 1
    if largest_x < 0:
        return 0.0
    flagged = scipy_stats.binom.cdf(largest_x, n_sim, np.minimum(np.cumsum(mass), 1.0))
    return float((mass * flagged).sum())


def binomial_test_size(case: CalibrationCase, alpha: float) -> float:
    """The probability that the exact binomial test rejects a perfect sampler of a
    two-outcome target at ``alpha``: the pmf summed over the counts it rejects."""
    probs = case.target.probabilities()
    first = float(probs[probs > 0][0])
    counts = np.arange(case.n + 1)
    rejected = [binomial_test(int(k), case.n, first).p_value < alpha for k in counts]
    return float(scipy_stats.binom.pmf(counts, case.n, first)[rejected].sum())


SPARK = " ▁▂▃▄▅▆▇█"


def sparkline(counts: np.ndarray) -> str:
    """The histogram as bars scaled to twice the uniform height (a flat line is uniform)."""
    flat = counts.sum() / len(counts) if counts.sum() else 1.0
    levels = np.clip(np.round(counts / (2 * flat) * (len(SPARK) - 1)), 0, len(SPARK) - 1)
    return "".join(SPARK[int(level)] for level in levels)


def lower_tail_table(rows: list[CalibrationRow]) -> list[str]:
    """The other tail: how often a perfect sampler is flagged too regular (P(TVD <=
    observed) below alpha), for every family whose TVD is judged against a null."""
    head = " | ".join(f"flagged at {a} (95% CI) | size at {a}" for a in ALPHAS)
    lines = [
        "Too regular (the lower tail of the TVD, docs/statistics.md): a perfect sampler is",
        "flagged at most alpha of the time. Where the TVD is discrete (a categorical target)",
        "its ties put the flag's exact size below alpha: the size column sums, over the",
        "TVD's values (100,000 independent draws), the chance that the Monte Carlo p-value",
        "falls below alpha. A fair coin's TVD at n = 100 is 0 with probability 0.080, so",
        "an exact 50-50 split is no evidence of regularity at 0.05 and the flag never",
        "fires; only a randomised flag could reach alpha, and a flag that caps a score must",
        "not depend on a coin toss. ok: the flagged rate lies in the binomial 99% band",
        "around the size (around alpha where the TVD is over bins or a large support and",
        "takes so many values that ties do not matter).",
        "",
        f"| target | n | runs | {head} | ok |",
        "|---|---|---|" + "---|---|" * len(ALPHAS) + "---|",
    ]
    for r in rows:
        if not r.lower_p_values:
            continue
        cells = " | ".join(
            "{:.4f} ({:.4f}–{:.4f})".format(*r.lower_rate(a))
            + (f" | {r.lower_sizes[a]:.4f}" if a in r.lower_sizes else f" | {a} (fine-grained)")
            for a in ALPHAS
        )
        ok = "yes" if all(r.lower_inside(a) for a in ALPHAS) else "NO"
        lines.append(f"| {r.label} | {r.n} | {len(r.lower_p_values)} | {cells} | {ok} |")
    return lines


def calibration_table(rows: list[CalibrationRow]) -> str:
    head = " | ".join(f"rejected at {a} (95% CI) | 99% band at {a}" for a in ALPHAS)
    sized = [r for r in rows if r.sizes]
    lines = [
        f"| target | family | test | n | runs | {head} | ok | p-value histogram (10 bins) |",
        "|---|---|---|---|---|" + "---|---|" * len(ALPHAS) + "---|---|",
    ]
    for r in rows:
        cells = " | ".join(
            f"{r.rejection_rate(a):.4f} ({r.interval(a)[0]:.4f}–{r.interval(a)[1]:.4f}) | "
            f"{r.band(a)[0]:.4f}–{r.band(a)[1]:.4f}"
            for a in ALPHAS
        )
        ok = "yes" if all(r.inside(a) for a in ALPHAS) else "NO"
        counts = " ".join(str(int(c)) for c in r.histogram())
        lines.append(
            f"| {r.label} | {r.analysis} | {r.test} | {r.n} | {r.runs} | {cells} | {ok} "
            f"| `{sparkline(r.histogram())}` {counts} |"
        )
    lines += ["", *lower_tail_table(rows)]
    lines += [
        "",
        *(
            f"{r.label}: the exact binomial test's p-values are discrete, so its size is "
            + ", ".join(f"{r.size(a):.4f} at {a}" for a in ALPHAS)
            + " (by enumeration), and its bands are around that."
            for r in sized
        ),
    ]
    return "\n".join(lines).rstrip()
