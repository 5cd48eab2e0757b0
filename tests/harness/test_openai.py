"""The ``openai`` backend against a real OpenAI-compatible server: llama-cpp-python's
``python -m llama_cpp.server`` on 127.0.0.1 with the embedded SmolLM2 GGUF, driven through
the real ``openai`` SDK and ``randbench run``. No mocks: the faults come from a real proxy.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import sqlite3
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner, Result

for module in ("openai", "llama_cpp", "fastapi", "uvicorn", "sse_starlette", "pydantic_settings"):
    if importlib.util.find_spec(module) is None:  # pragma: no cover - depends on the install
        pytest.skip(
            f"needs {module} (pip install 'randbench[openai,server]')", allow_module_level=True
        )

from api_servers import SERVER_KEY, FaultProxy  # noqa: E402

pytestmark = pytest.mark.slow  # a real server process; test_openai_wire.py is the fast tier's

from randbench.cli import app  # noqa: E402
from randbench.harness.api.logprobs import approximate_scores, echo_from_completion  # noqa: E402
from randbench.harness.backends import ModelSpec, load_backend  # noqa: E402
from randbench.harness.backends.llamacpp import LlamaCppBackend, log_softmax  # noqa: E402
from randbench.harness.backends.openai import OpenAIBackend  # noqa: E402
from randbench.harness.models import ModelNotFoundError, smollm2_gguf  # noqa: E402
from randbench.harness.requests import (  # noqa: E402
    GenerateRequest,
    Message,
    Prompt,
    SamplingParams,
    ScoreRequest,
)

try:
    GGUF = smollm2_gguf()
except ModelNotFoundError as missing:  # pragma: no cover - depends on the install
    pytest.skip(str(missing), allow_module_level=True)

KEY = SERVER_KEY
FULL_DISTRIBUTION = "extra_top_k=0,extra_min_p=0,extra_repeat_penalty=1"
"""llama.cpp's server truncates with top-k 40 and min-p 0.05 unless told not to; randbench's
in-process backend samples from the full distribution."""
DICE = Prompt((Message("user", "Roll a fair 6-sided die. Reply with only the number."),))
NUMBER = Prompt((Message("user", "Pick a random number between 1 and 100."),))


@pytest.fixture(scope="module")
def server(llama_cpp_server: str) -> str:
    return llama_cpp_server


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


@pytest.fixture(scope="module")
def local(smollm2_backend: LlamaCppBackend) -> LlamaCppBackend:
    assert isinstance(smollm2_backend, LlamaCppBackend)
    return smollm2_backend


def openai_backend(url: str, **args: Any) -> OpenAIBackend:
    backend = load_backend(ModelSpec("openai", "smollm2", {"base_url": url, **args}))
    assert isinstance(backend, OpenAIBackend)
    return backend


def run(tmp_path: Path, model: str, model_args: str, *extra: str) -> Result:
    return CliRunner().invoke(
        app,
        [
            "run", "--model", model, "--model-args", model_args,
            "--output-path", str(tmp_path / "results"), "--cache", str(tmp_path / "cache.sqlite"),
            *extra,
        ],
    )  # fmt: skip


def samples_of(tmp_path: Path) -> list[dict[str, Any]]:
    (path,) = sorted((tmp_path / "results").glob("samples_*.jsonl"))[-1:]
    return [json.loads(line) for line in path.read_text().splitlines()]


def result_of(tmp_path: Path) -> dict[str, Any]:
    (path,) = sorted((tmp_path / "results").glob("results_*.json"))[-1:]
    return dict(json.loads(path.read_text()))


# ---------------------------------------------------------------- sampling


def test_sampling_agrees_with_the_in_process_backend(server: str, tmp_path: Path) -> None:
    # Every sample on both sides (SmolLM2 would be stopped early at 50, see randbench.stopping).
    common = ["--tasks", "dice_d6", "--samples", "60", "--max-tokens", "6", "--no-stop-early"]
    remote = run(
        tmp_path / "api", "openai:smollm2", f"base_url={server},{FULL_DISTRIBUTION}",
        *common, "--concurrency", "2",
    )  # fmt: skip
    assert remote.exit_code == 0, remote.output
    local = run(tmp_path / "local", "smollm2", "", *common)
    assert local.exit_code == 0, local.output
    api_lines, local_lines = samples_of(tmp_path / "api"), samples_of(tmp_path / "local")
    assert sorted(s["index"] for s in api_lines) == list(range(60))
    seeds = [s["seed"] for s in api_lines]
    assert len(set(seeds)) == 60, "every sample has its own seed"
    assert len({s["completion"] for s in api_lines}) > 5

    def counts(lines: list[dict[str, Any]]) -> Counter[str]:
        return Counter(str(s["outcomes"][0]["value"]) for s in lines)

    api_counts, local_counts = counts(api_lines), counts(local_lines)
    keys = sorted(set(api_counts) | set(local_counts))
    table = np.array([[api_counts[k] for k in keys], [local_counts[k] for k in keys]])
    # Same model, same prompt, same sampling: the two samples come from one distribution.
    _, p_value, _, _ = stats.chi2_contingency(table + 0.5)
    assert p_value > 0.001, (api_counts, local_counts)


def test_n_that_the_server_ignores_is_detected(server: str) -> None:
    backend = openai_backend(server)
    assert backend.n_honoured is None
    request = GenerateRequest("t", DICE, SamplingParams(1.0, 1.0, 4), tuple(range(5)))
    (completions,) = backend.generate([request])
    assert len(completions) == 5
    # One call asked for n=5 and got one choice (llama-cpp-python drops n); four more followed.
    assert backend.n_honoured is False
    assert backend.stats.tries == 5
    backend.generate([GenerateRequest("t", DICE, SamplingParams(1.0, 1.0, 4), (7, 8, 9))])
    assert backend.stats.tries == 8


def test_a_seed_honouring_server_gets_a_distinct_seed_per_sample(server: str) -> None:
    backend = openai_backend(server, n=1)
    params = SamplingParams(1.0, 1.0, 12)
    (same,) = backend.generate([GenerateRequest("t", NUMBER, params, (1234,) * 4)])
    # The server honours seeds: lm-eval's fixed seed 1234 gives one answer four times...
    assert len({c.text for c in same}) == 1
    # ...randbench's per-sample seeds give independent samples.
    (varied,) = backend.generate([GenerateRequest("t", NUMBER, params, (11, 12, 13, 14))])
    assert len({c.text for c in varied}) >= 3


def test_the_chat_api_refuses_prefilled_tasks_before_any_call(server: str, tmp_path: Path) -> None:
    result = run(
        tmp_path, "openai:smollm2", f"base_url={server}", "--tasks", "coinflips_bayesian_coin"
    )
    assert result.exit_code == 2
    assert "pre-fill" in result.output and "api=completions" in result.output


def test_completions_api_renders_the_chat_template(server: str) -> None:
    backend = openai_backend(server, api="completions", template_from=str(GGUF), n=1)
    prefilled = Prompt(DICE.messages, assistant_prefix="I rolled a ")
    assert backend.rendered(prefilled).endswith("<|im_start|>assistant\nI rolled a ")
    request = GenerateRequest("t", prefilled, SamplingParams(0.0, 1.0, 3), (1, 2))
    (completions,) = backend.generate([request])
    assert len(completions) == 2 and completions[0].text == completions[1].text  # greedy


# ---------------------------------------------------------------- scoring


@pytest.fixture(scope="module")
def one_pass() -> Any:
    """log P(candidate tokens | context) from llama.cpp in this process, evaluating the whole
    sequence in one batch, as the server does for an echo request."""
    import llama_cpp

    llama = llama_cpp.Llama(str(GGUF), n_ctx=512, logits_all=True, verbose=False)

    def logprob(candidate_tokens: list[int], context: list[int]) -> float:
        tokens = context + candidate_tokens
        llama.reset()
        llama.eval(tokens)
        logprobs = log_softmax(np.asarray(llama.scores[: len(tokens)]))
        positions = np.arange(len(context) - 1, len(tokens) - 1)
        return float(logprobs[positions, candidate_tokens].sum())

    return logprob


@pytest.fixture(scope="module")
def dice_exact(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``randbench run --method logprob`` on dice_d6 through the echo path, once."""
    tmp_path = tmp_path_factory.mktemp("logprob")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_API_KEY", KEY)
        args = f"base_url={server},template_from={GGUF}"
        result = run(tmp_path, "openai:smollm2", args, "--tasks", "dice_d6", "--method", "logprob")
    assert result.exit_code == 0, result.output
    (line,) = samples_of(tmp_path)
    return {"result": result_of(tmp_path), "logprobs": line["logprobs"]}


def expected_scores(
    local: LlamaCppBackend, one_pass: Any, prompt: Prompt, candidates: tuple[str, ...]
) -> list[float]:
    context = local.prompt_tokens(prompt)
    return [one_pass(local.candidate_tokens(c), context) for c in candidates]


def test_exact_logprobs_agree_with_in_process_llama_cpp(
    dice_exact: dict[str, Any], local: LlamaCppBackend, one_pass: Any
) -> None:
    entry = dice_exact["result"]["results"]["dice_d6"]["logprob"]
    assert entry["exact"] is True and entry["note"] is None
    assert math.isclose(sum(entry["distribution"].values()), 1.0, rel_tol=1e-9)
    scores = np.array(dice_exact["logprobs"])
    candidates = tuple("123456")
    expected = expected_scores(local, one_pass, DICE, candidates)
    assert np.max(np.abs(scores - expected)) < 1e-3
    # The in-process backend decodes each candidate after the prompt rather than in one batch
    # with it; llama.cpp's quantized CPU kernels then round differently (by up to ~0.2 nats
    # on this 4-bit model), so against it the agreement is only that close.
    (backend_scores,) = local.score([ScoreRequest("t", DICE, candidates)])
    assert np.max(np.abs(scores - backend_scores.logprobs)) < 0.5


def test_exact_logprobs_of_multi_token_candidates(
    server: str, local: LlamaCppBackend, one_pass: Any
) -> None:
    prompt = Prompt((Message("user", "Flip a coin."),))
    candidates = ("Heads", "Tails")
    backend = openai_backend(server, template_from=str(GGUF), logprobs="echo")
    (scores,) = backend.score([ScoreRequest("t", prompt, candidates)])
    assert scores.exact
    expected = expected_scores(local, one_pass, prompt, candidates)
    assert np.max(np.abs(np.array(scores.logprobs) - expected)) < 1e-3


def test_repeated_exact_scoring_gives_the_same_scores(server: str) -> None:
    """llama-cpp-python's server now and then generates a token with no text (``<|im_start|>``
    after ``<|im_end|>``), counts it in ``usage`` and leaves it out of the echoed tokens; read
    naively, that call loses the candidate's end-of-turn token (seen: P("2") = -4.40 instead of
    -11.67 on the second of two passes). The backend re-asks such calls."""
    backend = openai_backend(server, template_from=str(GGUF), logprobs="echo")
    request = ScoreRequest("t", DICE, tuple("123456"))
    passes = [backend.score([request])[0].logprobs for _ in range(2)]
    assert np.max(np.abs(np.array(passes) - passes[0])) < 1e-6


def test_an_echo_whose_generated_token_has_no_text_is_not_trusted() -> None:
    """The wire format of the call above: usage counts one generated token, the text gained
    nothing, and the token list holds only the prompt's tokens."""
    sent = "<|im_start|>assistant\n2<|im_end|>"

    def completion(tokens: list[str], text: str) -> Any:
        logprobs = SimpleNamespace(tokens=tokens, token_logprobs=[-1.0] * len(tokens))
        choice = SimpleNamespace(text=text, logprobs=logprobs)
        return SimpleNamespace(choices=[choice], usage=SimpleNamespace(completion_tokens=1))

    prompt_tokens = ["<|im_start|>", "assistant", "\n", "2", ""]
    assert echo_from_completion(completion(prompt_tokens, sent), sent) is None
    echo = echo_from_completion(completion([*prompt_tokens, "\n"], sent + "\n"), sent)
    assert echo is not None and echo.tokens == tuple(prompt_tokens)
    assert echo_from_completion(completion([*prompt_tokens, "x"], sent + "\n"), sent) is None


def test_first_token_top_logprobs_are_labelled_approximate(
    server: str, dice_exact: dict[str, Any], tmp_path: Path
) -> None:
    result = run(
        tmp_path, "openai:smollm2", f"base_url={server},logprobs=top",
        "--tasks", "dice_d6", "--method", "logprob",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    entry = result_of(tmp_path)["results"]["dice_d6"]["logprob"]
    assert entry["exact"] is False and entry["note"].startswith("approximate")
    details = entry["logprob_details"]
    assert details["top_logprobs"] == 20
    assert 0 < details["covered_mass"] <= details["top_mass"] <= 1 + 1e-9
    (line,) = samples_of(tmp_path)
    # Single-token candidates: the first token's probability bounds P(candidate, end of turn).
    for approx, exact in zip(line["logprobs"], dice_exact["logprobs"], strict=True):
        assert approx is None or approx >= exact - 1e-3


def test_approximate_scores_assign_tokens_to_candidates() -> None:
    entries = [("1", math.log(0.3)), (" 2", math.log(0.2)), ("1", math.log(0.1)), ("x", -1.0)]
    scores = approximate_scores(("1", "2", "3"), entries, 20)
    assert scores.logprobs[0] == pytest.approx(math.log(0.4))
    assert scores.logprobs[1] == pytest.approx(math.log(0.2))
    assert scores.logprobs[2] == -math.inf
    assert scores.details["covered_mass"] == pytest.approx(0.6)
    ambiguous = approximate_scores(("10", "12"), [("1", math.log(0.5))], 5)
    assert ambiguous.details["ambiguous_mass"] == pytest.approx(0.5)


# ---------------------------------------------------------------- faults


def test_faults_are_retried_and_every_sample_is_kept_once(server: str, tmp_path: Path) -> None:
    upstream = server.removeprefix("http://").removesuffix("/v1")
    n = 24
    common = ["--tasks", "coin_flip", "--samples", str(n), "--max-tokens", "4"]
    # llama.cpp's numbers depend a little on what the server evaluated last (it re-uses the
    # cached prefix of the previous prompt): start from the same state as the clean run below.
    warm_args = ["--tasks", "coin_flip", "--samples", "1", "--max-tokens", "4"]
    warm = run(tmp_path / "warm", "openai:smollm2", f"base_url={server}", *warm_args)
    assert warm.exit_code == 0, warm.output
    with FaultProxy(upstream, rate=0.2, seed=3, slow=4.0) as proxy:
        args = f"base_url={proxy.url},timeout=3,retry_base=0.05,retry_max=0.5"
        result = run(tmp_path / "faulty", "openai:smollm2", args, *common, "--concurrency", "4")
        assert result.exit_code == 0, result.output
    print(f"fault proxy counts: {dict(proxy.counts)}")  # shown with pytest -s
    for fault in ("429", "500", "slow", "drop"):
        assert proxy.counts[fault] >= 1, proxy.counts
    lines = samples_of(tmp_path / "faulty")
    assert sorted(line["index"] for line in lines) == list(range(n))
    with sqlite3.connect(tmp_path / "faulty" / "cache.sqlite") as db:
        rows = db.execute("SELECT sample_index FROM samples").fetchall()
    assert sorted(i for (i,) in rows) == list(range(n))
    # Retries change nothing: the server honours seeds, so a fault-free run says the same.
    clean = run(tmp_path / "clean", "openai:smollm2", f"base_url={server}", *common)
    assert clean.exit_code == 0, clean.output
    by_index = {line["index"]: line["completion"] for line in samples_of(tmp_path / "clean")}
    assert {line["index"]: line["completion"] for line in lines} == by_index


def test_an_outage_stops_the_run_and_the_next_run_resumes(server: str, tmp_path: Path) -> None:
    upstream = server.removeprefix("http://").removesuffix("/v1")
    n = 24
    common = ["--tasks", "coin_flip", "--samples", str(n), "--max-tokens", "4"]
    with FaultProxy(upstream, rate=0.0) as proxy:
        proxy.outage_after = 10
        args = f"base_url={proxy.url},max_attempts=3,retry_base=0.01,retry_max=0.05"
        failed = run(tmp_path, "openai:smollm2", args, *common, "--concurrency", "2")
        assert failed.exit_code == 1
        assert "failed after 3 tries: HTTP 503" in failed.output
        assert "run the same command again to resume" in failed.output
        with sqlite3.connect(tmp_path / "cache.sqlite") as db:
            kept = sorted(i for (i,) in db.execute("SELECT sample_index FROM samples"))
        assert len(kept) == proxy.counts["forwarded"] >= 10
        assert len(kept) < n
        proxy.outage_after = None
        resumed = run(tmp_path, "openai:smollm2", args, *common, "--concurrency", "2")
        assert resumed.exit_code == 0, resumed.output
        assert proxy.counts["forwarded"] == n, "only the missing samples were asked for"
    lines = samples_of(tmp_path)
    assert sorted(line["index"] for line in lines) == list(range(n))


# ---------------------------------------------------------------- keys


def test_the_key_never_reaches_results_samples_cache_or_logs(
    server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    args = f"base_url={server},logprobs=top"
    with caplog.at_level(logging.DEBUG):
        result = run(
            tmp_path, "openai:smollm2", args,
            "--tasks", "dice_d6", "--method", "direct,logprob", "--samples", "4",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert caplog.records, "the SDK and httpx logged at DEBUG"
    assert KEY not in caplog.text and KEY not in result.output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path


def test_a_wrong_key_fails_at_once_with_a_clear_error(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-000000000000")
    result = run(
        tmp_path, "openai:smollm2", f"base_url={server}", "--tasks", "dice_d6", "--samples", "3"
    )
    assert result.exit_code == 1
    assert "failed after 1 try: HTTP 401" in result.output
    assert "sk-wrong-key" not in result.output


def test_keys_are_refused_on_the_command_line(tmp_path: Path) -> None:
    result = run(tmp_path, "openai:gpt-test", f"api_key={KEY}", "--tasks", "dice_d6")
    assert result.exit_code == 2
    assert "environment" in result.output and KEY not in result.output


def test_without_a_key_the_official_api_is_refused_before_any_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    result = run(tmp_path, "openai:gpt-test", "", "--tasks", "dice_d6")
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.output


# ---------------------------------------------------------------- bench


def test_bench_reports_requests_per_second_at_two_concurrencies(server: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench", "--model", "openai:smollm2", "--model-args", f"base_url={server}",
            "--concurrency", "2", "--requests", "6", "--max-tokens", "4",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "concurrency 1" in result.output and "concurrency 2" in result.output
    assert "requests/s" in result.output and "x" in result.output
