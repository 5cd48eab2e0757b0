"""What the whole suite shares, made once per session: the model cache, SmolLM2 converted
to transformers, the in-process SmolLM2 backend and llama-cpp-python's OpenAI-compatible
server on it. (The task library needs no fixture: ``load_tasks`` remembers each file's
tasks by its text, so every later load in the session, a CLI call's too, parses nothing.)

Every test session gets a fresh randbench cache (``RANDBENCH_CACHE_DIR``, unless the caller
set one): the float32 copy of SmolLM2's GGUF that the llama.cpp backend runs and the
transformers directory that ``hf:smollm2`` and the fine-tuning tests load are each made
once, there, and every test that needs them shares them. Without it, a test that pointed
the cache elsewhere made later tests convert the model again.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from randbench.cpus import usable_cpus
from randbench.harness.hf_convert import CACHE_ENV


def pytest_configure(config: pytest.Config) -> None:
    """Each pytest-xdist worker runs on its own share of the cores, and sizes its terminal
    as a single process does. Unpinned, two workers running llama.cpp at once each started
    a thread per core, and those threads spun waiting on each other."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw"):
        return
    for fixed_size in ("COLUMNS", "LINES"):  # xdist sets 80x24; rich would keep it for good
        os.environ.pop(fixed_size, None)
    if not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    if workers <= len(cpus):
        os.sched_setaffinity(0, cpus[int(worker[2:]) :: workers])


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


@pytest.fixture(scope="session")
def smollm2_backend() -> Any:
    """The embedded SmolLM2 through the llama.cpp backend, default arguments (a test that
    needs other arguments loads its own)."""
    from randbench.harness.backends import ModelSpec, load_backend
    from randbench.harness.models import ModelNotFoundError

    pytest.importorskip("llama_cpp")
    try:
        return load_backend(ModelSpec("smollm2"))
    except ModelNotFoundError as missing:
        pytest.skip(str(missing))


SERVER_MODULES = ("openai", "llama_cpp", "fastapi", "uvicorn", "sse_starlette", "pydantic_settings")


@pytest.fixture(scope="session")
def llama_cpp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on 127.0.0.1 with the embedded SmolLM2, started once for
    every module that talks to it; yields its base URL. Requests carry ``SERVER_KEY``."""
    for module in SERVER_MODULES:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module} (pip install 'randbench[openai,server]')")
    from randbench.harness.models import ModelNotFoundError, smollm2_gguf

    try:
        gguf = smollm2_gguf()
    except ModelNotFoundError as missing:
        pytest.skip(str(missing))
    sys.path.insert(0, str(Path(__file__).parent / "harness"))
    from api_servers import SERVER_KEY, llama_server

    log = tmp_path_factory.mktemp("server") / "server.log"
    with llama_server(gguf, api_key=SERVER_KEY, log=log, threads=usable_cpus()) as url:
        yield url
