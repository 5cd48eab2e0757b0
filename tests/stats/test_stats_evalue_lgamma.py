"""The Dirichlet-multinomial e-value against a direct math.lgamma computation and enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from randbench.stats import dirichlet_multinomial_log_evalue


def log_beta(a: list[float]) -> float:
    return sum(math.lgamma(x) for x in a) - math.lgamma(sum(a))


@pytest.mark.parametrize(
    ("counts", "probs", "prior"),
    [
        ([3, 1, 0, 2, 2, 2], [1 / 6] * 6, 1.0),
        ([40, 2], [0.5, 0.5], 0.5),
        ([0, 0, 7], [0.2, 0.3, 0.5], 2.0),
    ],
)
def test_log_evalue_matches_lgamma_formula(
    counts: list[int], probs: list[float], prior: float
) -> None:
    a = [prior] * len(counts)
    expected = (
        log_beta([x + c for x, c in zip(a, counts, strict=True)])
        - log_beta(a)
        - sum(c * math.log(p) for c, p in zip(counts, probs, strict=True))
    )
    assert dirichlet_multinomial_log_evalue(counts, probs, prior) == pytest.approx(expected)


def test_evalue_has_expectation_one_under_the_null() -> None:
    """E is a likelihood ratio, so E_null[E] = 1 at every n: enumerate all sequences."""
    probs = np.array([0.5, 0.3, 0.2])
    for n in (1, 2, 5):
        total = 0.0
        for seq in itertools.product(range(3), repeat=n):
            counts = np.bincount(seq, minlength=3)
            p_seq = float(np.prod(probs[list(seq)]))
            total += p_seq * math.exp(dirichlet_multinomial_log_evalue(counts, probs))
        assert total == pytest.approx(1.0, abs=1e-12)
