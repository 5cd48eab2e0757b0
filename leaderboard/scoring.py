"""The leaderboard's scores: per task, per category, overall, with intervals and tied ranks.

Per task (methodology page, "Overall score")::

    score = validity x max(0, 1 - (D - D0) / (Dc - D0))

- ``D``: total variation distance between the model's answers and the target on
  the task's view (:mod:`randbench.leaderboard.projection`), averaged over groups;
- ``D0``: the mean of ``D`` for a perfect sampler with the same number of valid
  answers (simulated; 0 for an exact logprob distribution), so that the upward
  finite-sample bias of TVD neither rewards nor punishes anyone;
- ``Dc``: the distance of the best constant answer (a lower bound of every
  constant answer's), so that a constant answer scores exactly 0;
- ``validity``: the share of valid answers. In logprob mode the score is that of the
  model's distribution renormalised over the task's answers, and the probability it puts
  on other text is reported beside it, not multiplied in: it measures the wording (a chat
  model that says "I rolled a 4." gives the bare "4" almost no probability), not randomness.

A perfect sampler scores 1 in expectation (1 exactly in logprob mode). Answers closer to
the target than a perfect sampler's (the result file's ``too_regular``: the lower tail of
their TVD) score at most 1: enumerating the faces is not a better sampler. A
category's score is the mean of its tasks'; the overall score is the mean of the
categories', so that a large family of tasks does not outweigh a small category.

Uncertainty comes from a bootstrap over samples (whole completions, so answers of
one call stay together). TVD's bootstrap distribution is shifted up by the same
finite-sample bias, so each task's bootstrap distances are re-centred on the
observed distance before scoring (:func:`randbench.stats.recentre`, which the result
files' TVD interval, :func:`randbench.stats.tvd_interval`, uses too); the score's
``D0`` then removes the bias (the TVD interval models it instead). Two rows
differ when the 95% bootstrap interval of their difference excludes zero; a row's rank
is one plus the number of rows that are better than it by that test, so rows that
cannot be told apart share a rank.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse, stats

from randbench.leaderboard.load import TaskData, outcome_value
from randbench.leaderboard.projection import Projection, projection_for
from randbench.metrics import TaskMetrics
from randbench.stats.results import NullBand
from randbench.stats.uncertainty import recentre
from randbench.targets import Analysis, Target

N_BOOTSTRAP = 1000
NULL_OUTCOMES = 200_000
"""Simulated outcomes per null band: 200 perfect samples of n, fewer when n is large."""
MIN_NULL_RUNS = 50
ALPHA = 0.05
TIE = 1e-9
"""Differences below this are rounding, not evidence (two exact rows at 0 are tied)."""


@dataclass
class TaskScore:
    """One task for one row: the score's ingredients, its interval, and what to plot."""

    name: str
    method: str
    category: str
    analysis: str
    n: int
    n_valid: int
    validity: float
    exact: bool
    projection: Projection | None
    counts: np.ndarray | None = None
    """The model's cell counts (sampled) or probabilities (exact), shape (groups, cells)."""
    distance: float | None = None
    null: NullBand | None = None
    constant: float | None = None
    score: float | None = None
    interval: tuple[float, float] | None = None
    replicates: np.ndarray | None = field(default=None, repr=False)
    accuracy: float | None = None
    """Controls (point-mass targets): the share of right answers; they are not scored."""

    @property
    def scored(self) -> bool:
        return self.score is not None


def seed_for(*parts: str) -> np.random.Generator:
    """A generator seeded from text, so that the same inputs give the same site."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def task_score(data: TaskData, row_key: str, n_boot: int = N_BOOTSTRAP) -> TaskScore:
    entry = data.entry
    result = TaskScore(
        name=data.name,
        method=data.method,
        category=entry.task.category,
        analysis=entry.analysis,
        n=entry.n,
        n_valid=entry.n_valid,
        validity=entry.validity,
        exact=entry.is_exact,
        projection=projection_for(data.target),
    )
    if data.target.judged_as() is Analysis.POINT_MASS:
        sampled = entry.values.get("accuracy", entry.validity)  # older files: the validity
        result.accuracy = _mass(data) if entry.is_exact else sampled
        return result
    if result.projection is None:
        return result
    if entry.is_exact:
        _score_exact(result, data, n_boot)
    else:
        _score_samples(result, data, seed_for(row_key, data.name, data.method), n_boot)
    return result


def normalised(distance: np.ndarray, null_mean: float, constant: float) -> np.ndarray:
    """1 for a perfect sampler's expected distance, 0 at the best constant answer's."""
    span = constant - null_mean
    if span <= 0:  # too few valid answers to tell a perfect sampler from a constant
        return np.zeros_like(distance)
    score = np.maximum(0.0, 1.0 - (distance - null_mean) / span)
    # At or beyond the constant distance is exactly 0, whatever the float rounding.
    return np.asarray(np.where(distance >= constant - TIE, 0.0, score))


def _mass(data: TaskData) -> float:
    """The model's probability of the right answers of a control: its outcomes of positive
    weight (for a coin that always lands tails, "heads" is scored but is a miss)."""
    assert data.logprobs is not None
    positive = data.target.probabilities() > 0
    mass = sum(
        float(np.exp(lp)) for lp, right in zip(data.logprobs, positive, strict=True)
        if lp is not None and right
    )  # fmt: skip
    return min(mass, 1.0)


def _score_exact(result: TaskScore, data: TaskData, n_boot: int) -> None:
    projection = result.projection
    assert projection is not None and data.logprobs is not None
    support = data.target.support()
    assert support is not None
    mass = np.array([0.0 if lp is None else np.exp(lp) for lp in data.logprobs])
    total = float(mass.sum())
    result.validity = min(total, 1.0)
    result.constant = projection.constant_distance()
    if total <= 0:
        result.score, result.interval = 0.0, (0.0, 0.0)
        result.replicates = np.zeros(n_boot)
        return
    result.counts = projection.exact_counts(support, mass / total)
    result.distance = float(projection.distances(result.counts))
    score = float(normalised(np.array(result.distance), 0.0, result.constant))
    result.score, result.interval = score, (score, score)
    result.replicates = np.full(n_boot, score)


def _score_samples(
    result: TaskScore, data: TaskData, rng: np.random.Generator, n_boot: int
) -> None:
    projection = result.projection
    assert projection is not None
    groups = projection.shape[0]
    per_sample = _sample_cells(data, projection)
    valid_rows = [row for rows in per_sample for row in rows]
    result.constant = projection.constant_distance()
    cell_rows = np.array(valid_rows, dtype=np.int64).reshape(len(valid_rows), groups)
    result.counts = projection.count(cell_rows)
    result.null = null_band(data.target, projection, len(valid_rows))
    outcomes = np.array([len(s.outcomes) for s in data.samples], dtype=float)
    valid = np.array([len(rows) for rows in per_sample], dtype=float)
    if not len(valid_rows):
        result.score, result.interval = 0.0, (0.0, 0.0)
        result.replicates = np.zeros(n_boot)
        return
    result.distance = float(projection.distances(result.counts[None])[0])
    weights = _bootstrap_weights(rng, len(per_sample), n_boot)
    counts = _weighted_counts(per_sample, projection, weights)
    distances = projection.distances(counts)
    centred = recentre(distances, result.distance)
    total = weights @ outcomes
    validity = np.divide(weights @ valid, total, out=np.zeros(n_boot), where=total > 0)
    scores = validity * np.nan_to_num(normalised(centred, result.null.mean, result.constant))
    observed = normalised(np.array(result.distance), result.null.mean, result.constant)
    if data.entry.too_regular:  # closer than chance is listing, not a better sampler
        scores = np.minimum(scores, validity)
        observed = np.minimum(observed, 1.0)
    result.score = result.validity * float(observed)
    result.replicates = scores
    result.interval = _percentiles(scores)


def _sample_cells(data: TaskData, projection: Projection) -> list[list[np.ndarray]]:
    """The cells of every valid outcome, grouped by sample (a completion)."""
    return [
        [
            projection.cells(outcome_value(o.value))
            for o in sample.outcomes
            if o.invalid_reason is None
        ]
        for sample in data.samples
    ]


def _bootstrap_weights(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """How often each sample is drawn in each resample, shape (n_boot, n)."""
    if n == 0:
        return np.zeros((n_boot, 0))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def _weighted_counts(
    per_sample: list[list[np.ndarray]], projection: Projection, weights: np.ndarray
) -> np.ndarray:
    """Cell counts of every resample, shape (n_boot, groups, cells)."""
    groups, cells = projection.shape
    rows, cols = [], []
    offsets = np.arange(groups) * cells
    for i, sample_cells in enumerate(per_sample):
        for cell_row in sample_cells:
            cols.append(cell_row + offsets)
            rows.append(np.full(groups, i))
    if not cols:
        return np.zeros((len(weights), groups, cells))
    matrix = sparse.csr_matrix(
        (np.ones(len(rows) * groups), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(per_sample), groups * cells),
    )
    dense = np.asarray((matrix.T @ weights.T).T)
    return dense.reshape(len(weights), groups, cells)


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return float(low), float(high)


_NULL_CACHE: dict[tuple[str, int], NullBand] = {}


def null_band(target: Target, projection: Projection, n: int) -> NullBand:
    """Mean and central 95% of the distance of a perfect sampler with ``n`` answers."""
    key = (type(target).__name__ + json.dumps(target.model_dump(mode="json"), sort_keys=True), n)
    if key not in _NULL_CACHE:
        _NULL_CACHE[key] = _simulate_null(target, projection, n, seed_for("null", key[0], str(n)))
    return _NULL_CACHE[key]


def _simulate_null(
    target: Target, projection: Projection, n: int, rng: np.random.Generator
) -> NullBand:
    if n == 0:
        return NullBand(mean=float("nan"), low=float("nan"), high=float("nan"))
    groups, width = projection.shape
    runs = max(MIN_NULL_RUNS, min(200, NULL_OUTCOMES // (n * groups)))
    cells = projection.sample_cells(target, rng, n * runs).reshape(runs, n, groups)
    flat = cells + np.arange(groups) * width + np.arange(runs)[:, None, None] * groups * width
    counts = np.bincount(flat.ravel(), minlength=runs * groups * width)
    distances = projection.distances(counts.reshape(runs, groups, width))
    low, high = np.percentile(distances, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return NullBand(mean=float(distances.mean()), low=float(low), high=float(high))


@dataclass
class Aggregate:
    score: float | None
    interval: tuple[float, float] | None
    tasks: int
    replicates: np.ndarray | None = field(default=None, repr=False)
    rank: int | None = None


def aggregate(scores: Sequence[TaskScore], categories: Sequence[str] | None = None) -> Aggregate:
    """Mean of the category means of the scored tasks (only ``categories`` when given)."""
    by_category: dict[str, list[TaskScore]] = {}
    for s in scores:
        if s.scored and (categories is None or s.category in categories):
            by_category.setdefault(s.category, []).append(s)
    if not by_category:
        return Aggregate(None, None, 0)
    means = [
        np.mean([_replicates(s) for s in tasks], axis=0) for _, tasks in sorted(by_category.items())
    ]
    point = float(
        np.mean([np.mean([s.score for s in tasks]) for _, tasks in sorted(by_category.items())])
    )
    replicates = np.mean(means, axis=0)
    return Aggregate(
        point, _percentiles(replicates), sum(map(len, by_category.values())), replicates
    )


def _replicates(score: TaskScore) -> np.ndarray:
    assert score.replicates is not None
    return score.replicates


MONTE_CARLO = "monte_carlo"


def primary_method(entry: TaskMetrics) -> str:
    """How the task's p-value was obtained (``asymptotic``, ``monte_carlo``, ``exact``)."""
    summary = entry.tests.get(entry.test or "")
    return summary.method if summary is not None else "unknown"


def fdr_passes(
    scores: Sequence[TaskScore], p_values: dict[str, tuple[float, str]]
) -> tuple[int, int] | None:
    """How many sampled tasks are consistent with their target after Benjamini-Hochberg
    at 5% (a perfect sampler: nearly all), out of how many have a test; ``p_values`` maps
    a task to its p-value and the method that gave it.

    A Monte Carlo p-value is floored at 1/(B + 1) (5e-4 with the runner's 2000 draws)
    where an asymptotic or exact one goes down to 1e-51: ranked together, the floor would
    sit behind every small asymptotic p-value whatever its evidence. So Monte Carlo
    p-values are ranked only against each other: Benjamini-Hochberg runs within each
    class (Monte Carlo; asymptotic and exact), each at 5%."""
    if not p_values:
        return None
    consistent = 0
    for monte_carlo in (True, False):
        names = sorted(n for n, (_, m) in p_values.items() if (m == MONTE_CARLO) == monte_carlo)
        if names:
            adjusted = stats.false_discovery_control([p_values[n][0] for n in names])
            consistent += int(np.sum(adjusted >= ALPHA))
    return consistent, len(p_values)


def category_subsets(categories: Sequence[str], limit: int = 10) -> list[tuple[str, ...]]:
    """The category selections whose scores are precomputed for the index page's toggles:
    every non-empty subset up to ``limit`` categories; beyond, all, each alone, all but one."""
    cats = sorted(categories)
    if len(cats) <= limit:
        return [c for k in range(1, len(cats) + 1) for c in itertools.combinations(cats, k)]
    singles = [(c,) for c in cats]
    all_but_one = [tuple(x for x in cats if x != c) for c in cats]
    return [tuple(cats), *singles, *all_but_one]
