"""Write the static site: Jinja2 pages, SVG plots, downloads, and the site's own CSS/JS.

The site opens from ``file://`` with no server and no network: each page carries its
data as JSON in a ``<script type="application/json">`` element, the scripts are
classic scripts shipped beside the pages, and nothing is fetched. Jinja2
autoescapes everything, and pages link only to paths built from safe slugs.
Output is deterministic: the same result files give the same bytes.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any

from randbench.diversity import placement
from randbench.finetune.heldout import TASKS_NEEDED_PER_LEVEL
from randbench.in_context import baseline_curves
from randbench.leaderboard import plots
from randbench.leaderboard.board import (
    Board,
    Row,
    TaskView,
    build_board,
    slug,
)
from randbench.leaderboard.drawing import PlotJob, default_workers, draw_plots, write_file
from randbench.leaderboard.embed import script_json
from randbench.leaderboard.filters import environment
from randbench.leaderboard.findings import Findings, build_findings
from randbench.leaderboard.finetune import (
    GROUP_LABELS,
    GROUPS,
    SIDE_BY_SIDE,
    comparisons,
    objectives,
)
from randbench.leaderboard.in_context import Family, ModelView, model_views
from randbench.leaderboard.load import keep_tasks, load_results
from randbench.leaderboard.probes import ProbeFile, probe_files, probe_view, read_probe_files
from randbench.leaderboard.projection import VIEWS
from randbench.leaderboard.ranking import MIN_COVERAGE
from randbench.leaderboard.scoring import N_BOOTSTRAP
from randbench.leaderboard.staleness import Library, current_library
from randbench.leaderboard.tables import write_tables
from randbench.leaderboard.views import (
    BASELINE,
    DIVERSITY_COLUMNS,
    InContextSection,
    aggregate_record,
    candidates,
    compliance_series,
    curve_table,
    diversity_record,
    pair_views,
    plot_label,
    poisson_series,
    sample_records,
    semantic_groups,
)
from randbench.loader import load_tasks

ROW_GROUPS = (
    ("sampled", "Sampled: what the model wrote, answer after answer, judged against the "
     "target. Ranked among themselves."),
    ("exact", "Exact over the scored answers (logprob): the model's probabilities of the "
     "task's answers as listed, renormalised; no sampling error, but only the mass those "
     "answers hold (validity). Ranked among themselves, never with sampled rows."),
)  # fmt: skip
"""The index table's row groups, each a table body of its own with what it measures."""
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
    ranked: set[str] = field(default_factory=set)
    """The rows (label / method) that are ranked."""


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
    probes = read_probe_files(probe_files(results_dir))
    findings = build_findings(loaded, library, probes)
    writer = SiteWriter(out_dir, board, n_boot, findings, probes)
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
        ranked={f"{row.label} / {row.method}" for row in board.rows if row.ranked},
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


class SiteWriter:
    """Writes every page and file of one site, counting pages."""

    def __init__(
        self,
        out_dir: Path,
        board: Board,
        n_boot: int = N_BOOTSTRAP,
        findings: Findings | None = None,
        probes: list[ProbeFile] | None = None,
    ) -> None:
        self.out = out_dir
        self.board = board
        self.findings = findings or Findings([], [])
        self.probes = probes or []
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
        self._probes_page()
        self._page("findings.html", "findings.html", findings=self.findings)
        self._page("compare_models.html", "compare_models.html", kinds=pair_views(self.board),
                   categories=self.board.categories)  # fmt: skip
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
            [plot_label(r) for r in rows],
            [r.overall for r in rows],
        )
        self._page(
            "index.html", "index.html", data=script_json(self._index_data()), plot=plot,
            columns=INDEX_COLUMNS + (DIVERSITY_COLUMNS if self.board.has_diversity else ()),
            min_coverage=MIN_COVERAGE, groups=ROW_GROUPS,
        )  # fmt: skip

    def _index_data(self) -> dict[str, Any]:
        categories = self.board.categories
        return {
            "categories": [{"key": slug(c), "label": c} for c in categories],
            "rows": [self._row_record(r) for r in self.board.rows],
            "subsets": {
                ",".join(slug(c) for c in subset): {
                    r.id: aggregate_record(r.subsets[",".join(subset)]) for r in self.board.rows
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
            "reference": row.reference,
            "coverage": list(row.coverage),
            "overall": aggregate_record(row.overall),
            "cats": {slug(c): aggregate_record(a) for c, a in row.categories.items()},
            "controls": row.controls,
            "validity": row.validity,
            "passed": row.passed[0] / row.passed[1] if row.passed else None,
            "samples": row.samples,
            "tasks": row.overall.tasks,
            "sampling": row.sampling,
            "date": row.date.isoformat(),
            **diversity_record(row.diversity),
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
        found = comparisons(self.board)
        self._page(
            "finetune.html", "finetune.html", comparisons=found, objectives=objectives(found),
            groups=GROUPS, side_by_side=SIDE_BY_SIDE, group_labels=GROUP_LABELS,
            needed=TASKS_NEEDED_PER_LEVEL,
        )  # fmt: skip

    def _probes_page(self) -> None:
        views = [probe_view(probe) for probe in self.probes]
        for view in views:
            path = f"plots/probes/{slug(view.file.path.stem)}.svg"
            view.plot = self._plot(path, plots.probe_plot, view.title, view.series, view.log_scale)
        self._page("probes.html", "probes.html", views=views)

    @functools.cached_property
    def _baselines(self) -> dict[str, dict[int, dict[str, float]]]:
        return baseline_curves(load_tasks())

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
            table = curve_table(families, self._baselines.get(name))
            series = [(f.method, table.curves(f.method)) for f in families]
            series.append((BASELINE, table.curves(BASELINE)))
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
            samples=script_json(sample_records(row, name)),
            candidates=candidates(data) if data.entry.is_exact else [],
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
            labels = [plot_label(r) for r, _ in scored]
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
