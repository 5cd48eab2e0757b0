"""The string and uuid4 targets against brute-force enumeration and exact closed forms."""

from __future__ import annotations

import itertools
import math
import uuid
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from randbench.targets.string import RandomString, expand_charset
from randbench.targets.uuid4 import Uuid4

Spec = str | list[str]
CASES: list[tuple[int, Spec, list[Spec]]] = [
    (3, "ab0", ["digits"]),
    (3, "ab01", ["a", "0", ["b", "1"]]),
    (4, "abc", ["a", "b", "c"]),
    (2, "xyz", []),
    (3, "abc0123456789", ["a", "b", "c"]),  # 6 valid strings out of 2197
    (2, ["lower", "digits"], ["digits", "01"]),
]
IDS = [f"case{i}" for i in range(len(CASES))]


def brute_force(length: int, charset: Spec, require: list[Spec]) -> list[str]:
    alphabet = expand_charset(charset)
    required = [set(expand_charset(r)) for r in require]
    words = ("".join(w) for w in itertools.product(alphabet, repeat=length))
    return [w for w in words if all(set(w) & r for r in required)]


@pytest.mark.parametrize(("length", "charset", "require"), CASES, ids=IDS)
def test_count_marginals_and_enumeration_match_brute_force(
    length: int, charset: Spec, require: list[Spec]
) -> None:
    target = RandomString(length=length, charset=charset, require=require)
    valid = brute_force(length, charset, require)
    assert target.count() == len(valid)
    assert target.enumerate() == valid, "canonical order: lexicographic in the alphabet's order"
    assert target.support() == valid
    np.testing.assert_allclose(target.probabilities(), 1 / len(valid))
    alphabet = target.alphabet()
    counts = [[sum(w[i] == c for w in valid) for c in alphabet] for i in range(length)]
    np.testing.assert_allclose(
        target.position_probabilities(), np.array(counts, dtype=float) / len(valid), atol=1e-12
    )
    everything = ("".join(w) for w in itertools.product(alphabet, repeat=length))
    assert [w for w in everything if target.contains(w)] == valid
    summary = target.summary()
    assert summary.support_size == len(valid)
    assert summary.entropy == pytest.approx(math.log(len(valid)))
    assert target.log_pmf(valid[0]) == pytest.approx(-math.log(len(valid)))


@pytest.mark.parametrize(("length", "charset", "require"), CASES, ids=IDS)
def test_sampler_is_exactly_uniform_over_valid_strings(
    length: int, charset: Spec, require: list[Spec]
) -> None:
    target = RandomString(length=length, charset=charset, require=require)
    valid = brute_force(length, charset, require)
    n = max(20_000, 50 * len(valid))
    draws = target.sample(np.random.default_rng(2024), n)
    counts = Counter(draws)
    assert len(draws) == n and set(counts) <= set(valid)
    observed = np.array([counts[w] for w in valid], dtype=float)
    assert stats.chisquare(observed).pvalue > 1e-4


def test_password_sampler_marginals_and_closed_form_count() -> None:
    charset = ["lower", "upper", "digits", "symbols"]
    target = RandomString(length=10, charset=charset, require=charset)
    sizes = [len(expand_charset(c)) for c in charset]
    total = sum(sizes)
    closed_form = sum(
        (-1) ** len(t) * (total - sum(sizes[i] for i in t)) ** 10
        for r in range(5)
        for t in itertools.combinations(range(4), r)
    )
    assert target.count() == closed_form
    draws = [str(s) for s in target.sample(np.random.default_rng(9), 20_000)]
    assert all(target.contains(s) for s in draws)
    alphabet = {c: i for i, c in enumerate(target.alphabet())}
    chars = np.array([[alphabet[c] for c in s] for s in draws])
    expected = target.position_probabilities()
    pooled = np.bincount(chars.ravel(), minlength=len(alphabet)).astype(float)
    assert stats.chisquare(pooled, expected[0] * pooled.sum()).pvalue > 1e-4
    first = np.bincount(chars[:, 0], minlength=len(alphabet)).astype(float)
    assert stats.chisquare(first, expected[0] * len(draws)).pvalue > 1e-4
    assert target.support() is None
    assert target.summary().entropy == pytest.approx(math.log(closed_form))


def test_charset_names_lists_and_literals() -> None:
    assert expand_charset("hex") == "0123456789abcdef"
    assert expand_charset(["lower", "digits"]) == "abcdefghijklmnopqrstuvwxyz0123456789"
    assert expand_charset("aab") == "ab", "repeated characters count once"
    target = RandomString(length=2, charset=["upper", "!?"], require=["!?"])
    assert target.alphabet()[-2:] == ["!", "?"] and len(target.alphabet()) == 28
    assert target.contains("A!") and not target.contains("AB") and not target.contains("a!")
    assert not target.contains("A!!") and not target.contains(12)


def test_string_samples_zero_and_one() -> None:
    target = RandomString(length=5, charset="alnum", require=["digits"])
    assert target.sample(np.random.default_rng(0), 0) == []
    (one,) = target.sample(np.random.default_rng(0), 1)
    assert isinstance(one, str) and target.contains(one)


def test_uuid4_samples_are_rfc_version_4() -> None:
    target = Uuid4()
    draws = [str(v) for v in target.sample(np.random.default_rng(5), 20_000)]
    assert len(set(draws)) == len(draws)
    for text in draws[:500]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    assert all(target.contains(v) for v in draws)
    alphabet = {c: i for i, c in enumerate(target.alphabet())}
    expected = target.position_probabilities()
    np.testing.assert_allclose(expected.sum(axis=1), 1.0)
    chars = np.array([[alphabet[c] for c in v] for v in draws])
    for position in range(36):
        counts = np.bincount(chars[:, position], minlength=len(alphabet)).astype(float)
        keep = expected[position] > 0
        assert counts[~keep].sum() == 0
        if keep.sum() > 1:
            p = stats.chisquare(counts[keep], expected[position, keep] * len(draws)).pvalue
            assert p > 1e-4, f"position {position}"
    # the random bits: 4 * 30 hex digits + 2 bits of the variant digit
    nz = expected[expected > 0]
    bits = -float((nz * np.log2(nz)).sum())
    assert bits == pytest.approx(122)


def test_uuid4_membership_and_summary() -> None:
    target = Uuid4()
    good = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    assert target.contains(good)
    assert target.contains(good.upper()), "case-insensitive; characters() lowercases"
    assert target.characters(good.upper()) == good
    for bad in [
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301",  # version 1
        "3f2504e0-4f89-41d3-ca0c-0305e82c3301",  # variant c (Microsoft)
        "3f2504e04f8941d39a0c0305e82c3301",  # no hyphens
        "3f2504e0-4f89-41d3-9a0c-0305e82c330",  # short
        "3f2504e0-4f89-41d3-9a0c-0305e82c33g1",  # not hex
        "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}",
    ]:
        assert not target.contains(bad), bad
    assert not target.contains(42)
    summary = target.summary()
    assert summary.support_size == 2.0**122
    assert summary.entropy == pytest.approx(122 * math.log(2))
    assert target.log_pmf(good) == pytest.approx(-122 * math.log(2))
    assert target.log_pmf("nope") == -math.inf
    assert target.support() is None
    assert target.describe() == "uuid4()"
