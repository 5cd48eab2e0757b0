"""The ``lmeval`` backend on lm-evaluation-harness's own ``hf`` model, loading the converted
SmolLM2: the parity test (randbench's ``hf`` backend and lm-eval's ``hf`` give the same
log-probabilities for the same prompts and candidates) and sampling with varied seeds."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import Converted
from typer.testing import CliRunner

from randbench.cli import app
from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.backends.hf import HFBackend
from randbench.harness.backends.lmeval import LMEvalBackend
from randbench.harness.requests import (
    GenerateRequest,
    Message,
    Prompt,
    SamplingParams,
    ScoreRequest,
)

for module in ("lm_eval", "torch", "transformers", "gguf", "accelerate"):
    if importlib.util.find_spec(module) is None:  # pragma: no cover - depends on the install
        pytest.skip(f"needs {module} (pip install 'randbench[lmeval]')", allow_module_level=True)

PARITY = [
    ScoreRequest(
        "dice", Prompt((Message("user", "Roll a fair 6-sided die. Reply with only the number."),)),
        tuple("123456"),
    ),
    ScoreRequest("coin", Prompt((Message("user", "Flip a coin."),)), ("Heads", "Tails")),
    ScoreRequest(
        "system",
        Prompt((Message("system", "You are a random number generator."),
                Message("user", "Pick a number from 1 to 10."))),
        tuple(str(i) for i in range(1, 11)),
    ),
    ScoreRequest(
        "prefix",
        Prompt((Message("user", "Toss a coin."),), assistant_prefix="It landed on"),
        (" heads", " tails"),
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def model_dir(converted: Converted) -> Path:
    return converted.directory


@pytest.fixture(scope="module")
def lmeval(model_dir: Path) -> LMEvalBackend:
    spec = ModelSpec(
        "lmeval", "hf", {"pretrained": str(model_dir), "dtype": "float32", "device": "cpu"}
    )
    backend = load_backend(spec)
    assert isinstance(backend, LMEvalBackend)
    return backend


def test_parity_with_randbenchs_hf_backend(lmeval: LMEvalBackend, model_dir: Path) -> None:
    hf = load_backend(ModelSpec("hf", str(model_dir)))
    assert isinstance(hf, HFBackend)
    assert lmeval.end_text == "<|im_end|>"
    ours, theirs = hf.score(PARITY), lmeval.score(PARITY)
    differences = np.concatenate(
        [np.abs(np.array(a.logprobs) - b.logprobs) for a, b in zip(ours, theirs, strict=True)]
    )
    print(f"lm-eval hf vs randbench hf: max |difference| {differences.max():.2e}")  # pytest -s
    assert differences.max() < 1e-4, differences.max()


@pytest.mark.slow
def test_sampling_varies_the_seed_per_sample(lmeval: LMEvalBackend) -> None:
    from lm_eval.api.model import CachingLM

    assert not isinstance(lmeval.lm, CachingLM), "lm-eval's cache would merge the samples"
    prompt = PARITY[2].prompt
    params = SamplingParams(1.0, 1.0, 6)
    (first,) = lmeval.generate([GenerateRequest("t", prompt, params, (1, 2, 3, 4, 5, 6))])
    assert len(first) == 6 and len({c.text for c in first}) >= 3
    (again,) = lmeval.generate([GenerateRequest("t", prompt, params, (1, 2, 3, 4, 5, 6))])
    assert [c.text for c in again] == [c.text for c in first], "each sample's seed is set"
    (same,) = lmeval.generate([GenerateRequest("t", prompt, params, (9, 9, 9))])
    assert len({c.text for c in same}) == 1


def test_a_run_through_the_cli(model_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "run", "--model", "lmeval:hf", "--model-args", f"pretrained={model_dir},device=cpu",
            "--tasks", "coin_flip", "--samples", "4", "--method", "direct,logprob",
            "--max-tokens", "4", "--output-path", str(tmp_path),
            "--cache", str(tmp_path / "cache.sqlite"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("results_*.json")
    document = json.loads(path.read_text())
    assert document["config"]["model"]["name"] == "hf"
    assert document["results"]["coin_flip"]["logprob"]["exact"] is True


def test_an_unknown_model_type_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown lm-eval model type 'no-such-model'"):
        load_backend(ModelSpec("lmeval", "no-such-model"))
