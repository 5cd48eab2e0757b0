"""Within-call dependence, stated distributions and seed agreement against known cases and
independent computations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from randbench.dependence import reproducibility, stated_distribution, within_call
from randbench.targets import TARGETS


def d6():  # type: ignore[no-untyped-def]
    return TARGETS.get("uniform_int")(low=1, high=6)


def colours():  # type: ignore[no-untyped-def]
    return TARGETS.get("categorical")(weights={"red": 0.5, "green": 0.3, "blue": 0.2})


def test_expected_distinct_rate_is_exact_for_an_enumerable_target() -> None:
    # E[distinct faces among m rolls] by brute force over all 6^m outcomes
    for m in (2, 3, 5):
        brute = np.mean([len(set(r)) for r in itertools.product(range(6), repeat=m)]) / m
        calls = [[1] * m] * 10
        result = within_call(d6(), calls, m, rng=np.random.default_rng(0), n_sim=200)
        assert result is not None and result.method == "exact"
        assert result.expected_distinct_rate == pytest.approx(brute, rel=1e-12)
        assert result.expected_repeat_rate == pytest.approx(1 / 6)


def test_simulated_null_agrees_with_the_exact_expectation() -> None:
    rng = np.random.default_rng(1)
    calls = [list(rng.integers(1, 7, 5)) for _ in range(100)]
    result = within_call(d6(), calls, 5, rng=rng, n_sim=2000)
    assert result is not None and result.distinct_rate_null is not None
    low, high = result.distinct_rate_null
    assert low < result.expected_distinct_rate < high  # type: ignore[operator]
    # a target without enumerable support takes the simulated route
    poisson = TARGETS.get("poisson")(rate=3)
    drawn = [poisson.sample(rng, 5) for _ in range(50)]
    simulated = within_call(poisson, drawn, 5, rng=rng, n_sim=200)
    assert simulated is not None and simulated.method == "simulated"
    assert simulated.enumerates is False


def test_enumerated_lists_are_flagged_and_repetition_is_seen() -> None:
    rng = np.random.default_rng(2)
    listed = [list(rng.permutation(6)[:5] + 1) for _ in range(40)]
    result = within_call(d6(), listed, 5, rng=rng, n_sim=1000)
    assert result is not None
    assert result.distinct_rate == 1.0 and result.repeat_rate == 0.0
    assert result.enumerates and result.p_more_distinct == pytest.approx(1 / 1001)
    same = [[4] * 5 for _ in range(40)]
    stuck = within_call(d6(), same, 5, rng=rng, n_sim=1000)
    assert (
        stuck is not None and stuck.distinct_rate == pytest.approx(0.2) and stuck.repeat_rate == 1.0
    )
    assert not stuck.enumerates and stuck.p_fewer_distinct == pytest.approx(1 / 1001)


def test_neighbour_correlation_of_a_known_pattern() -> None:
    rising = [[1, 2, 3, 4, 5], [2, 3, 4, 5, 6]] * 20
    result = within_call(d6(), rising, 5, rng=np.random.default_rng(3), n_sim=500)
    assert result is not None and result.lag1_correlation is not None
    left = [x for call in rising for x in call[:-1]]
    right = [x for call in rising for x in call[1:]]
    assert result.lag1_correlation == pytest.approx(np.corrcoef(left, right)[0, 1])
    assert result.lag1_correlation_null is not None
    assert result.lag1_correlation > result.lag1_correlation_null[1]
    labels = within_call(colours(), [["red", "blue"]] * 5, 2, rng=np.random.default_rng(0))
    assert labels is not None and labels.lag1_correlation is None, "labels have no order"


def test_invalid_answers_are_left_out_and_short_calls_ignored() -> None:
    calls = [[1, None, 1], [None, None, 3], [2, 5]]
    result = within_call(d6(), calls, 3, rng=np.random.default_rng(0), n_sim=100)
    assert result is not None and result.calls == 2
    assert result.distinct_rate == pytest.approx((1 / 2 + 2 / 2) / 2)
    nothing = within_call(d6(), [[None, 3]], 2, rng=np.random.default_rng(0))
    assert nothing.calls == 0 and nothing.distinct_rate is None and not nothing.enumerates


def test_iid_draws_are_rejected_about_as_often_as_alpha() -> None:
    rng = np.random.default_rng(4)
    rejections = 0
    trials = 200
    for _ in range(trials):
        calls = [
            list(rng.choice(["red", "green", "blue"], 5, p=[0.5, 0.3, 0.2])) for _ in range(30)
        ]
        result = within_call(colours(), calls, 5, rng=rng, n_sim=199)
        assert result is not None and result.p_more_distinct is not None
        rejections += result.p_more_distinct < 0.05
    # Binomial(200, 0.05): mean 10; a discrete statistic makes the test conservative
    assert 1 <= rejections <= 20, rejections


def test_stated_distribution_known_cases() -> None:
    uniform = [[(f, 1 / 6) for f in (1, 2, 3, 4, 5)], [(f, 1 / 6) for f in (2, 3, 4, 5, 6)]]
    exact = stated_distribution(d6(), uniform)
    assert exact is not None and exact.tvd == pytest.approx(0.0, abs=1e-12)
    assert exact.stated_total_on_support == pytest.approx(1.0) and exact.coverage == 1.0
    assert exact.mean_stated_total == pytest.approx(5 / 6)
    lopsided = stated_distribution(d6(), [[(4, 0.5), (2, 0.25), (9, 0.25)]])
    assert lopsided is not None
    model = np.array([0, 0.25, 0, 0.5, 0, 0]) / 0.75
    assert lopsided.tvd == pytest.approx(0.5 * np.abs(model - 1 / 6).sum())
    assert lopsided.kl_stated_target == pytest.approx(
        sum(p * math.log(p * 6) for p in model if p > 0)
    )
    assert lopsided.kl_target_stated == math.inf
    assert lopsided.stated_mass_outside_support == pytest.approx(0.25)
    assert lopsided.coverage == pytest.approx(2 / 6)
    assert stated_distribution(d6(), [[], [(3, 0.0)]]) is None
    repeated = stated_distribution(d6(), [[(3, 0.2), (3, 0.2)], [(5, 0.2)]])
    assert repeated is not None and repeated.distribution["3"] == pytest.approx(0.5)


def test_reproducibility_known_case() -> None:
    pairs = [(1, 1), (2, 2), (3, 4), (5, None), (6, 6)]
    result = reproducibility(d6(), pairs, [1, 2, 3, 5, 6, 1])
    assert result.pairs == 4 and result.invalid_pairs == 1
    assert result.agreement == pytest.approx(3 / 4)
    assert result.chance_agreement_target == pytest.approx(1 / 6)
    # unbiased: (sum c^2 - n) / (n (n - 1)) with counts 2,1,1,1,1
    assert result.chance_agreement_model == pytest.approx((4 + 4 - 6) / 30)
