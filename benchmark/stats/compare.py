"""Comparing two models (or two prompting methods) on the same categorical support."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from randbench.stats.results import TestResult

__all__ = ["compare_counts"]

_TIE_TOL = 1e-9
_CHUNK = 20_000


def _chi2_rows(
    a: NDArray[np.float64], col: NDArray[np.float64], n_a: int, n_b: int
) -> NDArray[np.float64]:
    """Pearson statistic of 2 x k tables whose first rows are ``a`` (vectorised on axis 0)."""
    total = n_a + n_b
    exp_a = n_a * col / total
    exp_b = n_b * col / total
    b = col - a
    return np.asarray(((a - exp_a) ** 2 / exp_a + (b - exp_b) ** 2 / exp_b).sum(axis=-1))


def compare_counts(
    counts_a: ArrayLike,
    counts_b: ArrayLike,
    *,
    rng: np.random.Generator,
    n_sim: int = 2000,
) -> TestResult:
    """Do two count vectors over the same cells come from the same distribution?

    The statistic is the Pearson chi-square of the 2 x k table (columns empty in both
    rows dropped; no continuity correction). The p-value is a permutation one: pooling
    all answers and reshuffling the model labels keeps the row and column totals, so the
    first row of a shuffled table is multivariate hypergeometric, drawn ``n_sim`` times.
    """
    a = np.asarray(counts_a, dtype=np.int64)
    b = np.asarray(counts_b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1 or np.any(a < 0) or np.any(b < 0):
        raise ValueError("counts must be two non-negative 1-D arrays of the same length")
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    n_a, n_b = int(a.sum()), int(b.sum())
    if n_a == 0 or n_b == 0:
        raise ValueError("both samples need at least one observation")
    if a.size < 2:
        return TestResult(statistic=0.0, p_value=1.0, method="exact", df=0.0)
    table = np.vstack([a, b])
    t_obs = float(stats.chi2_contingency(table, correction=False).statistic)
    col = (a + b).astype(np.float64)
    threshold = t_obs - _TIE_TOL * max(abs(t_obs), 1.0)
    exceed, done = 0, 0
    while done < n_sim:
        size = min(_CHUNK, n_sim - done)
        rows = rng.multivariate_hypergeometric(a + b, n_a, size=size).astype(np.float64)
        exceed += int(np.count_nonzero(_chi2_rows(rows, col, n_a, n_b) >= threshold))
        done += size
    p_value = (1.0 + exceed) / (n_sim + 1.0)
    return TestResult(t_obs, p_value, "monte_carlo", df=float(a.size - 1))
