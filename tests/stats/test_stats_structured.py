"""Tests for randbench.stats.structured: permutations, subsets, strings, duplicates."""

from __future__ import annotations

import numpy as np
import pytest
from calibration_rows import assert_calibrated
from numpy.typing import NDArray

from randbench.stats.structured import (
    _uniform_subset_counts,
    duplicate_rate,
    inclusion_frequency,
    position_char_frequency,
    position_frequency,
)


def random_perms(rng: np.random.Generator, n: int, k: int) -> NDArray[np.int64]:
    return np.array([rng.permutation(k) for _ in range(n)])


def random_subsets(rng: np.random.Generator, n: int, k: int, n_items: int) -> NDArray[np.int64]:
    return np.array([rng.choice(n_items, size=k, replace=False) for _ in range(n)])


def password_marginals() -> NDArray[np.float64]:
    """8 positions over 36 characters: first a letter (0..25), the rest uneven."""
    rng = np.random.default_rng(36)
    probs = rng.dirichlet(np.full(36, 2.0), size=8)
    probs[0] = np.r_[np.full(26, 1 / 26), np.zeros(10)]
    return probs


def random_strings(
    rng: np.random.Generator, n: int, probs: NDArray[np.float64]
) -> NDArray[np.int64]:
    return np.stack([rng.choice(probs.shape[1], size=n, p=row) for row in probs], axis=1)


# ---------------------------------------------------------------- statistics by hand


def test_position_frequency_statistic_by_hand() -> None:
    perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [0, 1, 2], [2, 1, 0], [0, 1, 2]]
    k, n = 3, len(perms)
    table = [[0] * k for _ in range(k)]
    for perm in perms:
        for pos, item in enumerate(perm):
            table[pos][item] += 1
    assert table[0] == [4, 1, 1]
    e = n / k
    expected = sum((table[p][i] - e) ** 2 / e for p in range(k) for i in range(k))
    res = position_frequency(np.array(perms), rng=np.random.default_rng(0), n_sim=300)
    assert res.statistic == pytest.approx(expected)
    assert res.method == "monte_carlo"
    assert 0 < res.p_value <= 1


def test_position_frequency_null_mean_closed_form() -> None:
    # each cell count is Binomial(n, 1/k), so E[T] = k^2 (1 - 1/k) = k (k - 1) = 20,
    # not the (k - 1)^2 = 16 of a chi-square contingency table: hence the simulation
    rng = np.random.default_rng(1)
    k, n = 5, 60
    values = [
        position_frequency(random_perms(rng, n, k), rng=rng, n_sim=1).statistic for _ in range(400)
    ]
    assert np.mean(values) == pytest.approx(k * (k - 1), abs=1.5)


def test_position_frequency_detects_bias() -> None:
    rng = np.random.default_rng(2)
    perms = random_perms(rng, 100, 4)
    perms[:40] = [0, 1, 2, 3]  # identity far too often
    assert position_frequency(perms, rng=rng, n_sim=300).p_value == pytest.approx(1 / 301)


def test_position_frequency_rejects_non_permutations() -> None:
    with pytest.raises(ValueError, match="permutation"):
        position_frequency(np.array([[0, 0, 1]]), rng=np.random.default_rng(0))


def test_inclusion_frequency_statistic_closed_form() -> None:
    subsets = np.array([[0, 1], [0, 2], [0, 3], [1, 2]])  # n=4, k=2, N=5
    counts = np.array([3, 2, 2, 1, 0])
    e = 4 * 2 / 5
    expected = float(np.sum((counts - e) ** 2 / e))
    res = inclusion_frequency(subsets, 5, rng=np.random.default_rng(3), n_sim=300)
    assert res.statistic == pytest.approx(expected)


def test_inclusion_simulator_matches_closed_form() -> None:
    # uniform k-subsets: every item included with probability k/N; counts sum to n k;
    # Pearson mean = N (1 - k/N) = N - k
    rng = np.random.default_rng(4)
    n, k, n_items = 200, 6, 49
    counts = _uniform_subset_counts(rng, 2000, n, k, n_items)
    assert np.all(counts.sum(axis=1) == n * k)
    assert counts.mean() == pytest.approx(n * k / n_items, rel=0.01)
    e = n * k / n_items
    assert counts.var() == pytest.approx(n * (k / n_items) * (1 - k / n_items), rel=0.05)
    pearson = np.sum((counts - e) ** 2 / e, axis=1)
    assert pearson.mean() == pytest.approx(n_items - k, rel=0.02)


def test_inclusion_frequency_public_null_mean() -> None:
    rng = np.random.default_rng(5)
    values = [
        inclusion_frequency(random_subsets(rng, 50, 3, 10), 10, rng=rng, n_sim=1).statistic
        for _ in range(400)
    ]
    assert np.mean(values) == pytest.approx(10 - 3, abs=0.6)


def test_inclusion_frequency_validation() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="distinct"):
        inclusion_frequency(np.array([[1, 1]]), 5, rng=rng)
    with pytest.raises(ValueError, match=r"0\.\.N-1"):
        inclusion_frequency(np.array([[1, 5]]), 5, rng=rng)


def test_inclusion_frequency_detects_favourites() -> None:
    rng = np.random.default_rng(6)
    subsets = random_subsets(rng, 200, 6, 49)
    subsets[:60, 0] = np.where(np.any(subsets[:60, 1:] == 7, axis=1), subsets[:60, 0], 7)
    assert inclusion_frequency(subsets, 49, rng=rng, n_sim=300).p_value < 0.01


def test_position_char_frequency_statistic_by_hand() -> None:
    chars = np.array([[0, 1], [0, 2], [1, 2], [0, 0]])
    probs = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    # position 0: counts (3, 1), expected (2, 2); position 1: counts (1, 1, 2), expected
    # (0.8, 1.2, 2.0); the zero-probability cell is skipped
    expected = (1 / 2 + 1 / 2) + (0.2**2 / 0.8 + 0.2**2 / 1.2 + 0.0)
    res = position_char_frequency(chars, probs, rng=np.random.default_rng(7), n_sim=300)
    assert res.statistic == pytest.approx(expected)


def test_position_char_frequency_rejects_out_of_support() -> None:
    probs = np.array([[0.5, 0.5, 0.0]])
    with pytest.raises(ValueError, match="zero target probability"):
        position_char_frequency(np.array([[2]]), probs, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="probability vector"):
        position_char_frequency(
            np.array([[0]]), np.array([[0.5, 0.6]]), rng=np.random.default_rng(0)
        )


def test_duplicate_rate() -> None:
    assert duplicate_rate(["a", "b", "a", "a", "c"]) == pytest.approx(2 / 5)
    assert duplicate_rate([(1, 2), (2, 1), (1, 2)]) == pytest.approx(1 / 3)
    assert duplicate_rate(["x"]) == 0.0
    with pytest.raises(ValueError, match="no values"):
        duplicate_rate([])


# ---------------------------------------------------------------- calibration


@pytest.mark.slow
def test_calibration_position_frequency() -> None:
    rng = np.random.default_rng(101)
    p_values = [
        position_frequency(
            rng.permuted(np.tile(np.arange(5), (200, 1)), axis=1), rng=rng, n_sim=250
        ).p_value
        for _ in range(300)
    ]
    assert_calibrated("permutations k=5 (n=200)", "position_frequency", p_values)


@pytest.mark.slow
def test_calibration_inclusion_frequency() -> None:
    rng = np.random.default_rng(102)
    p_values = [
        inclusion_frequency(
            np.argsort(rng.random((200, 49)), axis=1)[:, :6], 49, rng=rng, n_sim=200
        ).p_value
        for _ in range(200)
    ]
    assert_calibrated("6 of 49 (n=200)", "inclusion_frequency", p_values)


@pytest.mark.slow
def test_calibration_position_char_frequency() -> None:
    rng = np.random.default_rng(103)
    probs = password_marginals()
    p_values = [
        position_char_frequency(random_strings(rng, 200, probs), probs, rng=rng, n_sim=250).p_value
        for _ in range(300)
    ]
    assert_calibrated("strings 8 x 36 chars (n=200)", "position_char_frequency", p_values)
