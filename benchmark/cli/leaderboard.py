"""``randbench leaderboard build``: result files to a static site that opens from file://."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from randbench.cli.options import ResultsDir

leaderboard_app = typer.Typer(
    help="Build the static leaderboard site from result files.", no_args_is_help=True
)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


@leaderboard_app.command("build")
def build(
    results_dir: ResultsDir = Path("results"),
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the site (replaced if a site).")
    ] = Path("site"),
    skip_invalid: Annotated[
        bool,
        typer.Option(help="Leave malformed result files out (and list them) instead of failing."),
    ] = False,
    bootstrap: Annotated[
        int, typer.Option(min=100, help="Bootstrap resamples per interval.")
    ] = 1000,
    jobs: Annotated[
        int | None,
        typer.Option(min=1, help="Processes drawing the plots (default: one per CPU core)."),
    ] = None,
    include_stale: Annotated[
        bool,
        typer.Option(
            help="Rank stale rows too (results whose tasks changed since the run, or judged "
            "by older statistics); by default they are shown but not ranked."
        ),
    ] = False,
    tasks: Annotated[
        str,
        typer.Option(
            help="Only these tasks' results (names, groups, category/name, globs, as in "
            "randbench run): a board of a selection. In-context curves come from each "
            "file's own summaries and stay whole."
        ),
    ] = "all",
) -> None:
    """Render the leaderboard: rankings, per-task drill-downs with plots, raw samples, downloads."""
    from randbench.leaderboard.load import ResultFileError
    from randbench.leaderboard.site import SiteFolderError, build_site
    from randbench.loader import load_tasks
    from randbench.selection import UnknownTaskError, select_tasks, split_patterns

    try:
        chosen = None
        if tasks != "all":
            chosen = {t.name for t in select_tasks(load_tasks(), split_patterns(tasks))}
        report = build_site(
            results_dir, output, skip_invalid=skip_invalid, n_boot=bootstrap, workers=jobs,
            include_stale=include_stale, tasks=chosen,
        )  # fmt: skip
    except UnknownTaskError as error:
        errors.print(f"error: {escape(str(error))}")
        raise typer.Exit(2) from None
    except ResultFileError as error:
        for problem in error.problems:
            errors.print(f"error: {escape(problem)}")
        errors.print("no site written (use --skip-invalid to leave malformed files out)")
        raise typer.Exit(2) from None
    except SiteFolderError as error:
        errors.print(f"error: {escape(str(error))}")
        raise typer.Exit(2) from None
    for problem in report.problems:
        errors.print(f"warning: left out: {escape(problem)}")
    for path in report.superseded:
        console.print(
            "superseded (newer runs of the same model and method hold its every task): "
            f"{escape(str(path))}"
        )
    for row, stale in report.stale.items():
        reasons = "; ".join(sorted(set(stale.values())))
        ranked = "ranked (--include-stale)" if row in report.ranked else "not ranked"
        console.print(f"stale, {ranked}: {escape(row)}: {len(stale)} tasks: {escape(reasons)}")
    index = (report.out_dir / "index.html").resolve()
    console.print(
        f"{report.rows} rows, {report.pages} pages, {report.files} files, "
        f"{report.bytes / 1e6:.1f} MB in {report.seconds:.1f} s\nopen {index.as_uri()}",
        soft_wrap=True,
    )
