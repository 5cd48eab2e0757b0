"""The llama.cpp backend on the embedded SmolLM2 model: real model, no mocks."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

pytest.importorskip("llama_cpp")

import itertools

from randbench.cli import app
from randbench.cli.options import model_spec
from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.backends.llamacpp import LlamaCppBackend, log_softmax
from randbench.harness.models import ModelNotFoundError, smollm2_gguf
from randbench.harness.requests import (
    GenerateRequest,
    Message,
    Prompt,
    SamplingParams,
    ScoreRequest,
)

try:
    smollm2_gguf()
except ModelNotFoundError as missing:
    pytest.skip(str(missing), allow_module_level=True)

DICE = Prompt((Message("user", "Roll a fair 6-sided die. Reply with only the number."),))
DIGIT = Prompt((Message("user", "Here is a random digit between 1 and 4: "),))


@pytest.fixture(scope="module")
def chat() -> LlamaCppBackend:
    """One sample at a time: every result bit-for-bit independent of its batch."""
    backend = load_backend(ModelSpec("smollm2", args={"parallel": 1}))
    assert isinstance(backend, LlamaCppBackend)
    return backend


@pytest.fixture(scope="module")
def raw() -> LlamaCppBackend:
    backend = load_backend(ModelSpec("smollm2", args={"chat_template": False}))
    assert isinstance(backend, LlamaCppBackend)
    return backend


def generate(
    backend: LlamaCppBackend,
    seeds: tuple[int, ...],
    temperature: float = 1.0,
    max_tokens: int = 8,
    prompt: Prompt = DICE,
    top_p: float = 1.0,
) -> list[str]:
    request = GenerateRequest("t", prompt, SamplingParams(temperature, top_p, max_tokens), seeds)
    (completions,) = backend.generate([request])
    assert len(completions) == len(seeds)
    assert all(c.tokens is not None and 0 <= c.tokens <= max_tokens for c in completions)
    return [c.text for c in completions]


def test_importing_the_backends_does_not_import_llama_cpp() -> None:
    code = (
        "import sys, randbench.harness.backends as b; "
        "assert {'llamacpp', 'smollm2'} <= set(b.BACKENDS.names()); "
        "assert 'llama_cpp' not in sys.modules, 'llama_cpp imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_chat_prompt_ends_with_the_assistant_turn_and_prefix(chat: LlamaCppBackend) -> None:
    prompt = Prompt(DICE.messages, assistant_prefix="I rolled a ")
    assert chat.render(prompt).endswith("<|im_start|>assistant\nI rolled a ")
    assert chat.llama.detokenize([chat.end_of_turn], special=True) == b"<|im_end|>"


def test_a_plain_prompt_skips_the_template_and_its_text_stays_text(chat: LlamaCppBackend) -> None:
    """A completion-style task (Prompt with no messages): the sentence alone, and a special
    token's spelling inside it is text, not the token."""
    prompt = Prompt((), assistant_prefix="I tossed a coin and it landed on<|im_end|>")
    assert chat.render(prompt) == "I tossed a coin and it landed on<|im_end|>"
    tokens = chat.prompt_tokens(prompt)
    assert chat.end_of_turn not in tokens
    templated = chat.prompt_tokens(Prompt(DICE.messages, assistant_prefix="<|im_end|>"))
    assert templated[-1] == chat.end_of_turn


def test_generate_is_reproducible_per_seed(chat: LlamaCppBackend) -> None:
    seeds = tuple(range(100, 108))
    first = generate(chat, seeds)
    assert generate(chat, seeds) == first
    assert generate(chat, (seeds[3],)) == [first[3]], "a sample does not depend on its batch"
    assert len(set(first)) >= 5, first
    greedy = generate(chat, seeds[:4], temperature=0.0)
    assert len(set(greedy)) == 1
    nucleus = generate(chat, seeds[:4], top_p=0.5)
    assert generate(chat, seeds[:4], top_p=0.5) == nucleus


@pytest.mark.slow
def test_default_parallel_sampling_is_reproducible_for_the_same_batch() -> None:
    """64 samples side by side (the default): the same requests in the same order give the
    same completions. A sample drawn alone, or after another prompt whose cells were kept,
    may differ only where batched arithmetic moved a logit."""
    wide, twin = load_backend(ModelSpec("smollm2")), load_backend(ModelSpec("smollm2"))
    assert isinstance(wide, LlamaCppBackend) and wide.parallel == 64 and wide.score_parallel == 1
    assert isinstance(twin, LlamaCppBackend)
    seeds = tuple(range(100, 140))
    first = generate(wide, seeds)
    assert generate(twin, seeds) == first
    assert generate(wide, seeds[:20]) == generate(twin, seeds[:20])
    assert len(set(first)) >= 10, first


def test_the_prompt_is_evaluated_once_per_request(chat: LlamaCppBackend) -> None:
    n_prompt = len(chat.prompt_tokens(DICE))
    before_tokens, before_prompts = chat.tokens_evaluated, chat.prompt_evaluations
    request = GenerateRequest("t", DICE, SamplingParams(1.0, 1.0, 6), tuple(range(12)))
    (completions,) = chat.generate([request])
    evaluated = chat.tokens_evaluated - before_tokens
    new = sum(c.tokens or 0 for c in completions)
    assert chat.prompt_evaluations - before_prompts == 1
    # Every sample costs its own tokens (its last one need not be evaluated), never the prompt.
    assert n_prompt + new - len(completions) <= evaluated <= n_prompt + new
    assert evaluated < 2 * n_prompt + new < len(completions) * n_prompt


def test_samples_that_wrote_the_same_tokens_share_their_decodes() -> None:
    """All 64 samples in flight at once: a token is evaluated once per distinct prefix that
    goes on, not once per sample (each sample here evaluates at most its first 2 tokens)."""
    wide = load_backend(ModelSpec("smollm2", args={"chat_template": False, "parallel": 64}))
    assert isinstance(wide, LlamaCppBackend)
    prompt = Prompt((Message("user", "Random digits between 1 and 4: 3, 1, 4, 2, 2, 1, 3,"),))
    n_prompt = len(wide.prompt_tokens(prompt))
    request = GenerateRequest("t", prompt, SamplingParams(1.0, 1.0, 3), tuple(range(64)))
    (completions,) = wide.generate([request])
    decoded = wide.tokens_evaluated - n_prompt
    written = sum(c.tokens or 0 for c in completions)
    distinct = len({c.text for c in completions})
    assert distinct < 40 and written > 150, (distinct, written)
    assert decoded <= 2 * distinct, (decoded, distinct)
    assert decoded < written / 4
    assert [c.text for c in wide.generate([request])[0]] == [c.text for c in completions]
    wide.share_branches = False  # the model arg share_branches=false: every sample alone
    before = wide.tokens_evaluated
    alone = [c.text for c in wide.generate([request])[0]]
    assert wide.tokens_evaluated - before >= written - 64 > 2 * decoded  # prompt reused
    same = sum(a == c.text for a, c in zip(alone, completions, strict=True))
    assert same >= 56, f"the same seeds drew other answers in {64 - same} of 64 samples"


def test_a_prompt_is_evaluated_from_where_it_leaves_the_previous_one() -> None:
    """The in-context tasks of a family open alike: with ``parallel`` > 1 the cells of the
    previous prompt are kept up to the first token that differs."""
    wide = load_backend(ModelSpec("smollm2"))
    assert isinstance(wide, LlamaCppBackend)
    short = Prompt((Message("user", "Random digits between 1 and 4: 3, 1, 4, 2"),))
    long = Prompt((Message("user", "Random digits between 1 and 4: 3, 1, 4, 2, 2, 1, 3"),))
    first, second = wide.prompt_tokens(short), wide.prompt_tokens(long)
    common = next(i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
    wide._prefill(short, reuse=True)
    before = wide.tokens_evaluated
    _, kept = wide._prefill(long, reuse=True)
    assert wide.tokens_evaluated - before == len(second) - common
    again = wide.tokens_evaluated
    wide._prefill(long, reuse=True)
    assert wide.tokens_evaluated - again == 1, "the same prompt: only its last token, for logits"
    _, whole = wide._prefill(long, reuse=False)
    assert np.max(np.abs(log_softmax(kept) - log_softmax(whole))) < 1e-3
    assert wide.reuse_prefix
    requests = [GenerateRequest("t", p, SamplingParams(1.0, 1.0, 1), (0,)) for p in (short, long)]
    for reuse, evaluated in ((True, len(second) - common), (False, len(second))):
        wide.reuse_prefix = reuse  # the model arg reuse_prefix=false: every prompt whole
        wide.generate(requests[:1])
        before = wide.tokens_evaluated
        wide.generate(requests[1:])
        assert wide.tokens_evaluated - before == evaluated, reuse  # a 1-token answer: no decode


def fresh_logprob(path: Path, context: list[int], continuation: list[int]) -> float:
    """log P(continuation | context) from a separate model and llama-cpp-python's own API.

    The context is evaluated as one batch and the continuation (less its last token) as
    another, the shapes the backend uses: llama.cpp's CPU kernels pick code paths by batch size, and
    on an AVX-512 machine evaluating the 49 tokens of prompt + answer at once moved one
    log-probability by 0.22 nats (both differ from float64 arithmetic on the dequantised
    weights by about as much: Q8 activations). This test checks the backend's sequence
    bookkeeping (shared prompt cells, positions, end of turn), not the kernels.
    """
    import llama_cpp

    llama = llama_cpp.Llama(str(path), n_ctx=512, logits_all=True, verbose=False)
    tokens = context + continuation
    llama.eval(context)
    llama.eval(continuation[:-1])
    logprobs = log_softmax(np.asarray(llama.scores[: len(tokens)]))
    positions = np.arange(len(context) - 1, len(tokens) - 1)
    return float(logprobs[positions, continuation].sum())


def test_scores_equal_an_independent_pass(chat: LlamaCppBackend) -> None:
    candidates = ("1", "4", "6", "42", "Heads", "I rolled a 3.")
    (scores,) = chat.score([ScoreRequest("t", DICE, candidates)])
    assert scores.exact and len(scores.logprobs) == len(candidates)
    context = chat.prompt_tokens(DICE)
    for candidate, logprob in zip(candidates, scores.logprobs, strict=True):
        tokens = chat.candidate_tokens(candidate)
        assert tokens[-1] == chat.end_of_turn
        expected = fresh_logprob(chat.path, context, tokens)
        assert logprob == pytest.approx(expected, abs=1e-4), candidate


def test_a_declared_delimiter_replaces_the_end_of_turn(chat: LlamaCppBackend) -> None:
    """``until``: log P(candidate + delimiter | prompt), the text tokenized as one piece."""
    candidates = ("{1}", "{6}", "{10}")
    (scores,) = chat.score([ScoreRequest("t", DICE, candidates, until="\n")])
    (ended,) = chat.score([ScoreRequest("t", DICE, candidates)])
    context = chat.prompt_tokens(DICE)
    for candidate, logprob, at_end in zip(candidates, scores.logprobs, ended.logprobs, strict=True):
        tokens = chat.candidate_tokens(candidate, "\n")
        assert chat.end_of_turn not in tokens
        assert chat.llama.detokenize(tokens).decode() == candidate + "\n"
        assert logprob == pytest.approx(fresh_logprob(chat.path, context, tokens), abs=1e-4)
        assert logprob != pytest.approx(at_end, abs=1e-3)


def test_one_token_answers_are_a_proper_distribution(raw: LlamaCppBackend) -> None:
    prompt = Prompt((Message("user", "Here is a random digit between 1 and 9: "),))
    (scores,) = raw.score([ScoreRequest("t", prompt, tuple("123456789"))])
    assert all(len(raw.candidate_tokens(c)) == 2 for c in "123456789"), "digit, then EOS"
    mass = sum(math.exp(lp) for lp in scores.logprobs)
    assert 0 < mass <= 1 + 1e-9
    assert raw.render(prompt) == "Here is a random digit between 1 and 9: "


def test_sampled_first_tokens_follow_the_model_distribution(raw: LlamaCppBackend) -> None:
    digits = "1234"
    tokens = [raw.candidate_tokens(d)[0] for d in digits]
    first = log_softmax(raw._prefill(DIGIT, reuse=False)[1])[tokens]
    expected = np.exp(first - first.max())
    samples = generate(raw, tuple(range(400)), max_tokens=1, prompt=DIGIT)
    counts = np.array([samples.count(d) for d in digits])
    assert counts.sum() >= 200, "most first tokens are one of the digits"
    expected = expected / expected.sum() * counts.sum()
    assert stats.chisquare(counts, expected).pvalue > 0.001, (counts, expected)


@pytest.mark.slow
def test_samples_follow_llama_cpp_pythons_own_sampler(raw: LlamaCppBackend) -> None:
    """The backend's draws (one prompt evaluation, samples side by side in branches, the
    numpy sampler) and llama-cpp-python's own sampler chain (``Llama.create_completion`` at
    the same settings, one call per seed) follow one distribution: 2000 one-token answers
    each, a chi-square test of homogeneity over the four digits and everything else."""
    n, digits = 2000, ("1", "2", "3", "4")
    request = GenerateRequest("t", DIGIT, SamplingParams(1.0, 1.0, 1), tuple(range(n)))
    (ours,) = raw.generate([request])
    llama = raw.plain_llama()
    theirs = [raw.plain_completion(llama, request, seed) for seed in range(n, 2 * n)]

    def counts(texts: list[str]) -> list[int]:
        by_digit = [texts.count(d) for d in digits]
        return [*by_digit, len(texts) - sum(by_digit)]

    table = np.array([counts([c.text for c in ours]), counts([c.text for c in theirs])])
    assert table[:, :4].sum() >= n, "most first tokens are one of the digits"
    assert stats.chi2_contingency(table).pvalue > 0.001, table


@pytest.mark.parametrize(
    "max_tokens",
    [pytest.param(None, id="shared-cache"), pytest.param(16, id="streams", marks=pytest.mark.slow)],
)
def test_sampled_answers_agree_with_the_scored_distribution(
    raw: LlamaCppBackend, max_tokens: int | None
) -> None:
    """Completion-style prompt, each answer ended by a comma: the frequencies of the sampled
    texts that open with " 1,".." 4," (and of everything else) fit what ``score`` says
    (chi-square), for answers cut at the comma (the shared cache) and for answers of 16
    tokens (one cache stream per sample)."""
    prompt = Prompt((Message("user", "Random digits between 1 and 4: 3, 1, 4, 2, 2, 1, 3,"),))
    answers = (" 1", " 2", " 3", " 4")
    (scores,) = raw.score([ScoreRequest("t", prompt, answers, until=",")])
    length = max_tokens or max(len(raw.candidate_tokens(a, ",")) for a in answers)
    probabilities = np.exp(scores.logprobs)
    expected = np.append(probabilities, 1 - probabilities.sum())
    samples = generate(raw, tuple(range(600)), max_tokens=length, prompt=prompt)
    assert raw._streamed(len(raw.prompt_tokens(prompt)), length) == (max_tokens is not None)
    counts = np.array([sum(s.startswith(a + ",") for s in samples) for a in answers])
    observed = np.append(counts, len(samples) - counts.sum())
    assert counts.sum() >= 300, observed
    assert stats.chisquare(observed, expected * len(samples)).pvalue > 0.001, (observed, expected)


COIN = Prompt((Message("user", "Flip a coin. Say heads or tails."),))


def two_long_requests() -> list[GenerateRequest]:
    """40 samples of up to 24 tokens for each of two prompts: long answers, in streams."""
    params = SamplingParams(1.0, 1.0, 24)
    return [
        GenerateRequest("d", DICE, params, tuple(range(40))),
        GenerateRequest("c", COIN, params, tuple(range(40, 80))),
    ]


@pytest.mark.slow
def test_every_decoded_row_is_its_samples_own_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests of long answers in one call, in streams: samples fork, finish, and are
    renumbered into the places of finished ones, and the next request's prompt replaces the
    first's in sequence 0 while the first's samples run on. Every next-token distribution a
    sample drew from is the model's at that sample's own prompt and tokens, evaluated alone
    (up to batched rounding: a mix-up of cells would be off by nats, not hundredths)."""
    import randbench.harness.backends.llama_sampling as sampling

    backend = load_backend(ModelSpec("smollm2"))
    assert isinstance(backend, LlamaCppBackend)
    seen: list[tuple[Prompt, list[int], np.ndarray]] = []
    grow = sampling.Sampler._grow

    def recording(self: sampling.Sampler, branch: sampling._Branch) -> list[sampling._Branch]:
        if branch.tokens:
            seen.append((branch.job.request.prompt, list(branch.tokens), branch.logits.copy()))
        return grow(self, branch)

    monkeypatch.setattr(sampling.Sampler, "_grow", recording)
    requests = two_long_requests()
    both = backend.generate(requests)
    assert [len(c) for c in both] == [40, 40] and backend._streams is not None
    assert {prompt for prompt, _, _ in seen} == {DICE, COIN}
    monkeypatch.undo()
    alone = load_backend(ModelSpec("smollm2", args={"parallel": 1}))
    assert isinstance(alone, LlamaCppBackend)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(seen), size=24, replace=False):
        prompt, tokens, logits = seen[i]
        n_prompt, _ = alone._prefill(prompt, reuse=False)
        entries = [(t, n_prompt + k, 0, k == len(tokens) - 1) for k, t in enumerate(tokens)]
        expected = alone.decode(alone._shared, entries)[-1]
        moved = np.abs(log_softmax(logits) - log_softmax(expected)).max()
        assert moved < 0.1, (i, len(tokens), moved)


@pytest.mark.slow
def test_the_samples_of_consecutive_requests_are_decoded_side_by_side() -> None:
    """Two requests in one call fill decode calls that one request at a time leaves part
    empty as its samples end."""
    together = load_backend(ModelSpec("smollm2"))
    apart = load_backend(ModelSpec("smollm2"))
    assert isinstance(together, LlamaCppBackend) and isinstance(apart, LlamaCppBackend)
    requests = two_long_requests()
    assert [len(c) for c in together.generate(requests)] == [40, 40]
    for request in requests:
        apart.generate([request])
    assert together.sample_decodes < apart.sample_decodes, (
        together.sample_decodes, apart.sample_decodes,
    )  # fmt: skip


def test_no_chat_template_flag_sends_raw_text(tmp_path: Path) -> None:
    spec = model_spec("smollm2", "", no_chat_template=True)
    backend = load_backend(spec)
    assert isinstance(backend, LlamaCppBackend) and backend.template is None
    assert backend.render(DIGIT) == "Here is a random digit between 1 and 4: "
    result = CliRunner().invoke(
        app,
        ["run", "--model", "smollm2", "--no-chat-template", "--model-args", "chat_template=true",
         "--tasks", "dice_d6", "--output-path", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2 and "contradicts" in result.output


def test_runner_end_to_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "--model", "smollm2", "--tasks", "dice_d6,coin_flip", "--method", "direct,logprob",
         "--samples", "20", "--max-tokens", "8",
         "--output-path", str(tmp_path), "--cache", str(tmp_path / "c.sqlite")],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("results_*.json")
    document = json.loads(path.read_text())
    model = document["config"]["model"]
    assert model["backend"] == "smollm2" and model["name"] == "SmolLM2-135M-Instruct-Q4_1"
    assert len(model["sha256"]) == 64
    for name in ("dice_d6", "coin_flip"):
        direct = document["results"][name]["direct"]
        assert direct["n"] == 20
        assert 0.0 <= direct["validity"] <= 1.0
        invalid = round((1 - direct["validity"]) * 20)
        assert sum(direct["invalid_reasons"].values()) == invalid, direct["invalid_reasons"]
        exact = document["results"][name]["logprob"]
        assert exact["exact"] is True
        assert 0.0 <= exact["values"]["mass_outside_support"] <= 1.0
    (samples,) = tmp_path.glob("samples_*.jsonl")
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert sum(1 for x in lines if x["method"] == "direct") == 40


def test_unknown_model_arg_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown model arg\(s\) temprature.*n_ctx"):
        load_backend(ModelSpec("smollm2", args={"temprature": 1}))
    with pytest.raises(ValueError, match="positive integer"):
        load_backend(ModelSpec("smollm2", args={"n_ctx": "big"}))


def test_the_removed_torch_engine_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"engine='torch'.*was removed.*--model hf:PATH"):
        load_backend(ModelSpec("smollm2", args={"engine": "torch"}))
    with pytest.raises(ValueError, match=r"torch_dtype='bfloat16'.*removed engine=torch"):
        load_backend(ModelSpec("smollm2", args={"torch_dtype": "bfloat16"}))


def test_missing_gguf_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no GGUF file at .*nothing\.gguf"):
        load_backend(ModelSpec("llamacpp", str(tmp_path / "nothing.gguf")))
    with pytest.raises(ValueError, match=r"llamacpp:PATH\.gguf"):
        load_backend(ModelSpec("llamacpp"))
    with pytest.raises(ValueError, match="takes no name"):
        load_backend(ModelSpec("smollm2", "other.gguf"))


def test_parallel_sequences_agree_with_one_at_a_time(chat: LlamaCppBackend) -> None:
    wide = load_backend(ModelSpec("smollm2", args={"parallel": 4}))
    candidates = tuple("123456")
    (one,) = chat.score([ScoreRequest("t", DICE, candidates)])
    (four,) = wide.score([ScoreRequest("t", DICE, candidates)])
    # Batched arithmetic takes other kernel paths, and the float16 cache cells round what
    # differs: every score moves a little (seen: up to 0.002 nats), never the distribution.
    moved = np.abs(np.subtract(one.logprobs, four.logprobs))
    assert moved.max() < 0.02, moved
    p, q = np.exp(one.logprobs), np.exp(four.logprobs)
    assert 0.5 * np.abs(p / p.sum() - q / q.sum()).sum() < 0.01
    assert len(generate(wide, tuple(range(6)), max_tokens=4)) == 6


@pytest.mark.slow
def test_killed_run_on_the_real_model_resumes_exactly(tmp_path: Path) -> None:
    """SIGKILL a `randbench run --model smollm2` mid-run, rerun it: every sample index once,
    and the same completions as an uninterrupted run."""
    import os
    import signal
    import sqlite3
    import time

    def command(cache: Path, out: str = "out") -> list[str]:
        return [
            sys.executable, "-m", "randbench.cli", "run", "--model", "smollm2",
            "--tasks", "dice_d6", "--samples", "40", "--batch-size", "4", "--max-tokens", "6",
            "--model-args", "parallel=1",
            "--cache", str(cache), "--output-path", str(tmp_path / out),
        ]  # fmt: skip

    def rows(cache: Path) -> list[tuple[int, str]]:
        try:
            with sqlite3.connect(cache) as db:
                found = db.execute("SELECT sample_index, response FROM samples").fetchall()
        except sqlite3.OperationalError:
            return []
        return sorted((int(i), str(r)) for i, r in found)

    cache = tmp_path / "killed.sqlite"
    child = subprocess.Popen(command(cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(rows(cache)) < 8 and child.poll() is None:
        time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    partial = len(rows(cache))
    assert 0 < partial < 40, f"not killed mid-run ({partial} samples stored)"
    assert not list((tmp_path / "out").glob("results_*.json"))

    subprocess.run(command(cache), check=True, capture_output=True)
    resumed = rows(cache)
    assert [i for i, _ in resumed] == list(range(40)), "each sample exactly once"
    fresh = tmp_path / "fresh.sqlite"
    subprocess.run(command(fresh, "fresh"), check=True, capture_output=True)
    assert resumed == rows(fresh), "same seeds, same completions, interrupted or not"
    (result,) = (tmp_path / "out").glob("results_*.json")
    assert json.loads(result.read_text())["results"]["dice_d6"]["direct"]["n"] == 40


def test_bench_sets_the_backend_beside_llama_create_completion(raw: LlamaCppBackend) -> None:
    """`randbench bench`'s baseline row: llama-cpp-python's own create_completion on the same
    weights and prompt tokens, seeded (the same seed, the same text), timed beside the
    backend's shared-prompt request; other backends have no such row."""
    from randbench.harness.bench import (
        bench_branches,
        bench_plain_llama,
        bench_prefix_reuse,
        bench_sampling,
    )
    from randbench.harness.runs import RunConfig
    from randbench.loader import load_tasks
    from randbench.selection import select_tasks

    (task,) = select_tasks(load_tasks(), ["dice_d6"])
    config = RunConfig(max_tokens=4)
    shared = bench_sampling(raw, task, 8, 2, config)
    measured = bench_plain_llama(raw, task, 2, config, shared)
    assert measured is not None and "Llama.create_completion" in measured.name
    assert (measured.units, measured.seconds) == (8, shared.seconds)
    assert measured.baseline_seconds is not None and measured.baseline_seconds > 0
    llama = raw.plain_llama()
    request = GenerateRequest("t", DIGIT, SamplingParams(1.0, 1.0, 4), (0,))
    first, again = (raw.plain_completion(llama, request, 7) for _ in range(2))
    assert first == again and first.tokens is not None and 0 <= first.tokens <= 4
    oracle = load_backend(ModelSpec("oracle"))
    assert bench_plain_llama(oracle, task, 2, config, shared) is None
    branches = bench_branches(raw, task, config, shared)
    assert branches is not None and "branch sharing" in branches.name
    assert branches.baseline_seconds is not None and branches.baseline_seconds > 0
    assert raw.share_branches, "the switch is restored"
    reuse = bench_prefix_reuse(raw, task, config, tokens=60, count=3)
    assert reuse is not None and reuse.units == 12 and raw.reuse_prefix
    assert reuse.baseline_seconds is not None and reuse.baseline_seconds > 0
    assert bench_branches(oracle, task, config, shared) is None
    assert bench_prefix_reuse(oracle, task, config) is None


def test_growing_history_prompts_each_open_like_the_one_before() -> None:
    from randbench.harness.bench import growing_history_prompts, in_context_prompt
    from randbench.loader import load_tasks
    from randbench.selection import select_tasks

    (task,) = select_tasks(load_tasks(), ["dice_d6"])
    prompts = growing_history_prompts(task, 90, 4)
    texts = [p.messages[-1].content for p in prompts]
    histories = [t.split(".")[0] for t in texts]
    assert len(set(texts)) == 4 and histories[-1].count(",") == 29
    assert all(b.startswith(a) for a, b in itertools.pairwise(histories))
    assert in_context_prompt(task, 90) == prompts[-1]
