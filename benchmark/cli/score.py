"""``randbench score``: judge generations made elsewhere with randbench's parsers and statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from randbench.api import score
from randbench.cli.run import summary_table
from randbench.harness.imported import read_completions
from randbench.loader import TaskLoadError, load_tasks
from randbench.selection import UnknownTaskError, select_tasks

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def score_command(
    samples_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL file.")],
    task: Annotated[str, typer.Option(help="The task the generations answer.")],
    method: Annotated[
        str, typer.Option(help="How they were elicited (parsing follows it).")
    ] = "direct",
    model_name: Annotated[str, typer.Option(help="Name to record for the model.")] = "",
    seed: Annotated[int, typer.Option(help="Seed of the Monte Carlo tests.")] = 0,
    output_path: Annotated[Path, typer.Option(help="Folder for the result files.")] = Path(
        "results"
    ),
    include_path: Annotated[list[Path] | None, typer.Option(help="Extra task folders.")] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            help="A field naming the conversation or run of each line: its answers, in the "
            "file's order, are tested for serial structure (near repeats, runs up and down)."
        ),
    ] = None,
) -> None:
    """Score a JSONL of completions (strings, or objects with a "completion" field)."""
    try:
        completions, groups = read_completions(
            samples_file, _task_name(task, include_path), method, group_by
        )
        result = score(
            completions, task, method=method, model_name=model_name or samples_file.stem,
            seed=seed, include_path=include_path or [], output_path=output_path, groups=groups,
        )  # fmt: skip
    except (TaskLoadError, UnknownTaskError, KeyError, ValueError) as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    assert result.paths is not None
    console.print(summary_table(result.runs))
    result_path, samples_path = result.paths
    console.print(f"results: {result_path}\nsamples: {samples_path}", soft_wrap=True)


def _task_name(pattern: str, include_path: list[Path] | None) -> str:
    """The one task ``pattern`` names (completions are read for it before scoring)."""
    (chosen,) = select_tasks(load_tasks(include_path or []), [pattern])
    return chosen.name
