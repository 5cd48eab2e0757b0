"""Which rows are ranked, and their ranks: like is compared with like (issue #35).

- **References are lines, not rows**: the oracle (a perfect sampler, about 100) and the
  constant answer (0) mark the ends of the scale; they are never ranked.
- **Sampled and exact rows are ranked apart**: an exact (logprob) row scores the model's
  probabilities over the scored answers, renormalised, with no sampling error: another
  measurement than a sampled row's.
- **Coverage**: a row is ranked only when it measured at least :data:`MIN_COVERAGE` of the
  reference task set of its kind: the scored tasks of the oracle's row with the same method
  (or, without one, the oracle's row of the same kind, or the union of the group's rows).
  A row measured on a subset (a fine-tuned checkpoint on its training and held-out tasks) is
  listed unranked with its coverage; a category it has no task in is "not measured" and
  never enters its average.
- **Stale rows** are not ranked unless the build asks for it.
- **Ranks come from paired comparisons on common tasks**: a row's rank is one plus the
  number of ranked rows of its kind that are better on the tasks both measured, by more
  than the 95% bootstrap interval of the difference allows; rows no comparison separates
  share a rank.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from randbench.leaderboard.scoring import ALPHA, TIE, TaskScore

REFERENCE_BACKENDS = frozenset({"oracle", "constant"})
MIN_COVERAGE = 0.9
"""Share of the reference task set a row must have measured to be ranked."""


class RankedRow(Protocol):
    """What ranking needs of a row (randbench.leaderboard.board.Row has it)."""

    @property
    def exact(self) -> bool: ...

    @property
    def ranked(self) -> bool: ...

    @property
    def tasks(self) -> dict[str, TaskScore]: ...


R = TypeVar("R", bound=RankedRow)


def is_reference(backend: str) -> bool:
    return backend in REFERENCE_BACKENDS


def scored(tasks: dict[str, TaskScore]) -> set[str]:
    return {name for name, s in tasks.items() if s.scored}


def reference_sets(
    rows: Sequence[tuple[bool, str, bool, set[str]]],
) -> dict[tuple[bool, str], set[str]]:
    """(exact, method) -> the task set a row of that kind is measured against, from rows
    given as (exact, method, is_reference, scored tasks)."""
    oracle = {(exact, method): tasks for exact, method, ref, tasks in rows if ref}
    found: dict[tuple[bool, str], set[str]] = {}
    for exact, method, _, _ in rows:
        key = (exact, method)
        if key in found:
            continue
        same_kind = [t for (e, m), t in oracle.items() if e == exact]
        if key in oracle:
            found[key] = oracle[key]
        elif same_kind:
            found[key] = max(same_kind, key=len)
        else:
            found[key] = set().union(*(t for e, _, _, t in rows if e == exact))
    return found


def coverage(tasks: set[str], reference: set[str]) -> tuple[int, int]:
    """Tasks measured of the reference set, and the set's size."""
    return len(tasks & reference), len(reference)


def covers(measured: tuple[int, int]) -> bool:
    done, total = measured
    return total == 0 or done >= MIN_COVERAGE * total


@dataclass
class _Means:
    """One row's category means on the tasks it shares with another row."""

    points: dict[str, float]
    replicates: dict[str, np.ndarray]


def _common_means(a: dict[str, TaskScore], b: dict[str, TaskScore]) -> tuple[_Means, _Means]:
    common = sorted(scored(a) & scored(b))
    by_category: dict[str, list[str]] = {}
    for name in common:
        by_category.setdefault(a[name].category, []).append(name)
    out = []
    for tasks in (a, b):
        points = {c: float(np.mean([_score(tasks[n]) for n in names]))
                  for c, names in by_category.items()}  # fmt: skip
        replicates = {c: np.mean([_replicates(tasks[n]) for n in names], axis=0)
                      for c, names in by_category.items()}  # fmt: skip
        out.append(_Means(points, replicates))
    return out[0], out[1]


def _score(task: TaskScore) -> float:
    assert task.score is not None, "a scored task has a score"
    return task.score


def _replicates(task: TaskScore) -> np.ndarray:
    assert task.replicates is not None, "a scored task has bootstrap replicates"
    return task.replicates


def paired_ranks(
    rows: Sequence[dict[str, TaskScore]], subsets: Sequence[Sequence[str] | None]
) -> list[list[int | None]]:
    """For each subset of categories (None: all), each row's rank among ``rows``: one plus
    the rows significantly better on the tasks both measured (paired by task; the
    bootstrap replicates of the two rows are independent draws)."""
    pairs = {
        (i, j): _common_means(rows[i], rows[j])
        for i in range(len(rows))
        for j in range(len(rows))
        if i != j
    }
    ranks: list[list[int | None]] = []
    for subset in subsets:
        ranking: list[int | None] = []
        for i in range(len(rows)):
            better = sum(1 for j in range(len(rows)) if j != i and _better(*pairs[(j, i)], subset))
            ranking.append(1 + better)
        ranks.append(ranking)
    return ranks


def _difference(
    b: _Means, a: _Means, subset: Sequence[str] | None
) -> tuple[float, np.ndarray, list[str]] | None:
    """B − A on the categories of ``subset`` both measured: the point difference of the
    mean of category means, its bootstrap replicates, and the categories; None without any."""
    cats = sorted(c for c in b.points if subset is None or c in subset)
    if not cats:
        return None
    point = float(np.mean([b.points[c] for c in cats]) - np.mean([a.points[c] for c in cats]))
    replicates = np.mean([b.replicates[c] for c in cats], axis=0) - np.mean(
        [a.replicates[c] for c in cats], axis=0
    )
    return point, replicates, cats


def _better(b: _Means, a: _Means, subset: Sequence[str] | None) -> bool:
    """Whether ``b`` beats ``a`` on the categories of ``subset`` they share, beyond noise."""
    found = _difference(b, a, subset)
    if found is None:
        return False
    point, replicates, _ = found
    if np.ptp(replicates) < TIE:
        return point > TIE
    return bool(np.percentile(replicates, 100 * ALPHA / 2) > 0)


@dataclass(frozen=True)
class Difference:
    """Row A minus row B on the tasks both measured: the score difference (mean of the
    category means), its 95% bootstrap interval, and the common tasks."""

    point: float
    low: float
    high: float
    tasks: int
    categories: tuple[str, ...]

    @property
    def verdict(self) -> str:
        if self.low > 0:
            return "A better"
        if self.high < 0:
            return "B better"
        return "not separated"


def paired_difference(
    a: dict[str, TaskScore], b: dict[str, TaskScore], subset: Sequence[str] | None = None
) -> Difference | None:
    """A − B on their common tasks (only ``subset``'s categories when given); None when
    they share no scored task there."""
    return paired_differences(a, b, [subset])[0]


def paired_differences(
    a: dict[str, TaskScore], b: dict[str, TaskScore], subsets: Sequence[Sequence[str] | None]
) -> list[Difference | None]:
    """:func:`paired_difference` for each subset, the common-task means computed once."""
    mine, theirs = _common_means(a, b)
    common = scored(a) & scored(b)
    out: list[Difference | None] = []
    for subset in subsets:
        found = _difference(mine, theirs, subset)
        if found is None:
            out.append(None)
            continue
        point, replicates, cats = found
        low, high = np.percentile(replicates, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
        # Exact rows' replicates all equal the point, summed in another order: the interval
        # must still hold it (0.0013463948322030017 against ...28907 broke the page's check).
        low, high = min(float(low), point), max(float(high), point)
        tasks = sum(1 for n in common if a[n].category in cats)
        out.append(Difference(point, low, high, tasks, tuple(cats)))
    return out


def rank_groups(
    rows: Sequence[R],
    subsets: Sequence[Sequence[str] | None],
    assign: Callable[[R, int, int | None], None],
) -> None:
    """Rank the ranked rows of each kind (sampled, exact) apart, for every subset;
    ``assign(row, subset index, rank)`` stores a rank."""
    for exact in (False, True):
        group = [r for r in rows if r.exact == exact and r.ranked]
        for k, ranking in enumerate(paired_ranks([r.tasks for r in group], subsets)):
            for row, rank in zip(group, ranking, strict=True):
                assign(row, k, rank)
