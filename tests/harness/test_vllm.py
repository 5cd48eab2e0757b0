"""The ``vllm`` backend, driven through a stand-in ``vllm`` module (``standin_vllm/``) that
implements vLLM's documented offline API on the real SmolLM2 with transformers: no GPU or
vLLM can run on these machines, so this checks randbench's side of the documented API —
engine arguments passed through, ``SamplingParams(n=...)`` with the prompt shared, prompt
log-probabilities for scoring — and that its scores equal the ``hf`` backend's."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import Converted
from typer.testing import CliRunner

from randbench.cli import app
from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.backends.hf import HFBackend
from randbench.harness.backends.vllm import VLLMBackend
from randbench.harness.requests import (
    GenerateRequest,
    Message,
    Prompt,
    SamplingParams,
    ScoreRequest,
)

for module in ("torch", "transformers", "gguf", "accelerate"):
    if importlib.util.find_spec(module) is None:  # pragma: no cover - depends on the install
        pytest.skip(
            f"the stand-in runs SmolLM2 with transformers: needs {module}", allow_module_level=True
        )

STANDIN = Path(__file__).parent / "standin_vllm"
DICE = Prompt((Message("user", "Roll a fair 6-sided die. Reply with only the number."),))


@pytest.fixture(scope="module")
def model_dir(converted: Converted) -> Path:
    return converted.directory


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(STANDIN))
    sys.modules.pop("vllm", None)
    import vllm

    vllm.INSTANCES.clear()
    yield vllm
    sys.modules.pop("vllm", None)


def backend_for(model_dir: Path, **args: Any) -> VLLMBackend:
    backend = load_backend(ModelSpec("vllm", str(model_dir), args))
    assert isinstance(backend, VLLMBackend)
    return backend


def test_without_vllm_the_backend_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError
    with pytest.raises(ImportError, match=r"randbench\[vllm\]"):
        load_backend(ModelSpec("vllm", "some/model"))


def test_engine_arguments_pass_through(standin: Any, model_dir: Path) -> None:
    backend_for(model_dir, tensor_parallel_size=2, data_parallel_size=2, max_model_len=1024)
    (llm,) = standin.INSTANCES
    assert llm.engine_args == {
        "tensor_parallel_size": 2,
        "data_parallel_size": 2,
        "max_model_len": 1024,
    }
    with pytest.raises(ValueError, match=r"engine arguments refused.*tensor_paralel_size"):
        backend_for(model_dir, tensor_paralel_size=2)


def test_samples_share_the_prompt_through_n(standin: Any, model_dir: Path) -> None:
    backend = backend_for(model_dir)
    seeds = tuple(range(100, 108))
    request = GenerateRequest("t", DICE, SamplingParams(1.0, 1.0, 6), seeds)
    (completions,) = backend.generate([request])
    (llm,) = standin.INSTANCES
    (call,) = llm.calls
    assert call.prompts == 1 and call.prefills == 1, "one prompt, evaluated once, for 8 samples"
    (params,) = call.params
    assert (params.n, params.seed, params.max_tokens) == (8, 100, 6)
    assert len(completions) == 8 and len({c.text for c in completions}) > 1
    again = backend.generate([request])[0]
    assert [c.text for c in again] == [c.text for c in completions], "seeded"


def test_scores_equal_the_hf_backends(standin: Any, model_dir: Path) -> None:
    backend = backend_for(model_dir)
    hf = load_backend(ModelSpec("hf", str(model_dir)))
    assert isinstance(hf, HFBackend)
    requests = [
        ScoreRequest("dice", DICE, tuple("123456")),
        ScoreRequest("coin", Prompt((Message("user", "Flip a coin."),)), ("Heads", "Tails")),
    ]
    got, expected = backend.score(requests), hf.score(requests)
    (llm,) = standin.INSTANCES
    (call,) = llm.calls
    assert call.prompts == 8, "every candidate of every request in one generate call"
    assert all(p.prompt_logprobs == 0 and p.max_tokens == 1 for p in call.params)
    for g, e in zip(got, expected, strict=True):
        assert g.exact
        assert np.max(np.abs(np.array(g.logprobs) - e.logprobs)) < 1e-4


def test_a_run_through_the_cli(standin: Any, model_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "run", "--model", f"vllm:{model_dir}", "--tasks", "coin_flip", "--samples", "6",
            "--method", "direct,logprob", "--max-tokens", "4",
            "--output-path", str(tmp_path), "--cache", str(tmp_path / "cache.sqlite"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("results_*.json")
    results = json.loads(path.read_text())["results"]["coin_flip"]
    assert results["direct"]["n"] == 6 and results["logprob"]["exact"] is True
