"""Intervals and FDR control, checked against statsmodels and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from randbench.stats.categorical import tvd, tvd_rows
from randbench.stats.results import Interval
from randbench.stats.uncertainty import bootstrap_ci, fdr, multinomial_ci, wilson_interval


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_bootstrap_constant_data_falls_back_to_percentile() -> None:
    ci = bootstrap_ci([4.0] * 30, np.mean, rng=rng())
    assert ci == Interval(4.0, 4.0, "percentile")
    assert isinstance(ci.low, float)


def test_bootstrap_bca_close_to_t_interval() -> None:
    data = rng(5).normal(10.0, 2.0, size=200)
    ci = bootstrap_ci(data, np.mean, rng=rng(6))
    assert ci.method == "bca"
    half = stats.t.ppf(0.975, 199) * data.std(ddof=1) / math.sqrt(200)
    assert ci.low == pytest.approx(data.mean() - half, abs=0.06)
    assert ci.high == pytest.approx(data.mean() + half, abs=0.06)


def test_bootstrap_nearly_constant_data_still_works() -> None:
    ci = bootstrap_ci([4.0] * 19 + [5.0], np.mean, rng=rng())
    assert 4.0 <= ci.low <= 4.05 <= ci.high <= 5.0


def test_multinomial_ci_of_a_proportion_matches_normal_approximation() -> None:
    counts = np.array([300, 500, 200])
    probs = np.full(3, 1 / 3)
    ci = multinomial_ci(
        counts, probs, lambda c, p: float(c[0] / c.sum()), rng=rng(1), n_resamples=4000
    )
    se = math.sqrt(0.3 * 0.7 / 1000)
    assert ci.method == "percentile"
    assert ci.low == pytest.approx(0.3 - 1.96 * se, abs=0.003)
    assert ci.high == pytest.approx(0.3 + 1.96 * se, abs=0.003)


def test_multinomial_ci_of_tvd_brackets_the_estimate() -> None:
    counts = np.array([30, 10, 10, 10, 20, 20])
    probs = np.full(6, 1 / 6)
    ci = multinomial_ci(counts, probs, tvd, rng=rng(2))
    assert ci.low < tvd(counts, probs) < ci.high


def test_row_wise_tvd_gives_the_interval_of_the_one_at_a_time_statistic() -> None:
    """The rows version evaluates the same draws as tvd, an answer in a zero-probability
    cell counting in full in both, so the interval is the same to rounding."""
    counts = np.array([30, 0, 10, 10, 20, 20])
    probs = np.array([0.2, 0.0, 0.2, 0.2, 0.2, 0.2])
    draws = rng(3).multinomial(90, counts / 90, size=50)
    assert tvd_rows(draws, probs) == pytest.approx([tvd(row, probs) for row in draws], abs=1e-15)
    one = multinomial_ci(counts, probs, tvd, rng=rng(4))
    rows = multinomial_ci(counts, probs, tvd_rows, rng=rng(4), rows=True)
    assert (rows.low, rows.high) == pytest.approx((one.low, one.high), abs=1e-12)
    assert tvd_rows(np.array([[1, 1, 0, 0, 0, 0]]), probs)[0] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="2-D"):
        tvd_rows(counts, probs)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (50, 100), (99, 100), (7, 7)])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_wilson_matches_statsmodels(k: int, n: int, confidence: float) -> None:
    ci = wilson_interval(k, n, confidence)
    low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    assert ci.method == "wilson"
    assert ci.low == pytest.approx(low, abs=1e-12)
    assert ci.high == pytest.approx(high, abs=1e-12)


def test_wilson_closed_form() -> None:
    k, n, z = 30, 100, stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    ci = wilson_interval(k, n)
    assert ci.low == pytest.approx(centre - half)
    assert ci.high == pytest.approx(centre + half)


def test_fdr_matches_statsmodels_and_hand() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    adjusted = fdr(p)
    _, expected, _, _ = multipletests(p, method="fdr_bh")
    np.testing.assert_allclose(adjusted, expected)
    # by hand: sorted p * m / rank, then running minimum from the top
    assert adjusted[3] == pytest.approx(0.025)  # 0.005 * 5 / 1
    assert adjusted[1] == pytest.approx(0.05)  # 0.04 * 5 / 4
    assert fdr([]).size == 0
