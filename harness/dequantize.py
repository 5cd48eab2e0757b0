"""A quantised GGUF rewritten with float32 weights, once, for the llama.cpp backend.

Every weight of a Q4_1 or Q8_0 tensor is a small integer times a float16 scale (plus a
float16 offset for Q4_1), which a float32 holds exactly: the float32 file is the same
model, value for value (``tests/harness/test_dequantize.py`` compares every tensor with
the ``gguf`` package's own dequantisation). What changes is llama.cpp's arithmetic. Its
quantised CPU kernels round the activations to 8 bits, and on the project's 2-core machine
they are the slower path for a 135M model. SmolLM2's float32 copy evaluates prompts 2.4x
faster (889 vs 370 tokens/s) and decodes 32 sequences side by side 1.5x faster.
``randbench bench`` prints both rates. The copy is 540 MB beside the 98 MB original, so
it is the default for the embedded model only (``dequantize=true`` asks for it elsewhere).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from randbench.cpus import usable_cpus
from randbench.harness.hf_convert import cache_dir


def dequantized_path(source: Path, sha256: str) -> Path:
    """Where the float32 copy of ``source`` (whose content hash is ``sha256``) lives."""
    return cache_dir() / "models" / f"{source.stem}.f32-{sha256[:16]}.gguf"


def dequantized_gguf(source: Path, sha256: str) -> Path:
    """The float32 copy of ``source``, written on first use. It is written beside its final
    name and renamed into place, so an interrupted conversion never looks finished."""
    out = dequantized_path(source, sha256)
    if out.is_file():
        return out
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.{os.getpid()}.part")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_ALL_F32
    params.allow_requantize = True  # a quantised tensor is dequantised, not refused
    params.nthread = usable_cpus()
    try:
        with suppress_stdout_stderr(disable=False):  # a line per tensor, from C
            code = llama_cpp.llama_model_quantize(
                str(source).encode(), str(staging).encode(), ctypes.byref(params)
            )
        if code != 0:
            raise RuntimeError(f"llama.cpp could not write a float32 copy of {source} ({code})")
        staging.chmod(0o644)
        os.replace(staging, out)
    finally:
        staging.unlink(missing_ok=True)
    return out
