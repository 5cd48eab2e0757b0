"""Categorical goodness of fit, distances and entropy, each against an independent computation.

The calibration tests at the bottom (marked slow) also cover compare_counts and the
e-value, and write their measured rejection rates to calibration_rows_part1.md.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from calibration_rows import ALPHA, record_row
from scipy import stats
from scipy.spatial.distance import jensenshannon

from randbench.stats.categorical import (
    IMPOSSIBLE,
    binomial_test,
    chi_square,
    entropy_chao_shen,
    entropy_miller_madow,
    entropy_plugin,
    excess_tvd,
    g_test,
    impossible_count,
    js_divergence,
    kl_empirical_target,
    mode_share,
    normalised_entropy,
    pool_negligible_cells,
    support_coverage,
    tvd,
    tvd_null,
)
from randbench.stats.compare import compare_counts
from randbench.stats.evalue import anytime_stop
from randbench.stats.results import NullBand, TestResult

D6 = np.full(6, 1 / 6)
WORKED = [3, 1, 0, 2, 2, 2]  # STATISTICS.md worked case: 10 rolls of a d6


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def compositions(n: int, k: int) -> Iterator[tuple[int, ...]]:
    """All k-cell count vectors summing to n (stars and bars)."""
    for bars in itertools.combinations(range(n + k - 1), k - 1):
        edges = (-1, *bars, n + k - 1)
        yield tuple(edges[i + 1] - edges[i] - 1 for i in range(k))


def exact_p(observed: list[int], probs: np.ndarray, stat: Callable[[np.ndarray], float]) -> float:
    """Exact p-value P(T >= T_obs) by enumerating every outcome of the multinomial."""
    n = sum(observed)
    t_obs = stat(np.array(observed, dtype=float))
    total = 0.0
    for comp in compositions(n, len(probs)):
        x = np.array(comp, dtype=float)
        if stat(x) >= t_obs - 1e-9:
            total += float(stats.multinomial.pmf(comp, n, probs))
    return total


def pearson(x: np.ndarray, probs: np.ndarray = D6) -> float:
    e = x.sum() * probs
    return float(((x - e) ** 2 / e).sum())


def g_stat(x: np.ndarray, probs: np.ndarray = D6) -> float:
    e = x.sum() * probs
    nz = x > 0
    return float(2 * (x[nz] * np.log(x[nz] / e[nz])).sum())


# --- goodness of fit -------------------------------------------------------------------


def test_worked_case_asymptotic_vs_monte_carlo() -> None:
    # STATISTICS.md's 0.454 (asymptotic) vs ~0.72 (simulation) are the G-test's numbers;
    # Pearson's statistic on the same counts is 3.2 with asymptotic p 0.669.
    asym = g_test(WORKED, D6, rng=rng(), min_expected=0.0)
    assert asym.method == "asymptotic"
    assert asym.df == 5.0
    assert asym.p_value == pytest.approx(0.454, abs=5e-4)
    mc = g_test(WORKED, D6, rng=rng(), n_sim=20000)
    assert mc.method == "monte_carlo"
    assert mc.statistic == pytest.approx(g_stat(np.array(WORKED, dtype=float)))
    assert abs(mc.p_value - 0.72) < 0.03
    pearson_asym = chi_square(WORKED, D6, rng=rng(), min_expected=0.0)
    assert pearson_asym.statistic == pytest.approx(3.2)
    assert pearson_asym.p_value == pytest.approx(0.669, abs=5e-4)


@pytest.mark.parametrize(("test", "stat"), [(chi_square, pearson), (g_test, g_stat)])
def test_monte_carlo_p_matches_exact_enumeration(
    test: Callable[..., TestResult], stat: Callable[[np.ndarray], float]
) -> None:
    exact = exact_p(WORKED, D6, stat)
    res = test(WORKED, D6, rng=rng(1), n_sim=20000)
    assert res.method == "monte_carlo"
    assert res.df is None
    assert abs(res.p_value - exact) < 0.015


def test_chi_square_asymptotic_closed_form() -> None:
    counts = [110, 95, 100, 90, 105, 100]
    res = chi_square(counts, D6, rng=rng())
    t = pearson(np.array(counts, dtype=float))
    assert res.method == "asymptotic"
    assert res.statistic == pytest.approx(t)
    assert res.p_value == pytest.approx(stats.chi2.sf(t, 5))
    assert isinstance(res.statistic, float)
    assert isinstance(res.p_value, float)


def test_g_test_equals_two_n_kl() -> None:
    counts = np.array([30, 25, 45])
    probs = np.array([0.3, 0.3, 0.4])
    res = g_test(counts, probs, rng=rng())
    assert res.statistic == pytest.approx(2 * 100 * kl_empirical_target(counts, probs))


def test_zero_probability_cells_are_excluded() -> None:
    probs3 = np.array([0.25, 0.0, 0.75])
    a = chi_square([3, 0, 5], probs3, rng=rng(7), n_sim=500)
    b = chi_square([3, 5], [0.25, 0.75], rng=rng(7), n_sim=500)
    assert a == b
    big = g_test([300, 0, 700], probs3, rng=rng())
    assert big.df == 1.0


def test_an_answer_of_target_probability_zero_is_a_miss_that_counts() -> None:
    """Issue #29: an outcome the task lists with weight 0 is a valid answer and a miss: the
    tests reject with p = 0 exactly, TVD counts it in full, KL(p_hat || p) is infinite."""
    probs3 = np.array([0.25, 0.0, 0.75])
    for test in (chi_square, g_test):
        res = test([3, 1, 5], probs3, rng=rng())
        assert (res.p_value, res.method, res.statistic) == (0.0, IMPOSSIBLE, math.inf)
    assert impossible_count([3, 1, 5], probs3) == 1 and impossible_count([3, 0, 5], probs3) == 0
    assert tvd([3, 1, 5], probs3) == pytest.approx(
        0.5 * (abs(3 / 9 - 0.25) + 1 / 9 + abs(5 / 9 - 0.75))
    )
    assert tvd([0, 4, 0], probs3) == 1.0
    assert kl_empirical_target([3, 1, 5], probs3) == math.inf


def test_binomial_test_against_pmf_sum() -> None:
    k, n, p = 37, 100, 0.5
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    expected = pmf[pmf <= pmf[k] * (1 + 1e-7)].sum()
    res = binomial_test(k, n, p)
    assert res.statistic == pytest.approx(0.37)
    assert res.p_value == pytest.approx(expected, rel=1e-9)
    assert res.method == "exact"


def test_two_outcomes_need_the_exact_test_by_enumeration() -> None:
    """Fair coin, n = 50 (expected counts 25, 25): exact sizes at alpha 0.05, summing the
    binomial pmf over the rejected counts. The asymptotic chi-square rejects 6.5%, the exact
    binomial test 3.3% (never more than alpha)."""
    n, alpha = 50, 0.05
    pmf = stats.binom.pmf(np.arange(n + 1), n, 0.5)
    exact = sum(pmf[k] for k in range(n + 1) if binomial_test(k, n, 0.5).p_value <= alpha)
    chi = [chi_square([k, n - k], [0.5, 0.5], rng=rng()) for k in range(n + 1)]
    assert {c.method for c in chi} == {"asymptotic"}
    asymptotic = sum(pmf[k] for k in range(n + 1) if chi[k].p_value <= alpha)
    assert exact == pytest.approx(0.0328, abs=5e-4) and exact <= alpha
    assert asymptotic == pytest.approx(0.0649, abs=5e-4)


# --- distances ------------------------------------------------------------------------


def test_tvd_by_hand() -> None:
    assert tvd([5, 3, 2], [0.5, 0.3, 0.2]) == pytest.approx(0.0)
    assert tvd([10, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert tvd(WORKED, D6) == pytest.approx(0.5 * (3 * (1 / 30) + 1 / 15 + 1 / 6 + 2 / 15))


@pytest.mark.parametrize(
    ("k", "n", "expected"), [(2, 100, 0.040), (6, 100, 0.089), (6, 600, 0.037), (100, 1000, 0.125)]
)
def test_tvd_null_reproduces_reference_means(k: int, n: int, expected: float) -> None:
    band = tvd_null(n, np.full(k, 1 / k), rng=rng(k + n), n_sim=4000)
    assert isinstance(band, NullBand)
    assert abs(band.mean - expected) < 0.004
    assert band.low <= band.mean <= band.high


def test_tvd_null_k2_exact_mean() -> None:
    # For k=2, TVD = |X/n - 1/2| with X ~ Binomial(n, 1/2).
    n = 100
    x = np.arange(n + 1)
    exact = float((stats.binom.pmf(x, n, 0.5) * np.abs(x / n - 0.5)).sum())
    band = tvd_null(n, [0.5, 0.5], rng=rng(3), n_sim=20000)
    assert band.mean == pytest.approx(exact, abs=0.001)


def test_excess_tvd() -> None:
    band = NullBand(mean=0.089, low=0.04, high=0.15)
    assert excess_tvd(0.2, band) == pytest.approx(0.111)
    assert excess_tvd(0.05, band) < 0


def test_kl_empirical_target_by_hand() -> None:
    counts, probs = [2, 1, 1], [0.5, 0.25, 0.25]
    assert kl_empirical_target(counts, probs) == pytest.approx(0.0)
    expected = sum((c / 10) * math.log((c / 10) / (1 / 6)) for c in WORKED if c > 0)
    assert kl_empirical_target(WORKED, D6) == pytest.approx(expected)
    assert kl_empirical_target([1, 1], [1.0, 0.0]) == math.inf


def test_js_divergence_is_square_of_scipy_distance() -> None:
    q = np.array(WORKED) / 10
    assert js_divergence(WORKED, D6) == pytest.approx(jensenshannon(q, D6) ** 2)
    assert js_divergence([5, 0], [0.0, 1.0]) == pytest.approx(math.log(2))


# --- entropy --------------------------------------------------------------------------


def test_entropy_plugin_and_miller_madow() -> None:
    assert entropy_plugin(WORKED) == pytest.approx(stats.entropy(WORKED))
    m, n = 5, 10
    assert entropy_miller_madow(WORKED) == pytest.approx(stats.entropy(WORKED) + (m - 1) / (2 * n))
    assert entropy_miller_madow([7, 0, 0]) == pytest.approx(0.0)


def test_chao_shen_hand_computation() -> None:
    # counts [1, 1, 2, 3]: n = 7, f1 = 2, C = 5/7, pa = C * c / 7
    n, coverage = 7, 5 / 7
    expected = 0.0
    for c in (1, 1, 2, 3):
        pa = coverage * c / n
        expected -= pa * math.log(pa) / (1 - (1 - pa) ** n)
    assert entropy_chao_shen([1, 1, 0, 2, 3]) == pytest.approx(expected)


def test_chao_shen_all_singletons_fix() -> None:
    # f1 == n: f1 is taken as n - 1, so C = 1/3 and each pa = 1/9.
    pa = 1 / 9
    expected = -3 * pa * math.log(pa) / (1 - (1 - pa) ** 3)
    assert entropy_chao_shen([1, 1, 1]) == pytest.approx(expected)
    assert math.isfinite(entropy_chao_shen([1]))


def test_chao_shen_close_to_plugin_without_singletons() -> None:
    counts = [400, 300, 200, 100]
    assert entropy_chao_shen(counts) == pytest.approx(entropy_plugin(counts), rel=1e-9)


def test_bias_corrections_move_towards_truth() -> None:
    gen = rng(11)
    k, n = 100, 200
    draws = gen.multinomial(n, np.full(k, 1 / k), size=200)
    truth = math.log(k)
    plug = np.mean([entropy_plugin(d) for d in draws])
    mm = np.mean([entropy_miller_madow(d) for d in draws])
    cs = np.mean([entropy_chao_shen(d) for d in draws])
    assert plug < mm < truth + 0.05
    assert abs(cs - truth) < abs(plug - truth)


def test_normalised_entropy() -> None:
    assert normalised_entropy(math.log(6), 6) == pytest.approx(1.0)
    assert normalised_entropy(0.0, 6) == 0.0
    assert math.isnan(normalised_entropy(0.0, 1))
    # A Miller-Madow estimate above the maximum (a near-uniform sample) reads as 1.
    assert normalised_entropy(math.log(6) + 5 / 1200, 6) == 1.0
    with pytest.raises(ValueError, match="support_size"):
        normalised_entropy(0.0, 0)


def test_mode_share_and_coverage() -> None:
    assert mode_share(WORKED) == pytest.approx(0.3)
    assert support_coverage(WORKED) == pytest.approx(5 / 6)
    assert support_coverage([0, 0, 4]) == pytest.approx(1 / 3)


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        tvd([1, 2], [0.5, 0.6])
    with pytest.raises(ValueError, match="non-negative integers"):
        tvd([1.5, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="cells"):
        tvd([1, 2, 3], [0.5, 0.5])
    with pytest.raises(ValueError, match="no observations"):
        entropy_plugin([0, 0])


# --- calibration: a perfect sampler must be rejected about 5% of the time ---------------

RUNS = 400


def record(
    family: str, test: str, rate: float, runs: int = RUNS, level: float = ALPHA
) -> tuple[float, float]:
    note = "" if level == ALPHA else f" around the exact test's size {level:.4f}"
    return record_row(family, test, runs, rate, level=level, note=note)


def exact_size(stat: Callable[[np.ndarray], float], n: int, probs: np.ndarray) -> float:
    """Size at ALPHA of the exact test, by enumeration: with few rolls the statistic
    takes few values, so even a perfect p-value cannot reject exactly 5% of the time."""
    comps = np.array(list(compositions(n, len(probs))), dtype=float)
    pmf = stats.multinomial.pmf(comps, n, probs)
    t = np.array([stat(c) for c in comps])
    order = np.argsort(-t, kind="stable")
    tail = np.cumsum(pmf[order])
    # p-value of each outcome = mass of outcomes with a statistic at least as large
    t_sorted = t[order]
    last_tie = np.searchsorted(-t_sorted, -t_sorted + 1e-9, side="right") - 1
    p_values = tail[last_tie]
    return float(pmf[order][p_values <= ALPHA].sum())


CASES = [
    ("d6, n=12 (Monte Carlo)", D6, 12, "monte_carlo"),
    ("d6, n=600 (asymptotic)", D6, 600, "asymptotic"),
    ("uniform 1-100, n=200 (Monte Carlo)", np.full(100, 0.01), 200, "monte_carlo"),
]
STATS: dict[str, Callable[[np.ndarray], float]] = {"chi_square": pearson, "g_test": g_stat}


def test_exact_size_of_small_d6_tests() -> None:
    # Pearson's statistic at n=12 is coarse: its exact test rejects only ~3.3% at 5%.
    assert exact_size(pearson, 12, D6) == pytest.approx(0.0329, abs=5e-4)
    assert exact_size(g_stat, 12, D6) == pytest.approx(0.0494, abs=5e-4)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "test"), [("chi_square", chi_square), ("g_test", g_test)])
@pytest.mark.parametrize(("family", "probs", "n", "method"), CASES)
def test_calibration_goodness_of_fit(
    name: str,
    test: Callable[..., TestResult],
    family: str,
    probs: np.ndarray,
    n: int,
    method: str,
) -> None:
    gen = rng(2024)
    rejections = 0
    for _ in range(RUNS):
        counts = gen.multinomial(n, probs)
        res = test(counts, probs, rng=gen, n_sim=500)
        assert res.method == method
        rejections += res.p_value <= ALPHA
    rate = rejections / RUNS
    # Where the outcomes can be enumerated, centre the band on the exact test's size.
    level = exact_size(STATS[name], n, probs) if n <= 12 else ALPHA
    assert level <= ALPHA + 1e-12
    low, high = record(family, name, rate, level=level)
    assert low <= rate <= high


@pytest.mark.slow
def test_calibration_compare_counts() -> None:
    gen = rng(7)
    probs = np.array([0.3, 0.2, 0.2, 0.1, 0.1, 0.1])
    rejections = 0
    for _ in range(RUNS):
        a, b = gen.multinomial(40, probs), gen.multinomial(60, probs)
        rejections += compare_counts(a, b, rng=gen, n_sim=500).p_value <= ALPHA
    rate = rejections / RUNS
    low, high = record("two samples, 6 cells, n=40 vs 60 (permutation)", "compare_counts", rate)
    assert low <= rate <= high


@pytest.mark.slow
def test_calibration_anytime_evalue() -> None:
    gen = rng(99)
    rejections = 0
    for _ in range(RUNS):
        seq = gen.integers(0, 6, size=300).tolist()
        rejections += anytime_stop(seq, D6, alpha=ALPHA) is not None
    rate = rejections / RUNS
    _, high = record("d6, looked at after every roll up to n=300", "anytime e-value", rate)
    assert rate <= high  # Ville: at most alpha, whatever the stopping time


def test_cells_of_negligible_expected_count_are_pooled_before_the_tests() -> None:
    """Issue #29 item 7: Binomial(28, 0.095), a poisson_marks target, at n = 50 has cells of
    expected count down to 1e-29; one answer there made X^2 about 1e14. The smallest cells
    are pooled until they expect 0.1 answers; the rest are untouched."""
    probs = stats.binom.pmf(np.arange(29), 28, 0.095)
    probs /= probs.sum()
    counts = np.zeros(29)
    counts[[1, 2, 3, 4]] = [10, 20, 15, 4]
    counts[20] = 1
    pooled_counts, pooled_probs = pool_negligible_cells(counts, probs)
    expected = 50 * pooled_probs
    assert pooled_probs.sum() == pytest.approx(1.0) and pooled_counts.sum() == 50
    assert expected.min() >= 0.1 and pooled_counts[-1] == 1
    assert np.all(expected[:-1] >= 0.1)
    kept = int(np.count_nonzero(np.cumsum(np.sort(50 * probs)) >= 0.1))
    assert len(pooled_counts) == kept, "the fewest smallest cells that together expect 0.1"
    res = chi_square(counts, probs, rng=rng(1), n_sim=2000)
    assert res.statistic < 1e3 and res.method == "monte_carlo"
    raw = stats.power_divergence(counts, 50 * probs).statistic
    assert raw > 1e10, "what the test computed before"
    d6 = np.array([5, 6, 4, 5, 5, 5])
    same = pool_negligible_cells(d6.astype(float), np.full(6, 1 / 6))
    assert np.array_equal(same[0], d6)
