"""Goodness of fit, distances and entropy for categorical targets (dice, coins, choices).

Conventions used throughout:

* ``counts`` is a 1-D array of non-negative integer counts, one per cell of the support;
  ``probs`` holds the target probabilities of the same cells and sums to 1.
* A cell whose target probability is 0 is an outcome the task lists but a perfect
  sampler never gives (heads, for a coin that always lands tails). An answer there is a
  valid answer and a miss: it counts in full in the TVD, makes KL(p_hat || p) infinite,
  and makes the goodness-of-fit tests reject with p = 0 (method ``IMPOSSIBLE``). Answers
  outside the listed outcomes are the invalid rate, reported on their own.
* All results are plain Python floats.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from randbench.stats.results import NullBand, TestResult

__all__ = [
    "IMPOSSIBLE",
    "binomial_test",
    "chi_square",
    "entropy_chao_shen",
    "entropy_miller_madow",
    "entropy_plugin",
    "excess_tvd",
    "g_test",
    "impossible_count",
    "js_divergence",
    "kl_empirical_target",
    "lower_tail_p",
    "mode_share",
    "normalised_entropy",
    "null_band",
    "pool_negligible_cells",
    "support_coverage",
    "tvd",
    "tvd_null",
    "tvd_null_draws",
]

FloatArray = NDArray[np.float64]

_CHUNK_CELLS = 2_000_000  # bound on simulations x cells held in memory at once
_TIE_TOL = 1e-12
_PROB_TOL = 1e-9


def _as_counts(counts: ArrayLike) -> FloatArray:
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("counts must be a non-empty 1-D array")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("counts must be non-negative integers")
    return arr


def _as_probs(probs: ArrayLike, size: int | None = None) -> FloatArray:
    arr = np.asarray(probs, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("probs must be a non-empty 1-D array")
    if size is not None and arr.size != size:
        raise ValueError(f"probs has {arr.size} cells, counts has {size}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("probs must be finite and non-negative")
    if abs(float(arr.sum()) - 1.0) > _PROB_TOL:
        raise ValueError(f"probs must sum to 1 (sum is {float(arr.sum())!r})")
    return np.asarray(arr / arr.sum(), dtype=np.float64)


def _on_support(counts: ArrayLike, probs: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate and drop cells with zero target probability."""
    c = _as_counts(counts)
    p = _as_probs(probs, c.size)
    keep = p > 0
    if np.any(c[~keep] > 0):
        raise ValueError("positive count in a cell whose target probability is 0")
    c, p = c[keep], p[keep]
    if c.sum() <= 0:
        raise ValueError("no observations")
    return c, p


def _observed(counts: ArrayLike, probs: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate, keeping every cell: counts in cells of target probability 0 allowed."""
    c = _as_counts(counts)
    p = _as_probs(probs, c.size)
    if c.sum() <= 0:
        raise ValueError("no observations")
    return c, p


def impossible_count(counts: ArrayLike, probs: ArrayLike) -> float:
    """The observations in cells whose target probability is 0: outcomes a perfect sampler
    never gives (a coin that always lands tails answered "heads")."""
    c, p = _observed(counts, probs)
    return float(c[p <= 0].sum())


IMPOSSIBLE = "impossible outcome"
"""The method of a test that saw an outcome of target probability 0: the observations
cannot come from the target, so p = 0 exactly and the statistic is infinite."""


NEGLIGIBLE_EXPECTED = 0.1
"""A cell whose expected count is below this is pooled before the chi-square and G tests
(:func:`pool_negligible_cells`)."""


def pool_negligible_cells(counts: FloatArray, probs: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The cells with the smallest expected counts merged into one until it holds at least
    ``NEGLIGIBLE_EXPECTED``, when any cell is below that; else the cells unchanged.

    One answer in a cell of expected count e adds about 1/e to X^2: the tail of
    Binomial(28, 0.095) (a poisson_marks task) has a cell of expected count 1e-12 at n = 50,
    and a single answer there made X^2 = 3.5e14, which says nothing about the rest of the
    distribution. Pooling is a fixed function of the counts, so the Monte Carlo p-value,
    which pools its simulated counts the same way, stays exact."""
    expected = counts.sum() * probs
    if expected.size < 3 or expected.min() >= NEGLIGIBLE_EXPECTED:
        return counts, probs
    order = np.argsort(expected, kind="stable")
    pooled = int(np.searchsorted(np.cumsum(expected[order]), NEGLIGIBLE_EXPECTED, "left")) + 1
    pooled = min(pooled, expected.size - 1)  # leave at least one other cell
    rare, kept = order[:pooled], np.sort(order[pooled:])
    return (
        np.append(counts[kept], counts[rare].sum()),
        np.append(probs[kept], probs[rare].sum()),
    )


def _monte_carlo_p(
    t_obs: float,
    n: int,
    probs: FloatArray,
    lambda_: str,
    rng: np.random.Generator,
    n_sim: int,
) -> float:
    """p = (1 + #{T_b >= T_obs}) / (n_sim + 1), T_b from multinomial(n, probs) draws."""
    if n_sim < 1:
        raise ValueError("n_sim must be positive")
    expected = n * probs
    threshold = t_obs - _TIE_TOL * abs(t_obs)
    chunk = max(1, _CHUNK_CELLS // probs.size)
    exceed = 0
    done = 0
    while done < n_sim:
        size = min(chunk, n_sim - done)
        sims = rng.multinomial(n, probs, size=size).astype(np.float64)
        t_sim = stats.power_divergence(sims, f_exp=expected, axis=-1, lambda_=lambda_).statistic
        exceed += int(np.count_nonzero(t_sim >= threshold))
        done += size
    return (1.0 + exceed) / (n_sim + 1.0)


def _divergence_test(
    counts: ArrayLike,
    probs: ArrayLike,
    lambda_: str,
    rng: np.random.Generator,
    n_sim: int,
    min_expected: float,
) -> TestResult:
    if impossible_count(counts, probs):
        return TestResult(statistic=math.inf, p_value=0.0, method=IMPOSSIBLE)
    c, p = pool_negligible_cells(*_on_support(counts, probs))
    n = int(c.sum())
    if c.size == 1:
        return TestResult(statistic=0.0, p_value=1.0, method="exact", df=0.0)
    expected = n * p
    res = stats.power_divergence(c, f_exp=expected, lambda_=lambda_)
    t_obs = float(res.statistic)
    if float(expected.min()) >= min_expected:
        return TestResult(t_obs, float(res.pvalue), "asymptotic", df=float(c.size - 1))
    p_mc = _monte_carlo_p(t_obs, n, p, lambda_, rng, n_sim)
    return TestResult(t_obs, p_mc, "monte_carlo")


def chi_square(
    counts: ArrayLike,
    probs: ArrayLike,
    *,
    rng: np.random.Generator,
    n_sim: int = 10000,
    min_expected: float = 5.0,
) -> TestResult:
    """Pearson chi-square goodness of fit of ``counts`` to ``probs``.

    The asymptotic chi-square p-value (df = cells - 1) is used only when every expected
    count is at least ``min_expected``; otherwise the p-value is a Monte Carlo one from
    ``n_sim`` multinomial samples of the target, ``(1 + #{T_b >= T_obs}) / (n_sim + 1)``.
    """
    return _divergence_test(counts, probs, "pearson", rng, n_sim, min_expected)


def g_test(
    counts: ArrayLike,
    probs: ArrayLike,
    *,
    rng: np.random.Generator,
    n_sim: int = 10000,
    min_expected: float = 5.0,
) -> TestResult:
    """Likelihood-ratio (G) test, ``G = 2 n KL(p_hat || p)``; p-value as in :func:`chi_square`."""
    return _divergence_test(counts, probs, "log-likelihood", rng, n_sim, min_expected)


def binomial_test(k: int, n: int, p: float) -> TestResult:
    """Exact two-sided binomial test of ``k`` successes in ``n``; statistic is ``k / n``.

    The test of a target with two outcomes: the asymptotic chi-square is liberal there even
    when both expected counts are at least 5 (a fair coin, n = 50: 6.5% rejected at 0.05,
    against 3.3% for this test, whose size never exceeds alpha).
    """
    res = stats.binomtest(int(k), int(n), float(p), alternative="two-sided")
    return TestResult(statistic=k / n, p_value=float(res.pvalue), method="exact")


def tvd(counts: ArrayLike, probs: ArrayLike) -> float:
    """Total variation distance between the empirical distribution and the target; answers
    in cells of target probability 0 count in full."""
    c, p = _observed(counts, probs)
    return float(0.5 * np.abs(c / c.sum() - p).sum())


def tvd_rows(counts: ArrayLike, probs: ArrayLike) -> FloatArray:
    """:func:`tvd` of every row of a 2-D array of count vectors, validated once (the
    bootstrap of :func:`randbench.stats.multinomial_ci` draws thousands of rows)."""
    rows = np.asarray(counts, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError("counts must be a 2-D array, one count vector per row")
    c, p = rows, _observed(rows.sum(axis=0), probs)[1]
    totals = c.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise ValueError("no observations in a row")
    return np.asarray(0.5 * np.abs(c / totals - p).sum(axis=1), dtype=np.float64)


def tvd_null_draws(
    n: int, probs: ArrayLike, *, rng: np.random.Generator, n_sim: int = 2000
) -> FloatArray:
    """``n_sim`` TVDs of a perfect sampler at sample size ``n`` (simulated from the target)."""
    if n < 1 or n_sim < 1:
        raise ValueError("n and n_sim must be positive")
    p = _as_probs(probs)
    p = p[p > 0]
    sims = rng.multinomial(n, p, size=n_sim) / n
    return np.asarray(0.5 * np.abs(sims - p).sum(axis=1), dtype=np.float64)


def null_band(values: ArrayLike) -> NullBand:
    """Mean and 2.5%/97.5% percentiles of a statistic's draws under a perfect sampler."""
    draws = np.asarray(values, dtype=np.float64)
    low, high = np.percentile(draws, [2.5, 97.5])
    return NullBand(mean=float(draws.mean()), low=float(low), high=float(high))


def tvd_null(n: int, probs: ArrayLike, *, rng: np.random.Generator, n_sim: int = 2000) -> NullBand:
    """TVD of a perfect sampler at sample size ``n``: mean and 2.5%/97.5% percentiles.

    TVD is biased upward at finite ``n`` (a fair d6 sampled 100 times sits at about 0.089
    on average), so every reported TVD should come with this band.
    """
    return null_band(tvd_null_draws(n, probs, rng=rng, n_sim=n_sim))


def lower_tail_p(observed: float, draws: ArrayLike) -> float:
    """``P(T <= T_obs)`` under the target, from draws of ``T`` by a perfect sampler:
    ``(1 + #{T_b <= T_obs}) / (B + 1)``. Small when the answers lie closer to the target
    than chance puts a sampler's: too regular to be random (exactly ten of each number in
    100 answers from 1 to 10 has probability 2.4e-8, and every 1/(B + 1) draws is the
    floor). The upper-tail tests cannot see it: their p-value is then 1."""
    values = np.asarray(draws, dtype=np.float64)
    if values.size == 0:
        raise ValueError("lower_tail_p needs at least one draw")
    below = np.count_nonzero(values <= observed + _TIE_TOL * max(1.0, abs(observed)))
    return float((1.0 + below) / (values.size + 1.0))


def excess_tvd(tvd_value: float, null: NullBand) -> float:
    """TVD minus the mean TVD of a perfect sampler of the same ``n``.

    0 means "as close to the target as a perfect sampler of this n gets"; small negative
    values are sampling noise, not better-than-perfect sampling.
    """
    return float(tvd_value - null.mean)


def kl_empirical_target(counts: ArrayLike, probs: ArrayLike) -> float:
    """KL(p_hat || p) in nats; ``inf`` when an observed cell has target probability 0.

    Unlike the other functions here, counts in zero-probability cells are allowed and give
    ``inf`` (the reverse direction, KL(p || p_hat), is infinite whenever a cell is unseen,
    which is why it is not offered).
    """
    c = _as_counts(counts)
    p = _as_probs(probs, c.size)
    if c.sum() <= 0:
        raise ValueError("no observations")
    return float(special.rel_entr(c / c.sum(), p).sum())


def js_divergence(counts: ArrayLike, probs: ArrayLike) -> float:
    """Jensen-Shannon divergence (nats) between p_hat and p; bounded by log 2.

    This is the divergence, i.e. the square of ``scipy.spatial.distance.jensenshannon``.
    """
    c = _as_counts(counts)
    p = _as_probs(probs, c.size)
    if c.sum() <= 0:
        raise ValueError("no observations")
    q = c / c.sum()
    m = 0.5 * (q + p)
    return float(0.5 * special.rel_entr(q, m).sum() + 0.5 * special.rel_entr(p, m).sum())


def _nonzero_counts(counts: ArrayLike) -> tuple[FloatArray, float]:
    c = _as_counts(counts)
    n = float(c.sum())
    if n <= 0:
        raise ValueError("no observations")
    return c[c > 0], n


def entropy_plugin(counts: ArrayLike) -> float:
    """Plug-in (maximum likelihood) entropy in nats; biased low by about (m-1)/(2n)."""
    c, n = _nonzero_counts(counts)
    q = c / n
    return float(-(q * np.log(q)).sum())


def entropy_miller_madow(counts: ArrayLike) -> float:
    """Miller-Madow entropy: plug-in + (m - 1) / (2n), m = number of non-empty cells."""
    c, n = _nonzero_counts(counts)
    return entropy_plugin(counts) + (c.size - 1) / (2.0 * n)


def entropy_chao_shen(counts: ArrayLike) -> float:
    """Chao & Shen (2003) coverage-adjusted entropy estimator, nats.

    Coverage ``C = 1 - f1 / n`` (f1 = number of singletons); each p_hat is shrunk to
    ``C p_hat`` and weighted by the Horvitz-Thompson factor ``1 / (1 - (1 - C p_hat)^n)``.
    When every observation is a singleton (f1 == n), f1 is taken as n - 1 so that the
    coverage stays positive (the usual fix, as in the R package ``entropy``).
    """
    c, n = _nonzero_counts(counts)
    f1 = float(np.count_nonzero(c == 1))
    if f1 >= n:
        f1 = n - 1.0
    coverage = 1.0 - f1 / n
    pa = coverage * c / n
    inclusion = 1.0 - (1.0 - pa) ** n
    return float(-(pa * np.log(pa) / inclusion).sum())


def normalised_entropy(h: float, support_size: int) -> float:
    """Entropy divided by its maximum, ``log(support_size)``, clipped to [0, 1].

    ``support_size`` counts the outcomes the target can produce (positive probability:
    an outcome of weight 0 is not in the support). 1.0 is the uniform distribution over
    them. An estimate above the maximum is noise, not more randomness than uniform:
    Miller-Madow's correction lifts a near-uniform sample past ``log(support_size)``
    about half the time, and an exact distribution that puts mass on outcomes of weight 0
    can exceed it too; the ratio reads as a share of the maximum, so it is clipped (the
    entropy itself is reported unclipped). A support of one cell has no randomness to
    measure: the ratio is 0/0 and ``nan`` is returned rather than an arbitrary 0 or 1.
    """
    if support_size < 1:
        raise ValueError("support_size must be at least 1")
    if support_size == 1:
        return math.nan
    return float(min(max(h / math.log(support_size), 0.0), 1.0))


def mode_share(counts: ArrayLike) -> float:
    """Share of observations falling in the most frequent cell."""
    c = _as_counts(counts)
    if c.sum() <= 0:
        raise ValueError("no observations")
    return float(c.max() / c.sum())


def support_coverage(counts: ArrayLike) -> float:
    """Fraction of the cells passed in that were observed at least once."""
    c = _as_counts(counts)
    return float(np.count_nonzero(c > 0) / c.size)
