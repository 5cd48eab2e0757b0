"""Evidence, valid at every sample size, that a model is not a perfect sampler of a target.

``randbench run`` stops sampling a task once this evidence is conclusive (STATISTICS.md:
"stopping early is legitimate only with an anytime-valid test"). The null hypothesis is
the perfect sampler, the oracle: every answer is readable and lies in the support, and the
answers are independent draws from the target. The test is the Dirichlet-multinomial
mixture e-value on a partition of the answers into cells whose probabilities under the
target are exact (:func:`target_cells`); it may be looked at after every batch without
inflating its level, and the model is judged no perfect sampler once
``log E >= log(1 / alpha)``. An unreadable or out-of-support answer has probability zero
under that null, so it alone is conclusive: a run then stops at its minimum sample size.

A perfect sampler is stopped early with probability at most ``alpha`` (Ville's inequality),
so the reference row keeps its full sample size; a model that is clearly no sampler of the
target costs its minimum. The stopped run's metrics are computed on the samples it has,
and its intervals are as wide as those samples make them.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from randbench.outcomes import Outcome, ParseResult
from randbench.stats.evalue import dirichlet_multinomial_log_evalue
from randbench.targets.base import ContinuousTarget, DiscreteUnboundedTarget, Target
from randbench.targets.coin_sequence import CoinSequence
from randbench.targets.permutation import Permutation
from randbench.targets.subset import Subset

MAX_CELLS = 5000
CONTINUOUS_CELLS = 10
UNBOUNDED_TAIL = 1e-3


@dataclass(frozen=True)
class Cells:
    """A partition of the target's outcomes: each cell's probability and an answer's cell."""

    probs: np.ndarray
    cell: Callable[[Outcome], int | None]
    """The cell of a valid answer, or None for one the target cannot produce."""
    description: str


def target_cells(target: Target) -> Cells | None:
    """The finest partition with exact probabilities that this family offers, or None."""
    for build in (
        _enumerated,
        _unbounded,
        _continuous,
        _subset,
        _permutation,
        _sequence,
        _characters,
    ):
        cells = build(target)
        if cells is not None:
            return cells
    return None


def log_evidence(cells: Cells, outcomes: Sequence[ParseResult], prior: float = 1.0) -> float:
    """log E against the perfect sampler (``inf`` once an answer is impossible under it)."""
    counts = np.zeros(len(cells.probs))
    for outcome in outcomes:
        value = outcome.value if outcome.valid else None
        index = cells.cell(value) if value is not None else None
        if index is None:
            return math.inf
        counts[index] += 1
    return dirichlet_multinomial_log_evalue(counts, cells.probs, prior=prior)


def _lookup(index: dict[Any, int]) -> Callable[[Outcome], int | None]:
    def cell(value: Outcome) -> int | None:
        try:
            return index.get(value)
        except TypeError:  # an unhashable answer is in no cell
            return None

    return cell


def _enumerated(target: Target) -> Cells | None:
    support = target.support()
    if support is None or len(support) > MAX_CELLS:
        return None
    index = {v: i for i, v in enumerate(support)}
    return Cells(np.asarray(target.probabilities(), dtype=float), _lookup(index), "each outcome")


def _unbounded(target: Target) -> Cells | None:
    if not isinstance(target, DiscreteUnboundedTarget):
        return None
    dist = target.scipy_dist()
    low, top = int(dist.support()[0]), int(dist.ppf(1 - UNBOUNDED_TAIL))
    probs = np.append(dist.pmf(np.arange(low, top + 1)), dist.sf(top))

    def cell(value: Outcome) -> int | None:
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            return None
        return min(value - low, top + 1 - low)

    return Cells(probs, cell, f"each value {low}..{top}, and above")


def _continuous(target: Target) -> Cells | None:
    """Equal-probability bins as the answers are printed
    (:meth:`~randbench.targets.base.ContinuousTarget.quantile_bins`)."""
    if not isinstance(target, ContinuousTarget):
        return None
    dist = target.scipy_dist()
    edges, probs = target.quantile_bins(CONTINUOUS_CELLS)
    slack = 0.0 if target.decimals is None else 0.5 * 10.0**-target.decimals * (1 + 1e-9)
    low, high = (float(b) for b in dist.support())
    bounds = list(edges)

    def cell(value: Outcome) -> int | None:
        """The bin of an answer; the target's own ``contains``, without scipy per call."""
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        if not (math.isfinite(value) and low - slack <= value <= high + slack):
            return None
        return bisect.bisect_right(bounds, float(value))

    return Cells(probs, cell, f"{len(probs)} bins of the target's quantiles")


def _subset(target: Target) -> Cells | None:
    """The first item (in the task's order) that a k-subset holds:
    P(first = i) = C(n - 1 - i, k - 1) / C(n, k)."""
    if not isinstance(target, Subset):
        return None
    items, k = target.items, target.k
    n = len(items)
    probs = np.array([math.comb(n - 1 - i, k - 1) for i in range(n)], dtype=float)
    probs /= math.comb(n, k)
    position = {item: i for i, item in enumerate(items)}

    def cell(value: Outcome) -> int | None:
        if not target.contains(value):
            return None
        assert isinstance(value, tuple)
        return min(position[v] for v in value)

    return Cells(probs, cell, "the first item chosen")


def _permutation(target: Target) -> Cells | None:
    """The item put first in an order: uniform over the items."""
    if not isinstance(target, Permutation):
        return None
    items = target.items
    position = {item: i for i, item in enumerate(items)}

    def cell(value: Outcome) -> int | None:
        if not target.contains(value):
            return None
        assert isinstance(value, tuple)
        return position[value[0]]

    return Cells(np.full(len(items), 1.0 / len(items)), cell, "the item put first")


def _sequence(target: Target) -> Cells | None:
    """The number of first symbols (heads) in a coin sequence: Binomial(length, p)."""
    if not isinstance(target, CoinSequence):
        return None
    length, p, symbols = target.length, target.p, target.symbols
    probs = np.exp(
        special.gammaln(length + 1)
        - special.gammaln(np.arange(length + 1) + 1)
        - special.gammaln(length - np.arange(length + 1) + 1)
        + special.xlogy(np.arange(length + 1), p)
        + special.xlog1py(length - np.arange(length + 1), -p)
    )

    def cell(value: Outcome) -> int | None:
        if not target.contains(value):
            return None
        assert isinstance(value, tuple)
        return sum(1 for s in value if s == symbols[0])

    return Cells(probs / probs.sum(), cell, "the number of heads")


def _characters(target: Target) -> Cells | None:
    """The first character of a string answer."""
    position_probabilities = getattr(target, "position_probabilities", None)
    alphabet = getattr(target, "alphabet", None)
    characters = getattr(target, "characters", None)
    if position_probabilities is None or alphabet is None or characters is None:
        return None
    probs = np.asarray(position_probabilities()[0], dtype=float)
    index = {c: i for i, c in enumerate(alphabet())}

    def cell(value: Outcome) -> int | None:
        if not target.contains(value):
            return None
        text = characters(value)
        return index.get(text[0]) if text else None

    return Cells(probs, cell, "the first character")
