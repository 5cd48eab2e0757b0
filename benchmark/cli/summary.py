"""The end of ``randbench run`` in a few lines: the run's result file read back and scored
exactly as the leaderboard scores it (one row per method), the files, and what to run next.

Nothing is scored here: the rows come from :func:`randbench.leaderboard.board.build_board`
over the one result file just written, so the score, its interval and the category scores
are the ones the leaderboard would show for this run alone.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from randbench.leaderboard.board import Row, build_board
from randbench.leaderboard.filters import fmt_interval, fmt_pct, fmt_score
from randbench.leaderboard.load import Loaded, RunFile, load_run
from randbench.leaderboard.scoring import N_BOOTSTRAP, Aggregate
from randbench.result_schema import Skipped

SITE = Path("site")
"""Where the printed leaderboard command writes the site (``leaderboard build``'s default)."""


def run_summary(result_path: Path, results_dir: Path, n_boot: int = N_BOOTSTRAP) -> list[str]:
    """The lines a person reads after a run: a title, a few lines per method, the files
    and the leaderboard command; as many lines whatever the number of tasks."""
    run = load_run(result_path)
    board = build_board(Loaded([run], []), n_boot)
    rows = {row.method: row for row in board.rows}
    document = run.document
    lines = [_title(run)]
    for method in document.config.methods:
        row = rows.get(method)
        lines += _method_lines(row) if row else [_nothing_ran(method, document.skipped)]
    return [
        *lines,
        f"results: {result_path}",
        f"samples: {run.samples_path}",
        f"leaderboard: {leaderboard_command(results_dir)}, then open {SITE / 'index.html'}",
    ]


def leaderboard_command(results_dir: Path, site: Path = SITE) -> str:
    """The command that builds the static site from every result file under ``results_dir``."""
    return shlex.join(["randbench", "leaderboard", "build", str(results_dir), "-o", str(site)])


def _title(run: RunFile) -> str:
    document = run.document
    tasks = len(document.config.task_hashes)
    methods = len(document.config.methods)
    return (
        f"randbench results: {run.model.label()}, {tasks} task{_s(tasks)} x "
        f"{methods} method{_s(methods)}"
    )


def _method_lines(row: Row) -> list[str]:
    overall = row.overall
    if overall.score is None:
        head = f"{row.method}: no scored task ({len(row.tasks)} ran{_unscored(row)})"
    else:
        head = (
            f"{row.method}: score {_aggregate(overall)}, {overall.tasks} task{_s(overall.tasks)}"
            f" in {len(row.categories)} categor{'y' if len(row.categories) == 1 else 'ies'}"
            f"{_unscored(row)}"
        )
    return [head, *_category_lines(row.categories), _validity_line(row)]


def _category_lines(categories: dict[str, Aggregate]) -> list[str]:
    """The best and the worst category (the one, when there is one)."""
    ranked = sorted(
        (item for item in categories.items() if item[1].score is not None),
        key=lambda item: (-(item[1].score or 0.0), item[0]),
    )
    if len(ranked) == 1:
        return [f"  category {_category(*ranked[0])}"]
    if not ranked:
        return []
    return [f"  best     {_category(*ranked[0])}", f"  worst    {_category(*ranked[-1])}"]


def _category(name: str, agg: Aggregate) -> str:
    return f"{name} {_aggregate(agg)}, {agg.tasks} task{_s(agg.tasks)}"


def _aggregate(agg: Aggregate) -> str:
    interval = fmt_interval(agg.interval) if agg.interval else ""
    return f"{fmt_score(agg.score)} (95% interval {interval})" if interval else fmt_score(agg.score)


def _validity_line(row: Row) -> str:
    """Invalid answers (or, read from logprobs, the probability off the answers), tasks that
    stopped early, tasks skipped, and tasks too regular to be random where there are any."""
    if row.exact:
        invalid = f"probability off the answers {fmt_pct(1 - row.validity)}"
    else:
        entries = [d.entry for d in row.data.values()]
        bad = sum(e.n - e.n_valid for e in entries)
        invalid = f"invalid answers {fmt_pct(1 - row.validity)} ({bad:,} of {row.samples:,})"
    return f"  {invalid}; stopped early {len(row.stopped)}; skipped {len(row.skipped)}" + (
        f"; too regular {len(row.too_regular)}" if row.too_regular else ""
    )


def _unscored(row: Row) -> str:
    """Tasks outside the score: controls (their accuracy) and open-ended tasks."""
    unscored = sum(not s.scored for s in row.tasks.values())
    if not unscored:
        return ""
    controls = "" if row.controls is None else f", controls {fmt_pct(row.controls)} right"
    return f"; {unscored} not scored{controls}"


def _nothing_ran(method: str, skipped: Sequence[Skipped]) -> str:
    count = sum(s.method == method for s in skipped)
    return f"{method}: no task ran ({count} skipped)"


def _s(count: int) -> str:
    return "" if count == 1 else "s"
