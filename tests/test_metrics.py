"""The metrics dispatcher: each analysis family on answers whose verdict is known."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from randbench.answers import read_answer
from randbench.metrics import evaluate, evaluate_exact
from randbench.outcomes import Outcome, ParseResult
from randbench.parsers.spec import build_parser
from randbench.targets import TARGETS, Target

RNG_SEED = 20261123


def target(name: str, **params: Any) -> Target:
    return TARGETS.get(name).model_validate(params)


def ok(values: list[Outcome]) -> list[ParseResult]:
    return [ParseResult.ok(v) for v in values]


def run(t: Target, outcomes: list[ParseResult]) -> Any:
    return evaluate(t, outcomes, rng=np.random.default_rng(RNG_SEED), n_sim=1000)


def test_a_model_that_always_says_four() -> None:
    d6 = target("uniform_int", low=1, high=6)
    metrics = run(d6, ok([4] * 120))
    assert metrics.test == "chi_square"
    assert metrics.p_value is not None and metrics.p_value < 1e-6
    assert metrics.values["tvd"] == pytest.approx(5 / 6)
    assert metrics.values["mode_share"] == 1.0
    assert metrics.values["entropy_plugin"] == 0.0
    assert metrics.values["support_coverage"] == pytest.approx(1 / 6)
    assert metrics.values["excess_tvd"] == pytest.approx(5 / 6 - metrics.values["tvd_null_mean"])
    low, high = metrics.intervals["tvd"]
    assert low <= 5 / 6 <= high


def test_invalid_answers_are_counted_with_their_reasons() -> None:
    d6 = target("uniform_int", low=1, high=6)
    parser = build_parser("integer")
    texts = ["3", "I rolled a 5", "seven", "", "9", "1 or 2"] * 10
    outcomes = [read_answer(parser, d6, t) for t in texts]
    metrics = run(d6, outcomes)
    assert (metrics.n, metrics.n_valid) == (60, 20)
    assert metrics.validity == pytest.approx(1 / 3)
    assert metrics.invalid_reasons == {
        "no integer in the answer": 20,
        "outside the target's support": 10,
        "several integers in the answer": 10,
    }
    low, high = metrics.validity_ci
    assert low < 1 / 3 < high


def test_perfect_sampler_has_excess_tvd_near_zero() -> None:
    d6 = target("uniform_int", low=1, high=6)
    metrics = run(d6, ok(d6.sample(np.random.default_rng(1), 600)))
    assert abs(metrics.values["excess_tvd"]) < 0.05
    assert metrics.values["entropy_normalised"] == pytest.approx(1.0, abs=0.02)


def test_point_mass_reports_accuracy_and_miss_rate() -> None:
    control = target("point_mass", value=6)
    parser = build_parser("integer")
    outcomes = [read_answer(parser, control, t) for t in ["6"] * 8 + ["4", "none"]]
    metrics = run(control, outcomes)
    assert metrics.values["accuracy"] == pytest.approx(0.8)
    assert metrics.values["miss_rate"] == pytest.approx(1 / 9), "1 of the 9 readable answers"
    low, high = metrics.intervals["miss_rate"]
    assert low < 1 / 9 < high < 0.5
    assert metrics.test is None and metrics.p_value is None


def test_a_coin_that_always_lands_tails_is_a_control_scored_by_its_misses() -> None:
    """Issue #29 item 3: coin_in_context_t0_n5 had 9 of 38 answers "heads", yet was reported
    TVD 0 and p = 1 "exact", the heads dropped as invalid. "heads" is an outcome the task
    lists: a valid answer, and a miss."""
    coin = target("categorical", weights={"heads": 0.0, "tails": 1.0})
    assert coin.judged_as().value == "point_mass" and coin.contains("heads")
    metrics = run(coin, ok(["heads"] * 9 + ["tails"] * 29))
    assert (metrics.analysis, metrics.n_valid, metrics.validity) == ("point_mass", 38, 1.0)
    assert metrics.values["miss_rate"] == pytest.approx(9 / 38)
    assert metrics.values["accuracy"] == pytest.approx(29 / 38)
    low, high = metrics.intervals["miss_rate"]
    assert 0.1 < low < 9 / 38 < high < 0.4
    assert metrics.p_value is None and metrics.test is None and not metrics.tests
    exact = evaluate_exact(coin, np.log([0.02, 0.08]))
    assert exact.analysis == "point_mass" and exact.p_value is None
    assert exact.scope == "exact over the scored answers"
    assert exact.values["mass_on_support"] == pytest.approx(0.1)
    assert exact.values["miss_rate"] == pytest.approx(0.2)


def test_an_answer_of_weight_zero_counts_in_tvd_kl_and_the_test() -> None:
    """A listed outcome of weight 0 in a target of several outcomes: a miss that the TVD,
    KL and the goodness-of-fit test all see (p = 0: no perfect sampler gives it)."""
    three = target("categorical", weights={"a": 0.5, "b": 0.5, "c": 0.0})
    metrics = run(three, ok(["a"] * 20 + ["b"] * 20 + ["c"] * 10))
    assert (metrics.analysis, metrics.n_valid) == ("categorical", 50)
    assert metrics.values["tvd"] == pytest.approx(0.2)
    assert metrics.values["miss_rate"] == pytest.approx(0.2)
    assert metrics.values["kl_empirical_target"] == math.inf
    assert (metrics.test, metrics.p_value) == ("chi_square", 0.0)
    assert metrics.tests["chi_square"].method == "impossible outcome"
    again = type(metrics).model_validate_json(metrics.model_dump_json())
    assert again.values["kl_empirical_target"] == math.inf, "infinity survives the JSON file"
    fair = run(three, ok(["a"] * 25 + ["b"] * 25))
    assert fair.values["miss_rate"] == 0.0 and fair.test == "binomial" and fair.p_value == 1.0


def test_over_alternating_coin_sequences_are_caught() -> None:
    flips = target("coin_sequence", length=20)
    alternating = [tuple("HT" * 10)] * 25 + [tuple("TH" * 10)] * 25
    metrics = run(flips, ok(alternating))  # type: ignore[arg-type]
    assert metrics.values["alternation_rate"] == 1.0
    assert metrics.values["expected_alternation_rate"] == 0.5
    assert metrics.test == "runs"
    assert metrics.p_value is not None and metrics.p_value < 0.01


def test_identity_shuffles_are_caught_and_small_supports_get_categorical_tests_too() -> None:
    shuffle = target("permutation", items=["a", "b", "c"])
    metrics = run(shuffle, ok([("a", "b", "c")] * 60))
    assert metrics.test == "position_frequency"
    assert metrics.p_value is not None and metrics.p_value < 0.01
    assert "chi_square" in metrics.tests
    assert metrics.values["duplicate_rate"] == pytest.approx(59 / 60)


@pytest.mark.parametrize(
    ("name", "params", "biased"),
    [
        ("poisson", {"rate": 3}, [0] * 100),
        ("normal", {"mean": 50, "sd": 10, "decimals": 1}, [50.0] * 100),
        ("subset", {"items": list(range(1, 50)), "k": 6}, [(1, 2, 3, 4, 5, 6)] * 100),
        ("string", {"length": 4, "charset": "digits"}, ["1234"] * 100),
        ("uuid4", {}, ["12345678-1234-4234-8234-123456789abc"] * 100),
    ],
)
def test_each_family_rejects_a_degenerate_model(
    name: str, params: dict[str, Any], biased: list[Outcome]
) -> None:
    metrics = run(target(name, **params), ok(biased))
    assert metrics.p_value is not None and metrics.p_value < 0.01, metrics.tests


def test_metrics_serialise_to_strict_json() -> None:
    d6 = target("uniform_int", low=1, high=6)
    metrics = run(d6, ok([1] * 10))
    text = metrics.model_dump_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_no_valid_answer_at_all() -> None:
    d6 = target("uniform_int", low=1, high=6)
    metrics = run(d6, [ParseResult.invalid("no integer in the answer")] * 5)
    assert (metrics.n, metrics.n_valid, metrics.validity) == (5, 0, 0.0)
    assert metrics.p_value is None


def test_a_perfect_samplers_tvd_interval_can_contain_zero() -> None:
    """The TVD of these answers (0.043) is upward biased; the interval in the result is
    corrected for the bias, so a perfect sampler's can reach 0 (it used to start at the
    biased estimate)."""
    d6 = target("uniform_int", low=1, high=6)
    faces = [1] * 18 + [2] * 15 + [3] * 19 + [4] * 14 + [5] * 17 + [6] * 17
    metrics = run(d6, ok(faces))  # type: ignore[arg-type]
    low, high = metrics.intervals["tvd"]
    assert low == 0.0 < metrics.values["tvd"] < high


def coin() -> Target:
    return target("uniform_choice", choices=["heads", "tails"])


def test_a_coin_task_is_judged_by_the_exact_binomial_test() -> None:
    metrics = run(coin(), ok(["heads"] * 31 + ["tails"] * 19))  # type: ignore[arg-type]
    assert metrics.test == "binomial"
    assert metrics.tests["binomial"].method == "exact"
    assert metrics.p_value == pytest.approx(stats.binomtest(31, 50, 0.5).pvalue)
    assert {"chi_square", "g_test"} <= set(metrics.tests)  # still reported beside it


def test_two_possible_outcomes_among_more_listed_is_a_binomial_too() -> None:
    """An outcome of weight 0 is listed but cannot happen: two outcomes remain."""
    t = target("categorical", weights={"yes": 0.7, "no": 0.3, "maybe": 0.0})
    metrics = run(t, ok(["yes"] * 20 + ["no"] * 20))  # type: ignore[arg-type]
    assert metrics.test == "binomial"
    assert metrics.p_value == pytest.approx(stats.binomtest(20, 40, 0.7).pvalue)


@pytest.mark.slow
def test_fair_coins_are_rejected_at_most_alpha() -> None:
    """At n = 50 the asymptotic chi-square rejects 6.5% of fair coins at 0.05; the primary
    test of a coin task (the exact binomial test, size 3.3% here) at most 5%."""
    runs, alpha = 4000, 0.05
    rng = np.random.default_rng(2050)
    t = coin()
    rejected = 0
    for _ in range(runs):
        metrics = evaluate(t, ok(t.sample(rng, 50)), rng=rng, n_sim=100)
        assert metrics.p_value is not None
        rejected += metrics.p_value < alpha
    slack = 2 * math.sqrt(alpha * (1 - alpha) / runs)
    assert rejected / runs <= alpha + slack, rejected / runs


def test_entropy_is_normalised_over_the_outcomes_the_target_can_produce() -> None:
    """Weight-0 outcomes are not in the support: a fair coin listed with "edge" at weight 0
    is at its maximum entropy, ln 2, not at ln 2 / ln 3 = 0.63 of it."""
    t = target("categorical", weights={"heads": 0.5, "tails": 0.5, "edge": 0.0})
    metrics = run(t, ok(["heads", "tails"] * 50))  # type: ignore[arg-type]
    assert metrics.values["entropy_normalised"] == 1.0
    assert metrics.values["support_coverage"] == 1.0
    exact = evaluate_exact(t, np.array([math.log(0.5), math.log(0.5), -np.inf]))
    assert exact.values["entropy_normalised"] == pytest.approx(1.0)


def test_entropy_normalised_never_exceeds_one() -> None:
    """Exactly uniform answers: Miller-Madow adds 5/(2 * 600) to ln 6, so the corrected
    entropy is above the maximum (reported as such) and the ratio is clipped at 1."""
    d6 = target("uniform_int", low=1, high=6)
    metrics = run(d6, ok(list(range(1, 7)) * 100))  # type: ignore[arg-type]
    assert metrics.values["entropy_miller_madow"] == pytest.approx(math.log(6) + 5 / 1200)
    assert metrics.values["entropy_normalised"] == 1.0
    t = target("categorical", weights={"heads": 0.5, "tails": 0.5, "edge": 0.0})
    spread = evaluate_exact(t, np.log(np.full(3, 1 / 3)))  # ln 3 over a support of two
    assert spread.values["entropy"] == pytest.approx(math.log(3))
    assert spread.values["entropy_normalised"] == 1.0


def random_decimal() -> Target:
    """random_decimal's target: uniform on [0, 1), answers printed with two decimals."""
    return target("uniform_real", low=0, high=1, decimals=2)


def test_binned_probabilities_are_those_of_the_rounded_answers() -> None:
    """The bins' probabilities are what a perfect sampler's printed answers fall into: with
    200,000 rounded draws, a chi-square against them is unremarkable, and against equal
    tenths (the bins of the unrounded distribution) it is not."""
    t = random_decimal()
    edges, probs = t.quantile_bins(10)
    assert len(probs) == 10 and math.isclose(probs.sum(), 1.0)
    draws = np.asarray(t.sample(np.random.default_rng(3), 200_000), dtype=float)
    counts = np.bincount(np.searchsorted(edges, draws, side="right"), minlength=10)
    assert stats.chisquare(counts, probs * counts.sum()).pvalue > 0.001
    assert stats.chisquare(counts, np.full(10, counts.sum() / 10)).pvalue < 1e-6


def test_a_continuous_tvd_names_its_bins() -> None:
    t = random_decimal()
    metrics = run(t, ok(t.sample(np.random.default_rng(0), 100)))
    assert metrics.values["tvd_bins"] == 10
    assert metrics.intervals["tvd_null"][0] <= metrics.values["tvd"]


@pytest.mark.slow
def test_rounded_perfect_samples_fall_in_the_null_band_at_the_nominal_rate() -> None:
    """A perfect sampler of random_decimal, 1,000 answers as the task asks: its binned TVD
    lies above the perfect-sampler band's 97.5% point in about 2.5% of runs (16% before the
    bins followed the rounding)."""
    t = random_decimal()
    rng = np.random.default_rng(11)
    runs = 300
    above = 0
    for _ in range(runs):
        metrics = evaluate(t, ok(t.sample(rng, 1000)), rng=rng, n_sim=400)
        above += metrics.values["tvd"] > metrics.intervals["tvd_null"][1]
    assert above / runs <= 0.06, above


def test_a_continuous_task_with_one_readable_answer_has_no_test_and_no_crash() -> None:
    """Gemma 3's first full run stopped with "need at least 2 values": one readable
    number in a continuous task's answers. It gets its TVD and mean, no p-value."""
    normal = target("normal", mean=50, sd=10, decimals=1)
    metrics = run(normal, ok([51.5]) + [ParseResult.invalid("no number")] * 49)
    assert metrics.n_valid == 1 and metrics.p_value is None and not metrics.tests
    assert metrics.values["tvd"] == pytest.approx(0.9, abs=0.01) and metrics.values["mean"] == 51.5
    two = run(normal, ok([51.5, 40.2]))
    assert two.test == "ad" and two.p_value is not None
