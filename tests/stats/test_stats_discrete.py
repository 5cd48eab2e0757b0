"""Tests for randbench.stats.discrete: exact integer KS with a simulated p-value."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from calibration_rows import assert_calibrated
from numpy.typing import NDArray
from scipy import stats

from randbench.stats.discrete import discrete_ks, ks_distance


def d6_cdf(x: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.clip(np.floor(x), 0, 6) / 6.0


def d6_sampler(rng: np.random.Generator, n: int) -> NDArray[np.int64]:
    return rng.integers(1, 7, size=n)


def poisson3_cdf(x: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.asarray(stats.poisson.cdf(x, 3.0), dtype=np.float64)


def poisson3_sampler(rng: np.random.Generator, n: int) -> NDArray[np.int64]:
    return rng.poisson(3.0, size=n)


def geom_cdf(x: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.asarray(stats.geom.cdf(x, 0.3), dtype=np.float64)  # support 1, 2, ...


def geom_sampler(rng: np.random.Generator, n: int) -> NDArray[np.int64]:
    return rng.geometric(0.3, size=n)  # numpy's geometric also starts at 1


def brute_force_d(values: list[int], cdf_values: dict[int, float]) -> float:
    """sup |F_n - F| over a wide integer range, with plain Python loops."""
    n = len(values)
    best = 0.0
    for x in range(-20, 40):
        f_n = sum(v <= x for v in values) / n
        best = max(best, abs(f_n - cdf_values[x]))
    return best


def test_distance_matches_brute_force() -> None:
    values = [0, 2, 2, 3, 7, 1, 1, 4]
    cdf_values = {x: float(stats.poisson.cdf(x, 3.0)) for x in range(-20, 40)}
    expected = brute_force_d(values, cdf_values)
    assert ks_distance(values, poisson3_cdf) == pytest.approx(expected, abs=1e-12)
    rng = np.random.default_rng(1)
    result = discrete_ks(values, poisson3_cdf, poisson3_sampler, rng=rng, n_sim=200)
    assert result.statistic == pytest.approx(expected, abs=1e-12)
    assert 0.0 < result.p_value <= 1.0


def test_distance_brute_force_random_small_samples() -> None:
    rng = np.random.default_rng(7)
    cdf_values = {x: float(stats.geom.cdf(x, 0.3)) for x in range(-20, 40)}
    for size in (1, 2, 5, 13):
        values = [int(v) for v in rng.geometric(0.3, size=size)]
        expected = brute_force_d(values, cdf_values)
        assert ks_distance(values, geom_cdf) == pytest.approx(expected, abs=1e-12)


def test_a_huge_answer_needs_no_huge_grid() -> None:
    """A model once answered 3779806679 to a Poisson task: the distance is computed at the
    data's own values, not on a grid of every integer up to it (28 GiB)."""
    values = [2, 3, 3, 4, 3_779_806_679]
    cdf_values = {x: float(stats.poisson.cdf(x, 3.0)) for x in range(-20, 40)}
    below = brute_force_d([*values[:-1], 39], cdf_values)  # any value above 38 is alike
    assert ks_distance(values, poisson3_cdf) == pytest.approx(below, abs=1e-12)
    rng = np.random.default_rng(3)
    result = discrete_ks(values, poisson3_cdf, poisson3_sampler, rng=rng, n_sim=200)
    assert result.statistic == pytest.approx(below, abs=1e-12)


def test_an_answer_beyond_int64_is_far_above_not_wrapped_below() -> None:
    """Gemma 3 answered a number past 2**63 to a held-out Poisson task; cast to int64 it
    wrapped to a negative number and moved the distance to the wrong tail."""
    values = [2, 3, 3, 4, 10**20]
    assert ks_distance(values, poisson3_cdf) == pytest.approx(
        ks_distance([2, 3, 3, 4, 10**12], poisson3_cdf), abs=1e-12
    )


def test_distance_of_perfect_d6_is_zero() -> None:
    values = list(itertools.chain.from_iterable(range(1, 7) for _ in range(5)))
    assert ks_distance(values, d6_cdf) == pytest.approx(0.0, abs=1e-12)


def test_far_off_data_rejected() -> None:
    rng = np.random.default_rng(3)
    values = rng.poisson(5.0, size=200)
    result = discrete_ks(values, poisson3_cdf, poisson3_sampler, rng=rng, n_sim=500)
    assert result.p_value == pytest.approx(1 / 501)
    assert result.method == "monte_carlo"


def test_p_value_bounds_and_reproducibility() -> None:
    values = np.random.default_rng(5).poisson(3.0, size=50)
    a = discrete_ks(values, poisson3_cdf, poisson3_sampler, rng=np.random.default_rng(9))
    b = discrete_ks(values, poisson3_cdf, poisson3_sampler, rng=np.random.default_rng(9))
    assert a == b
    assert 1 / 2001 <= a.p_value <= 1.0
    assert isinstance(a.statistic, float)
    assert isinstance(a.p_value, float)


def test_rejects_non_integers() -> None:
    with pytest.raises(ValueError, match="integers"):
        discrete_ks([1.5, 2.0], d6_cdf, d6_sampler, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="no values"):
        ks_distance([], d6_cdf)


def test_scipy_kstest_wrong_on_d6_but_discrete_ks_calibrated() -> None:
    rng = np.random.default_rng(2024)
    runs = 200
    scipy_rejects = 0
    ours: list[float] = []
    for _ in range(runs):
        values = d6_sampler(rng, 100)
        scipy_p = stats.kstest(values, d6_cdf).pvalue
        scipy_rejects += scipy_p <= 0.05
        ours.append(discrete_ks(values, d6_cdf, d6_sampler, rng=rng, n_sim=300).p_value)
    assert scipy_rejects / runs > 0.9
    assert_calibrated("d6 (n=100)", "discrete_ks", ours)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "cdf", "sampler"),
    [
        ("Poisson(3) (n=200)", poisson3_cdf, poisson3_sampler),
        ("geometric(0.3) (n=200)", geom_cdf, geom_sampler),
    ],
)
def test_calibration(
    family: str,
    cdf: Callable[[NDArray[np.int64]], NDArray[np.float64]],
    sampler: Callable[[np.random.Generator, int], NDArray[np.int64]],
) -> None:
    rng = np.random.default_rng(12345)
    p_values = [
        discrete_ks(sampler(rng, 200), cdf, sampler, rng=rng, n_sim=300).p_value for _ in range(300)
    ]
    assert_calibrated(family, "discrete_ks", p_values)
