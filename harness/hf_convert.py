"""GGUF -> transformers directory, so the ``hf`` backend can run (and fine-tuning can
train) the embedded models: SmolLM2-135M-Instruct and Gemma 3 270M.

transformers reads a GGUF with ``gguf_file=`` (needs ``gguf`` and ``accelerate``) and
de-quantises it to float tensors, but marks the model as quantised, and such a model
refuses ``save_pretrained``. So the state dict is copied into a fresh model built from
the same config and that one is saved, with the tokenizer read from the GGUF too.

The conversion runs once: :func:`ensure_converted` writes a marker holding the GGUF's
sha256 and reuses the directory while the marker matches. torch and transformers are
imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from randbench.harness.models import file_sha256, gemma3_gguf, smollm2_gguf

MARKER = "randbench-source.json"
"""Written last into a converted directory: the GGUF it came from and its sha256."""

CACHE_ENV = "RANDBENCH_CACHE_DIR"
SMOLLM2_DIR = "smollm2-135m-instruct"


def cache_dir() -> Path:
    """Where converted models live: ``$RANDBENCH_CACHE_DIR`` or ``~/.cache/randbench``."""
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "randbench"


def smollm2_dir() -> Path:
    return cache_dir() / "models" / SMOLLM2_DIR


EMBEDDED: dict[str, tuple[Callable[[], Path], str]] = {
    "smollm2": (smollm2_gguf, SMOLLM2_DIR),
    "gemma3": (gemma3_gguf, "gemma-3-270m"),
}
"""``hf:NAME`` of an embedded model -> (its GGUF, the folder it is converted into)."""


def ensure_embedded(name: str) -> Path:
    """The converted directory of the embedded model ``name`` (a key of :data:`EMBEDDED`).

    Its weights are the GGUF's, de-quantised: the same model as ``--model NAME`` but run
    in float32 by transformers rather than by llama.cpp's quantised kernels, so its
    figures are a row of their own (docs/base-models.md)."""
    gguf, folder = EMBEDDED[name]
    return ensure_converted(gguf(), cache_dir() / "models" / folder)


def read_marker(model_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(model_dir) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_gguf(gguf_path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) read from a GGUF by transformers, de-quantised to float32. The
    model is marked quantised: use it to compute, not to save."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(gguf_path)
    if not gguf_path.is_file():
        raise FileNotFoundError(f"no GGUF file at {gguf_path}")
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    return model, tokenizer


def convert_gguf(
    gguf_path: Path,
    out_dir: Path,
    *,
    sha256: str | None = None,
    loaded: tuple[Any, Any] | None = None,
) -> Path:
    """Write a transformers model directory (float32 safetensors + tokenizer) from a GGUF.

    ``loaded`` is :func:`load_gguf`'s result when the caller has it already. The directory
    is built beside ``out_dir`` and renamed into place, so an interrupted conversion never
    leaves a half-written model that looks finished.
    """
    import torch
    from transformers import AutoModelForCausalLM

    gguf_path = Path(gguf_path)
    out_dir = Path(out_dir)
    model, tokenizer = loaded if loaded is not None else load_gguf(gguf_path)
    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)  # type: ignore[no-untyped-call]
    missing, unexpected = fresh.load_state_dict(model.state_dict(), strict=False)
    tied = set(getattr(fresh, "_tied_weights_keys", None) or [])
    if config.tie_word_embeddings:
        tied.add("lm_head.weight")
    if unexpected or set(missing) - tied:
        raise RuntimeError(
            f"converting {gguf_path.name}: state dict mismatch "
            f"(missing {sorted(set(missing) - tied)}, unexpected {sorted(unexpected)})"
        )
    fresh.tie_weights()
    fresh.generation_config = copy.deepcopy(model.generation_config)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        fresh.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        marker = {
            "source": str(gguf_path),
            "gguf_file": gguf_path.name,
            "gguf_sha256": sha256 or file_sha256(gguf_path),
            "dtype": "float32",
            "versions": _versions(),
        }
        (staging / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp made it private; a model cache is not secret
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def ensure_converted(
    gguf_path: Path | None = None, out_dir: Path | None = None, sha256: str | None = None
) -> Path:
    """The converted directory of ``gguf_path`` (default: the embedded SmolLM2), converting
    only when it is missing or its marker names a different GGUF (by sha256; pass it when
    the caller has it, to spare hashing the file again)."""
    gguf_path = Path(gguf_path) if gguf_path is not None else smollm2_gguf()
    out_dir = Path(out_dir) if out_dir is not None else smollm2_dir()
    sha = sha256 or file_sha256(gguf_path)
    marker = read_marker(out_dir)
    if marker is not None and marker.get("gguf_sha256") == sha:
        return out_dir
    return convert_gguf(gguf_path, out_dir, sha256=sha)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("torch", "transformers", "gguf"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found
