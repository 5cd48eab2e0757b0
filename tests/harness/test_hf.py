"""The ``hf`` backend on the real embedded SmolLM2-135M-Instruct (no mocks).

The GGUF is converted once per session into the session's randbench cache (``converted``
in tests/conftest.py); every other test loads that directory through ``--model hf:smollm2``
(the reuse path).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("gguf")
pytest.importorskip("accelerate")

from conftest import Converted  # noqa: E402
from scipy import stats  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from randbench.cli import app  # noqa: E402
from randbench.harness.backends import ModelSpec, load_backend  # noqa: E402
from randbench.harness.backends.hf import HFBackend, HubDownloadError  # noqa: E402
from randbench.harness.hf_convert import (  # noqa: E402
    MARKER,
    read_marker,
)
from randbench.harness.models import ModelNotFoundError, file_sha256, smollm2_gguf  # noqa: E402
from randbench.harness.requests import (  # noqa: E402
    GenerateRequest,
    Message,
    Prompt,
    SamplingParams,
    ScoreRequest,
)

try:
    GGUF = smollm2_gguf()
except ModelNotFoundError as error:  # pragma: no cover - depends on the environment
    pytest.skip(str(error), allow_module_level=True)

DIE = Prompt((Message("user", "Roll a fair 6-sided die. Reply with only the number."),))


@pytest.fixture(scope="session")
def hf(converted: Converted) -> HFBackend:
    backend = load_backend(ModelSpec("hf", "smollm2"))
    assert isinstance(backend, HFBackend)
    return backend


@pytest.fixture
def calls(hf: HFBackend) -> Iterator[list[tuple[int, ...]]]:
    """The input_ids shape of every forward call of the model."""
    shapes: list[tuple[int, ...]] = []

    def hook(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        shapes.append(tuple(ids.shape))

    handle = hf.model.register_forward_pre_hook(hook, with_kwargs=True)
    yield shapes
    handle.remove()


# ---------------------------------------------------------------- conversion


def test_conversion_is_loadable_and_matches_the_gguf_model(converted: Converted) -> None:
    marker = read_marker(converted.directory)
    assert marker is not None and marker["gguf_sha256"] == file_sha256(GGUF)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        converted.directory, dtype=torch.float32
    )
    assert getattr(model, "hf_quantizer", None) is None
    assert "quantization_config" not in json.loads(
        (converted.directory / "config.json").read_text()
    )
    tokenizer = transformers.AutoTokenizer.from_pretrained(converted.directory)
    assert tokenizer.chat_template
    with torch.inference_mode():
        logits = model(input_ids=converted.reference_ids).logits
    assert torch.allclose(logits, converted.reference_logits, atol=1e-4, rtol=0)


def test_smollm2_reuses_the_converted_directory(converted: Converted, hf: HFBackend) -> None:
    assert hf.path == converted.directory
    before = (converted.directory / MARKER).stat().st_mtime_ns
    load_backend(ModelSpec("hf", "smollm2", {"batch_size": 4}))
    assert (converted.directory / MARKER).stat().st_mtime_ns == before
    identity = hf.identity()
    assert identity["backend"] == "hf" and identity["name"] == "smollm2"
    assert identity["model_hash"] and identity["chat_template"] is True


def test_module_import_does_not_import_torch() -> None:
    code = (
        "import sys, randbench.harness.backends, randbench.harness.hf_convert;"
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_hub_id_fails_with_a_clear_offline_error(converted: Converted) -> None:
    with pytest.raises(HubDownloadError, match="downloads are off"):
        load_backend(ModelSpec("hf", "randbench-test/no-such-model"))
    with pytest.raises(ValueError, match="name a model"):
        load_backend(ModelSpec("hf", ""))
    with pytest.raises(ValueError, match="unknown model args"):
        load_backend(ModelSpec("hf", str(converted.directory), {"temprature": 1}))


# ---------------------------------------------------------------- score


def independent_logprob(hf: HFBackend, prompt: Prompt, candidate: str) -> float:
    """A separate plain forward of prompt + candidate + end of turn, no cache, no batching."""
    tokenizer = hf.tokenizer
    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    context = tokenizer(text, add_special_tokens=False)["input_ids"]
    answer = tokenizer(candidate, add_special_tokens=False)["input_ids"]
    answer = [*answer, tokenizer.convert_tokens_to_ids("<|im_end|>")]
    with torch.inference_mode():
        logits = hf.model(input_ids=torch.tensor([context + answer])).logits[0]
    assert logits.dtype == hf.model.dtype
    logprobs = torch.log_softmax(logits.double(), dim=-1)
    return sum(float(logprobs[len(context) + j - 1, token]) for j, token in enumerate(answer))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_score_equals_an_independent_product_of_token_probabilities(
    hf: HFBackend, dtype: str
) -> None:
    """In float64 the shared-prompt batched pass equals separate plain forwards to 1e-9; in
    float32 the two summation orders differ by float noise, under 1e-4 per token."""
    backend = (
        hf if dtype == "float32" else load_backend(ModelSpec("hf", "smollm2", {"dtype": dtype}))
    )
    assert isinstance(backend, HFBackend)
    candidates = ("1", "6", "10", "seven", "The answer is 42.", "3")
    (scores,) = backend.score([ScoreRequest("dice_d6", DIE, candidates)])
    assert scores.exact
    expected = [independent_logprob(backend, DIE, c) for c in candidates]
    for candidate, got, want in zip(candidates, scores.logprobs, expected, strict=True):
        tokens = len(backend.candidate_ids(candidate))
        tolerance = 1e-9 if dtype == "float64" else 1e-4 * tokens
        assert got == pytest.approx(want, abs=tolerance), (candidate, got - want)
    assert sum(math.exp(x) for x in scores.logprobs) < 1.0


def test_a_hundred_candidates_take_one_prompt_pass_and_one_pass_per_chunk(
    hf: HFBackend, calls: list[tuple[int, ...]]
) -> None:
    prompt = Prompt((Message("user", "Pick a random number from 1 to 100."),))
    request = ScoreRequest("uniform_int", prompt, tuple(str(i) for i in range(1, 101)))
    prompt_length = len(hf.prompt_ids(prompt))
    (big,) = hf.score([request])
    assert hf.batch_size == 64
    assert calls[0] == (1, prompt_length), "the prompt is encoded once"
    assert [c[0] for c in calls[1:]] == [64, 36], "one batched pass per chunk"
    calls.clear()
    hf.batch_size = 100
    try:
        (whole,) = hf.score([request])
    finally:
        hf.batch_size = 64
    assert len(calls) == 2
    assert whole.logprobs == pytest.approx(big.logprobs, abs=1e-4)
    for i in (0, 9, 99):  # "1", "10", "100": one, two and three digits
        assert big.logprobs[i] == pytest.approx(
            independent_logprob(hf, prompt, request.candidates[i]), abs=1e-4
        )


# ---------------------------------------------------------------- generate


def test_a_seed_gives_the_same_text_whatever_the_batching(
    hf: HFBackend, calls: list[tuple[int, ...]]
) -> None:
    seeds = tuple(range(100, 108))
    params = SamplingParams(temperature=1.0, top_p=0.95, max_tokens=10)
    request = GenerateRequest("dice_d6", DIE, params, seeds)
    prompt_length = len(hf.prompt_ids(DIE))
    texts = {}
    for batch in (8, 3):
        hf.batch_size = batch
        calls.clear()
        try:
            (completions,) = hf.generate([request])
        finally:
            hf.batch_size = 64
        assert len(completions) == len(seeds)
        texts[batch] = [c.text for c in completions]
        prefills = [c for c in calls if c[1] == prompt_length]
        assert prefills == [(1, prompt_length)], "the prompt runs once per request"
        assert all(c[1] == 1 for c in calls[1:]), "then one token per step"
    assert texts[8] == texts[3]
    assert len(set(texts[8])) > 1, "different seeds, different samples"


def test_temperature_zero_is_greedy_and_matches_model_generate(hf: HFBackend) -> None:
    params = SamplingParams(temperature=0.0, max_tokens=12)
    (completions,) = hf.generate([GenerateRequest("dice_d6", DIE, params, (1, 2, 3))])
    texts = {c.text for c in completions}
    assert len(texts) == 1
    ids = torch.tensor([hf.prompt_ids(DIE)])
    with torch.inference_mode():
        out = hf.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
            max_new_tokens=12, pad_token_id=hf.end_id,
        )  # fmt: skip
    expected = hf.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
    assert texts == {expected}


def test_sampled_frequencies_follow_the_model_distribution(converted: Converted) -> None:
    """400 one-token samples of a completion-style prompt against the first-token
    distribution of a plain forward pass: chi-square over the likely tokens plus the rest."""
    base = load_backend(ModelSpec("hf", str(converted.directory), {"chat_template": False}))
    assert isinstance(base, HFBackend) and not base.chat
    prompt = Prompt((Message("user", "Random numbers from 1 to 6: 4, 2, 6, 1, 5, 3, 2, 5, 1, "),))
    n = 400
    params = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=1)
    (completions,) = base.generate([GenerateRequest("digits", prompt, params, tuple(range(n)))])
    ids = torch.tensor([base.prompt_ids(prompt)])
    with torch.inference_mode():
        probs = torch.softmax(base.model(input_ids=ids).logits[0, -1].double(), dim=-1)
    expected: Counter[str] = Counter()
    for token, p in enumerate(probs.tolist()):
        text = "" if token in base.stop_ids else base.tokenizer.decode([token])
        expected[text] += p
    likely = [t for t, p in expected.most_common() if p * n >= 5]
    assert len(likely) >= 3, likely
    observed = Counter(c.text if c.text in likely else "<other>" for c in completions)
    rest = 1.0 - sum(expected[t] for t in likely)
    categories = [*likely, "<other>"]
    want = [expected[t] * n for t in likely] + [rest * n]
    got = [observed[t] for t in categories]
    if want[-1] < 1e-9:
        assert got[-1] == 0
        want, got = want[:-1], got[:-1]
    want = [w * sum(got) / sum(want) for w in want]
    p_value = stats.chisquare(got, want).pvalue
    assert p_value > 0.001, (list(zip(categories, got, want, strict=False)), p_value)
    # The digits, renormalised over themselves, agree too (the logprob view of the same model).
    digits = [str(d) for d in range(1, 7) if expected[str(d)] * n >= 5]
    if len(digits) >= 2:
        seen = [observed[d] for d in digits]
        mass = sum(expected[d] for d in digits)
        want_digits = [expected[d] / mass * sum(seen) for d in digits]
        assert stats.chisquare(seen, want_digits).pvalue > 0.001


# ---------------------------------------------------------------- end to end


def test_cli_run_writes_a_result_file(converted: Converted, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "--model", "hf:smollm2", "--tasks", "dice_d6", "--method", "direct,logprob",
         "--samples", "20", "--max-tokens", "8", "--output-path", str(tmp_path / "out"),
         "--cache", str(tmp_path / "c.sqlite")],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "out").glob("results_*.json")
    document = json.loads(path.read_text())
    assert document["config"]["model"]["backend"] == "hf"
    assert document["results"]["dice_d6"]["direct"]["n"] == 20
    exact = document["results"]["dice_d6"]["logprob"]
    assert exact["values"]["mass_outside_support"] > 0  # a tiny model says more than digits


@pytest.mark.slow
def test_bench_runs_lm_eval_repeats_beside_shared_sampling(hf: HFBackend) -> None:
    """`randbench bench` times lm-eval's `repeats` path (its HFLM, one prompt pass per copy)
    on the same ~500-token in-context prompt; the figures are printed, not asserted."""
    pytest.importorskip("lm_eval")
    from randbench.harness.bench import bench_lmeval_repeats, in_context_prompt
    from randbench.harness.runs import RunConfig
    from randbench.loader import load_tasks
    from randbench.selection import select_tasks

    (task,) = select_tasks(load_tasks(), ["dice_d6"])
    assert 400 <= len(hf.prompt_ids(in_context_prompt(task, 500))) <= 650
    measured = bench_lmeval_repeats(hf, task, 4, 2, 500, RunConfig(max_tokens=4))
    assert measured is not None and "lm-eval repeats" in measured.name
    assert measured.units == 4 and measured.seconds > 0
    assert measured.baseline_seconds is not None and measured.baseline_seconds > 0
