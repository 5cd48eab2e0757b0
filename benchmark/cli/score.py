"""``randbench score``: judge generations made elsewhere with randbench's parsers and statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from randbench.cli.run import summary_table
from randbench.harness.imported import read_completions
from randbench.harness.methods import METHODS, SamplingMethod
from randbench.harness.results import write_results
from randbench.harness.runner import RunConfig, TaskRun, judge_completions
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
) -> None:
    """Score a JSONL of completions (strings, or objects with a "completion" field)."""
    try:
        (chosen,) = select_tasks(load_tasks(include_path or []), [task])
        elicitation = METHODS.get(method)()
        if not isinstance(elicitation, SamplingMethod):
            raise ValueError(f"method {method!r} does not produce completions to score")
        completions = read_completions(samples_file, chosen.name, method)
    except (TaskLoadError, UnknownTaskError, KeyError, ValueError) as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    config = RunConfig(seed=seed)
    run = TaskRun(chosen, method)
    judge_completions(run, elicitation, completions, [None] * len(completions), config)
    model = {"backend": "scored", "name": model_name or samples_file.stem, "args": {}}
    result_path, samples_path = write_results(output_path, model, [method], config, [run])
    console.print(summary_table([run]))
    console.print(f"results: {result_path}\nsamples: {samples_path}", soft_wrap=True)
