"""``randbench run``: evaluate one model on tasks x methods, in lm-eval's command-line spirit."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from randbench.api import plan, run_plan
from randbench.cli.options import NoChatTemplate
from randbench.harness.api.secrets import redact
from randbench.harness.backends import BackendError, CapabilityError
from randbench.harness.methods import METHODS
from randbench.harness.methods.base import Method
from randbench.harness.runs import DEFAULT_STOP_ALPHA, TaskRun
from randbench.loader import TaskLoadError
from randbench.selection import UnknownTaskError, split_patterns

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_CACHE = Path(".randbench") / "cache.sqlite"
RESUME_HINT = "Every sample that finished is in the cache: run the same command again to resume."


def run_command(
    model: Annotated[str, typer.Option(help="oracle | hf:PATH | llamacpp:PATH.gguf | smollm2")],
    tasks: Annotated[
        str, typer.Option(help="Names, groups, category/name, globs, or all.")
    ] = "all",
    method: Annotated[
        str, typer.Option(help="Comma-separated methods: " + ", ".join(METHODS.names()) + ".")
    ] = "direct",
    model_args: Annotated[str, typer.Option(help="Backend options: k=v,k2=v2.")] = "",
    no_chat_template: NoChatTemplate = False,
    samples: Annotated[
        int | None, typer.Option(min=1, help="Samples per task (default: each task's).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N selected tasks.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every per-sample seed.")] = 0,
    temperature: Annotated[float | None, typer.Option(min=0.0)] = None,
    top_p: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1)] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Samples per model call.")] = 50,
    output_path: Annotated[Path, typer.Option(help="Folder for the result files.")] = Path(
        "results"
    ),
    cache: Annotated[
        Path, typer.Option(help="SQLite response cache (resume and reuse).")
    ] = DEFAULT_CACHE,
    include_path: Annotated[list[Path] | None, typer.Option(help="Extra task folders.")] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Requests in flight at once (API backends).")
    ] = 1,
    stop_early: Annotated[
        bool,
        typer.Option(
            help="Stop a task once its answers are conclusive evidence (anytime-valid) that "
            "the model is no perfect sampler; --no-stop-early takes every task's full samples."
        ),
    ] = True,
    stop_alpha: Annotated[
        float, typer.Option(min=1e-12, max=0.5, help="Level of the early-stopping test.")
    ] = DEFAULT_STOP_ALPHA,
    min_samples: Annotated[
        int, typer.Option(min=1, help="Answers a task gets before it may stop early.")
    ] = 50,
    tasks_in_flight: Annotated[
        int,
        typer.Option(
            min=1,
            help="Tasks whose next batch goes to the model in one call (sampled side "
            "by side by local backends; more requests in flight for API backends).",
        ),
    ] = 8,
    show_tasks: Annotated[
        bool,
        typer.Option(
            help="Also print one row per task x method (long with --tasks all; the result "
            "file and the leaderboard hold them too)."
        ),
    ] = False,
) -> None:
    """Ask a model every selected task with every method, score it, write result files."""
    try:
        chosen = plan(
            model, tasks, split_patterns(method), model_args=model_args,
            no_chat_template=no_chat_template, samples=samples, limit=limit, seed=seed,
            temperature=temperature, top_p=top_p, max_tokens=max_tokens,
            batch_size=batch_size, include_path=include_path or [], concurrency=concurrency,
            stop_early=stop_early, stop_alpha=stop_alpha, min_samples=min_samples,
            tasks_in_flight=tasks_in_flight,
        )  # fmt: skip
    except (
        TaskLoadError, UnknownTaskError, KeyError, ValueError, FileNotFoundError, ImportError,
    ) as error:  # fmt: skip
        errors.print(f"error: {redact(str(error))}")
        raise typer.Exit(2) from None
    with _progress() as progress:
        bar = progress.add_task(_describe(len(chosen.tasks), chosen.methods), total=chosen.work())
        try:
            result = run_plan(chosen, cache, output_path, lambda k: progress.advance(bar, k))
        except CapabilityError as error:
            errors.print(f"error: {error}")
            raise typer.Exit(2) from None
        except BackendError as error:
            errors.print(f"error: {redact(str(error))}\n{RESUME_HINT}")
            raise typer.Exit(1) from None
        except ValueError as error:
            errors.print(f"error: {redact(str(error))}")
            raise typer.Exit(2) from None
    assert result.paths is not None
    if show_tasks:
        console.print(summary_table(result.runs))
    _print_summary(*result.paths, output_path)


def _describe(tasks: int, methods: Sequence[Method]) -> str:
    """The progress bar's label: what runs. Its steps are the samples of sampling methods
    (a task that stops early skips its rest) and one per task of a scoring method."""
    names = ",".join(m.name for m in methods)
    return f"{tasks} task{'' if tasks == 1 else 's'} x {names}"


def _print_summary(result_path: Path, samples_path: Path, results_dir: Path) -> None:
    """A few lines whatever the number of tasks: scores as the leaderboard computes them."""
    from randbench.cli.summary import run_summary
    from randbench.leaderboard.load import ResultFileError

    try:
        with console.status("scoring as the leaderboard does"):
            lines = run_summary(result_path, results_dir)
    except ResultFileError as error:
        errors.print(f"warning: no summary: {escape(str(error))}")
        lines = [f"results: {result_path}", f"samples: {samples_path}"]
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)


def _progress() -> Progress:
    """Samples done of all, time taken and left; drawn on a terminal only (elsewhere it
    would draw nothing but leave an empty line)."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )  # fmt: skip


def summary_table(runs: list[TaskRun]) -> Table:
    table = Table(title="randbench results", title_justify="left")
    for column in ("task", "method", "n", "valid", "test", "p", "tvd", "excess tvd", "note"):
        table.add_column(column, overflow="fold")
    for run in runs:
        if run.metrics is None:
            table.add_row(
                run.task.name, run.method, "", "", "", "", "", "", escape(run.skipped or "")
            )
            continue
        m = run.metrics
        table.add_row(
            run.task.name, run.method, str(m.n) if m.n else "exact", f"{m.validity:.0%}",
            m.test or "", fmt_p_value(m.p_value), _num(m.values.get("tvd")),
            _num(m.values.get("excess_tvd")), _note(run),
        )  # fmt: skip
    return table


def _note(run: TaskRun) -> str:
    notes = [] if run.metrics is None or run.metrics.exact in (None, True) else ["approximate"]
    if run.stopped is not None:
        notes.append(f"stopped at {run.stopped.units} of {run.stopped.planned}")
    if run.metrics is not None and run.metrics.too_regular:
        lower = fmt_p_value(run.metrics.values.get("p_value_lower"))
        notes.append(f"too regular (P(TVD <= observed) = {lower})")
    return "; ".join(notes)


def fmt_p_value(value: float | None) -> str:
    """A p-value as printed: one below the smallest double (an underflow, reported as 0.0 by
    the test) reads ``< 1e-300``, never ``0``, which no test of finitely many answers gives."""
    if value is not None and value == 0.0:
        return "< 1e-300"
    return _num(value)


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.3g}"
