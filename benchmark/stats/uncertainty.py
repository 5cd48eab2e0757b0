"""Confidence intervals and multiple-testing control.

* :func:`bootstrap_ci` wraps ``scipy.stats.bootstrap`` (BCa), falling back to the
  percentile method where BCa is undefined (constant data: a model that always says "4").
* :func:`multinomial_ci` is a parametric bootstrap for statistics of a count vector.
* :func:`recentre` shifts bootstrap replicates onto a chosen centre (the leaderboard's
  distances, and the spread of the TVD interval below, both go through it).
* :func:`tvd_interval` is the interval of a total variation distance: bias-corrected, so
  that it covers the true TVD, 0 included (a percentile bootstrap of the empirical TVD sits
  on its upward bias and never contains 0 for a perfect sampler).
* :func:`wilson_interval` is the Wilson score interval for a proportion.
* :func:`fdr` gives Benjamini-Hochberg adjusted p-values for many tasks at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from randbench.stats.categorical import tvd, tvd_rows
from randbench.stats.results import Interval

__all__ = [
    "bootstrap_ci",
    "fdr",
    "multinomial_ci",
    "recentre",
    "tvd_bias",
    "tvd_interval",
    "wilson_interval",
]

FloatArray = NDArray[np.float64]
StatisticFn = Callable[[FloatArray], float]
CountStatisticFn = Callable[[NDArray[np.int64], FloatArray], "float | FloatArray"]

TVD_UPPER_SHARE = 0.2
"""Share of alpha the TVD interval spends on its upper end, a bound that holds for every
sampler (it misses at most that often, less where the bias is large); the lower end spends
the rest, and all of alpha when it tests a perfect sampler, whose TVD of 0 no upper end
can miss."""
TVD_BIAS_SCALE = 0.6
"""Scale of :func:`tvd_bias`, fitted by simulation on samplers that mix the target with
favourite outcomes (a loaded d6 at n = 100 to 600; favourite numbers among 1-100 at
n = 200 and 1000), which is how language models deviate."""
_TVD_GRID = 1024
"""Candidate true TVDs between 0 and the observed one searched for the lower end."""
_TIE_TOL = 1e-12


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must lie strictly between 0 and 1")


def _bootstrap(
    data: FloatArray,
    statistic: StatisticFn,
    method: str,
    rng: np.random.Generator,
    confidence: float,
    n_resamples: int,
) -> tuple[float, float, bool]:
    """One scipy bootstrap run: (low, high, whether scipy flagged degenerate data)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stats.bootstrap(
            (data,),
            lambda x: float(statistic(np.asarray(x, dtype=np.float64))),
            vectorized=False,
            confidence_level=confidence,
            n_resamples=n_resamples,
            method=method,
            rng=rng,
        )
    degenerate = False
    for w in caught:
        if issubclass(w.category, (stats.DegenerateDataWarning, RuntimeWarning)):
            degenerate = True
        else:  # not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    ci = res.confidence_interval
    return float(ci.low), float(ci.high), degenerate


def bootstrap_ci(
    data: ArrayLike,
    statistic: StatisticFn,
    *,
    rng: np.random.Generator,
    confidence: float = 0.95,
    n_resamples: int = 2000,
) -> Interval:
    """BCa bootstrap interval of ``statistic(data)``; ``method`` is ``"bca"`` or ``"percentile"``.

    BCa returns NaN (with a warning) when its acceleration is undefined, e.g. on constant
    data; the percentile interval is then used instead and the method field says so.
    """
    _check_confidence(confidence)
    arr = np.asarray(data, dtype=np.float64).ravel()
    if arr.size < 2:
        raise ValueError("bootstrap needs at least two observations")
    low, high, degenerate = _bootstrap(arr, statistic, "bca", rng, confidence, n_resamples)
    if not degenerate and np.isfinite(low) and np.isfinite(high):
        return Interval(low, high, "bca")
    low, high, _ = _bootstrap(arr, statistic, "percentile", rng, confidence, n_resamples)
    if np.isnan(low) or np.isnan(high):  # constant statistic: the interval is a point
        value = float(statistic(arr))
        low, high = value, value
    return Interval(low, high, "percentile")


def multinomial_ci(
    counts: ArrayLike,
    probs: ArrayLike,
    statistic_of_counts: CountStatisticFn,
    *,
    rng: np.random.Generator,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    rows: bool = False,
) -> Interval:
    """Percentile interval of ``statistic_of_counts(counts, probs)`` by parametric bootstrap.

    Count vectors are redrawn from the observed proportions, multinomial(n, counts / n), and
    the statistic is evaluated on each; with ``rows``, the statistic takes all of them at
    once, one per row, and returns an array. Right for statistics the bootstrap centres on
    (a proportion); not for a distance to the target, which is biased upward so that the
    interval sits on the bias: :func:`tvd_interval` is the TVD's.
    """
    _check_confidence(confidence)
    c = np.asarray(counts, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    n = int(c.sum())
    if c.ndim != 1 or n <= 0 or np.any(c < 0):
        raise ValueError("counts must be a 1-D array of non-negative counts, not all zero")
    draws = rng.multinomial(n, c / n, size=n_resamples)
    if rows:
        values = np.asarray(statistic_of_counts(draws, p), dtype=np.float64)
    else:
        values = np.array([float(statistic_of_counts(row, p)) for row in draws])
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return Interval(float(low), float(high), "percentile")


def recentre(replicates: ArrayLike, centre: float) -> FloatArray:
    """Bootstrap replicates shifted so that their mean (NaNs ignored) is ``centre``.

    The bootstrap distribution of a distance sits above the distance by the same kind of
    finite-sample bias as the distance sits above the truth, so its spread is used, not
    its location: ``centre`` is the observed distance (the leaderboard, whose score then
    subtracts a perfect sampler's mean distance) or 0 (the deviations that
    :func:`tvd_interval` adds to its own model of the location).
    """
    arr = np.asarray(replicates, dtype=np.float64)
    return np.asarray(arr - np.nanmean(arr) + centre, dtype=np.float64)


def _folded_excess(mu: FloatArray) -> FloatArray:
    """``E|mu + Z| - mu`` for a standard normal ``Z``: how far a folded normal's mean exceeds
    ``mu``; sqrt(2/pi) at 0, falling to 0 as ``mu`` grows."""
    return np.asarray(2.0 * stats.norm.pdf(mu) - 2.0 * mu * stats.norm.sf(mu), dtype=np.float64)


def tvd_bias(true_tvd: ArrayLike, null_mean: float) -> FloatArray:
    """Modelled upward bias of the empirical TVD of a sampler whose true TVD is ``true_tvd``.

    ``null_mean`` is the mean empirical TVD of a perfect sampler at the same n (the bias at
    a true TVD of 0, simulated from the target). Each cell's contribution |p_hat - p| is a
    folded normal, whose excess over |E p_hat - p| falls as the deviation grows past the
    noise; the model takes every cell's standardised deviation as the same multiple of
    ``true_tvd / null_mean``: ``null_mean * g(c * t / null_mean) / g(0)`` with
    ``g(mu) = E|mu + Z| - mu`` and ``c = TVD_BIAS_SCALE``. It is exact at 0 and for large
    distances; in between it is calibrated for samplers that favour some outcomes and
    spread the deficit over the rest, and it under-states the bias where a few outcomes
    carry all of the deviation and the others none (then the interval's lower end is too
    high; see docs/statistics.md).
    """
    t = np.asarray(true_tvd, dtype=np.float64)
    if null_mean <= 0:
        return np.zeros_like(t)
    excess = _folded_excess(TVD_BIAS_SCALE * t / null_mean)
    return np.asarray(null_mean * excess / _folded_excess(np.zeros(1))[0], dtype=np.float64)


def _tvd_lower(
    observed: float, null: FloatArray, deviations: FloatArray, alpha: float, alpha_low: float
) -> float:
    """The smallest true TVD under which ``observed`` is not too large (one-sided).

    At 0 the test is exact: the Monte Carlo p-value of ``observed`` among a perfect
    sampler's TVDs, at level ``alpha``. Above 0 the TVD at truth ``t`` is modelled as
    ``t + tvd_bias(t)`` plus a deviation whose ``1 - alpha_low`` quantile moves from the
    perfect sampler's (at 0) to the bootstrap's (from ``t = null mean`` on).
    """
    null_mean = float(null.mean())
    exceed = int(np.count_nonzero(null >= observed - _TIE_TOL * abs(observed)))
    if (1.0 + exceed) / (null.size + 1.0) > alpha or null_mean <= 0:
        return 0.0
    t = observed * np.arange(1, _TVD_GRID + 1) / _TVD_GRID
    weight = np.minimum(t / null_mean, 1.0)
    null_spread = float(np.quantile(null, 1.0 - alpha_low)) - null_mean
    boot_spread = float(np.quantile(deviations, 1.0 - alpha_low))
    upper = t + tvd_bias(t, null_mean) + (1.0 - weight) * null_spread + weight * boot_spread
    accepted = observed <= upper
    return float(t[np.argmax(accepted)]) if accepted.any() else observed


def tvd_interval(
    counts: ArrayLike,
    probs: ArrayLike,
    *,
    rng: np.random.Generator,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    null: ArrayLike | None = None,
) -> Interval:
    """Interval for the true TVD between the sampler behind ``counts`` and the target.

    ``null``: a perfect sampler's TVDs at this n (:func:`randbench.stats.tvd_null_draws`)
    when the caller has drawn them for the null band already; drawn here otherwise.

    The empirical TVD is biased upward (a perfect d6 sampled 100 times sits at 0.089 on
    average), so a percentile bootstrap of it sits on the bias: it never contains 0 for a
    perfect sampler and misses a true TVD of 0.1 on 1-100. Here:

    * the lower end inverts a one-sided test at each candidate true TVD ``t`` (see
      ``_tvd_lower``): exact at ``t = 0`` (a perfect sampler's TVDs are simulated from
      the target, so 0 is inside unless the perfect-sampler test rejects), and above 0 the
      modelled bias :func:`tvd_bias` with the spread of the re-centred bootstrap;
    * the upper end holds for every sampler: with A the outcomes the sampler favours,
      TVD_hat >= p_hat(A) - p(A) = TVD + (p_hat(A) - q(A)), a binomial proportion's error
      whose standard deviation is at most 0.5 / sqrt(n).

    Coverage of the true TVD, checked by simulation (tests/stats/test_stats_tvd_interval.py):
    0.95-0.97 at perfect samplers and at a loaded d6 and favourite numbers among 1-100
    (TVD 0.1); see docs/statistics.md for where it is lower. Answers on outcomes of
    target probability 0 count in full, as in :func:`randbench.stats.tvd`; with one
    outcome of positive weight the TVD is the share of such misses, and its interval the
    Wilson interval of that share.
    """
    _check_confidence(confidence)
    if n_resamples < 1:
        raise ValueError("n_resamples must be positive")
    c = np.asarray(counts, dtype=np.float64)
    observed = tvd(c, probs)  # validates counts and probs
    p = np.asarray(probs, dtype=np.float64)
    p = p / p.sum()
    n = int(c.sum())
    if np.count_nonzero(p > 0) == 1:
        return wilson_interval(round(observed * n), n, confidence)
    null_draws = (
        tvd_rows(rng.multinomial(n, p, size=n_resamples), p)
        if null is None
        else np.asarray(null, dtype=np.float64)
    )
    boot = tvd_rows(rng.multinomial(n, c / n, size=n_resamples), p)
    alpha = 1.0 - confidence
    alpha_high = TVD_UPPER_SHARE * alpha
    low = _tvd_lower(observed, null_draws, recentre(boot, 0.0), alpha, alpha - alpha_high)
    margin = float(stats.norm.ppf(1.0 - alpha_high)) * 0.5 / np.sqrt(n)
    high = min(observed + margin, 1.0 - float(p.min()))
    return Interval(low, max(high, low), "bias_corrected")


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a proportion of ``k`` successes in ``n`` trials."""
    _check_confidence(confidence)
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(float(ci.low), float(ci.high), "wilson")


def fdr(p_values: ArrayLike) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (reject where adjusted p <= q)."""
    arr = np.asarray(p_values, dtype=np.float64)
    if arr.size == 0:
        return arr.copy()
    return np.asarray(stats.false_discovery_control(arr, method="bh"), dtype=np.float64)
