"""Permutation, subset, coin sequence, point mass and open-ended targets against enumeration."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from scipy import stats

from randbench.outcomes import Outcome, ValueKind
from randbench.targets import TARGETS, Analysis, Target
from randbench.targets.coin_sequence import CoinSequence
from randbench.targets.permutation import Permutation
from randbench.targets.point_mass import PointMass
from randbench.targets.subset import Subset


def fits_uniform(target: Target, expected: list[Any], n: int, seed: int) -> float:
    draws = target.sample(np.random.default_rng(seed), n)
    counts: Counter[Outcome] = Counter(draws)
    assert set(counts) <= set(expected), "a draw is not a valid outcome"
    return float(stats.chisquare(np.array([counts[v] for v in expected], dtype=float)).pvalue)


@pytest.mark.parametrize("items", [["a", "b", "c"], [1, 2, 3, 4], ["x", 7, "z", "w", "v"]])
def test_permutation_is_uniform_over_every_order(items: list[str | int]) -> None:
    target = Permutation(items=items)
    orders = list(itertools.permutations(items))
    assert target.items == items
    assert target.count() == math.factorial(len(items)) == len(orders)
    assert target.support() == orders
    np.testing.assert_allclose(target.probabilities(), 1 / len(orders))
    assert all(target.contains(o) for o in orders)
    assert target.summary().entropy == pytest.approx(math.log(len(orders)))
    assert target.kind() is ValueKind.PERMUTATION and target.analysis is Analysis.PERMUTATION
    assert fits_uniform(target, orders, 200 * len(orders), seed=1) > 1e-4


def test_large_permutation_is_not_enumerated_but_samples_uniformly() -> None:
    target = Permutation(items=list("abcdefghij"))
    assert target.support() is None and target.summary().support_size == math.factorial(10)
    with pytest.raises(NotImplementedError):
        target.probabilities()
    draws = target.sample(np.random.default_rng(4), 20_000)
    assert all(isinstance(d, tuple) and target.contains(d) for d in draws)
    index = {c: i for i, c in enumerate(target.items)}
    positions = np.array([[index[c] for c in d] for d in draws])  # type: ignore[union-attr]
    for place in (0, 5, 9):
        counts = np.bincount(positions[:, place], minlength=10).astype(float)
        assert stats.chisquare(counts).pvalue > 1e-4
    assert target.log_pmf(tuple("jihgfedcba")) == pytest.approx(-math.log(math.factorial(10)))
    assert target.log_pmf(tuple("aacdefghij")) == -math.inf


def test_permutation_membership() -> None:
    target = Permutation(items=["a", "b", "c"])
    assert not target.contains(("a", "b", "b")) and not target.contains(("a", "b"))
    assert not target.contains(("a", "b", "d")) and not target.contains("abc")
    assert not target.contains(("a", "b", ["c"])), "unhashable elements are no items"


@pytest.mark.parametrize(("size", "k"), [(5, 2), (6, 3), (4, 4), (4, 1)])
def test_subset_is_uniform_over_k_subsets_in_item_order(size: int, k: int) -> None:
    items = [f"i{j}" for j in range(size)]
    target = Subset(items=items, k=k)
    subsets = list(itertools.combinations(items, k))
    assert target.items == items and target.k == k
    assert target.count() == math.comb(size, k) == len(subsets)
    assert target.support() == subsets
    assert target.summary().entropy == pytest.approx(math.log(len(subsets)))
    assert target.kind() is ValueKind.SUBSET and target.analysis is Analysis.SUBSET
    if len(subsets) > 1:
        assert fits_uniform(target, subsets, 300 * len(subsets), seed=2) > 1e-4


def test_subset_membership_is_canonical() -> None:
    target = Subset(items=[3, 1, 2, 5], k=2)
    assert target.contains((3, 2)) and not target.contains((2, 3)), "item order, not sorted"
    assert not target.contains((3, 3)) and not target.contains((3,)) and not target.contains((3, 9))
    assert not target.contains(([3], 2))
    draws = target.sample(np.random.default_rng(0), 200)
    assert all(target.contains(d) for d in draws)


@pytest.mark.parametrize(("length", "p"), [(1, 0.5), (4, 0.7), (6, 0.5), (3, 0.1)])
def test_coin_sequence_pmf_and_sampler(length: int, p: float) -> None:
    target = CoinSequence(length=length, p=p)
    sequences = list(itertools.product(["H", "T"], repeat=length))
    assert target.support() == sequences
    brute = np.array([p ** s.count("H") * (1 - p) ** s.count("T") for s in sequences])
    probs = target.probabilities()
    np.testing.assert_allclose(probs, brute, rtol=1e-12)
    assert probs.sum() == pytest.approx(1.0)
    entropy = -float((brute * np.log(brute)).sum())
    assert target.summary().entropy == pytest.approx(entropy)
    assert target.summary().entropy == pytest.approx(length * stats.bernoulli(p).entropy())
    draws = target.sample(np.random.default_rng(3), 30_000)
    counts: Counter[Outcome] = Counter(draws)
    observed = np.array([counts[s] for s in sequences], dtype=float)
    assert observed.sum() == len(draws)
    assert stats.chisquare(observed, brute * len(draws)).pvalue > 1e-4
    assert target.symbols == ["H", "T"] and target.p == p and target.length == length


def test_coin_sequence_symbols_degenerate_p_and_long_sequences() -> None:
    bits = CoinSequence.model_validate({"length": 3, "symbols": [1, 0]})
    assert bits.symbols == ["1", "0"] and bits.contains(("1", "0", "0"))
    assert not bits.contains((1, 0, 0)) and not bits.contains(("1", "0"))
    sure = CoinSequence(length=5, p=1.0)
    assert set(sure.sample(np.random.default_rng(0), 50)) == {("H",) * 5}
    assert sure.summary().entropy == pytest.approx(0.0)
    assert sure.log_pmf(("H",) * 5) == 0.0 and sure.log_pmf(("H",) * 4 + ("T",)) == -math.inf
    long = CoinSequence(length=200, p=0.3)
    assert long.support() is None and long.summary().support_size == 2.0**200
    draws = [d for d in long.sample(np.random.default_rng(1), 100) if isinstance(d, tuple)]
    assert len(draws) == 100
    share = np.mean([[s == "H" for s in d] for d in draws])
    assert abs(share - 0.3) < 0.02
    assert long.log_pmf(draws[0]) == pytest.approx(
        sum(math.log(0.3 if s == "H" else 0.7) for s in draws[0])
    )


@pytest.mark.parametrize(
    ("value", "kind"), [(6, ValueKind.INTEGER), (2.5, ValueKind.REAL), ("Paris", ValueKind.LABEL)]
)
def test_point_mass_is_a_one_outcome_finite_target(value: Any, kind: ValueKind) -> None:
    target = PointMass(value=value)
    assert target.analysis is Analysis.POINT_MASS and target.kind() is kind
    assert target.support() == [value] and target.probabilities().tolist() == [1.0]
    assert target.contains(value) and target.pmf(value) == 1.0
    assert not target.contains("something else") and target.pmf("something else") == 0.0
    assert target.sample(np.random.default_rng(0), 4) == [value] * 4
    summary = target.summary()
    assert summary.support_size == 1 and summary.entropy == 0.0
    if kind is not ValueKind.LABEL:
        assert summary.mean == value and summary.variance == 0.0
        assert target.cdf(np.array([value - 1, value])).tolist() == [0.0, 1.0]


def test_open_ended_has_no_distribution() -> None:
    target = TARGETS.get("open_ended").model_validate({})
    assert target.analysis is Analysis.OPEN_ENDED and target.kind() is ValueKind.TEXT
    assert target.contains("Once upon a time") and target.contains("")
    assert not target.contains(3) and not target.contains(("a",))
    assert target.support() is None and math.isinf(target.summary().support_size)
    assert target.summary().entropy is None
    with pytest.raises(NotImplementedError, match="open-ended task has no target distribution"):
        target.sample(np.random.default_rng(0), 1)
    assert target.describe() == "open_ended()"
