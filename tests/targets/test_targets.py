"""Every target against an independent computation: scipy, closed forms, brute force."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats

from randbench.outcomes import Outcome
from randbench.targets import TARGETS, Analysis, Target

FINITE = [
    ("uniform_int", {"low": 1, "high": 6}),
    ("uniform_choice", {"choices": ["rock", "paper", "scissors"]}),
    ("categorical", {"weights": {"red": 0.5, "green": 0.3, "blue": 0.2}}),
    ("categorical", {"weights": {1: 0.1, 2: 0.2, 3: 0.7}}),
    ("dice_sum", {"dice": 3, "sides": 6}),
    ("binomial", {"n": 10, "p": 0.3}),
    ("permutation", {"items": ["a", "b", "c", "d"]}),
    ("subset", {"items": [1, 2, 3, 4, 5], "k": 2}),
    ("coin_sequence", {"length": 4, "p": 0.7}),
    ("string", {"length": 3, "charset": "ab0", "require": ["digits"]}),
    ("point_mass", {"value": 4}),
    ("posterior_predictive", {"outcomes": ["heads", "tails"], "counts": [7, 3]}),
    ("poisson_insertions", {"words": 30, "rate": 0.7}),
    ("posterior_predictive", {"outcomes": [1, 2, 3], "sequence": [3, 3, 1], "discount": 0.9}),
]


def make(name: str, params: dict[str, Any]) -> Target:
    return TARGETS.get(name).model_validate(params)


def test_every_registered_target_is_covered() -> None:
    covered = {n for n, _ in FINITE} | {
        "geometric",
        "poisson",
        "normal",
        "exponential",
        "uniform_real",
        "uuid4",
        "open_ended",
    }
    assert set(TARGETS.names()) == covered


@pytest.mark.parametrize(
    ("name", "params"), FINITE, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FINITE)]
)
def test_finite_target_is_a_distribution_and_samples_from_it(
    name: str, params: dict[str, Any]
) -> None:
    target = make(name, params)
    support, probs = target.support(), target.probabilities()
    assert support is not None
    assert len(support) == len(probs) == len(set(support))
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    assert all(target.contains(v) for v in support)
    draws = target.sample(np.random.default_rng(7), 20_000)
    assert all(target.contains(v) for v in draws)
    counts: Counter[Outcome] = Counter(draws)
    observed = np.array([counts[v] for v in support], dtype=float)
    assert observed.sum() == len(draws), "a draw fell outside the enumerated support"
    if len(support) == 1:
        return
    keep = probs > 0
    p = stats.chisquare(observed[keep], probs[keep] * len(draws)).pvalue
    assert p > 1e-4, f"{name} sampler does not follow its pmf (p={p})"


def test_dice_sum_matches_brute_force() -> None:
    for dice, sides in [(2, 6), (3, 6), (2, 10)]:
        target = make("dice_sum", {"dice": dice, "sides": sides})
        faces = range(1, sides + 1)
        rolls: Counter[Outcome] = Counter(sum(r) for r in itertools.product(faces, repeat=dice))
        brute = np.array([rolls[s] for s in target.support() or []]) / sides**dice
        np.testing.assert_allclose(target.probabilities(), brute, atol=1e-15)
    assert make("dice_sum", {"dice": 2, "sides": 6}).summary().mean == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("name", "params", "frozen"),
    [
        ("binomial", {"n": 10, "p": 0.3}, stats.binom(10, 0.3)),
        ("uniform_int", {"low": 1, "high": 100}, stats.randint(1, 101)),
        ("geometric", {"p": 0.3}, stats.geom(0.3)),
        ("geometric", {"p": 0.3, "start": 0}, stats.geom(0.3, loc=-1)),
        ("poisson", {"rate": 3}, stats.poisson(3)),
        ("normal", {"mean": 50, "sd": 10}, stats.norm(50, 10)),
        ("exponential", {"rate": 2}, stats.expon(scale=0.5)),
        ("uniform_real", {"low": 0, "high": 10}, stats.uniform(0, 10)),
    ],
)
def test_summary_matches_scipy(name: str, params: dict[str, Any], frozen: Any) -> None:
    summary = make(name, params).summary()
    assert summary.mean == pytest.approx(frozen.mean())
    assert summary.variance == pytest.approx(frozen.var())
    assert summary.entropy == pytest.approx(frozen.entropy())


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("poisson", {"rate": 3}),
        ("geometric", {"p": 0.4}),
    ],
)
def test_unbounded_sampler_and_support(name: str, params: dict[str, Any]) -> None:
    target = make(name, params)
    dist = target.scipy_dist()  # type: ignore[attr-defined]
    draws = np.array(target.sample(np.random.default_rng(3), 20_000))
    assert all(isinstance(v, int) for v in draws.tolist())
    top = int(dist.ppf(0.999))
    low = int(dist.support()[0])
    edges = np.arange(low, top + 1)
    observed = np.append(
        np.bincount(draws[draws <= top] - low, minlength=len(edges)), (draws > top).sum()
    )
    expected = np.append(dist.pmf(edges), dist.sf(top)) * len(draws)
    assert stats.chisquare(observed, expected).pvalue > 1e-4
    assert target.contains(low) and not target.contains(low - 1) and not target.contains(2.5)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("normal", {"mean": 50, "sd": 10}),
        ("exponential", {"rate": 1}),
        ("uniform_real", {"low": -1, "high": 3}),
    ],
)
def test_continuous_sampler_follows_its_distribution(name: str, params: dict[str, Any]) -> None:
    target = make(name, params)
    draws = target.sample(np.random.default_rng(11), 5000)
    assert stats.kstest(draws, target.scipy_dist().cdf).pvalue > 1e-4  # type: ignore[attr-defined]


def test_continuous_samples_are_printed_to_their_decimals() -> None:
    draws = make("normal", {"mean": 50, "sd": 10, "decimals": 1}).sample(
        np.random.default_rng(0), 100
    )
    assert all(isinstance(v, float) and round(v, 1) == v for v in draws)


def test_string_count_and_marginals_match_brute_force() -> None:
    target = make("string", {"length": 3, "charset": "ab0", "require": ["digits"]})
    valid = ["".join(s) for s in itertools.product("ab0", repeat=3) if "0" in s]
    assert target.count() == len(valid) == 19  # type: ignore[attr-defined]
    brute = np.array([[sum(s[i] == c for s in valid) for c in "ab0"] for i in range(3)]) / len(
        valid
    )
    np.testing.assert_allclose(target.position_probabilities(), brute.astype(float))  # type: ignore[attr-defined]
    assert sorted(str(s) for s in target.support() or []) == sorted(valid)


def test_string_with_two_requirements_and_named_charsets() -> None:
    target = make(
        "string", {"length": 8, "charset": ["lower", "digits"], "require": ["lower", "digits"]}
    )
    assert target.count() == 36**8 - 26**8 - 10**8  # type: ignore[attr-defined]
    draws = [str(s) for s in target.sample(np.random.default_rng(1), 500)]
    assert all(
        re.fullmatch(r"[a-z0-9]{8}", s) and re.search(r"\d", s) and re.search("[a-z]", s)
        for s in draws
    )
    assert not target.contains("abcdefgh") and not target.contains("12345678")
    assert target.summary().entropy == pytest.approx(math.log(target.count()))  # type: ignore[attr-defined]


def test_uuid4_format_version_and_variant() -> None:
    target = make("uuid4", {})
    draws = target.sample(np.random.default_rng(5), 2000)
    assert all(target.contains(v) for v in draws)
    assert {str(v)[14] for v in draws} == {"4"}
    assert {str(v)[19] for v in draws} == set("89ab")
    assert target.contains("3F2504E0-4F89-41D3-9A0C-0305E82C3301")
    assert not target.contains("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), "version 1 is not v4"
    np.testing.assert_allclose(target.position_probabilities().sum(axis=1), 1.0)  # type: ignore[attr-defined]
    assert target.support() is None


def test_permutation_and_subset_membership() -> None:
    shuffle = make("permutation", {"items": ["a", "b", "c"]})
    assert shuffle.contains(("c", "a", "b"))
    assert not shuffle.contains(("a", "a", "b")) and not shuffle.contains(("a", "b"))
    lottery = make("subset", {"items": list(range(1, 50)), "k": 6})
    assert lottery.summary().support_size == math.comb(49, 6)
    assert lottery.support() is None
    assert lottery.contains((1, 2, 3, 4, 5, 49))
    assert not lottery.contains((2, 1, 3, 4, 5, 49)), "subsets are in item order"
    assert not lottery.contains((1, 2, 3, 4, 5, 50))


def test_coin_sequence_probabilities_and_entropy() -> None:
    target = make("coin_sequence", {"length": 3, "p": 0.7})
    probs = dict(zip(target.support() or [], target.probabilities(), strict=True))
    assert probs[("H", "H", "T")] == pytest.approx(0.7 * 0.7 * 0.3)
    assert target.summary().entropy == pytest.approx(3 * stats.bernoulli(0.7).entropy())
    long = make("coin_sequence", {"length": 100})
    assert long.support() is None
    assert long.summary().entropy == pytest.approx(100 * math.log(2))


def test_point_mass_and_open_ended() -> None:
    die = make("point_mass", {"value": 6})
    assert die.sample(np.random.default_rng(0), 3) == [6, 6, 6]
    assert die.analysis is Analysis.POINT_MASS and die.kind().value == "integer"
    assert make("point_mass", {"value": "heads"}).kind().value == "label"
    story = make("open_ended", {})
    assert story.contains("once upon a time")
    with pytest.raises(NotImplementedError, match="no target distribution"):
        story.sample(np.random.default_rng(0), 1)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("categorical", {"weights": {"a": 0.5, "b": 0.4}}, "weights sum to 0.9, expected 1"),
        ("categorical", {"weights": {"a": 1.2, "b": -0.2}}, "must not be negative"),
        ("categorical", {"weights": {"a": 0.5, 1: 0.5}}, "not a mix"),
        ("uniform_int", {"low": 6, "high": 1}, "high (1) must be >= low (6)"),
        ("uniform_choice", {"choices": ["a", "a"]}, "repeated: ['a']"),
        ("binomial", {"n": 10, "p": 1.5}, "less than or equal to 1"),
        ("poisson", {"rate": 0}, "greater than 0"),
        ("normal", {"mean": 0, "sd": -1}, "greater than 0"),
        ("uniform_real", {"low": 1, "high": 1}, "must be > low"),
        ("subset", {"items": [1, 2], "k": 3}, "k (3) must be at most"),
        ("permutation", {"items": ["a"]}, "at least 2 items"),
        ("string", {"length": 3, "charset": "abc", "require": ["digits"]}, "shares no character"),
        (
            "string",
            {"length": 1, "charset": "a0", "require": ["lower", "digits"]},
            "no string of length 1",
        ),
        ("coin_sequence", {"length": 5, "symbols": ["H", "H"]}, "two distinct"),
        ("dice_sum", {"dice": 0, "sides": 6}, "greater than or equal to 1"),
    ],
)
def test_bad_parameters_are_refused_clearly(
    name: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        make(name, params)
    assert message in str(caught.value)


def test_describe_names_the_registered_target() -> None:
    assert make("dice_sum", {"dice": 2, "sides": 6}).describe() == "dice_sum(dice=2, sides=6)"


def test_finite_cdf_matches_scipy() -> None:
    x = np.array([-1, 0, 2.5, 3, 10, 11])
    binomial = make("binomial", {"n": 10, "p": 0.3})
    np.testing.assert_allclose(binomial.cdf(x), stats.binom(10, 0.3).cdf(x))  # type: ignore[attr-defined]
    d6 = make("uniform_int", {"low": 1, "high": 6})
    np.testing.assert_allclose(d6.cdf(np.arange(0, 8)), stats.randint(1, 7).cdf(np.arange(0, 8)))  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="no order"):
        make("uniform_choice", {"choices": ["a", "b"]}).cdf(np.array([1]))  # type: ignore[attr-defined]
