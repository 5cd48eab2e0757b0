"""Tests for randbench.stats.continuous: goodness of fit with all parameters known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from calibration_rows import assert_calibrated
from scipy import stats

from randbench.stats.continuous import continuous_gof, dequantize, frozen_params


def test_frozen_params_maps_positional_and_keyword() -> None:
    family, params = frozen_params(stats.norm(50, 10))
    assert family.name == "norm"
    assert params == {"loc": 50.0, "scale": 10.0}
    assert frozen_params(stats.expon(scale=2))[1] == {"loc": 0.0, "scale": 2.0}
    assert frozen_params(stats.gamma(2.5, scale=3))[1] == {"a": 2.5, "loc": 0.0, "scale": 3.0}
    assert frozen_params(stats.beta(2, 3, 1))[1] == {"a": 2.0, "b": 3.0, "loc": 1.0, "scale": 1.0}
    assert frozen_params(stats.uniform(loc=0, scale=10))[1] == {"loc": 0.0, "scale": 10.0}


def test_frozen_params_rejects_discrete() -> None:
    with pytest.raises(TypeError):
        frozen_params(stats.poisson(3))


@pytest.mark.parametrize(
    "dist", [stats.norm(loc=50, scale=10), stats.expon(scale=2), stats.uniform(0, 10)]
)
def test_ks_statistic_equals_scipy_kstest(dist: Any) -> None:
    rng = np.random.default_rng(11)
    x = dist.rvs(size=150, random_state=rng)
    ours = continuous_gof(x, dist, rng=rng, statistic="ks", n_mc=199)
    ref = stats.kstest(x, dist.cdf)
    assert ours.statistic == pytest.approx(float(ref.statistic), rel=1e-12)
    assert ours.method == "monte_carlo"
    # the Monte Carlo p-value agrees with the exact one up to simulation error
    assert abs(ours.p_value - float(ref.pvalue)) < 0.12


def test_cvm_statistic_equals_scipy_cramervonmises() -> None:
    rng = np.random.default_rng(12)
    dist = stats.norm(50, 10)
    x = dist.rvs(size=120, random_state=rng)
    ours = continuous_gof(x, dist, rng=rng, statistic="cvm", n_mc=99)
    ref = stats.cramervonmises(x, dist.cdf)
    assert ours.statistic == pytest.approx(float(ref.statistic), rel=1e-10)


def test_ad_statistic_equals_formula() -> None:
    rng = np.random.default_rng(13)
    dist = stats.expon(scale=2)
    x = np.sort(dist.rvs(size=80, random_state=rng))
    n = x.size
    i = np.arange(1, n + 1)
    expected = -n - np.mean((2 * i - 1) * (dist.logcdf(x) + dist.logsf(x[::-1])))
    ours = continuous_gof(x, dist, rng=rng, statistic="ad", n_mc=99)
    assert ours.statistic == pytest.approx(float(expected), rel=1e-10)


def test_anderson_with_estimation_is_the_wrong_question() -> None:
    rng = np.random.default_rng(2025)
    x = rng.normal(55, 10, size=500)
    # anderson estimates mean and scale: the shifted data look perfectly normal
    assert float(stats.anderson(x, "norm", method="interpolate").pvalue) > 0.05
    # with N(50, 10) fully specified the shift is found
    ours = continuous_gof(x, stats.norm(50, 10), rng=rng, statistic="ad", n_mc=199)
    assert ours.p_value <= 1 / 200 + 1e-12


def test_dequantize_stays_in_cell_and_support() -> None:
    rng = np.random.default_rng(4)
    dist = stats.expon(scale=2)
    x = np.round(dist.rvs(size=2000, random_state=rng), 1)
    y = dequantize(x, dist, 1, rng)
    assert np.all(np.abs(y - x) <= 0.05 + 1e-12)
    assert np.all(y >= 0.0)
    assert len(np.unique(y)) == y.size


def test_rounded_data_without_dequantize_is_miscalibrated() -> None:
    # why decimals exists: coarse rounding alone wrecks the continuous null
    rng = np.random.default_rng(8)
    dist = stats.norm(50, 10)
    x = np.round(dist.rvs(size=300, random_state=rng))
    naive = continuous_gof(x, dist, rng=rng, statistic="ad", n_mc=199)
    fixed = continuous_gof(x, dist, rng=rng, statistic="ad", n_mc=199, decimals=0)
    assert naive.statistic > fixed.statistic


def test_bad_arguments() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="statistic"):
        continuous_gof([1.0, 2.0], stats.norm(), rng=rng, statistic="chi2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        continuous_gof([1.0, np.nan], stats.norm(), rng=rng)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "dist", "decimals"),
    [
        ("normal(50,10) rounded to 1 dp (n=200)", stats.norm(50, 10), 1),
        ("exponential(scale=2) (n=200)", stats.expon(scale=2), None),
        ("exponential(scale=2) rounded to 1 dp (n=200)", stats.expon(scale=2), 1),
    ],
)
def test_calibration(family: str, dist: Any, decimals: int | None) -> None:
    rng = np.random.default_rng(777)
    p_values: list[float] = []
    for _ in range(200):
        x = dist.rvs(size=200, random_state=rng)
        if decimals is not None:
            x = np.round(x, decimals)
        res = continuous_gof(x, dist, rng=rng, statistic="ad", decimals=decimals, n_mc=199)
        p_values.append(res.p_value)
    assert_calibrated(family, "continuous_gof ad", p_values)
