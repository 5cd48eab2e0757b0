"""``randbench report``: docs/findings.md, what the published results show."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from randbench.cli.options import ResultsDir

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def report_command(
    results_dir: ResultsDir = Path("results"),
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The Markdown file to write.")
    ] = Path("docs/findings.md"),
) -> None:
    """Write the findings: each question, what the results answer with their numbers,
    intervals, n and commands, and published figures beside them."""
    from randbench.leaderboard.findings import build_findings, findings_markdown
    from randbench.leaderboard.load import ResultFileError, load_results
    from randbench.leaderboard.probes import probe_files, read_probe_files
    from randbench.leaderboard.staleness import current_library

    try:
        loaded = load_results(results_dir)
    except ResultFileError as error:
        for problem in error.problems:
            errors.print(f"error: {escape(problem)}")
        raise typer.Exit(2) from None
    findings = build_findings(loaded, current_library(), read_probe_files(probe_files(results_dir)))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(findings_markdown(findings, f"{results_dir}/"), encoding="utf-8")
    console.print(
        f"{len(findings.findings)} findings from {len(findings.files)} result files: {output}",
        soft_wrap=True,
    )
