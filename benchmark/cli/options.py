"""Command-line options shared by the commands that load a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from randbench.harness.backends import ModelSpec

NoChatTemplate = Annotated[
    bool,
    typer.Option(
        "--no-chat-template",
        help="Send prompts as raw text, without the model's chat template (base models).",
    ),
]


def model_spec(model: str, model_args: str, no_chat_template: bool) -> ModelSpec:
    spec = ModelSpec.parse(model, model_args)
    return spec.without_chat_template() if no_chat_template else spec


ResultsDir = Annotated[
    Path, typer.Argument(help="Folder of results_*.json and samples_*.jsonl files.")
]
"""The folder of published results that the leaderboard and the report read."""
