"""Outcomes of one task -> metrics with uncertainty, chosen by the target's analysis family.

Every family reports validity (invalid answers are counted, with their reasons)
and one goodness-of-fit test whose p-value is the task's ``p_value``; the
calibration tests check that a perfect sampler gets p < 0.05 five percent of
the time. Families with a TVD report it beside the perfect-sampler null band at
the same n, because TVD is biased upward at finite n.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from randbench import stats
from randbench.answers import OUTSIDE_SUPPORT, reason_category
from randbench.dependence import Dependence, Reproducibility, Verbalized
from randbench.diversity import OpenEndedMetrics, open_ended_metrics
from randbench.outcomes import Outcome, ParseResult
from randbench.targets import Analysis, Target
from randbench.targets.base import ContinuousTarget, DiscreteUnboundedTarget

METRICS_VERSION = 2
"""The version of the statistics, recorded in every result file; raised when a change
alters what an existing result would say, so that the leaderboard marks older results
stale (randbench.leaderboard.staleness). 2 (2026-12-07, issue #29): answers on outcomes of
weight 0 are misses, not invalid; one-outcome targets are controls without a p-value;
negligible cells are pooled before chi-square and G; rounding-aware continuous bins; the
bias-corrected TVD interval; the exact binomial test for two outcomes."""
EXACT_SCOPE = "exact over the scored answers"
"""Logprob mode's label: the model's probabilities of the task's scored answer strings,
renormalised over them. A chat model may put little mass there (SmolLM2: 0.16% on a d6's
bare digits), so these figures describe the model's distribution over those strings, not
necessarily what it writes."""
CONTINUOUS_BINS = 10
MIN_EDF_VALUES = 2
UNBOUNDED_TAIL = 1e-3


TOO_REGULAR_ALPHA = 0.05
"""A task is flagged too regular when P(TVD <= observed) under the target is below this."""


class TestSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")

    statistic: float
    p_value: float
    method: str


class TaskMetrics(BaseModel):
    """The metrics of one task for one model and method, as written to result files. An
    infinite value (KL with a miss) is written as the string "Infinity" and read back."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")

    analysis: str
    n: int
    n_valid: int
    validity: float
    validity_ci: tuple[float, float]
    invalid_reasons: dict[str, int]
    test: str | None = None
    p_value: float | None = None
    too_regular: bool | None = None
    """The answers lie closer to the target than a perfect sampler's would: the lower-tail
    p-value of their TVD (``values.p_value_lower``, from the null band's own draws) is below
    ``TOO_REGULAR_ALPHA``. None where no TVD was judged against a null (exact, open-ended)."""
    values: dict[str, float | None] = {}
    intervals: dict[str, tuple[float, float]] = {}
    tests: dict[str, TestSummary] = {}
    distribution: dict[str, float] = {}
    """Logprob mode: the model's renormalised probability of each outcome (by its text)."""
    exact: bool | None = None
    """Logprob mode: False when the backend could only approximate the probabilities."""
    scope: str | None = None
    """Logprob mode: what the figures measure, ``EXACT_SCOPE``; ``values.mass_on_support``
    is the probability the scored answers hold, the rest going to other wordings."""
    dependence: Dependence | None = None
    """Methods with several answers per call: within-call dependence (the samples are not
    independent draws; see randbench.dependence)."""
    verbalized: Verbalized | None = None
    """Verbalized Sampling: the distribution the model states, scored exactly."""
    reproducibility: Reproducibility | None = None
    """Seeded prompts: how often the same seed gave the same answer."""
    diversity: OpenEndedMetrics | None = None
    """Open-ended tasks: the diversity of the valid answers, beside the floor and ceiling
    references at the same k (randbench.diversity)."""


def evaluate(
    target: Target,
    outcomes: Sequence[ParseResult],
    *,
    rng: np.random.Generator,
    n_sim: int = 2000,
) -> TaskMetrics:
    """Judge ``outcomes`` (from :func:`randbench.answers.read_answer`) against ``target``."""
    n = len(outcomes)
    values = [o.value for o in outcomes if o.valid and o.value is not None]
    reasons = Counter(reason_category(o.invalid_reason) for o in outcomes if o.invalid_reason)
    validity_ci = stats.wilson_interval(len(values), n) if n else None
    analysis = target.judged_as()
    metrics = TaskMetrics(
        analysis=analysis.value,
        n=n,
        n_valid=len(values),
        validity=len(values) / n if n else 0.0,
        validity_ci=(validity_ci.low, validity_ci.high) if validity_ci else (0.0, 1.0),
        invalid_reasons=dict(reasons.most_common()),
    )
    family = FAMILIES.get(analysis)
    if family is not None and (values or analysis is Analysis.POINT_MASS):
        family(metrics, target, values, rng, n_sim)
    if (
        target.support() is not None
        and analysis not in (Analysis.CATEGORICAL, Analysis.POINT_MASS)
        and values
    ):
        _categorical(metrics, target, values, rng, n_sim, primary=False)
    return metrics


def evaluate_exact(
    target: Target, logprobs: np.ndarray, *, exact: bool = True, scope: str = EXACT_SCOPE
) -> TaskMetrics:
    """Logprob mode: the model's probability of every outcome, so no sampling error.

    ``logprobs`` are aligned with ``target.support()``. The model's probabilities are
    renormalised over the support; the mass it puts elsewhere is reported on its own
    (``mass_outside_support``) and plays the role of the invalid rate.
    """
    support = target.support()
    if support is None:
        raise ValueError("logprob mode needs a target with an enumerable support")
    mass = np.exp(np.asarray(logprobs, dtype=float))
    on_support = float(mass.sum())
    probs = target.probabilities()
    model = stats.renormalise(mass) if on_support > 0 else np.zeros_like(probs)
    entropy = stats.exact_entropy(model)
    metrics = TaskMetrics(
        analysis=target.judged_as().value,
        n=0,
        n_valid=0,
        validity=on_support,
        validity_ci=(on_support, on_support),
        invalid_reasons={},
        distribution={str(v): float(p) for v, p in zip(support, model, strict=True)},
        exact=exact,
        scope=scope,
    )
    metrics.values.update(
        tvd=stats.exact_tvd(model, probs),
        kl_model_target=stats.exact_kl(model, probs),
        kl_target_model=stats.exact_kl_target_model(model, probs),
        entropy=entropy,
        entropy_normalised=stats.normalised_entropy(entropy, _support_size(probs)),
        target_entropy=target.summary().entropy,
        mode_share=float(model.max()),
        mass_on_support=on_support,
        mass_outside_support=stats.mass_outside_support(on_support),
    )
    if np.any(probs <= 0):
        metrics.values["miss_rate"] = float(model[probs <= 0].sum())
    return metrics


Family = Callable[[TaskMetrics, Any, list[Outcome], np.random.Generator, int], None]

BINOMIAL = "binomial"
"""The exact binomial test: the primary test of a target with two possible outcomes, where
the asymptotic chi-square is liberal (6.5% of fair coins rejected at 0.05 with n = 50)."""


def _support_size(probs: np.ndarray) -> int:
    """Outcomes the target can produce: those of weight zero are listed but not in it."""
    return int(np.count_nonzero(probs > 0))


def _record(metrics: TaskMetrics, name: str, result: stats.TestResult, primary: bool) -> None:
    metrics.tests[name] = TestSummary(
        statistic=float(result.statistic), p_value=float(result.p_value), method=result.method
    )
    if primary:
        metrics.test, metrics.p_value = name, float(result.p_value)


def _tvd_with_null(
    metrics: TaskMetrics,
    counts: np.ndarray,
    probs: np.ndarray,
    rng: np.random.Generator,
    n_sim: int,
) -> None:
    n = int(counts.sum())
    tvd = stats.tvd(counts, probs)
    draws = stats.tvd_null_draws(n, probs, rng=rng, n_sim=n_sim)
    null = stats.null_band(draws)
    ci = stats.tvd_interval(counts, probs, rng=rng, n_resamples=n_sim, null=draws)
    lower = stats.lower_tail_p(tvd, draws)
    metrics.values.update(
        tvd=tvd,
        tvd_null_mean=null.mean,
        excess_tvd=stats.excess_tvd(tvd, null),
        p_value_lower=lower,
    )
    metrics.too_regular = lower < TOO_REGULAR_ALPHA
    metrics.intervals.update(tvd=(ci.low, ci.high), tvd_null=(null.low, null.high))


def _categorical(
    metrics: TaskMetrics,
    target: Target,
    values: list[Outcome],
    rng: np.random.Generator,
    n_sim: int,
    primary: bool = True,
) -> None:
    support = target.support()
    assert support is not None
    probs = target.probabilities()
    index = {v: i for i, v in enumerate(support)}
    counts = np.bincount([index[v] for v in values], minlength=len(support)).astype(float)
    _categorical_tests(metrics, counts, probs, rng, n_sim, primary)
    _tvd_with_null(metrics, counts, probs, rng, n_sim)
    if np.any(probs <= 0):
        _record_rate(metrics, "miss_rate", int(stats.impossible_count(counts, probs)), len(values))
    h = stats.entropy_miller_madow(counts)
    metrics.values.update(
        kl_empirical_target=stats.kl_empirical_target(counts, probs),
        js_divergence=stats.js_divergence(counts, probs),
        entropy_plugin=stats.entropy_plugin(counts),
        entropy_miller_madow=h,
        entropy_normalised=stats.normalised_entropy(h, _support_size(probs)),
        target_entropy=target.summary().entropy,
        mode_share=stats.mode_share(counts),
        support_coverage=stats.support_coverage(counts[probs > 0]),
        log_evalue=stats.dirichlet_multinomial_log_evalue(counts, probs),
    )


def _categorical_tests(
    metrics: TaskMetrics,
    counts: np.ndarray,
    probs: np.ndarray,
    rng: np.random.Generator,
    n_sim: int,
    primary: bool,
) -> None:
    """Chi-square and G-test; with two possible outcomes the exact binomial test is primary."""
    positive = probs > 0
    possible = not stats.impossible_count(counts, probs)
    two_outcomes = int(np.count_nonzero(positive)) == 2 and possible
    chi_square = stats.chi_square(counts, probs, rng=rng, n_sim=n_sim)
    _record(metrics, "chi_square", chi_square, primary and not two_outcomes)
    _record(metrics, "g_test", stats.g_test(counts, probs, rng=rng, n_sim=n_sim), False)
    if two_outcomes:
        k, p = counts[positive], probs[positive]
        binomial = stats.binomial_test(int(k[0]), int(k.sum()), float(p[0]))
        _record(metrics, BINOMIAL, binomial, primary)


def _record_rate(metrics: TaskMetrics, name: str, k: int, n: int) -> None:
    """A share ``k / n`` with its Wilson interval (None without answers)."""
    metrics.values[name] = k / n if n else None
    if n:
        ci = stats.wilson_interval(k, n)
        metrics.intervals[name] = (ci.low, ci.high)


def _point_mass(
    metrics: TaskMetrics,
    target: Target,
    values: list[Outcome],
    rng: np.random.Generator,
    n_sim: int,
) -> None:
    """A deterministic control (a die with 6 on every face, a coin with P(heads) = 0): the
    share of right answers among all answers (``accuracy``), and the miss rate, the share
    of readable answers that are not the right one: an outcome of weight 0 (a valid answer)
    or, for a point mass, any other value (outside its support, so invalid). Both with
    Wilson intervals; no goodness-of-fit p-value, which would be degenerate (p = 1 for every
    sampler that only ever gives the right answer), so none enters p-value calibration.
    """
    support, probs = target.support(), target.probabilities()
    assert support is not None
    right = {v for v, p in zip(support, probs, strict=True) if p > 0}
    hits = sum(v in right for v in values)
    outside = metrics.invalid_reasons.get(OUTSIDE_SUPPORT, 0)
    readable = len(values) + outside
    _record_rate(metrics, "accuracy", hits, metrics.n)
    _record_rate(metrics, "miss_rate", readable - hits, readable)
    metrics.values["wrong_rate"] = (readable - hits) / metrics.n if metrics.n else None


def _discrete_unbounded(
    metrics: TaskMetrics,
    target: DiscreteUnboundedTarget,
    values: list[Outcome],
    rng: np.random.Generator,
    n_sim: int,
) -> None:
    x = np.asarray(values, dtype=float)
    dist = target.scipy_dist()
    result = stats.discrete_ks(
        x, target.cdf, lambda r, size: dist.rvs(size=size, random_state=r), rng=rng, n_sim=n_sim
    )
    _record(metrics, "discrete_ks", result, True)
    top = int(dist.ppf(1 - UNBOUNDED_TAIL))
    low = int(dist.support()[0])
    edges = np.arange(low, top + 1)
    probs = np.append(dist.pmf(edges), dist.sf(top))
    counts = np.append(
        np.bincount((x[x <= top] - low).astype(int), minlength=len(edges)), (x > top).sum()
    ).astype(float)
    _record(
        metrics, "chi_square_binned", stats.chi_square(counts, probs, rng=rng, n_sim=n_sim), False
    )
    _tvd_with_null(metrics, counts, probs, rng, n_sim)
    metrics.values.update(_moments(x, target))


def _continuous(
    metrics: TaskMetrics,
    target: ContinuousTarget,
    values: list[Outcome],
    rng: np.random.Generator,
    n_sim: int,
) -> None:
    x = np.asarray(values, dtype=float)
    dist = target.scipy_dist()
    # The EDF tests need two answers; with one (a base model that wrote one number in
    # fifty answers) the task has its TVD and moments but no p-value.
    for statistic in ("ad", "ks", "cvm") if len(x) >= MIN_EDF_VALUES else ():
        result = stats.continuous_gof(
            x,
            dist,
            rng=rng,
            statistic=statistic,
            decimals=target.decimals,
            n_mc=max(99, n_sim // 4),
        )
        _record(metrics, statistic, result, statistic == "ad")
    edges, probs = target.quantile_bins(CONTINUOUS_BINS)
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(probs))
    _tvd_with_null(metrics, counts.astype(float), probs, rng, n_sim)
    metrics.values.update(_moments(x, target), tvd_bins=float(len(probs)))


def _moments(x: np.ndarray, target: Target) -> dict[str, float | None]:
    summary = target.summary()
    return {
        "mean": float(x.mean()),
        "target_mean": summary.mean,
        "sd": float(x.std(ddof=1)) if len(x) > 1 else None,
        "target_sd": float(np.sqrt(summary.variance)) if summary.variance is not None else None,
    }


def _coin_sequence(
    metrics: TaskMetrics, target: Any, values: list[Outcome], rng: np.random.Generator, n_sim: int
) -> None:
    first = target.symbols[0]
    bits = np.array([[s == first for s in _items(v)] for v in values], dtype=np.int8)
    results = stats.sequence_tests(bits, p=target.p, rng=rng, n_sim=n_sim)
    for name, result in results.items():
        _record(metrics, name, result, name == "runs")
    metrics.values.update(
        share_first_symbol=float(bits.mean()),
        alternation_rate=float(np.mean([stats.alternation_rate(b) for b in bits])),
        expected_alternation_rate=2 * target.p * (1 - target.p),
    )


def _items(value: Outcome) -> tuple[Any, ...]:
    if not isinstance(value, tuple):
        raise TypeError(f"expected a tuple outcome, got {value!r}")
    return value


def _index_rows(values: list[Outcome], items: Sequence[Any]) -> np.ndarray:
    """Tuple outcomes as rows of item indices, the layout the structured tests take."""
    index = {item: i for i, item in enumerate(items)}
    return np.array([[index[item] for item in _items(v)] for v in values], dtype=np.int64)


def _permutation(
    metrics: TaskMetrics, target: Any, values: list[Outcome], rng: np.random.Generator, n_sim: int
) -> None:
    perms = _index_rows(values, target.items)
    _record(
        metrics, "position_frequency", stats.position_frequency(perms, rng=rng, n_sim=n_sim), True
    )
    metrics.values["duplicate_rate"] = stats.duplicate_rate(values)


def _subset(
    metrics: TaskMetrics, target: Any, values: list[Outcome], rng: np.random.Generator, n_sim: int
) -> None:
    chosen = _index_rows(values, target.items)
    result = stats.inclusion_frequency(chosen, len(target.items), rng=rng, n_sim=n_sim)
    _record(metrics, "inclusion_frequency", result, True)
    metrics.values["duplicate_rate"] = stats.duplicate_rate(values)


def _string(
    metrics: TaskMetrics, target: Any, values: list[Outcome], rng: np.random.Generator, n_sim: int
) -> None:
    alphabet = {c: i for i, c in enumerate(target.alphabet())}
    chars = np.array([[alphabet[c] for c in target.characters(v)] for v in values], dtype=int)
    expected = target.position_probabilities()
    result = stats.position_char_frequency(chars, expected, rng=rng, n_sim=n_sim)
    _record(metrics, "position_char_frequency", result, True)
    metrics.values["duplicate_rate"] = stats.duplicate_rate(values)


def _open_ended(
    metrics: TaskMetrics,
    target: Target,
    values: list[Outcome],
    rng: np.random.Generator,
    n_sim: int,
) -> None:
    """No target: the diversity of the answers (loads the sentence embedder once)."""
    from randbench.embedder import default_embedder, describe_embedder

    metrics.values["distinct_rate"] = len(set(values)) / len(values)
    texts = [str(v) for v in values]
    metrics.diversity = open_ended_metrics(texts, default_embedder().encode, describe_embedder())


FAMILIES: dict[Analysis, Family] = {
    Analysis.CATEGORICAL: _categorical,
    Analysis.POINT_MASS: _point_mass,
    Analysis.DISCRETE_UNBOUNDED: _discrete_unbounded,
    Analysis.CONTINUOUS: _continuous,
    Analysis.COIN_SEQUENCE: _coin_sequence,
    Analysis.PERMUTATION: _permutation,
    Analysis.SUBSET: _subset,
    Analysis.STRING: _string,
    Analysis.OPEN_ENDED: _open_ended,
}
