"""Statistics for 0/1 sequences (coin flips), after NIST SP 800-22 rev1a.

A coin-flip task gets many answers, each one 0/1 sequence of the same length. Every
statistic below is written once, vectorised over the rows of a 2-D array
``(n_seq, length)``; the ``*_rows`` functions return one value per row and the plain
functions take a single 1-D sequence and return a float.

:func:`sequence_tests` averages each statistic over the answers and gets its p-value by
simulating datasets of i.i.d. Bernoulli(p) sequences of the same shape, because the
asymptotic laws behind NIST's p-values are doubtful at n = 20..100. The ``nist_*_p``
functions reproduce the SP 800-22 single-sequence p-values (checked against the worked
examples of its section 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from randbench.stats.results import TestResult

Bits = NDArray[np.int8]
Floats = NDArray[np.float64]

LONGEST_RUN_MIN_LENGTH = 128
_CHUNK_CELLS = 4_000_000  # bits simulated per chunk
_REL_TOL = 1e-10


# --------------------------------------------------------------------------- inputs


def as_bit_rows(bits: ArrayLike) -> Bits:
    """Validate a 1-D or 2-D 0/1 array and return it as 2-D int8 rows."""
    arr = np.asarray(bits)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError("expected a non-empty 1-D sequence or 2-D (n_seq, length) array")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("sequences must contain only 0 and 1")
    return arr.astype(np.int8)


def _scalar(rows_fn: Callable[[Bits], Floats], bits: ArrayLike) -> float:
    arr = np.asarray(bits)
    if arr.ndim != 1:
        raise ValueError("expected a 1-D sequence; use the *_rows function for 2-D input")
    return float(rows_fn(as_bit_rows(arr))[0])


def _sum_dtype(length: int) -> type[np.signedinteger[Any]]:
    """Smallest integer type that holds partial sums of ``length`` bits (speed)."""
    return np.int16 if length < 2**15 else np.int64


def _need_length(x: Bits, minimum: int, what: str) -> None:
    if x.shape[1] < minimum:
        raise ValueError(f"{what} needs sequences of length >= {minimum}")


# ---------------------------------------------------------------- vectorised statistics


def monobit_rows(x: Bits) -> Floats:
    """NIST 2.1 S_n / sqrt(n), S_n the sum of the bits mapped to +-1."""
    n = x.shape[1]
    s = 2 * np.sum(x, axis=1, dtype=np.int64) - n
    return np.asarray(s / math.sqrt(n), dtype=np.float64)


def block_frequency_rows(x: Bits, m: int) -> Floats:
    """NIST 2.2 chi-square: 4 M sum_i (pi_i - 1/2)^2 over the N = n // M whole blocks."""
    n_blocks = x.shape[1] // m
    if m < 1 or n_blocks < 1:
        raise ValueError("block size must be in 1..length")
    blocks = x[:, : n_blocks * m].reshape(x.shape[0], n_blocks, m)
    ones = np.sum(blocks, axis=2, dtype=_sum_dtype(m)).astype(np.float64)
    return np.asarray(4.0 / m * np.sum((ones - 0.5 * m) ** 2, axis=1), dtype=np.float64)


def _changes(x: Bits) -> NDArray[np.int64]:
    changes: NDArray[np.int64] = np.sum(x[:, 1:] != x[:, :-1], axis=1, dtype=np.int64)
    return changes


def runs_rows(x: Bits) -> Floats:
    """NIST 2.3 V_n: the number of runs (maximal blocks of equal bits)."""
    return np.asarray(1 + _changes(x), dtype=np.float64)


def longest_run_rows(x: Bits) -> Floats:
    """Longest run of ones in the whole sequence (NIST 2.4 requires n >= 128).

    NIST 2.4 tabulates the longest run within M-bit blocks; here the statistic is the
    longest run over the whole sequence, and its null law comes from simulation.
    """
    _need_length(x, LONGEST_RUN_MIN_LENGTH, "longest_run")
    ones = x.astype(bool)
    window = ones  # window[:, j]: bits j..j+k all ones, for the current k
    longest = np.zeros(x.shape[0], dtype=np.int64)
    k = 0
    while window.shape[1] > 0:
        present = window.any(axis=1)
        if not present.any():
            break
        longest += present
        k += 1
        window = window[:, :-1] & ones[:, k:]
    return longest.astype(np.float64)


def _psi_squared(x: Bits, m: int) -> Floats:
    """NIST 2.11 psi^2_m on the sequence augmented with its first m - 1 bits."""
    rows, n = x.shape
    if m <= 0:
        return np.zeros(rows, dtype=np.float64)
    aug = np.concatenate([x, x[:, : m - 1]], axis=1)
    idx = np.zeros((rows, n), dtype=np.int8)
    for j in range(m):
        idx = (idx << 1) | aug[:, j : j + n]
    cells = 1 << m
    total = np.zeros(rows, dtype=np.float64)
    for pattern in range(cells):
        total += np.count_nonzero(idx == pattern, axis=1).astype(np.float64) ** 2
    return np.asarray(cells / n * total - n, dtype=np.float64)


def serial_rows(x: Bits, m: int = 2) -> Floats:
    """NIST 2.11 first difference nabla psi^2_m = psi^2_m - psi^2_{m-1}, for 1 <= m <= 3."""
    if not 1 <= m <= 3:
        raise ValueError("serial: m must be 1, 2 or 3 at these lengths")
    _need_length(x, m + 1, "serial")
    return _psi_squared(x, m) - _psi_squared(x, m - 1)


def cumulative_sums_rows(x: Bits) -> Floats:
    """NIST 2.13 z: max_k |S_k|, S_k the partial sums of the bits mapped to +-1."""
    s = np.cumsum(2 * x - 1, axis=1, dtype=_sum_dtype(x.shape[1]))
    return np.asarray(np.max(np.abs(s), axis=1), dtype=np.float64)


def alternation_rate_rows(x: Bits) -> Floats:
    """Share of adjacent pairs that differ (1/2 for a fair coin; models over-alternate)."""
    _need_length(x, 2, "alternation_rate")
    return np.asarray(_changes(x) / (x.shape[1] - 1), dtype=np.float64)


def lag1_autocorrelation_rows(x: Bits) -> Floats:
    """Pearson correlation of (x_1..x_{n-1}) with (x_2..x_n), as ``numpy.corrcoef``.

    Defined as 0 when either half is constant (corrcoef would give NaN), so that one
    all-ones answer does not turn the average into NaN.
    """
    _need_length(x, 3, "lag1_autocorrelation")
    k = x.shape[1] - 1  # number of lagged pairs
    total = np.sum(x, axis=1, dtype=np.int64)
    sum_a = (total - x[:, -1]).astype(np.float64)  # ones among x_1..x_{n-1}
    sum_b = (total - x[:, 0]).astype(np.float64)  # ones among x_2..x_n
    both = np.count_nonzero(x[:, :-1] & x[:, 1:], axis=1).astype(np.float64)
    # 0/1 data: sum a^2 = sum a, so every centred moment follows from counts
    cov = both - sum_a * sum_b / k
    scale = np.sqrt((sum_a - sum_a**2 / k) * (sum_b - sum_b**2 / k))
    ok = scale > 1e-9
    safe = np.where(ok, scale, 1.0)
    return np.asarray(np.where(ok, cov / safe, 0.0), dtype=np.float64)


# -------------------------------------------------------------- single-sequence forms


def monobit(bits: ArrayLike) -> float:
    return _scalar(monobit_rows, bits)


def block_frequency(bits: ArrayLike, m: int) -> float:
    return _scalar(lambda x: block_frequency_rows(x, m), bits)


def runs(bits: ArrayLike) -> float:
    return _scalar(runs_rows, bits)


def longest_run(bits: ArrayLike) -> float:
    return _scalar(longest_run_rows, bits)


def serial(bits: ArrayLike, m: int = 2) -> float:
    return _scalar(lambda x: serial_rows(x, m), bits)


def cumulative_sums(bits: ArrayLike) -> float:
    return _scalar(cumulative_sums_rows, bits)


def alternation_rate(bits: ArrayLike) -> float:
    return _scalar(alternation_rate_rows, bits)


def lag1_autocorrelation(bits: ArrayLike) -> float:
    return _scalar(lag1_autocorrelation_rows, bits)


# ----------------------------------------------------------------- NIST p-values


def _single(bits: ArrayLike) -> Bits:
    arr = np.asarray(bits)
    if arr.ndim != 1:
        raise ValueError("expected a 1-D sequence")
    return as_bit_rows(arr)


def nist_monobit_p(bits: ArrayLike) -> float:
    """SP 800-22 2.1 frequency (monobit) test: erfc(|S_n| / sqrt(2 n))."""
    s_obs = abs(float(monobit_rows(_single(bits))[0]))
    return float(special.erfc(s_obs / math.sqrt(2.0)))


def nist_block_frequency_p(bits: ArrayLike, m: int) -> float:
    """SP 800-22 2.2 frequency within a block: igamc(N / 2, chi^2 / 2)."""
    x = _single(bits)
    chi2 = float(block_frequency_rows(x, m)[0])
    return float(special.gammaincc((x.shape[1] // m) / 2.0, chi2 / 2.0))


def nist_runs_p(bits: ArrayLike) -> float:
    """SP 800-22 2.3 runs test; 0.0 when the frequency prerequisite fails, as NIST does."""
    x = _single(bits)
    n = x.shape[1]
    pi = float(np.mean(x))
    if abs(pi - 0.5) >= 2.0 / math.sqrt(n):
        return 0.0
    v_obs = float(runs_rows(x)[0])
    q = pi * (1.0 - pi)
    return float(special.erfc(abs(v_obs - 2.0 * n * q) / (2.0 * math.sqrt(2.0 * n) * q)))


def nist_cusum_p(bits: ArrayLike, forward: bool = True) -> float:
    """SP 800-22 2.13 cumulative sums test (mode 0 forward, mode 1 backward).

    The summation bounds follow the reference C code (integer division truncating
    toward zero).
    """
    x = _single(bits)
    if not forward:
        x = x[:, ::-1]
    n = x.shape[1]
    z = int(cumulative_sums_rows(x)[0])
    root_n = math.sqrt(n)

    def trunc_div(a: int, b: int) -> int:
        return int(a / b)

    phi = stats.norm.cdf
    sum1 = 0.0
    for k in range(trunc_div(trunc_div(-n, z) + 1, 4), trunc_div(trunc_div(n, z) - 1, 4) + 1):
        sum1 += float(phi((4 * k + 1) * z / root_n) - phi((4 * k - 1) * z / root_n))
    sum2 = 0.0
    for k in range(trunc_div(trunc_div(-n, z) - 3, 4), trunc_div(trunc_div(n, z) - 1, 4) + 1):
        sum2 += float(phi((4 * k + 3) * z / root_n) - phi((4 * k + 1) * z / root_n))
    return float(1.0 - sum1 + sum2)


# ------------------------------------------------------------------------- suite


def default_block_size(length: int) -> int:
    """Block size for the block-frequency statistic: about ten blocks, at least 2 bits."""
    return max(2, length // 10)


def sequence_statistics(
    x: Bits, *, block_size: int | None = None, serial_m: int = 2
) -> dict[str, Floats]:
    """Every per-sequence statistic for the rows of ``x`` (longest_run only if n >= 128)."""
    length = x.shape[1]
    m = default_block_size(length) if block_size is None else block_size
    out: dict[str, Floats] = {
        "monobit": monobit_rows(x),
        "block_frequency": block_frequency_rows(x, m),
        "runs": runs_rows(x),
        "serial": serial_rows(x, serial_m),
        "cumulative_sums": cumulative_sums_rows(x),
        "alternation_rate": alternation_rate_rows(x),
        "lag1_autocorrelation": lag1_autocorrelation_rows(x),
    }
    if length >= LONGEST_RUN_MIN_LENGTH:
        out["longest_run"] = longest_run_rows(x)
    return out


def two_sided_mc_p(observed: float, simulated: Floats) -> float:
    """Two-sided Monte Carlo p-value by distance from the pooled median.

    c is the median of the n_sim simulated values *and* the observed one; the test
    statistic is |T - c|. Because c is a symmetric function of all n_sim + 1 values,
    the distances stay exchangeable under the null, so
    p = (1 + #{|T_b - c| >= |T_obs - c|}) / (n_sim + 1) is a valid p-value (ties count
    as exceedances: conservative for discrete statistics). Unlike doubling a one-sided
    p-value it needs no symmetry and never exceeds 1.
    """
    pooled = np.append(simulated, observed)
    centre = float(np.median(pooled))
    d_obs = abs(observed - centre)
    d_sim = np.abs(simulated - centre)
    tol = _REL_TOL * max(1.0, abs(centre), d_obs)
    exceed = int(np.count_nonzero(d_sim >= d_obs - tol))
    return (1 + exceed) / (simulated.size + 1)


def _bernoulli_rows(rng: np.random.Generator, rows: int, length: int, p: float) -> Bits:
    """i.i.d. Bernoulli(p) bits; for p = 1/2 the bits of uniform random bytes (faster)."""
    if p == 0.5:
        raw = rng.integers(0, 256, size=(rows, (length + 7) // 8), dtype=np.uint8)
        return np.unpackbits(raw, axis=1, count=length).view(np.int8)
    return (rng.random((rows, length)) < p).astype(np.int8)


def sequence_tests(
    seqs: ArrayLike,
    *,
    p: float = 0.5,
    rng: np.random.Generator,
    n_sim: int = 2000,
    block_size: int | None = None,
    serial_m: int = 2,
) -> dict[str, TestResult]:
    """Test a set of equal-length 0/1 answers against i.i.d. Bernoulli(p) flips.

    For each statistic of :func:`sequence_statistics` the mean over the answers is the
    test statistic. Its null law is simulated: ``n_sim`` datasets, each of the same number
    of i.i.d. Bernoulli(p) sequences of the same length; the p-value is two-sided
    (:func:`two_sided_mc_p`), because too little variation (over-alternation) is as
    much a failure as too much. ``longest_run`` is included only for length >= 128.
    """
    x = as_bit_rows(seqs)
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    if n_sim < 1:
        raise ValueError("n_sim must be positive")
    n_seq, length = x.shape
    _need_length(x, 3, "sequence_tests")
    observed = {
        k: float(np.mean(v))
        for k, v in sequence_statistics(x, block_size=block_size, serial_m=serial_m).items()
    }
    simulated: dict[str, list[Floats]] = {k: [] for k in observed}
    chunk = max(1, _CHUNK_CELLS // (n_seq * length))
    for start in range(0, n_sim, chunk):
        size = min(chunk, n_sim - start)
        sim = _bernoulli_rows(rng, size * n_seq, length, p)
        for name, values in sequence_statistics(
            sim, block_size=block_size, serial_m=serial_m
        ).items():
            simulated[name].append(values.reshape(size, n_seq).mean(axis=1))
    return {
        name: TestResult(
            statistic=obs,
            p_value=two_sided_mc_p(obs, np.concatenate(simulated[name])),
            method="monte_carlo",
        )
        for name, obs in observed.items()
    }
