"""What the pages show, as records and series built from the board: a row's index cells,
a task's samples and candidates, the in-context page's tables and plot series. Nothing
here writes a file (randbench.leaderboard.site does) or knows HTML (the templates do)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from randbench.in_context import BASELINES
from randbench.leaderboard import plots
from randbench.leaderboard.board import Board, DiversitySummary, Row
from randbench.leaderboard.in_context import Family, ModelView, PoissonPoint
from randbench.leaderboard.load import TaskData
from randbench.leaderboard.ranking import Difference, paired_differences
from randbench.leaderboard.scoring import Aggregate

DIVERSITY_COLUMNS = (
    ("diversity", "Diversity"),
    ("classes", "Classes/k"),
    ("vendi", "Vendi/k"),
    ("distinct2", "Distinct-2"),
    ("selfbleu", "Self-BLEU"),
)
"""Index columns of the open-ended tasks, shown when some row has them."""


def diversity_record(summary: DiversitySummary | None) -> dict[str, float | None]:
    """The index's diversity cells of a row, by the column keys the page script sorts on."""
    if summary is None:
        return dict.fromkeys((key for key, _ in DIVERSITY_COLUMNS), None)
    return {
        "diversity": summary.placement,
        "classes": summary.classes,
        "vendi": summary.vendi,
        "distinct2": summary.distinct_2,
        "selfbleu": summary.self_bleu,
    }


def semantic_groups(data: TaskData) -> list[list[str]]:
    """An open-ended task's valid answers grouped by semantic class, largest class first
    (ties in order of first appearance); empty when the entry has no classes."""
    metrics = data.entry.diversity
    if metrics is None or not metrics.model.classes:
        return []
    answers = [show(o.value) for s in data.samples for o in s.outcomes if o.invalid_reason is None]
    groups: dict[int, list[str]] = {}
    for answer, group in zip(answers, metrics.model.classes, strict=True):
        groups.setdefault(group, []).append(answer)
    return sorted(groups.values(), key=lambda members: -len(members))


PlotSeries = tuple[str, list[float], list[float]]
"""A labelled line: its x and y values."""


def compliance_series(view: ModelView) -> list[PlotSeries]:
    """P(heads) against the stated theta (in %), per stated-bias family and method."""
    return [
        (f"{f.name} · {f.method}", [float(t.theta_pct) for t in f.summary.by_theta],
         [t.p_first for t in f.summary.by_theta])
        for f in view.compliance_families
    ]  # fmt: skip


def poisson_series(view: ModelView) -> list[PlotSeries]:
    """Marks per gap against lambda, per method and form (tasks without a valid answer left
    out of the line; the table lists them)."""
    series = []
    for method, points in view.poisson.items():
        for form in sorted({p.form for p in points}):
            shown = [p for p in points if p.form == form and p.model is not None]
            series.append((f"{method} · {form}", [p.rate for p in shown],
                           [p.model for p in shown if p.model is not None]))  # fmt: skip
    return series


@dataclass
class CurveTable:
    """The numbers of one family's TVD-versus-N plot: one column per (method, distribution)."""

    lengths: list[int]
    columns: list[tuple[str, str]]
    cells: dict[tuple[int, str, str], float]

    def curves(self, method: str) -> dict[str, list[float]]:
        """Distribution -> mean TVD at each N (NaN where an N has no value)."""
        out: dict[str, list[float]] = {}
        for m, name in self.columns:
            if m == method:
                values = [self.cells.get((n, m, name)) for n in self.lengths]
                out[name] = [math.nan if v is None else v for v in values]
        return out


BASELINE = "baseline"
"""The method label of the predictors a model's curves are read against."""


def curve_table(
    families: list[Family], baselines: Mapping[int, Mapping[str, float]] | None = None
) -> CurveTable:
    """The family's curves of each method and, at the same N, the ``baselines``
    (:func:`randbench.in_context.baseline_curves`: each predictor's TVD to theta)."""
    lengths = sorted({r.n for f in families for r in f.summary.by_n})
    columns = [(f.method, name) for f in families for name in f.curves]
    cells = {
        (r.n, f.method, k): v for f in families for r in f.summary.by_n for k, v in r.tvds.items()
    }
    for name in BASELINES:
        at = {n: values[name] for n, values in (baselines or {}).items() if name in values}
        if any(n in at for n in lengths):
            columns.append((BASELINE, name))
            cells.update({(n, BASELINE, name): at[n] for n in lengths if n in at})
    return CurveTable(lengths, columns, cells)


@dataclass
class InContextSection:
    """One model on the in-context page: its plots (paths) and the numbers beside them."""

    label: str
    slug: str
    curves: list[tuple[str, str, CurveTable, list[Family]]] = field(default_factory=list)
    compliance: str | None = None
    compliance_families: list[Family] = field(default_factory=list)
    stated_thetas: list[int] = field(default_factory=list)
    poisson: str | None = None
    poisson_points: dict[str, list[PoissonPoint]] = field(default_factory=dict)


def plot_label(row: Row) -> str:
    """Model and method for a plot legend: a long model label is cut, the method never."""
    return f"{plots.text(row.label, 32)} · {row.method}"


def aggregate_record(agg: Aggregate) -> list[Any]:
    low, high = agg.interval if agg.interval else (None, None)
    return [agg.score, low, high, agg.rank]


def sample_records(row: Row, name: str) -> list[list[Any]]:
    """Each sample as [index, seed, completion, answers, invalid reasons] for the browser."""
    records = []
    for sample in row.data[name].samples:
        answers = [show(o.value) for o in sample.outcomes if o.invalid_reason is None]
        reasons = [o.invalid_reason for o in sample.outcomes if o.invalid_reason is not None]
        records.append([sample.index, sample.seed, sample.completion, answers, reasons])
    return records


def show(value: Any) -> str:
    """An outcome as text: a sequence of single characters runs together (HTTH), others are
    spaced (apple banana)."""
    if not isinstance(value, list | tuple):
        return str(value)
    items = [str(v) for v in value]
    return "".join(items) if all(len(i) == 1 for i in items) else " ".join(items)


def candidates(data: TaskData) -> list[tuple[str, float | None, float, float]]:
    """Logprob rows: every candidate outcome with its log-probability and probabilities."""
    assert data.logprobs is not None
    support = data.target.support() or []
    target = data.target.probabilities()
    total = sum(math.exp(lp) for lp in data.logprobs if lp is not None) or 1.0
    out = []
    for value, lp, p in zip(support, data.logprobs, target, strict=True):
        model = 0.0 if lp is None else math.exp(lp) / total
        out.append((show(value), lp, model, float(p)))
    return out


@dataclass
class PairView:
    """Row A against row B on the tasks both measured (randbench.leaderboard.ranking)."""

    a: Row
    b: Row
    overall: Difference
    categories: dict[str, Difference | None]


def pair_views(board: Board) -> dict[str, list[PairView]]:
    """Sampled and exact: each ranked row against the ranked rows below it, and each partial
    row (not a reference, not stale) against every ranked row of its kind."""
    out: dict[str, list[PairView]] = {}
    for kind, exact in (("sampled", False), ("exact", True)):
        ranked = [r for r in board.rows if r.exact == exact and r.ranked]
        others = [r for r in board.rows if r.exact == exact and not r.ranked]
        partial = [r for r in others if not r.reference and not r.stale]
        pairs = [(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1 :]]
        pairs += [(a, b) for a in partial for b in ranked]
        views = []
        for a, b in pairs:
            subsets: list[list[str] | None] = [None, *([c] for c in board.categories)]
            overall, *by_category = paired_differences(a.tasks, b.tasks, subsets)
            if overall is None:
                continue
            categories = dict(zip(board.categories, by_category, strict=True))
            views.append(PairView(a, b, overall, categories))
        if views:
            out[kind] = views
    return out
