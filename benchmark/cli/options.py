"""Command-line options shared by the commands that load a model."""

from __future__ import annotations

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
