"""The ``anthropic`` backend, through the real ``anthropic`` SDK, against a local stub HTTP server
that speaks the Messages API's documented wire format (no test here may call Anthropic): it
checks every request (headers, body shape) and answers as the API does, errors included."""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

if importlib.util.find_spec("anthropic") is None:  # pragma: no cover - depends on the install
    pytest.skip(
        "needs the anthropic SDK (pip install 'randbench[anthropic]')", allow_module_level=True
    )

from randbench.cli import app
from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.backends.anthropic import AnthropicBackend
from randbench.harness.requests import GenerateRequest, Message, Prompt, SamplingParams

KEY = "sk-ant-test-8d1f0c3b7a9e2f64"


class MessagesStub(ThreadingHTTPServer):
    """``POST /v1/messages`` as the Messages API documents it; answers a random die roll."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.errors: list[tuple[int, dict[str, str]]] = []
        """Answers for the next requests, in order: (status, headers)."""
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.rng = random.Random(0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: MessagesStub

    def log_message(self, *_: Any) -> None:
        pass

    def do_POST(self) -> None:
        stub = self.server
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        with stub.lock:
            stub.requests.append({"headers": dict(self.headers.items()), "body": body})
            stub.problems += _check(self.path, self.headers, body)
            error = stub.errors.pop(0) if stub.errors else None
            stub.in_flight += 1
            stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
        try:
            time.sleep(0.05)
            if error is not None:
                status, headers = error
                kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
                payload = {"type": "error", "error": {"type": kind, "message": "stub error"}}
                self._send(status, payload, headers)
                return
            with stub.lock:
                roll = str(stub.rng.randint(1, 6))
            self._send(200, _message(body["model"], roll))
        finally:
            with stub.lock:
                stub.in_flight -= 1

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _message(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "msg_stub",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 1},
    }


def _check(path: str, headers: Any, body: dict[str, Any]) -> list[str]:
    """What the Messages API would reject in this request."""
    problems = []
    if path != "/v1/messages":
        problems.append(f"path {path}")
    # The SDK authenticates with x-api-key (0.x) or an Authorization bearer (2.x).
    if KEY not in (
        headers.get("x-api-key"),
        headers.get("authorization", "").removeprefix("Bearer "),
    ):
        problems.append("neither x-api-key nor the bearer token is the key from the environment")
    if not headers.get("anthropic-version"):
        problems.append("no anthropic-version header")
    if not isinstance(body.get("max_tokens"), int) or not body.get("model"):
        problems.append("model and max_tokens are required")
    messages = body.get("messages") or []
    roles = [m.get("role") for m in messages]
    if not roles or roles[0] != "user" or any(a == b for a, b in itertools.pairwise(roles)):
        problems.append(f"roles must alternate starting with user: {roles}")
    if "system" in roles:
        problems.append("system prompts go in the top-level system field")
    if (
        messages
        and roles[-1] == "assistant"
        and messages[-1]["content"] != messages[-1]["content"].rstrip()
    ):
        problems.append("final assistant content cannot end with trailing whitespace")
    return problems


@pytest.fixture
def stub() -> Iterator[MessagesStub]:
    server = MessagesStub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    assert server.problems == []


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


def run(tmp_path: Path, model_args: str, *extra: str) -> Result:
    return CliRunner().invoke(
        app,
        [
            "run", "--model", "anthropic:claude-stub", "--model-args", model_args,
            "--output-path", str(tmp_path / "results"), "--cache", str(tmp_path / "cache.sqlite"),
            *extra,
        ],
    )  # fmt: skip


def test_sampling_through_the_messages_api(stub: MessagesStub, tmp_path: Path) -> None:
    result = run(tmp_path, f"base_url={stub.url}", "--tasks", "dice_d6", "--samples", "12",
                 "--concurrency", "4")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(stub.requests) == 12, "no n in this API: one call per sample"
    assert stub.max_in_flight >= 2, "calls ran concurrently"
    body = stub.requests[0]["body"]
    # Default sampling (temperature 1, top_p 1) is the API's own: nothing is sent for it.
    assert body["model"] == "claude-stub" and "temperature" not in body and "top_p" not in body
    (samples,) = (tmp_path / "results").glob("samples_*.jsonl")
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert sorted(line["index"] for line in lines) == list(range(12))
    assert all(line["outcomes"][0]["invalid_reason"] is None for line in lines)


def test_logprob_is_refused_before_any_call(stub: MessagesStub, tmp_path: Path) -> None:
    result = run(tmp_path, f"base_url={stub.url}", "--tasks", "dice_d6", "--method", "logprob")
    assert result.exit_code == 2
    assert "returns none" in result.output and "--method direct" in result.output
    assert stub.requests == []


def test_system_messages_and_prefilled_answers(stub: MessagesStub) -> None:
    backend = load_backend(ModelSpec("anthropic", "claude-stub", {"base_url": stub.url}))
    assert isinstance(backend, AnthropicBackend)
    prompt = Prompt(
        (Message("system", "You are a die."), Message("user", "Roll.")),
        assistant_prefix="I rolled a ",
    )
    (completions,) = backend.generate(
        [GenerateRequest("t", prompt, SamplingParams(1.0, 0.9, 5), (1, 2))]
    )
    assert len(completions) == 2 and completions[0].tokens == 1
    body = stub.requests[0]["body"]
    assert body["system"] == "You are a die."
    assert body["messages"][-1] == {"role": "assistant", "content": "I rolled a"}
    assert body["top_p"] == 0.9 and "temperature" not in body


def test_rate_limits_and_overload_are_retried(stub: MessagesStub) -> None:
    stub.errors = [(429, {"retry-after": "1"}), (529, {}), (500, {})]
    backend = load_backend(
        ModelSpec("anthropic", "claude-stub", {"base_url": stub.url, "retry_base": 0.01})
    )
    assert isinstance(backend, AnthropicBackend)
    start = time.monotonic()
    prompt = Prompt((Message("user", "Roll."),))
    (completions,) = backend.generate(
        [GenerateRequest("t", prompt, SamplingParams(1.0, 1.0, 5), (1,))]
    )
    assert len(completions) == 1 and completions[0].text in "123456"
    assert len(stub.requests) == 4
    assert backend.stats.retries == {"rate_limited": 1, "server_error": 2}
    assert backend.stats.retry_after == [1.0]
    assert time.monotonic() - start >= 1.0, "Retry-After was honoured"


def test_the_key_comes_from_the_environment_and_is_never_written(
    stub: MessagesStub, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    with caplog.at_level(logging.DEBUG):
        result = run(tmp_path, f"base_url={stub.url}", "--tasks", "dice_d6", "--samples", "3")
    assert result.exit_code == 0, result.output
    assert KEY not in caplog.text and KEY not in result.output
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    missing = run(tmp_path, f"base_url={stub.url}", "--tasks", "dice_d6")
    assert missing.exit_code == 2 and "ANTHROPIC_API_KEY" in missing.output
