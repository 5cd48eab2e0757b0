"""The ``randbench`` command line."""

from __future__ import annotations

from typing import Annotated

import typer

from randbench import __version__
from randbench.cli.bench import bench_command
from randbench.cli.calibrate import calibrate_command
from randbench.cli.finetune import finetune_app
from randbench.cli.leaderboard import leaderboard_app
from randbench.cli.probe import probe_app
from randbench.cli.report import report_command
from randbench.cli.run import run_command
from randbench.cli.score import score_command
from randbench.cli.tasks import tasks_app

app = typer.Typer(
    name="randbench",
    help="Measure how well language models produce randomness.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(tasks_app, name="tasks")
app.add_typer(leaderboard_app, name="leaderboard")
app.add_typer(finetune_app, name="finetune")
app.add_typer(probe_app, name="probe")
app.command("calibrate")(calibrate_command)
app.command("run")(run_command)
app.command("score")(score_command)
app.command("bench")(bench_command)
app.command("report")(report_command)


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the result files (docs/result-schema.json)."""
    import json

    from randbench.result_schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"randbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Measure how well language models produce randomness."""


def main() -> None:
    app()
