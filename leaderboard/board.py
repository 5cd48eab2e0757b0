"""Loaded runs -> the leaderboard: one row per model x method, scored, ranked, and every
page's facts. Nothing here writes files or knows HTML."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from randbench.diversity import mean_placement
from randbench.leaderboard.load import Loaded, RowSource, RunFile, TaskData, latest_runs
from randbench.leaderboard.ranking import (
    coverage,
    covers,
    is_reference,
    rank_groups,
    reference_sets,
    scored,
)
from randbench.leaderboard.scoring import (
    N_BOOTSTRAP,
    Aggregate,
    TaskScore,
    aggregate,
    category_subsets,
    fdr_passes,
    primary_method,
    task_score,
)
from randbench.leaderboard.staleness import Library, stale_tasks
from randbench.plugins import spec_name
from randbench.result_schema import FamilySummary, ModelInfo, TaskInfo
from randbench.targets import Analysis

_SAFE = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")


def slug(text: str, *, hashed: bool = False) -> str:
    """A file-name-safe id: lowercase ASCII letters, digits, ``-`` and ``_`` only.

    Text from result files is untrusted: names such as ``..`` or ``a/b`` must not
    become paths. Text that is not already safe (or any text, with ``hashed``) gets a
    short digest of the original, so that different texts never share an id.
    """
    cleaned = "-".join(re.findall(r"[a-z0-9_]+", text.lower()))[:40].strip("-_") or "x"
    if hashed or cleaned != text or not _SAFE.fullmatch(text):
        return f"{cleaned}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return cleaned


@dataclass
class TaskView:
    """A task as the result files describe it (the first file that has it)."""

    name: str
    slug: str
    category: str
    analysis: str
    info: TaskInfo
    target: str
    answer: str


@dataclass
class DiversitySummary:
    """A row's open-ended tasks: each metric's mean over them (counts as a share of k) and
    the mean placement between the floor (0) and the ceiling (1) references."""

    tasks: int
    placement: float | None
    classes: float
    vendi: float | None
    cosine: float | None
    distinct_2: float | None
    self_bleu: float | None


def _mean(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None


def diversity_summary(data: dict[str, TaskData]) -> DiversitySummary | None:
    """The open-ended tasks of a row in one line, or None when it has none with answers."""
    found = [d.entry.diversity for d in data.values() if d.entry.diversity is not None]
    measured = [m for m in found if m.model.k > 0]
    if not measured:
        return None
    return DiversitySummary(
        tasks=len(measured),
        placement=_mean([mean_placement(m) for m in measured]),
        classes=sum(m.model.semantic_classes / m.model.k for m in measured) / len(measured),
        vendi=_mean(
            [
                None if m.model.vendi_score is None else m.model.vendi_score / m.model.k
                for m in measured
            ]
        ),
        cosine=_mean([m.model.mean_cosine_distance for m in measured]),
        distinct_2=_mean([m.model.distinct_2 for m in measured]),
        self_bleu=_mean([m.model.self_bleu for m in measured]),
    )


@dataclass
class Row:
    """One model x method: its scores and the facts of the index table."""

    id: str
    model: ModelInfo
    model_slug: str
    method: str
    method_slug: str
    run: RunFile
    """The newest file of the row (its date)."""
    files: dict[str, RunFile]
    """Task name -> the file its entry comes from (the newest that ran it)."""
    tasks: dict[str, TaskScore]
    data: dict[str, TaskData]
    overall: Aggregate
    categories: dict[str, Aggregate]
    controls: float | None = None
    validity: float = 0.0
    samples: int = 0
    passed: tuple[int, int] | None = None
    sampling: str = ""
    skipped: dict[str, str] = field(default_factory=dict)
    """Tasks the run reported as skipped for this method, with the reason."""
    dependent: int = 0
    """Tasks whose answers came several per call (not independent draws)."""
    enumerating: list[str] = field(default_factory=list)
    """Tasks where a call held more distinct answers than i.i.d. sampling gives: a
    near-uniform marginal there comes from listing, not from sampling."""
    stopped: list[str] = field(default_factory=list)
    """Tasks whose sampling stopped early: conclusive evidence against the perfect sampler
    before the planned sample size (their n is smaller, their intervals wider)."""
    too_regular: list[str] = field(default_factory=list)
    """Tasks whose answers lie closer to the target than a perfect sampler's (the lower
    tail of their TVD): listing, not sampling; their score is capped at 100."""
    subsets: dict[str, Aggregate] = field(default_factory=dict)
    diversity: DiversitySummary | None = None
    """Open-ended tasks (no target, not in the score): how diverse the answers are."""
    in_context: dict[str, FamilySummary] = field(default_factory=dict)
    """Task file stem -> its in-context summary, from the newest file that has it."""
    stale: dict[str, str] = field(default_factory=dict)
    """Tasks whose result no longer describes the current library or statistics, with the
    reason (randbench.leaderboard.staleness); a row with any is stale."""
    ranked: bool = True
    """Whether the row takes part in the ranking: not a reference, not stale (unless asked),
    and measured on the reference task set (randbench.leaderboard.ranking)."""
    reference: bool = False
    """The oracle or the constant answer: a line on the scale, not a ranked row."""
    coverage: tuple[int, int] = (0, 0)
    """Scored tasks measured of the reference task set of its kind, and the set's size."""
    coverage_by_category: dict[str, tuple[int, int]] = field(default_factory=dict)
    """The same per category of the reference set."""

    @property
    def label(self) -> str:
        return self.model.label()

    @property
    def exact(self) -> bool:
        return any(s.exact for s in self.tasks.values())

    @property
    def date(self) -> datetime:
        return self.run.document.config.date


@dataclass
class Board:
    rows: list[Row]
    tasks: dict[str, TaskView]
    categories: list[str]
    runs: list[RunFile]
    superseded: list[Path]
    problems: list[str]
    subsets: list[tuple[str, ...]]

    def models(self) -> dict[str, list[Row]]:
        """Rows by model slug, in first-appearance order of the ranked table."""
        out: dict[str, list[Row]] = {}
        for row in self.rows:
            out.setdefault(row.model_slug, []).append(row)
        return out

    @property
    def has_diversity(self) -> bool:
        """Whether any row has open-ended tasks (the index shows diversity columns)."""
        return any(row.diversity is not None for row in self.rows)

    def rows_for_task(self, name: str) -> list[Row]:
        return [r for r in self.rows if name in r.tasks]


def build_board(
    loaded: Loaded,
    n_boot: int = N_BOOTSTRAP,
    library: Library | None = None,
    include_stale: bool = False,
) -> Board:
    """The board of ``loaded``; with ``library``, rows whose tasks or statistics differ from
    it are marked stale and left out of the ranking unless ``include_stale``."""
    chosen, superseded = latest_runs(loaded.runs)
    rows = [
        _row(source, method, n_boot)
        for (_, method), source in sorted(chosen.items(), key=lambda kv: kv[0])
    ]
    if library is not None:
        for row in rows:
            row.stale = stale_tasks(row.files, library)
            row.ranked = include_stale or not row.stale
    _mark_references_and_coverage(rows)
    categories = sorted({s.category for r in rows for s in r.tasks.values() if s.scored})
    subsets = category_subsets(categories)
    for subset in subsets:
        key = ",".join(subset)
        for row in rows:
            row.subsets[key] = aggregate(list(row.tasks.values()), subset)
    rank_groups(rows, [None, *subsets], partial(_assign_rank, subsets=subsets))
    rows.sort(key=_order)
    tasks = _task_views(rows)
    return Board(
        rows=rows,
        tasks=tasks,
        categories=categories,
        runs=sorted(
            {id(f): f for r in rows for f in r.files.values()}.values(), key=lambda r: r.path.name
        ),
        superseded=superseded,
        problems=loaded.problems,
        subsets=subsets,
    )


def _mark_references_and_coverage(rows: Sequence[Row]) -> None:
    """References (oracle, constant) are lines, not ranked rows; a row that measured less
    than the reference task set of its kind is listed unranked (randbench.leaderboard.ranking)."""
    for row in rows:
        row.reference = is_reference(row.model.backend)
    kinds = [(r.exact, r.method, r.reference, scored(r.tasks)) for r in rows]
    references = reference_sets(kinds)
    category = {name: s.category for r in rows for name, s in r.tasks.items()}
    for row in rows:
        reference = references[(row.exact, row.method)]
        row.coverage = coverage(scored(row.tasks), reference)
        row.coverage_by_category = {
            c: coverage(scored(row.tasks), {n for n in reference if category[n] == c})
            for c in sorted({category[n] for n in reference})
        }
        row.ranked = row.ranked and not row.reference and covers(row.coverage)


def _assign_rank(
    row: Row, index: int, rank: int | None, subsets: Sequence[tuple[str, ...]]
) -> None:
    target = row.overall if index == 0 else row.subsets[",".join(subsets[index - 1])]
    target.rank = rank if target.score is not None else None


def _order(row: Row) -> tuple[bool, bool, bool, int, float, str, str]:
    """Ranked rows first, then references, then the unranked; sampled before exact."""
    score = row.overall.score
    return (
        not row.ranked,
        not row.reference,
        row.exact,
        row.overall.rank if row.overall.rank is not None else 1 << 30,
        -(score if score is not None else -1.0),
        row.label,
        row.method,
    )


def _row(source: RowSource, method: str, n_boot: int) -> Row:
    run = source.newest
    model = run.model
    model_slug = slug(model.label(), hashed=True)
    method_slug = slug(method)
    row_id = f"{model_slug}--{method_slug}"
    data = dict(sorted(source.tasks.items()))
    scores = {name: task_score(d, row_id, n_boot) for name, d in data.items()}
    task_list = list(scores.values())
    categories = sorted({s.category for s in task_list if s.scored})
    row = Row(
        id=row_id,
        model=model,
        model_slug=model_slug,
        method=method,
        method_slug=method_slug,
        run=run,
        files=dict(sorted(source.files.items())),
        tasks=scores,
        data=data,
        overall=aggregate(task_list),
        categories={c: aggregate(task_list, [c]) for c in categories},
    )
    for older in reversed(source.runs):  # the newest file's word wins
        row.skipped |= {
            s.task: s.reason
            for s in older.document.skipped
            if s.method == method and s.task not in data
        }
        row.in_context |= older.document.in_context.get(method, {})
    _facts(row)
    return row


def _facts(row: Row) -> None:
    scores = list(row.tasks.values())
    controls = [s.accuracy for s in scores if s.accuracy is not None]
    row.controls = sum(controls) / len(controls) if controls else None
    entries = [d.entry for d in row.data.values()]
    if row.exact:
        row.validity = sum(s.validity for s in scores) / len(scores) if scores else 0.0
        row.samples = 0
    else:
        total = sum(e.n for e in entries)
        row.validity = sum(e.n_valid for e in entries) / total if total else 0.0
        row.samples = total
    p_values = {
        name: (d.entry.p_value, primary_method(d.entry))
        for name, d in row.data.items()
        if d.entry.p_value is not None
        and not d.entry.is_exact
        and d.target.judged_as() is not Analysis.POINT_MASS  # older files gave controls p = 1
    }
    row.passed = fdr_passes(scores, p_values)
    row.sampling = sampling_summary(row)
    dependence = {name: d.entry.dependence for name, d in row.data.items()}
    row.dependent = sum(dep is not None for dep in dependence.values())
    row.enumerating = sorted(n for n, dep in dependence.items() if dep and dep.enumerates)
    row.stopped = sorted(n for n, d in row.data.items() if d.entry.stopped_early is not None)
    row.too_regular = sorted(n for n, d in row.data.items() if d.entry.too_regular)
    row.diversity = diversity_summary(row.data)


def sampling_summary(row: Row) -> str:
    """The sampling settings of a row in one short line."""
    if row.exact:
        return "exact distribution (no sampling)"
    settings = [d.entry.sampling for d in row.data.values() if d.entry.sampling is not None]
    if not settings:
        return "not recorded"
    parts = []
    for label, values in (
        ("T", sorted({s.temperature for s in settings})),
        ("top-p", sorted({s.top_p for s in settings})),
        ("max tokens", sorted({s.max_tokens for s in settings})),
    ):
        shown = [f"{v:g}" for v in values]
        parts.append(
            f"{label} {shown[0]}" if len(shown) == 1 else f"{label} {shown[0]}–{shown[-1]}"
        )
    return ", ".join(parts)


def _task_views(rows: Sequence[Row]) -> dict[str, TaskView]:
    views: dict[str, TaskView] = {}
    for row in rows:
        for name, data in row.data.items():
            if name in views:
                continue
            info = data.entry.task
            views[name] = TaskView(
                name=name,
                slug=slug(name),
                category=info.category,
                analysis=data.entry.analysis,
                info=info,
                target=data.target.describe(),
                answer=spec_name(info.answer),
            )
    return dict(sorted(views.items(), key=lambda kv: (kv[1].category, kv[0])))
