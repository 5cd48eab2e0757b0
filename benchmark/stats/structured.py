"""Uniformity tests for structured answers: permutations, subsets, strings.

Each test is a Pearson-type statistic on a table of counts whose cells are not
independent (a permutation fills every position exactly once, a subset has exactly k
items), so no chi-square law applies: every p-value is Monte Carlo, simulated from the
uniform (or stated) null, p = (1 + #{T_b >= T_obs}) / (n_sim + 1).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from randbench.stats.results import TestResult

Floats = NDArray[np.float64]

_CHUNK_CELLS = 4_000_000  # simulated values held in memory at once
_REL_TOL = 1e-10


def _mc_p_value(observed: float, simulated: Floats) -> float:
    """Upper-tail Monte Carlo p-value; ties (up to rounding) count as exceedances."""
    tol = _REL_TOL * max(1.0, abs(observed))
    exceed = int(np.count_nonzero(simulated >= observed - tol))
    return (1 + exceed) / (simulated.size + 1)


def _check_n_sim(n_sim: int) -> None:
    if n_sim < 1:
        raise ValueError("n_sim must be positive")


def _as_index_table(values: ArrayLike, what: str) -> NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array")
    if not np.issubdtype(arr.dtype, np.integer):
        as_float = arr.astype(np.float64)
        if np.any(as_float != np.round(as_float)):
            raise ValueError(f"{what} must hold integer indices")
    return arr.astype(np.int64)


def _pearson(counts: Floats, expected: Floats) -> Floats:
    """Sum of (O - E)^2 / E over the last axes that ``expected`` spans (E > 0 cells)."""
    dev = (counts - expected) ** 2 / expected
    axes = tuple(range(counts.ndim - expected.ndim, counts.ndim))
    return np.asarray(np.sum(dev, axis=axes), dtype=np.float64)


def _position_tables(perms: NDArray[np.int64], k: int) -> Floats:
    """(n_sets, k, k) counts of item (last axis) at position (middle axis)."""
    sets = perms.shape[0]
    offsets = (np.arange(sets, dtype=np.int64) * k * k)[:, None, None] + (
        np.arange(k, dtype=np.int64) * k
    )[None, None, :]
    flat = (perms + offsets).ravel()
    counts = np.bincount(flat, minlength=sets * k * k)
    return counts.reshape(sets, k, k).astype(np.float64)


def position_frequency(
    perms: ArrayLike, *, rng: np.random.Generator, n_sim: int = 2000
) -> TestResult:
    """Are items equally likely at every position of a random permutation?

    ``perms`` is (n, k): row i is answer i, a permutation of the item indices 0..k-1.
    The statistic is Pearson's sum over the k x k position-by-item table of
    (O - n/k)^2 / (n/k). Rows and columns of the table are fixed by construction, so the
    p-value is simulated from n uniform random permutations per dataset.
    """
    _check_n_sim(n_sim)
    x = _as_index_table(perms, "perms")
    n, k = x.shape
    if not np.all(np.sort(x, axis=1) == np.arange(k)[None, :]):
        raise ValueError("every row must be a permutation of 0..k-1")
    expected = np.full((k, k), n / k)
    observed = float(_pearson(_position_tables(x[None], k), expected)[0])
    base = np.tile(np.arange(k, dtype=np.int64), (1, 1))
    chunk = max(1, _CHUNK_CELLS // (n * k))
    simulated: list[Floats] = []
    for start in range(0, n_sim, chunk):
        size = min(chunk, n_sim - start)
        sims = rng.permuted(np.broadcast_to(base, (size * n, k)), axis=1).reshape(size, n, k)
        simulated.append(_pearson(_position_tables(sims, k), expected))
    p = _mc_p_value(observed, np.concatenate(simulated))
    return TestResult(statistic=observed, p_value=p, method="monte_carlo")


def _uniform_subset_counts(
    rng: np.random.Generator, sets: int, n: int, k: int, n_items: int
) -> Floats:
    """Inclusion counts (sets, n_items) of n uniform k-subsets of range(n_items) per set.

    A uniform k-subset is the k smallest of n_items i.i.d. uniforms (ties have
    probability zero).
    """
    u = rng.random((sets, n, n_items))
    kth = np.partition(u, k - 1, axis=2)[:, :, k - 1 : k]
    counts: Floats = np.sum(u <= kth, axis=1).astype(np.float64)
    return counts


def inclusion_frequency(
    subsets: ArrayLike, n_items: int, *, rng: np.random.Generator, n_sim: int = 2000
) -> TestResult:
    """Is every item equally likely to be chosen in a random k-subset of range(n_items)?

    ``subsets`` is (n, k): row i holds the k distinct item indices of answer i (order
    ignored). Each item's inclusion count is compared with its expectation n*k/N in a
    Pearson statistic; the counts sum to n*k by construction, so the p-value is simulated
    from n uniform k-subsets per dataset.
    """
    _check_n_sim(n_sim)
    x = _as_index_table(subsets, "subsets")
    n, k = x.shape
    if k > n_items:
        raise ValueError("subsets have more items than the population")
    if np.any(x < 0) or np.any(x >= n_items):
        raise ValueError("item indices must lie in 0..N-1")
    srt = np.sort(x, axis=1)
    if np.any(srt[:, 1:] == srt[:, :-1]):
        raise ValueError("items within a subset must be distinct")
    expected = np.full(n_items, n * k / n_items)
    counts = np.bincount(x.ravel(), minlength=n_items).astype(np.float64)
    observed = float(_pearson(counts[None], expected)[0])
    chunk = max(1, _CHUNK_CELLS // (n * n_items))
    simulated: list[Floats] = []
    for start in range(0, n_sim, chunk):
        size = min(chunk, n_sim - start)
        sim_counts = _uniform_subset_counts(rng, size, n, k, n_items)
        simulated.append(_pearson(sim_counts, expected))
    p = _mc_p_value(observed, np.concatenate(simulated))
    return TestResult(statistic=observed, p_value=p, method="monte_carlo")


def position_char_frequency(
    chars: ArrayLike,
    expected: ArrayLike,
    *,
    rng: np.random.Generator,
    n_sim: int = 2000,
) -> TestResult:
    """Per-position character frequencies of strings against stated marginals.

    ``chars`` is (n, L): the alphabet index of each of the L characters of each answer.
    ``expected`` is (L, A): the target probability of each of the A characters at each
    position (rows sum to 1). The statistic is the sum over positions of Pearson's
    statistic (cells with zero probability are skipped; a character there is rejected
    as out of support, which belongs to the invalid rate). The p-value is simulated by
    drawing each position independently from its marginal.

    This tests the marginals only, not the joint constraints of the target (e.g. "at
    least one digit", no repeated characters): a generator that meets every marginal but
    breaks such a constraint passes, and under a target with such constraints the
    position counts are dependent, which the independent simulation ignores.
    """
    _check_n_sim(n_sim)
    x = _as_index_table(chars, "chars")
    probs = np.asarray(expected, dtype=np.float64)
    n, length = x.shape
    if probs.ndim != 2 or probs.shape[0] != length:
        raise ValueError("expected must be (L, A) with L the string length")
    n_chars = probs.shape[1]
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-9):
        raise ValueError("each row of expected must be a probability vector")
    probs = probs / probs.sum(axis=1, keepdims=True)
    if np.any(x < 0) or np.any(x >= n_chars):
        raise ValueError("character indices must lie in 0..A-1")
    positions = np.broadcast_to(np.arange(length), x.shape)
    if np.any(probs[positions, x] == 0):
        raise ValueError("a character has zero target probability at its position")
    flat = (x + (np.arange(length, dtype=np.int64) * n_chars)[None, :]).ravel()
    counts = np.bincount(flat, minlength=length * n_chars).reshape(length, n_chars)
    support = probs > 0
    exp_counts = n * probs[support]
    observed = float(_pearson(counts[support].astype(np.float64)[None], exp_counts)[0])
    chunk = max(1, _CHUNK_CELLS // (length * n_chars))
    simulated: list[Floats] = []
    for start in range(0, n_sim, chunk):
        size = min(chunk, n_sim - start)
        sims = rng.multinomial(n, probs, size=(size, length)).astype(np.float64)
        simulated.append(_pearson(sims[:, support], exp_counts))
    p = _mc_p_value(observed, np.concatenate(simulated))
    return TestResult(statistic=observed, p_value=p, method="monte_carlo")


def duplicate_rate(values: Sequence[Hashable]) -> float:
    """Share of answers equal to an earlier answer: (n - #distinct) / n."""
    if len(values) == 0:
        raise ValueError("no values")
    return (len(values) - len(set(values))) / len(values)
