"""What the whole suite shares: one model cache per session, and SmolLM2 converted once.

Every test session gets a fresh randbench cache (``RANDBENCH_CACHE_DIR``, unless the caller
set one): the float32 copy of SmolLM2's GGUF that the llama.cpp backend runs and the
transformers directory that ``hf:smollm2`` and the fine-tuning tests load are each made
once, there, and every test that needs them shares them. Without it, a test that pointed
the cache elsewhere made later tests convert the model again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from randbench.harness.hf_convert import CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = os.environ.get(CACHE_ENV)
    folder = Path(given) if given else tmp_path_factory.mktemp("randbench-cache")
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if given is None:
        os.environ.pop(CACHE_ENV, None)


@dataclass
class Converted:
    """SmolLM2's transformers directory, and the logits of the GGUF-loaded model on one
    prompt to compare the conversion with."""

    directory: Path
    reference_ids: Any
    reference_logits: Any


@pytest.fixture(scope="session")
def converted(model_cache: Path) -> Converted:
    """The embedded SmolLM2 GGUF converted once per session (torch, transformers, gguf and
    accelerate needed: skipped without them)."""
    torch = pytest.importorskip("torch")
    for module in ("transformers", "gguf", "accelerate"):
        pytest.importorskip(module)
    from randbench.harness.hf_convert import convert_gguf, load_gguf, smollm2_dir
    from randbench.harness.models import ModelNotFoundError, file_sha256, smollm2_gguf

    try:
        gguf = smollm2_gguf()
    except ModelNotFoundError as missing:
        pytest.skip(str(missing))
    model, tokenizer = load_gguf(gguf)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Pick a random number from 1 to 10."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
    with torch.inference_mode():
        logits = model(input_ids=ids).logits
    directory = convert_gguf(
        gguf, smollm2_dir(), sha256=file_sha256(gguf), loaded=(model, tokenizer)
    )
    return Converted(directory, ids, logits)
