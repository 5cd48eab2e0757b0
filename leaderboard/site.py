"""Write the static site: Jinja2 pages, SVG plots, downloads, and the site's own CSS/JS.

The site opens from ``file://`` with no server and no network: each page carries its
data as JSON in a ``<script type="application/json">`` element, the scripts are
classic scripts shipped beside the pages, and nothing is fetched. Jinja2
autoescapes everything, and pages link only to paths built from safe slugs.
Output is deterministic: the same result files give the same bytes.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from randbench import __version__
from randbench.diversity import placement
from randbench.leaderboard import plots
from randbench.leaderboard.board import (
    Board,
    DiversitySummary,
    Row,
    TaskView,
    build_board,
    slug,
)
from randbench.leaderboard.drawing import PlotJob, default_workers, draw_plots, write_file
from randbench.leaderboard.embed import script_json
from randbench.leaderboard.finetune import GROUP_LABELS, GROUPS, comparisons
from randbench.leaderboard.in_context import Family, ModelView, PoissonPoint, model_views
from randbench.leaderboard.load import TaskData, keep_tasks, load_results
from randbench.leaderboard.projection import VIEWS
from randbench.leaderboard.scoring import N_BOOTSTRAP, Aggregate
from randbench.leaderboard.staleness import Library, current_library
from randbench.leaderboard.tables import write_tables

MARKER = ".randbench-site"
"""A file that marks a folder as a generated site, which a rebuild may replace."""
STATIC_FILES = ("site.css", "site.js")
INDEX_COLUMNS = (
    ("ci", "95% interval"),
    ("controls", "Controls"),
    ("validity", "Validity"),
    ("passed", "Consistent"),
    ("samples", "Samples"),
    ("tasks", "Tasks"),
    ("sampling", "Sampling"),
    ("date", "Date"),
)
"""Index columns that the column toggles show and hide (categories have their own)."""
DIVERSITY_COLUMNS = (
    ("diversity", "Diversity"),
    ("classes", "Classes/k"),
    ("vendi", "Vendi/k"),
    ("distinct2", "Distinct-2"),
    ("selfbleu", "Self-BLEU"),
)
"""Index columns of the open-ended tasks, shown when some row has them."""


class SiteFolderError(ValueError):
    """The output folder holds something that is not a previous build."""


@dataclass
class BuildReport:
    out_dir: Path
    rows: int
    pages: int
    files: int
    bytes: int
    seconds: float
    problems: list[str] = field(default_factory=list)
    superseded: list[Path] = field(default_factory=list)
    stale: dict[str, dict[str, str]] = field(default_factory=dict)
    """Row label and method -> its stale tasks and why (randbench.leaderboard.staleness)."""


def build_site(
    results_dir: Path,
    out_dir: Path,
    *,
    skip_invalid: bool = False,
    n_boot: int = N_BOOTSTRAP,
    workers: int | None = None,
    library: Library | None = None,
    include_stale: bool = False,
    tasks: Collection[str] | None = None,
) -> BuildReport:
    """Render the site for every result file under ``results_dir`` into ``out_dir``, its
    plots drawn by ``workers`` processes (default: one per CPU core). Results are checked
    against ``library`` (default: the current task library and statistics): stale rows
    are marked, and ranked only with ``include_stale``. With ``tasks`` (names), only those
    tasks' results enter: a board of a selection of the library."""
    start = time.perf_counter()
    loaded = load_results(results_dir, skip_invalid=skip_invalid)
    if tasks is not None:
        loaded = keep_tasks(loaded, tasks)
    library = current_library() if library is None else library
    board = build_board(loaded, n_boot, library=library, include_stale=include_stale)
    _prepare(out_dir)
    writer = SiteWriter(out_dir, board, n_boot)
    writer.write_all()
    draw_plots(out_dir, writer.plots, default_workers() if workers is None else workers)
    sizes = [p.stat().st_size for p in out_dir.rglob("*") if p.is_file()]
    return BuildReport(
        out_dir=out_dir,
        rows=len(board.rows),
        pages=writer.pages,
        files=len(sizes),
        bytes=sum(sizes),
        seconds=time.perf_counter() - start,
        problems=board.problems,
        superseded=board.superseded,
        stale={f"{row.label} / {row.method}": row.stale for row in board.rows if row.stale},
    )


def _prepare(out_dir: Path) -> None:
    """Empty ``out_dir`` if it is a previous build; refuse to touch any other folder."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise SiteFolderError(f"{out_dir}: exists and is not a folder")
        if any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
            raise SiteFolderError(
                f"{out_dir}: not empty and not a randbench site (no {MARKER}); "
                "choose an empty or new folder"
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / MARKER).write_text("generated by randbench leaderboard build\n", encoding="utf-8")


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("randbench.leaderboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        score=fmt_score, interval=fmt_interval, pct=fmt_pct, num=fmt_num, p=fmt_p, slug=slug,
        bucket=score_bucket,
    )  # fmt: skip
    env.globals.update(version=__version__)
    return env


def fmt_score(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def score_bucket(value: float | None) -> str:
    """A CSS class for a score's shade: b0 (0-10) ... b10 (100 and above)."""
    if value is None:
        return "bnone"
    return f"b{min(10, max(0, int(10 * value)))}"


def fmt_interval(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return ""
    return f"{100 * interval[0]:.1f} – {100 * interval[1]:.1f}"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def fmt_num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


def fmt_p(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


class SiteWriter:
    """Writes every page and file of one site, counting pages."""

    def __init__(self, out_dir: Path, board: Board, n_boot: int = N_BOOTSTRAP) -> None:
        self.out = out_dir
        self.board = board
        self.n_boot = n_boot
        self.env = environment()
        self.pages = 0
        self.plots: list[PlotJob] = []
        """The plots the pages show, drawn after them (:func:`draw_plots`)."""

    # paths, relative to the site root
    @staticmethod
    def run_page(row: Row, task: str) -> str:
        return f"runs/{row.model_slug}/{row.method_slug}/{slug(task)}.html"

    @staticmethod
    def model_page(row: Row) -> str:
        return f"models/{row.model_slug}.html"

    @staticmethod
    def compare_page(task: str) -> str:
        return f"compare/{slug(task)}.html"

    def write_all(self) -> None:
        self._static()
        write_tables(self.board, self.out / "data")
        self._index()
        self._methodology()
        self._tasks_page()
        self._finetune_page()
        self._in_context()
        for model_slug, rows in self.board.models().items():
            self._model(model_slug, sorted(rows, key=lambda r: r.method))
            for row in rows:
                for name in row.tasks:
                    self._run_task(row, name)
        for name in self.board.tasks:
            self._compare(name)

    def _static(self) -> None:
        folder = self.out / "static"
        folder.mkdir()
        source = files("randbench.leaderboard").joinpath("static")
        for name in STATIC_FILES:
            (folder / name).write_bytes(source.joinpath(name).read_bytes())

    def _page(self, path: str, template: str, **context: Any) -> None:
        depth = len(PurePosixPath(path).parts) - 1
        root = "../" * depth
        html = self.env.get_template(template).render(
            root=root, page=path, board=self.board, w=self, **context
        )
        write_file(self.out, path, html)
        self.pages += 1

    def _plot(self, path: str, draw: Callable[..., str], *args: Any) -> str:
        """``path``, where the plot ``draw(*args)`` will be."""
        self.plots.append(PlotJob(path, draw, args))
        return path

    def _index(self) -> None:
        rows = self.board.rows
        plot = self._plot(
            "plots/overall.svg",
            plots.overall_plot,
            [_plot_label(r) for r in rows],
            [r.overall for r in rows],
        )
        self._page(
            "index.html", "index.html", data=script_json(self._index_data()), plot=plot,
            columns=INDEX_COLUMNS + (DIVERSITY_COLUMNS if self.board.has_diversity else ()),
        )  # fmt: skip

    def _index_data(self) -> dict[str, Any]:
        categories = self.board.categories
        return {
            "categories": [{"key": slug(c), "label": c} for c in categories],
            "rows": [self._row_record(r) for r in self.board.rows],
            "subsets": {
                ",".join(slug(c) for c in subset): {
                    r.id: _aggregate_record(r.subsets[",".join(subset)]) for r in self.board.rows
                }
                for subset in self.board.subsets
            },
        }

    def _row_record(self, row: Row) -> dict[str, Any]:
        return {
            "id": row.id,
            "model": row.label,
            "method": row.method,
            "exact": row.exact,
            "stale": len(row.stale),
            "overall": _aggregate_record(row.overall),
            "cats": {slug(c): _aggregate_record(a) for c, a in row.categories.items()},
            "controls": row.controls,
            "validity": row.validity,
            "passed": row.passed[0] / row.passed[1] if row.passed else None,
            "samples": row.samples,
            "tasks": row.overall.tasks,
            "sampling": row.sampling,
            "date": row.date.isoformat(),
            **_diversity_record(row.diversity),
        }

    def _methodology(self) -> None:
        views = sorted((a.value, view) for a, view in VIEWS.items())
        self._page("methodology.html", "methodology.html", views=views, n_boot=self.n_boot)

    def _tasks_page(self) -> None:
        by_category: dict[str, list[TaskView]] = {}
        for view in self.board.tasks.values():
            by_category.setdefault(view.category, []).append(view)
        self._page("tasks.html", "tasks.html", by_category=by_category)

    def _finetune_page(self) -> None:
        self._page(
            "finetune.html", "finetune.html", comparisons=comparisons(self.board),
            groups=GROUPS, group_labels=GROUP_LABELS,
        )  # fmt: skip

    def _in_context(self) -> None:
        sections = [self._in_context_section(view) for view in model_views(self.board)]
        self._page("in_context.html", "in_context.html", sections=sections)

    def _in_context_section(self, view: ModelView) -> InContextSection:
        folder = f"plots/in_context/{view.slug}"
        section = InContextSection(view.label, view.slug)
        by_name: dict[str, list[Family]] = {}
        for family in view.curve_families:
            by_name.setdefault(family.name, []).append(family)
        for name, families in by_name.items():
            table = curve_table(families)
            series = [(f.method, table.curves(f.method)) for f in families]
            path = f"{folder}/{slug(name)}.svg"
            self._plot(path, plots.tvd_curve_plot, name, series, table.lengths)
            section.curves.append((name, path, table, families))
        if view.compliance_families:
            compliance = self._plot(
                f"{folder}/stated-bias.svg", plots.compliance_plot, compliance_series(view)
            )
            section.compliance = compliance
        if view.poisson:
            section.poisson = self._plot(
                f"{folder}/poisson.svg", plots.poisson_plot, poisson_series(view)
            )
        section.compliance_families = view.compliance_families
        section.stated_thetas = view.stated_thetas
        section.poisson_points = view.poisson
        return section

    def _model(self, model_slug: str, rows: list[Row]) -> None:
        series = {r.method: [s for s in r.tasks.values() if s.scored] for r in rows}
        plot = self._plot(
            f"plots/models/{model_slug}.svg", plots.model_plot, self.board.categories, series
        )
        names = sorted({n for r in rows for n in r.tasks}, key=self._task_order)
        self._page(self.model_page(rows[0]), "model.html", rows=rows, names=names, plot=plot)

    def _task_order(self, name: str) -> tuple[str, str]:
        view = self.board.tasks.get(name)
        return (view.category if view else "", name)

    def _run_task(self, row: Row, name: str) -> None:
        score, data = row.tasks[name], row.data[name]
        path = self.run_page(row, name)
        svg_path = "plots/" + path.removesuffix(".html") + ".svg"
        plot = self._plot(svg_path, plots.task_plot, score, data)
        self._page(
            path,
            "run_task.html",
            row=row,
            task=self.board.tasks[name],
            score=score,
            entry=data.entry,
            target=data.target.describe(),
            plot=plot,
            plot_caption=plots.caption(score, data),
            samples=script_json(_sample_records(row, name)),
            candidates=_candidates(data) if data.entry.is_exact else [],
            groups=semantic_groups(data),
            placed=placement(data.entry.diversity) if data.entry.diversity else {},
        )

    def _compare(self, name: str) -> None:
        rows = self.board.rows_for_task(name)
        scored = [(r, r.tasks[name]) for r in rows if r.tasks[name].counts is not None]
        plot, caption = None, ""
        if scored:
            projection = scored[0][1].projection
            assert projection is not None
            caption = plots.compare_caption(projection)
            labels = [_plot_label(r) for r, _ in scored]
            plot = self._plot(
                f"plots/compare/{slug(name)}.svg",
                plots.compare_plot,
                labels,
                [s for _, s in scored],
            )
        self._page(
            self.compare_page(name), "compare.html", task=self.board.tasks[name], rows=rows,
            plot=plot, caption=caption,
        )  # fmt: skip


def _diversity_record(summary: DiversitySummary | None) -> dict[str, float | None]:
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
    answers = [_show(o.value) for s in data.samples for o in s.outcomes if o.invalid_reason is None]
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
        """Distribution -> mean TVD at each N (stops at the first N without a value)."""
        out: dict[str, list[float]] = {}
        for m, name in self.columns:
            if m == method:
                values = [self.cells.get((n, m, name)) for n in self.lengths]
                out[name] = [v for v in values if v is not None]
        return out


def curve_table(families: list[Family]) -> CurveTable:
    lengths = sorted({r.n for f in families for r in f.summary.by_n})
    columns = [(f.method, name) for f in families for name in f.curves]
    cells = {
        (r.n, f.method, k): v for f in families for r in f.summary.by_n for k, v in r.tvds.items()
    }
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


def _plot_label(row: Row) -> str:
    """Model and method for a plot legend: a long model label is cut, the method never."""
    return f"{plots.text(row.label, 32)} · {row.method}"


def _aggregate_record(agg: Aggregate) -> list[Any]:
    low, high = agg.interval if agg.interval else (None, None)
    return [agg.score, low, high, agg.rank]


def _sample_records(row: Row, name: str) -> list[list[Any]]:
    """Each sample as [index, seed, completion, answers, invalid reasons] for the browser."""
    records = []
    for sample in row.data[name].samples:
        answers = [_show(o.value) for o in sample.outcomes if o.invalid_reason is None]
        reasons = [o.invalid_reason for o in sample.outcomes if o.invalid_reason is not None]
        records.append([sample.index, sample.seed, sample.completion, answers, reasons])
    return records


def _show(value: Any) -> str:
    """An outcome as text: a sequence of single characters runs together (HTTH), others are
    spaced (apple banana)."""
    if not isinstance(value, list | tuple):
        return str(value)
    items = [str(v) for v in value]
    return "".join(items) if all(len(i) == 1 for i in items) else " ".join(items)


def _candidates(data: TaskData) -> list[tuple[str, float | None, float, float]]:
    """Logprob rows: every candidate outcome with its log-probability and probabilities."""
    assert data.logprobs is not None
    support = data.target.support() or []
    target = data.target.probabilities()
    total = sum(math.exp(lp) for lp in data.logprobs if lp is not None) or 1.0
    out = []
    for value, lp, p in zip(support, data.logprobs, target, strict=True):
        model = 0.0 if lp is None else math.exp(lp) / total
        out.append((_show(value), lp, model, float(p)))
    return out
