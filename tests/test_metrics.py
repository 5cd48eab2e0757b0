"""The metrics dispatcher: each analysis family on answers whose verdict is known."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from randbench.answers import read_answer
from randbench.metrics import evaluate
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


def test_point_mass_reports_accuracy() -> None:
    control = target("point_mass", value=6)
    parser = build_parser("integer")
    outcomes = [read_answer(parser, control, t) for t in ["6"] * 9 + ["4"]]
    metrics = run(control, outcomes)
    assert metrics.values["accuracy"] == pytest.approx(0.9)
    assert metrics.test is None


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
