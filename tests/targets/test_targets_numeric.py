"""Numeric targets (finite, unbounded, continuous) against scipy.stats and brute force."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats

from randbench.outcomes import ValueKind
from randbench.targets import TARGETS, Analysis, FiniteTarget, Target
from randbench.targets.base import ContinuousTarget, DiscreteUnboundedTarget

EVERY: list[tuple[str, dict[str, Any]]] = [
    ("categorical", {"weights": {"a": 0.2, "b": 0.8}}),
    ("uniform_int", {"low": 1, "high": 6}),
    ("uniform_choice", {"choices": ["a", "b"]}),
    ("dice_sum", {"dice": 2, "sides": 6}),
    ("binomial", {"n": 5, "p": 0.5}),
    ("geometric", {"p": 0.5}),
    ("poisson", {"rate": 2}),
    ("normal", {"mean": 0, "sd": 1}),
    ("exponential", {"rate": 1}),
    ("uniform_real", {"low": 0, "high": 1}),
    ("permutation", {"items": ["a", "b"]}),
    ("subset", {"items": ["a", "b", "c"], "k": 2}),
    ("string", {"length": 4, "charset": "hex"}),
    ("uuid4", {}),
    ("coin_sequence", {"length": 3}),
    ("point_mass", {"value": "x"}),
    ("posterior_predictive", {"outcomes": [1, 2, 3], "counts": [0, 4, 1], "prior": 0.5}),
    ("poisson_insertions", {"words": 10, "rate": 2.0}),
]


def make(name: str, params: dict[str, Any]) -> Any:
    return TARGETS.get(name).model_validate(params)


def test_every_target_is_exercised_here() -> None:
    assert {n for n, _ in EVERY} | {"open_ended"} == set(TARGETS.names())


@pytest.mark.parametrize(("name", "params"), EVERY, ids=[n for n, _ in EVERY])
def test_every_target_samples_describes_and_summarises(name: str, params: dict[str, Any]) -> None:
    target: Target = make(name, params)
    assert target.describe().startswith(f"{name}(")
    assert isinstance(target.kind(), ValueKind) and isinstance(target.analysis, Analysis)
    assert target.sample(np.random.default_rng(0), 0) == []
    draws = target.sample(np.random.default_rng(0), 50)
    assert len(draws) == 50 and all(target.contains(v) for v in draws)
    for v in draws:
        hash(v)  # outcomes are hashable
    summary = target.summary()
    assert summary.support_size >= 1
    support = target.support()
    if support is not None:
        assert summary.support_size == len(support)
        probs = target.probabilities()
        assert probs.sum() == pytest.approx(1.0) and (probs >= 0).all()
        nz = probs[probs > 0]
        assert summary.entropy == pytest.approx(float(-(nz * np.log(nz)).sum()), abs=1e-12)
    else:
        assert summary.support_size > 5000


@pytest.mark.parametrize(
    ("name", "params", "frozen"),
    [
        ("binomial", {"n": 12, "p": 0.25}, stats.binom(12, 0.25)),
        ("binomial", {"n": 7, "p": 0.0}, stats.binom(7, 0.0)),
        ("binomial", {"n": 7, "p": 1.0}, stats.binom(7, 1.0)),
        ("uniform_int", {"low": -3, "high": 3}, stats.randint(-3, 4)),
    ],
)
def test_finite_numeric_target_equals_scipy(name: str, params: dict[str, Any], frozen: Any) -> None:
    target: FiniteTarget = make(name, params)
    x = np.asarray(target.support(), dtype=float)
    np.testing.assert_allclose(target.probabilities(), frozen.pmf(x), atol=1e-15)
    grid = np.arange(x.min() - 2, x.max() + 2, 0.5)
    np.testing.assert_allclose(target.cdf(grid), frozen.cdf(grid), atol=1e-12)
    summary = target.summary()
    assert summary.mean == pytest.approx(frozen.mean())
    assert summary.variance == pytest.approx(frozen.var(), abs=1e-12)
    assert summary.entropy == pytest.approx(frozen.entropy(), abs=1e-12)
    draws = target.sample(np.random.default_rng(8), 20_000)
    counts: Counter[Any] = Counter(draws)
    observed = np.array([counts[v] for v in target.support()], dtype=float)
    keep = target.probabilities() > 0
    assert observed[~keep].sum() == 0
    if keep.sum() > 1:
        expected = target.probabilities()[keep] * len(draws)
        assert stats.chisquare(observed[keep], expected).pvalue > 1e-4


@pytest.mark.parametrize(("dice", "sides"), [(1, 6), (3, 6), (2, 10), (4, 4), (2, 20)])
def test_dice_sum_summary_matches_brute_force(dice: int, sides: int) -> None:
    target = make("dice_sum", {"dice": dice, "sides": sides})
    sums = Counter(sum(r) for r in itertools.product(range(1, sides + 1), repeat=dice))
    assert target.support() == sorted(sums)
    brute = np.array([sums[s] for s in sorted(sums)]) / sides**dice
    np.testing.assert_allclose(target.probabilities(), brute, atol=1e-15)
    summary = target.summary()
    assert summary.mean == pytest.approx(dice * (sides + 1) / 2)
    assert summary.variance == pytest.approx(dice * (sides**2 - 1) / 12)
    assert summary.entropy == pytest.approx(float(-(brute * np.log(brute)).sum()))
    probs = target.probabilities()
    probs[:] = 0  # a copy: the target's cached pmf is not changed
    assert target.probabilities().sum() == pytest.approx(1.0)


def test_categorical_integer_and_label_outcomes_from_yaml() -> None:
    loaded = yaml.safe_load("weights: {1: 0.1, 2: 0.2, 6: 0.7}")
    loaded_die = make("categorical", loaded)
    assert loaded_die.kind() is ValueKind.INTEGER and loaded_die.support() == [1, 2, 6]
    assert loaded_die.summary().mean == pytest.approx(0.1 + 0.4 + 4.2)
    assert loaded_die.contains(6) and not loaded_die.contains("6") and not loaded_die.contains(3)
    np.testing.assert_allclose(loaded_die.cdf(np.array([0, 1, 5, 6])), [0, 0.1, 0.3, 1.0])
    colours = make("categorical", yaml.safe_load("weights: {red: 0.5, '1': 0.25, blue: 0.25}"))
    assert colours.kind() is ValueKind.LABEL and colours.support() == ["red", "1", "blue"]
    assert colours.summary().mean is None
    thirds = make("categorical", {"weights": {"a": 0.3333333, "b": 0.3333333, "c": 0.3333334}})
    assert thirds.probabilities().sum() == pytest.approx(1.0, abs=1e-15)
    nearly = make("categorical", {"weights": {"a": 0.5, "b": 0.5000004}})
    assert nearly.probabilities().sum() == pytest.approx(1.0, abs=1e-15), "renormalised"
    with_zero = make("categorical", {"weights": {"a": 1.0, "b": 0.0}})
    assert set(with_zero.sample(np.random.default_rng(0), 100)) == {"a"}


@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("p", [0.2, 0.5, 1.0])
def test_geometric_against_closed_form(p: float, start: int) -> None:
    target: DiscreteUnboundedTarget = make("geometric", {"p": p, "start": start})
    assert target.analysis is Analysis.DISCRETE_UNBOUNDED and target.kind() is ValueKind.INTEGER
    ks = np.arange(start, start + 30)
    closed = (1 - p) ** (ks - start) * p
    np.testing.assert_allclose([target.pmf(int(k)) for k in ks], closed, atol=1e-15)
    np.testing.assert_allclose(target.cdf(ks), np.cumsum(closed), atol=1e-12)
    assert target.pmf(start - 1) == 0.0 and target.pmf(2.5) == 0.0
    assert target.contains(start) and not target.contains(start - 1)
    assert not target.contains(3.0) and not target.contains(True) and not target.contains("3")
    summary = target.summary()
    assert summary.mean == pytest.approx(start + (1 - p) / p)
    assert summary.variance == pytest.approx((1 - p) / p**2)
    many = (1 - p) ** np.arange(2000) * p
    many = many[many > 0]
    assert summary.entropy == pytest.approx(float(-(many * np.log(many)).sum()), abs=1e-9)
    if p < 1:
        frozen = stats.geom(p, loc=start - 1)
        assert summary.mean == pytest.approx(frozen.mean())
        assert summary.entropy == pytest.approx(frozen.entropy())
    assert math.isinf(summary.support_size)
    assert target.scipy_dist().kwds == {"p": p, "loc": start - 1}


def test_poisson_against_closed_form() -> None:
    target: DiscreteUnboundedTarget = make("poisson", {"rate": 3.5})
    ks = np.arange(0, 40)
    closed = np.array([math.exp(-3.5) * 3.5**k / math.factorial(k) for k in ks])
    np.testing.assert_allclose([target.pmf(int(k)) for k in ks], closed, rtol=1e-12)
    np.testing.assert_allclose(target.cdf(ks), np.cumsum(closed), atol=1e-12)
    summary = target.summary()
    assert summary.mean == pytest.approx(3.5) and summary.variance == pytest.approx(3.5)
    assert summary.entropy == pytest.approx(float(-(closed * np.log(closed)).sum()), abs=1e-10)
    assert target.contains(0) and not target.contains(-1)
    draws = np.array(target.sample(np.random.default_rng(12), 20_000))
    observed = np.append(np.bincount(draws[draws < 10], minlength=10), (draws >= 10).sum())
    expected = np.append(closed[:10], 1 - closed[:10].sum()) * len(draws)
    assert stats.chisquare(observed, expected).pvalue > 1e-4


NORMAL_ENTROPY = math.log(3 * math.sqrt(2 * math.pi * math.e))  # sd 3
CONTINUOUS = [
    ("normal", {"mean": -2.0, "sd": 3.0}, stats.norm(-2, 3), NORMAL_ENTROPY),
    ("exponential", {"rate": 0.25}, stats.expon(scale=4.0), 1 - math.log(0.25)),
    ("uniform_real", {"low": 2.0, "high": 7.0}, stats.uniform(2, 5), math.log(5)),
]


@pytest.mark.parametrize(("name", "params", "frozen", "entropy"), CONTINUOUS)
def test_continuous_target_equals_scipy(
    name: str, params: dict[str, Any], frozen: Any, entropy: float
) -> None:
    target: ContinuousTarget = make(name, params)
    assert target.analysis is Analysis.CONTINUOUS and target.kind() is ValueKind.REAL
    assert target.decimals is None and target.support() is None
    dist = target.scipy_dist()
    assert not dist.args and {"loc", "scale"} <= set(dist.kwds), "every parameter explicit"
    x = np.linspace(-12, 12, 97)
    np.testing.assert_allclose(target.pdf(x), frozen.pdf(x), atol=1e-15)
    np.testing.assert_allclose(target.cdf(x), frozen.cdf(x), atol=1e-15)
    summary = target.summary()
    assert math.isinf(summary.support_size)
    assert summary.mean == pytest.approx(frozen.mean())
    assert summary.variance == pytest.approx(frozen.var())
    assert summary.entropy == pytest.approx(entropy)
    draws = target.sample(np.random.default_rng(21), 10_000)
    assert all(isinstance(v, float) for v in draws)
    assert stats.kstest(draws, frozen.cdf).pvalue > 1e-4


def test_continuous_membership() -> None:
    target = make("uniform_real", {"low": 0.0, "high": 1.0})
    assert target.contains(0) and target.contains(1.0) and target.contains(0.5)
    assert not target.contains(1.0001) and not target.contains(-0.1)
    for bad in [float("nan"), float("inf"), True, "0.5", (0.5,)]:
        assert not target.contains(bad)
    positive = make("exponential", {"rate": 1})
    assert positive.contains(0.0) and positive.contains(1e9) and not positive.contains(-1e-9)
    anywhere = make("normal", {"sd": 1})
    assert anywhere.contains(-1e300) and not anywhere.contains(float("-inf"))


def test_rounded_answers_stay_valid_at_awkward_bounds() -> None:
    target = make("uniform_real", {"low": 0.04, "high": 0.16, "decimals": 1})
    draws = target.sample(np.random.default_rng(0), 2000)
    assert set(draws) <= {0.0, 0.1, 0.2}
    assert all(target.contains(v) for v in draws)
    assert target.contains(0.0) and target.contains(0.2) and not target.contains(0.3)
    assert not target.contains(-0.02), "half a printed unit of slack, no more"
    whole = make("exponential", {"rate": 1, "decimals": 0})
    assert all(float(v).is_integer() for v in whole.sample(np.random.default_rng(1), 100))
