"""How the overall score sees an outcome: a cell in each of G groups of K cells.

The score compares the model's distribution with the target's on a finite view of
the outcomes, the same kind of view for every task of an analysis family:

- categorical: the outcomes themselves (one group);
- discrete unbounded (Poisson, geometric): the integers up to the target's
  99.9% quantile and one tail cell, as :mod:`randbench.metrics` bins them;
- continuous: ten bins of equal target probability as answers are printed, as
  :mod:`randbench.metrics` (``ContinuousTarget.quantile_bins``);
- permutation: which item is at each position (one group per position);
- subset: whether each item is chosen (one group of two cells per item);
- string: which character is at each position (one group per position);
- coin sequence: which pair of symbols is at each pair of neighbouring positions
  (one group per position), which sees bias and over-alternation alike.

Each view is registered for its family in :data:`PROJECTIONS`; a new family adds one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from randbench.metrics import CONTINUOUS_BINS, UNBOUNDED_TAIL
from randbench.outcomes import Outcome
from randbench.targets import Analysis, Target


@dataclass(frozen=True)
class Projection:
    """A view of the outcomes: ``cells(v)`` gives the cell of ``v`` in each group."""

    view: str
    """What the cells are, in words (shown on the methodology and task pages)."""
    probs: np.ndarray
    """Target probability of every cell, shape (groups, cells)."""
    cells: Callable[[Outcome], np.ndarray]
    group_labels: tuple[str, ...]
    cell_labels: tuple[str, ...]
    sampler: Callable[[np.random.Generator, int], np.ndarray] | None = None
    """Draws a perfect sampler's cells, shape (n, groups), without building outcomes;
    :meth:`sample_cells` falls back on the target's own sampler."""

    @property
    def shape(self) -> tuple[int, int]:
        groups, cells = self.probs.shape
        return int(groups), int(cells)

    def constant_distance(self) -> float:
        """A lower bound on the distance of every constant answer.

        A constant answer puts each group's mass on one cell, so its distance in that
        group is 1 - p(cell) >= 1 - max p; exact for the families where every group's
        most likely cells can be had at once (categorical, permutations, sequences).
        """
        return float(np.mean(1.0 - self.probs.max(axis=1)))

    def distances(self, counts: np.ndarray) -> np.ndarray:
        """Mean over groups of the total variation distance, for counts (..., groups, cells)."""
        totals = counts.sum(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            freq = np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)
        return np.asarray(0.5 * np.abs(freq - self.probs).sum(axis=-1).mean(axis=-1))

    def count(self, cell_rows: np.ndarray) -> np.ndarray:
        """Counts (groups, cells) from an (n, groups) array of cell indices."""
        groups, cells = self.shape
        flat = cell_rows + np.arange(groups) * cells
        return np.bincount(flat.ravel(), minlength=groups * cells).reshape(groups, cells)

    def sample_cells(self, target: Target, rng: np.random.Generator, n: int) -> np.ndarray:
        """The cells of ``n`` exact draws from ``target``, shape (n, groups)."""
        if self.sampler is not None:
            return self.sampler(rng, n)
        if n == 0:
            return np.zeros((0, self.shape[0]), dtype=np.int64)
        return np.stack([self.cells(v) for v in target.sample(rng, n)])

    def exact_counts(self, support: list[Outcome], probs: np.ndarray) -> np.ndarray:
        """The cell probabilities of a distribution over the support (logprob mode)."""
        out = np.zeros(self.shape)
        rows = np.arange(self.shape[0])
        for value, p in zip(support, probs, strict=True):
            out[rows, self.cells(value)] += p
        return out


ProjectionBuilder = Callable[[Any], Projection]
PROJECTIONS: dict[Analysis, ProjectionBuilder] = {}
VIEWS: dict[Analysis, str] = {}
"""What each family's view is, in words, for the methodology page."""


def register_projection(
    analysis: Analysis, view: str
) -> Callable[[ProjectionBuilder], ProjectionBuilder]:
    def decorate(builder: ProjectionBuilder) -> ProjectionBuilder:
        PROJECTIONS[analysis] = builder
        VIEWS[analysis] = view
        return builder

    return decorate


def projection_for(target: Target) -> Projection | None:
    """The view that scores ``target``, or None for families without a score (controls,
    open-ended tasks)."""
    builder = PROJECTIONS.get(target.analysis)
    return builder(target) if builder is not None else None


def _label(value: Outcome) -> str:
    return " ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


@register_projection(
    Analysis.CATEGORICAL,
    "the outcomes themselves (one group)",
)
def _outcomes(target: Target) -> Projection:
    support = target.support()
    assert support is not None
    index = {v: i for i, v in enumerate(support)}
    probs = target.probabilities()
    return Projection(
        view="the outcomes",
        probs=probs[None, :],
        cells=lambda v: np.array([index[v]]),
        group_labels=("outcome",),
        cell_labels=tuple(_label(v) for v in support),
        sampler=lambda rng, n: rng.choice(len(probs), size=(n, 1), p=probs),
    )


@register_projection(
    Analysis.DISCRETE_UNBOUNDED,
    "the integers up to the target's 99.9% quantile, and one cell for the tail",
)
def _unbounded(target: Any) -> Projection:
    dist = target.scipy_dist()
    low = int(dist.support()[0])
    top = int(dist.ppf(1 - UNBOUNDED_TAIL))
    edges = np.arange(low, top + 1)
    probs = np.append(dist.pmf(edges), dist.sf(top))
    last = len(edges)

    def cells(v: Outcome) -> np.ndarray:
        assert isinstance(v, int | float)
        return np.array([min(int(v) - low, last)])

    def sampler(rng: np.random.Generator, n: int) -> np.ndarray:
        values = np.asarray(target.sample(rng, n), dtype=np.int64).reshape(n, 1)
        return np.minimum(values - low, last)

    return Projection(
        view=f"the values {low} to {top} and one cell for the rest",
        probs=probs[None, :],
        cells=cells,
        sampler=sampler,
        group_labels=("value",),
        cell_labels=(*(str(e) for e in edges), f">{top}"),
    )


@register_projection(
    Analysis.CONTINUOUS,
    "ten bins of equal target probability",
)
def _continuous(target: Any) -> Projection:
    inner, probs = target.quantile_bins(CONTINUOUS_BINS)

    def bins(values: np.ndarray) -> np.ndarray:
        return np.asarray(np.searchsorted(inner, values, side="right"))

    def cells(v: Outcome) -> np.ndarray:
        assert isinstance(v, int | float)
        return np.asarray(bins(np.array([float(v)])))

    def sampler(rng: np.random.Generator, n: int) -> np.ndarray:
        return np.asarray(bins(np.asarray(target.sample(rng, n), dtype=float))).reshape(n, 1)

    return Projection(
        view=f"{len(probs)} bins of equal target probability, as answers are printed",
        probs=probs[None, :],
        cells=cells,
        sampler=sampler,
        group_labels=("bin",),
        cell_labels=tuple(f"bin {i + 1}" for i in range(len(probs))),
    )


def _tuple(v: Outcome) -> tuple[Any, ...]:
    if not isinstance(v, tuple):
        raise TypeError(f"expected a tuple outcome, got {v!r:.40}")
    return v


@register_projection(
    Analysis.PERMUTATION,
    "the item at each position (one group per position)",
)
def _positions(target: Any) -> Projection:
    items = list(target.items)
    index = {item: i for i, item in enumerate(items)}
    m = len(items)
    return Projection(
        view="the item at each position",
        probs=np.full((m, m), 1 / m),
        cells=lambda v: np.array([index[item] for item in _tuple(v)]),
        group_labels=tuple(f"position {i + 1}" for i in range(m)),
        cell_labels=tuple(str(item) for item in items),
        sampler=lambda rng, n: np.argsort(rng.random((n, m)), axis=1),
    )


@register_projection(
    Analysis.SUBSET,
    "whether each item is chosen (one group of two cells per item)",
)
def _inclusion(target: Any) -> Projection:
    items = list(target.items)
    share = target.k / len(items)

    def cells(v: Outcome) -> np.ndarray:
        chosen = set(_tuple(v))
        return np.array([0 if item in chosen else 1 for item in items])

    def sampler(rng: np.random.Generator, n: int) -> np.ndarray:
        ranks = np.argsort(np.argsort(rng.random((n, len(items))), axis=1), axis=1)
        return np.asarray(ranks >= target.k, dtype=np.int64)

    return Projection(
        view="whether each item is chosen",
        probs=np.tile([share, 1 - share], (len(items), 1)),
        cells=cells,
        group_labels=tuple(str(item) for item in items),
        cell_labels=("chosen", "not chosen"),
        sampler=sampler,
    )


@register_projection(
    Analysis.STRING,
    "the character at each position (one group per position)",
)
def _characters(target: Any) -> Projection:
    alphabet = list(target.alphabet())
    index = {c: i for i, c in enumerate(alphabet)}
    probs = np.asarray(target.position_probabilities(), dtype=float)
    return Projection(
        view="the character at each position",
        probs=probs,
        cells=lambda v: np.array([index[c] for c in target.characters(v)]),
        group_labels=tuple(f"position {i + 1}" for i in range(len(probs))),
        cell_labels=tuple(alphabet),
    )


@register_projection(
    Analysis.COIN_SEQUENCE,
    "the pair of symbols at each two neighbouring positions (one group per pair)",
)
def _pairs(target: Any) -> Projection:
    first, second = target.symbols
    p = float(target.p)
    if target.length == 1:
        return Projection(
            view="the symbol",
            probs=np.array([[p, 1 - p]]),
            cells=lambda v: np.array([0 if _tuple(v)[0] == first else 1]),
            group_labels=("position 1",),
            cell_labels=(first, second),
        )
    pair = np.array([p * p, p * (1 - p), (1 - p) * p, (1 - p) * (1 - p)])

    def cells(v: Outcome) -> np.ndarray:
        bits = np.array([0 if s == first else 1 for s in _tuple(v)])
        return np.asarray(2 * bits[:-1] + bits[1:])

    def sampler(rng: np.random.Generator, n: int) -> np.ndarray:
        bits = (rng.random((n, target.length)) >= p).astype(np.int64)
        return np.asarray(2 * bits[:, :-1] + bits[:, 1:])

    return Projection(
        view="the pair of symbols at each pair of neighbouring positions",
        probs=np.tile(pair, (target.length - 1, 1)),
        cells=cells,
        sampler=sampler,
        group_labels=tuple(f"positions {i + 1}-{i + 2}" for i in range(target.length - 1)),
        cell_labels=tuple(a + b for a in (first, second) for b in (first, second)),
    )
