"""Exact (logprob) metrics, the Dirichlet-multinomial e-value and two-sample comparison."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from randbench.stats.compare import compare_counts
from randbench.stats.evalue import anytime_stop, dirichlet_multinomial_log_evalue
from randbench.stats.exact import (
    exact_entropy,
    exact_kl,
    exact_kl_target_model,
    exact_tvd,
    mass_outside_support,
    renormalise,
)

D6 = np.full(6, 1 / 6)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- exact metrics --------------------------------------------------------------------


def test_renormalise_and_mass_outside() -> None:
    np.testing.assert_allclose(renormalise([0.2, 0.2, 0.4]), [0.25, 0.25, 0.5])
    assert mass_outside_support(0.8) == pytest.approx(0.2)
    assert mass_outside_support(1.0000001) == 0.0
    with pytest.raises(ValueError, match="no mass"):
        renormalise([0.0, 0.0])


def test_exact_tvd_uses_renormalised_model() -> None:
    # model puts 0.8 on the support as [0.4, 0.4] -> [0.5, 0.5]: identical to a fair coin
    assert exact_tvd([0.4, 0.4], [0.5, 0.5]) == pytest.approx(0.0)
    assert exact_tvd([0.9, 0.1], [0.5, 0.5]) == pytest.approx(0.4)


def test_exact_kl_both_directions_by_hand() -> None:
    model, target = [0.3, 0.2], [0.5, 0.5]  # renormalised model: [0.6, 0.4]
    forward = 0.6 * math.log(0.6 / 0.5) + 0.4 * math.log(0.4 / 0.5)
    backward = 0.5 * math.log(0.5 / 0.6) + 0.5 * math.log(0.5 / 0.4)
    assert exact_kl(model, target) == pytest.approx(forward)
    assert exact_kl_target_model(model, target) == pytest.approx(backward)
    assert exact_kl_target_model([1.0, 0.0], [0.5, 0.5]) == math.inf
    assert exact_kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert exact_kl([0.5, 0.5], [1.0, 0.0]) == math.inf


def test_exact_entropy() -> None:
    assert exact_entropy(D6) == pytest.approx(math.log(6))
    p = [0.5, 0.3, 0.2, 0.0]
    assert exact_entropy(p) == pytest.approx(stats.entropy(p))
    assert exact_entropy([0.25, 0.15, 0.1]) == pytest.approx(stats.entropy(p))


# --- e-value --------------------------------------------------------------------------


def predictive_log_evalue(seq: list[int], p0: np.ndarray, prior: np.ndarray) -> list[float]:
    """log E after each observation, by the sequential Dirichlet-multinomial product."""
    counts = np.zeros(len(p0))
    log_e, path = 0.0, []
    for t, i in enumerate(seq):
        pred = (prior[i] + counts[i]) / (prior.sum() + t)
        log_e += math.log(pred / p0[i])
        counts[i] += 1
        path.append(log_e)
    return path


@pytest.mark.parametrize("prior", [1.0, 0.5, [1.0, 2.0, 0.5, 1.0, 1.0, 3.0]])
def test_evalue_equals_sequential_predictive_product(prior: float | list[float]) -> None:
    p0 = np.array([0.1, 0.2, 0.3, 0.1, 0.2, 0.1])
    seq = rng(4).choice(6, size=50, p=p0).tolist()
    counts = np.bincount(seq, minlength=6)
    prior_vec = np.broadcast_to(np.asarray(prior, dtype=float), (6,))
    direct = predictive_log_evalue(seq, p0, prior_vec)[-1]
    assert dirichlet_multinomial_log_evalue(counts, p0, prior) == pytest.approx(direct)


def test_evalue_zero_counts_and_impossible_outcomes() -> None:
    assert dirichlet_multinomial_log_evalue(np.zeros(6), D6) == pytest.approx(0.0)
    assert dirichlet_multinomial_log_evalue([1, 2], [1.0, 0.0]) == math.inf
    assert math.isfinite(dirichlet_multinomial_log_evalue([3, 0], [1.0, 0.0]))


def test_anytime_stop_matches_direct_path() -> None:
    p0 = D6
    seq = ([0] * 3 + [1]) * 10  # a model that loves "1"
    path = predictive_log_evalue(seq, p0, np.ones(6))
    first = next(t + 1 for t, v in enumerate(path) if v >= math.log(20))
    assert anytime_stop(seq, p0, alpha=0.05) == first
    assert anytime_stop(seq[: first - 1], p0, alpha=0.05) is None
    assert anytime_stop([0, 1, 2, 3, 4, 5], p0) is None
    assert anytime_stop([0, 1], [0.5, 0.0, 0.5]) == 2
    with pytest.raises(ValueError, match="outside"):
        anytime_stop([6], p0)


# --- compare_counts -------------------------------------------------------------------


def test_compare_counts_matches_asymptotic_on_large_counts() -> None:
    gen = rng(8)
    a = gen.multinomial(3000, [0.2, 0.3, 0.3, 0.2])
    b = gen.multinomial(2000, [0.22, 0.28, 0.3, 0.2])
    res = compare_counts(a, b, rng=gen, n_sim=5000)
    ref = stats.chi2_contingency(np.vstack([a, b]), correction=False)
    assert res.method == "monte_carlo"
    assert res.statistic == pytest.approx(float(ref.statistic))
    assert res.df == 3.0
    assert abs(res.p_value - float(ref.pvalue)) < 0.02


def test_compare_counts_2x2_matches_hypergeometric_enumeration() -> None:
    a, b = np.array([9, 3]), np.array([4, 8])
    col, n_a = a + b, int(a.sum())
    total = int(col.sum())
    xs = np.arange(max(0, n_a - col[1]), min(n_a, col[0]) + 1)
    pmf = stats.hypergeom.pmf(xs, total, col[0], n_a)

    def pearson(x: int) -> float:
        table = np.array([[x, n_a - x], [col[0] - x, col[1] - n_a + x]], dtype=float)
        expected = np.outer(table.sum(1), table.sum(0)) / total
        return float(((table - expected) ** 2 / expected).sum())

    t_obs = pearson(int(a[0]))
    exact = float(pmf[[pearson(int(x)) >= t_obs - 1e-9 for x in xs]].sum())
    res = compare_counts(a, b, rng=rng(9), n_sim=20000)
    assert abs(res.p_value - exact) < 0.01


def test_compare_counts_drops_empty_columns_and_identical_inputs() -> None:
    gen = rng(10)
    a = compare_counts([5, 0, 7, 3], [4, 0, 8, 2], rng=rng(1), n_sim=300)
    b = compare_counts([5, 7, 3], [4, 8, 2], rng=rng(1), n_sim=300)
    assert a == b
    same = compare_counts([10, 10], [10, 10], rng=gen, n_sim=300)
    assert same.statistic == pytest.approx(0.0)
    assert same.p_value == 1.0
    assert compare_counts([3, 0], [4, 0], rng=gen).p_value == 1.0


def test_compare_counts_null_p_values_roughly_uniform() -> None:
    gen = rng(12)
    probs = [0.4, 0.3, 0.2, 0.1]
    p_values = [
        compare_counts(
            gen.multinomial(200, probs), gen.multinomial(200, probs), rng=gen, n_sim=300
        ).p_value
        for _ in range(150)
    ]
    assert stats.kstest(p_values, "uniform").pvalue > 0.001
