"""Anytime-valid testing with the Dirichlet-multinomial mixture e-value.

Against the simple null "draws are i.i.d. from p0", the likelihood ratio of the
Dirichlet(prior)-mixture of multinomials to p0 is a nonnegative martingale under the
null, so its value E is an e-value at every sample size at once:

    log E = lnB(prior + counts) - lnB(prior) - sum(counts * log p0),
    lnB(a) = sum(gammaln(a)) - gammaln(sum(a)).

Rejecting the first time ``log E >= log(1 / alpha)`` keeps the type I error at most
``alpha`` however often one looks (Ville's inequality), so sampling may stop early.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = ["anytime_stop", "dirichlet_multinomial_log_evalue"]

FloatArray = NDArray[np.float64]


def _prior_vector(prior: float | ArrayLike, size: int) -> FloatArray:
    a = np.broadcast_to(np.asarray(prior, dtype=np.float64), (size,)).astype(np.float64)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError("prior must be positive")
    return a


def _log_beta(a: FloatArray) -> float:
    return float(special.gammaln(a).sum() - special.gammaln(a.sum()))


def _check_probs(probs: ArrayLike) -> FloatArray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or np.any(p < 0) or abs(float(p.sum()) - 1.0) > 1e-9:
        raise ValueError("probs must be a 1-D probability vector")
    return p


def dirichlet_multinomial_log_evalue(
    counts: ArrayLike, probs: ArrayLike, prior: float | ArrayLike = 1.0
) -> float:
    """Natural log of the Dirichlet-multinomial mixture e-value against ``probs``.

    Cells with target probability 0 are dropped (with their prior); a positive count in
    such a cell is impossible under the null and gives ``inf``.
    """
    p = _check_probs(probs)
    c = np.asarray(counts, dtype=np.float64)
    if c.shape != p.shape or np.any(c < 0):
        raise ValueError("counts must be non-negative and match probs")
    a = _prior_vector(prior, p.size)
    keep = p > 0
    if np.any(c[~keep] > 0):
        return math.inf
    c, p, a = c[keep], p[keep], a[keep]
    return _log_beta(a + c) - _log_beta(a) - float((c * np.log(p)).sum())


def anytime_stop(
    indices: Sequence[int],
    probs: ArrayLike,
    *,
    alpha: float = 0.05,
    prior: float | ArrayLike = 1.0,
) -> int | None:
    """First sample size n at which log E >= log(1/alpha), or ``None`` if never.

    ``indices`` are the observed cells in the order they arrived. The e-value is updated
    one observation at a time with the Dirichlet-multinomial predictive probability,
    ``(prior_i + count_i) / (sum(prior) + t)`` over ``p0_i``.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie strictly between 0 and 1")
    p = _check_probs(probs)
    a = _prior_vector(prior, p.size)
    counts = np.zeros(p.size, dtype=np.float64)
    total_prior = float(a.sum())
    threshold = math.log(1.0 / alpha)
    log_e = 0.0
    for t, raw in enumerate(indices):
        i = int(raw)
        if not 0 <= i < p.size:
            raise ValueError(f"index {i} outside 0..{p.size - 1}")
        if p[i] == 0:
            return t + 1
        log_e += math.log((a[i] + counts[i]) / (total_prior + t)) - math.log(p[i])
        counts[i] += 1.0
        if log_e >= threshold:
            return t + 1
    return None
