"""The ``hf`` backend on the real embedded SmolLM2-135M-Instruct (no mocks).

The GGUF is converted once per session into a temporary randbench cache; every other
test loads that directory through ``--model hf:smollm2`` (the reuse path).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("gguf")
pytest.importorskip("accelerate")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from randbench.cli import app  # noqa: E402
from randbench.harness.backends import ModelSpec, load_backend  # noqa: E402
from randbench.harness.backends.hf import HFBackend, HubDownloadError  # noqa: E402
from randbench.harness.backends.llamacpp import log_softmax  # noqa: E402
from randbench.harness.hf_convert import (  # noqa: E402
    CACHE_ENV,
    MARKER,
    convert_gguf,
    load_gguf,
    read_marker,
    smollm2_dir,
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


@dataclass
class Converted:
    directory: Path
    reference_ids: Any
    reference_logits: Any


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Converted]:
    """Convert the GGUF once into a fresh randbench cache (set for the whole session), keeping
    the GGUF-loaded model's logits on a prompt to compare the conversion with."""
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("randbench-cache"))
    model, tokenizer = load_gguf(GGUF)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Pick a random number from 1 to 10."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
    with torch.inference_mode():
        logits = model(input_ids=ids).logits
    directory = convert_gguf(
        GGUF, smollm2_dir(), sha256=file_sha256(GGUF), loaded=(model, tokenizer)
    )
    del model
    yield Converted(directory, ids, logits)
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


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


def test_bench_runs_lm_eval_repeats_beside_shared_sampling(hf: HFBackend) -> None:
    """`randbench bench` times lm-eval's `repeats` path (its HFLM, one prompt pass per copy)
    on the same ~500-token in-context prompt; the figures are printed, not asserted."""
    pytest.importorskip("lm_eval")
    from randbench.harness.bench import bench_lmeval_repeats, in_context_prompt
    from randbench.harness.runner import RunConfig
    from randbench.loader import load_tasks
    from randbench.selection import select_tasks

    (task,) = select_tasks(load_tasks(), ["dice_d6"])
    assert 400 <= len(hf.prompt_ids(in_context_prompt(task, 500))) <= 650
    measured = bench_lmeval_repeats(hf, task, 4, 2, 500, RunConfig(max_tokens=4))
    assert measured is not None and "lm-eval repeats" in measured.name
    assert measured.units == 4 and measured.seconds > 0
    assert measured.baseline_seconds is not None and measured.baseline_seconds > 0


# ---------------------------------------------------------------- engine=torch
# The llama.cpp backend's sampler over a PyTorch forward pass of the converted weights
# (randbench.harness.backends.torch_context), checked against transformers' own forward.


@pytest.fixture(scope="module")
def reference(hf: HFBackend) -> Any:
    """transformers' float32 model of the converted directory (the ``hf`` backend's)."""
    assert hf.model.dtype == torch.float32
    return hf.model


def next_logprobs(model: Any, ids: list[int]) -> np.ndarray:
    """transformers' next-token log-probabilities after ``ids``, the whole sequence run
    alone from scratch."""
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
    return log_softmax(logits.double().numpy())


def moved_from(expected: np.ndarray, logits: np.ndarray) -> float:
    """The largest change of a log-probability above 1e-4 (nats)."""
    return float(np.abs(log_softmax(logits) - expected)[np.exp(expected) > 1e-4].max())


def chat_ids(hf: HFBackend, text: str) -> list[int]:
    return hf.prompt_ids(Prompt((Message("user", text),)))


def test_torch_context_equals_transformers_through_forks_and_moves(
    hf: HFBackend, reference: Any
) -> None:
    """Every row the context returns is transformers' next-token distribution at that
    sequence's prompt and own tokens: after prefill, decode of several sequences at once,
    a fork from the prompt and from another sequence, a second prompt that reuses the
    first's cells, a batch that mixes both prompts out of order, and a move."""
    from randbench.harness.backends.torch_context import TorchDecodeContext, TorchLlama

    context = TorchDecodeContext(TorchLlama(reference, "float32", 2), sequences=6, cells=256)
    first = chat_ids(hf, "Roll a die and say the number.")
    second = chat_ids(hf, "Roll a die and say the number, please.")
    written: dict[int, list[int]] = {}
    moved: list[float] = []

    def decode(rows: list[tuple[int, int]]) -> None:
        """One token each for (sequence, token), checked against transformers."""
        entries = []
        for sequence, token in rows:
            prompt, own = written[sequence][0], written[sequence][1:]
            entries.append((token, len(prompt) + len(own), sequence, True))
        logits = context.run(entries)
        for (sequence, token), row in zip(rows, logits, strict=True):
            written[sequence].append(token)  # type: ignore[arg-type]
            history = [*written[sequence][0], *written[sequence][1:]]  # type: ignore[misc]
            moved.append(moved_from(next_logprobs(reference, history), row))

    logits, evaluated = context.prefill(first, False, True)
    assert evaluated == len(first)
    moved.append(moved_from(next_logprobs(reference, first), logits))
    for sequence in (1, 2):
        context.fork(sequence)
        written[sequence] = [first]  # type: ignore[list-item]
    decode([(1, 100), (2, 101)])
    decode([(1, 5), (2, 6)])
    context.fork(3, 2)
    written[3] = list(written[2])
    decode([(1, 7), (3, 8), (2, 9)])
    logits, evaluated = context.prefill(second, True, False)
    assert 0 < evaluated < len(second), "the shared head of the two prompts is kept"
    moved.append(moved_from(next_logprobs(reference, second), logits))
    context.fork(4)
    written[4] = [second]  # type: ignore[list-item]
    decode([(4, 10), (1, 11), (3, 12)])
    context.move(4, 5)
    written[5] = written.pop(4)
    decode([(5, 13), (2, 14)])
    with pytest.raises(ValueError, match="holds no prompt"):
        context.run([(1, len(second) + 1, 4, True)])
    assert max(moved) < 1e-3, moved


def test_torch_context_refuses_what_it_cannot_decode(reference: Any) -> None:
    from randbench.harness.backends.torch_context import TorchDecodeContext, TorchLlama

    context = TorchDecodeContext(TorchLlama(reference, "float32", 2), sequences=4, cells=16)
    with pytest.raises(ValueError, match="exceeds 16 cells"):
        context.prefill(list(range(1, 20)), False, True)
    context.prefill([1, 2, 3], False, True)
    context.fork(1)
    with pytest.raises(ValueError, match="distinct sequences >= 1"):
        context.run([(5, 3, 0, True)])
    with pytest.raises(ValueError, match="distinct sequences >= 1"):
        context.run([(5, 3, 1, True), (6, 3, 1, True)])
    with pytest.raises(ValueError, match="in order"):
        context.run([(5, 4, 1, True)])
    gpt2 = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=16)
    )
    with pytest.raises(ValueError, match="runs Llama models; this one is 'gpt2'"):
        TorchLlama(gpt2, "float32", 2)


def test_bfloat16_engine_stays_near_float32(hf: HFBackend, reference: Any) -> None:
    """bfloat16 arithmetic moves the distribution (the README quotes 2-5% in total
    variation), not its mode."""
    from randbench.harness.backends.torch_context import TorchDecodeContext, TorchLlama

    ids = chat_ids(hf, "Pick a random number from 1 to 10.")
    rows = {}
    for dtype in ("float32", "bfloat16"):
        context = TorchDecodeContext(TorchLlama(reference, dtype, 2), sequences=2, cells=128)
        rows[dtype] = torch.softmax(torch.from_numpy(context.prefill(ids, False, True)[0]), -1)
    assert rows["float32"].argmax() == rows["bfloat16"].argmax()
    variation = 0.5 * float((rows["float32"] - rows["bfloat16"]).abs().sum())
    assert 0 < variation < 0.1, variation


def test_torch_engine_samples_follow_the_scored_distribution(converted: Converted) -> None:
    """engine=torch samples long answers (16 tokens) of a completion-style prompt; the texts
    that open with " 1,".." 4," (and everything else) fit what llama.cpp's ``score`` says
    (chi-square: the two forward passes differ by llama.cpp's float16 cache cells, about
    0.01 nats). The same seeds give the same samples again."""
    from randbench.harness.backends.llamacpp import LlamaCppBackend

    backend = load_backend(ModelSpec("smollm2", args={"engine": "torch", "chat_template": False}))
    assert isinstance(backend, LlamaCppBackend) and backend.engine == "torch"
    assert (backend.parallel, backend.score_parallel) == (255, 1), "255 samples by default"
    prompt = Prompt((Message("user", "Random digits between 1 and 4: 3, 1, 4, 2, 2, 1, 3,"),))
    answers = (" 1", " 2", " 3", " 4")
    (scores,) = backend.score([ScoreRequest("t", prompt, answers, until=",")])
    expected = np.append(np.exp(scores.logprobs), 1 - np.exp(scores.logprobs).sum())
    request = GenerateRequest("t", prompt, SamplingParams(1.0, 1.0, 16), tuple(range(600)))
    (completions,) = backend.generate([request])
    assert backend._torch is not None and backend._streams is None
    samples = [c.text for c in completions]
    assert len(samples) == 600
    counts = np.array([sum(s.startswith(a + ",") for s in samples) for a in answers])
    observed = np.append(counts, len(samples) - counts.sum())
    assert counts.sum() >= 300, observed
    assert stats.chisquare(observed, expected * len(samples)).pvalue > 0.001, (observed, expected)
    few = GenerateRequest("t", prompt, SamplingParams(1.0, 1.0, 16), tuple(range(40)))
    again = [c.text for c in backend.generate([few])[0]]
    assert again == [c.text for c in backend.generate([few])[0]]


def test_cli_run_with_the_torch_engine_keeps_every_sample(
    converted: Converted, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "--model", "smollm2", "--model-args", "engine=torch,torch_dtype=bfloat16",
         "--tasks", "dice_d6,coin_flip", "--samples", "30", "--max-tokens", "24",
         "--output-path", str(tmp_path / "out"), "--cache", str(tmp_path / "c.sqlite")],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "out").glob("results_*.json")
    document = json.loads(path.read_text())
    assert document["config"]["model"]["args"]["engine"] == "torch"
    assert document["config"]["model"]["sampling"] == "torch bfloat16"
    for name in ("dice_d6", "coin_flip"):
        assert document["results"][name]["direct"]["n"] == 30
    (samples,) = (tmp_path / "out").glob("samples_*.jsonl")
    indices = sorted(
        (row["task"], row["index"]) for row in map(json.loads, samples.read_text().splitlines())
    )
    assert indices == sorted((t, i) for t in ("dice_d6", "coin_flip") for i in range(30))
