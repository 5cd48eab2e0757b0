"""Confidence intervals and multiple-testing control.

* :func:`bootstrap_ci` wraps ``scipy.stats.bootstrap`` (BCa), falling back to the
  percentile method where BCa is undefined (constant data: a model that always says "4").
* :func:`multinomial_ci` is a parametric bootstrap for statistics of a count vector.
* :func:`wilson_interval` is the Wilson score interval for a proportion.
* :func:`fdr` gives Benjamini-Hochberg adjusted p-values for many tasks at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from randbench.stats.results import Interval

__all__ = ["bootstrap_ci", "fdr", "multinomial_ci", "wilson_interval"]

FloatArray = NDArray[np.float64]
StatisticFn = Callable[[FloatArray], float]
CountStatisticFn = Callable[[NDArray[np.int64], FloatArray], "float | FloatArray"]


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

    Count vectors are redrawn from the observed proportions, multinomial(n, counts / n),
    and the statistic (e.g. TVD to the target ``probs``) is evaluated on each; with
    ``rows``, the statistic takes all of them at once, one per row, and returns an array.
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
