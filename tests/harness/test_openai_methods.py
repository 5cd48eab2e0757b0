"""A multi-turn method through the ``openai`` backend against a real OpenAI-compatible server
(llama-cpp-python's, serving the embedded SmolLM2 on 127.0.0.1 with one thread)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

for module in ("openai", "llama_cpp", "fastapi", "uvicorn", "sse_starlette", "pydantic_settings"):
    if importlib.util.find_spec(module) is None:  # pragma: no cover - depends on the install
        pytest.skip(f"needs {module}", allow_module_level=True)

from api_servers import SERVER_KEY  # noqa: E402

from randbench.cli import app  # noqa: E402
from randbench.harness.backends import ModelSpec, load_backend  # noqa: E402
from randbench.harness.methods import METHODS, SamplingMethod  # noqa: E402
from randbench.harness.models import ModelNotFoundError, smollm2_gguf  # noqa: E402
from randbench.harness.requests import GenerateRequest, SamplingParams  # noqa: E402
from randbench.harness.seeds import sample_seed  # noqa: E402
from randbench.loader import load_tasks  # noqa: E402
from randbench.selection import select_tasks  # noqa: E402

try:
    GGUF = smollm2_gguf()
except ModelNotFoundError as missing:  # pragma: no cover - depends on the install
    pytest.skip(str(missing), allow_module_level=True)

KEY = SERVER_KEY


@pytest.fixture(scope="module")
def server(llama_cpp_server: str) -> str:
    return llama_cpp_server


@pytest.mark.slow
def test_multi_turn_conversations_through_the_openai_backend(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    args = f"base_url={server},extra_top_k=0,extra_min_p=0,extra_repeat_penalty=1"
    command = [
        "run", "--model", "openai:smollm2", "--model-args", args, "--tasks", "dice_d6",
        "--method", "multi_turn", "--samples", "10", "--max-tokens", "8",
        "--output-path", str(tmp_path / "out"), "--cache", str(tmp_path / "c.sqlite"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, command, terminal_width=200)
    assert result.exit_code == 0, result.output
    (samples,) = (tmp_path / "out").glob("samples_*.jsonl")
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(lines) == 2 and all(len(x["calls"]) == 5 == len(x["outcomes"]) for x in lines)
    (results,) = (tmp_path / "out").glob("results_*.json")
    entry = json.loads(results.read_text())["results"]["dice_d6"]["multi_turn"]
    assert entry["n"] == 10 and sum(entry["invalid_reasons"].values()) == 10 - entry["n_valid"]

    # The server honours seeds: replaying turn 3 of a conversation with its own seed and the
    # conversation as recorded gives the recorded reply, so the runner sent exactly that.
    (task,) = select_tasks(load_tasks(), ["dice_d6"])
    method = METHODS.get("multi_turn")()
    assert isinstance(method, SamplingMethod)
    first = lines[0]
    prompt = method.next_prompt(task, 0, tuple(first["calls"][:2]))
    assert prompt is not None and len(prompt.messages) == 5
    params = SamplingParams(1.0, 1.0, 8)
    seed = sample_seed(0, task.hash, "multi_turn", 0, 2)
    backend_args = {"extra_top_k": 0, "extra_min_p": 0, "extra_repeat_penalty": 1}
    backend = load_backend(
        ModelSpec("openai", "smollm2", {"base_url": server, "n": 1, **backend_args})
    )
    (again,) = backend.generate([GenerateRequest(task.name, prompt, params, (seed,))])
    assert again[0].text == first["calls"][2]

    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        stored = [json.loads(r) for (r,) in db.execute("SELECT response FROM samples")]
    assert sorted(map(tuple, stored)) == sorted(tuple(x["calls"]) for x in lines), (
        "each conversation is one cached unit"
    )
