"""Goodness of fit for integer-valued targets with unbounded support (Poisson, geometric, ...).

``scipy.stats.kstest`` assumes a continuous null: on integer data its p-values are far
from uniform (a fair d6 with n=100 is rejected almost always). Here the Kolmogorov-Smirnov
distance is computed exactly on the integers and its p-value is obtained by simulating
datasets from the target itself, which is valid for any discrete null.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from randbench.stats.results import TestResult

CdfFn = Callable[[NDArray[np.int64]], NDArray[np.float64]]
SamplerFn = Callable[[np.random.Generator, int], ArrayLike]

_CHUNK_CELLS = 4_000_000  # bound on simulations x grid cells held in memory at once
_TIE_TOL = 1e-12
_FAR = float(2**62)


def _as_integers(values: ArrayLike, what: str) -> NDArray[np.int64]:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{what}: no values")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{what}: values must be finite integers")
    # An answer beyond int64 ("99999999999999999999") would wrap to a negative number; any
    # value this far out is past every target's support, so clipping keeps each CDF exact.
    return np.clip(arr, -_FAR, _FAR).astype(np.int64)


def _ks_distances(
    samples: NDArray[np.int64], lo: int, cdf_grid: NDArray[np.float64]
) -> NDArray[np.float64]:
    """sup_x |F_n(x) - F(x)| for each row of ``samples`` on the grid lo, lo+1, ..., lo+G-1.

    ``cdf_grid[j]`` is F(lo + j); every sample must lie inside the grid.
    """
    n_rows, n = samples.shape
    g = cdf_grid.size
    flat = (samples - lo) + (np.arange(n_rows, dtype=np.int64) * g)[:, None]
    counts = np.bincount(flat.ravel(), minlength=n_rows * g).reshape(n_rows, g)
    ecdf = np.cumsum(counts, axis=1) / n
    dist: NDArray[np.float64] = np.max(np.abs(ecdf - cdf_grid[None, :]), axis=1)
    return dist


def _cdf_on_grid(cdf: CdfFn, lo: int, hi: int) -> NDArray[np.float64]:
    grid = np.arange(lo, hi + 1, dtype=np.int64)
    values = np.asarray(cdf(grid), dtype=np.float64)
    if values.shape != grid.shape:
        raise ValueError("cdf must be vectorised: same shape out as in")
    return values


def ks_distance(values: ArrayLike, cdf: CdfFn) -> float:
    """Exact sup over all integers x of |F_n(x) - F(x)| for integer data.

    Both CDFs are right-continuous step functions that jump only at integers. Between two
    neighbouring distinct values a < b of the data, F_n is constant on a .. b-1 and F is
    non-decreasing, so |F_n - F| is largest at a or at b-1; below min(values) F_n is 0 and
    |F_n - F| = F(x) is largest at min(values) - 1; at and above max(values) it is 1 - F(x),
    largest at max(values). Hence the values v and v - 1 contain the supremum, whatever
    their spread (a single answer of 10^9 must not need a grid of 10^9 integers).
    """
    x = np.sort(_as_integers(values, "values"))
    points = np.unique(np.concatenate([x, x - 1]))
    ecdf = np.searchsorted(x, points, side="right") / x.size
    values_cdf = np.asarray(cdf(points), dtype=np.float64)
    if values_cdf.shape != points.shape:
        raise ValueError("cdf must be vectorised: same shape out as in")
    return float(np.max(np.abs(ecdf - values_cdf)))


def discrete_ks(
    values: ArrayLike,
    cdf: CdfFn,
    sampler: SamplerFn,
    *,
    rng: np.random.Generator,
    n_sim: int = 2000,
) -> TestResult:
    """Kolmogorov-Smirnov test of integer data against a fully specified discrete target.

    D = sup over integers x of |F_n(x) - F(x)| (see :func:`ks_distance`); for the simulated
    datasets it is evaluated at every integer of a grid that contains their range (a wider
    grid never changes the supremum).

    ``cdf`` maps an integer array to F at those integers (vectorised); ``sampler(rng, n)``
    draws ``n`` values from the target. The p-value is Monte Carlo,
    p = (1 + #{D_b >= D_obs}) / (n_sim + 1), over ``n_sim`` datasets of the same size drawn
    with ``sampler``; ties count as exceedances, so the test is valid (never anti-
    conservative) for discrete data.
    """
    if n_sim < 1:
        raise ValueError("n_sim must be positive")
    x = _as_integers(values, "values")
    n = x.size
    sims = _as_integers(sampler(rng, n_sim * n), "sampler output")
    if sims.size != n_sim * n:
        raise ValueError("sampler(rng, n) must return n values")
    sims = sims.reshape(n_sim, n)
    lo, hi = int(sims.min()) - 1, int(sims.max())
    cdf_grid = _cdf_on_grid(cdf, lo, hi)
    d_obs = ks_distance(x, cdf)
    chunk = max(1, _CHUNK_CELLS // max(cdf_grid.size, n))
    exceed = 0
    for start in range(0, n_sim, chunk):
        d_sim = _ks_distances(sims[start : start + chunk], lo, cdf_grid)
        exceed += int(np.count_nonzero(d_sim >= d_obs - _TIE_TOL))
    p_value = (1 + exceed) / (n_sim + 1)
    return TestResult(statistic=d_obs, p_value=float(p_value), method="monte_carlo")
