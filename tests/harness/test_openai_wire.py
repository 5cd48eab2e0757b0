"""The ``openai`` backend against a stub that honours ``n`` (as OpenAI and vLLM serve do):
llama-cpp-python's server, used by test_openai.py, ignores ``n``, so the path where one call
carries several samples is checked here against the documented chat-completions format."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.backends.openai import OpenAIBackend
from randbench.harness.requests import GenerateRequest, Message, Prompt, SamplingParams

if importlib.util.find_spec("openai") is None:  # pragma: no cover - depends on the install
    pytest.skip("needs the openai SDK (pip install 'randbench[openai]')", allow_module_level=True)


class ChatStub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict[str, Any]] = []


class _Handler(BaseHTTPRequestHandler):
    server: ChatStub

    def log_message(self, *_: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.bodies.append(body)
        n = body.get("n", 1)
        choices = [
            {
                "index": i,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": f"{body.get('seed')}-{i}"},
            }
            for i in range(n)
        ]
        usage = {"prompt_tokens": 5, "completion_tokens": n, "total_tokens": 5 + n}
        payload = {"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                   "choices": choices, "usage": usage}  # fmt: skip
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def stub() -> Iterator[ChatStub]:
    server = ChatStub()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_server_that_honours_n_gets_several_samples_per_call(stub: ChatStub) -> None:
    url = f"http://127.0.0.1:{stub.server_address[1]}/v1"
    backend = load_backend(ModelSpec("openai", "m", {"base_url": url}))
    assert isinstance(backend, OpenAIBackend)
    seeds = tuple(range(1000, 1020))
    prompt = Prompt((Message("user", "Roll a die."),))
    (completions,) = backend.generate([GenerateRequest("t", prompt, SamplingParams(), seeds)])
    assert backend.n_honoured is True
    assert [b["n"] for b in stub.bodies] == [8, 8, 4]
    # One seed per call, each call's first sample's own, so no two calls share a seed.
    assert sorted(b["seed"] for b in stub.bodies) == [1000, 1008, 1016]
    assert len({c.text for c in completions}) == 20
    assert stub.bodies[0]["messages"] == [{"role": "user", "content": "Roll a die."}]
    assert stub.bodies[0]["temperature"] == 1.0 and stub.bodies[0]["max_tokens"] == 64


def test_seeds_can_be_left_out(stub: ChatStub) -> None:
    url = f"http://127.0.0.1:{stub.server_address[1]}/v1"
    backend = load_backend(ModelSpec("openai", "m", {"base_url": url, "seed": False, "n": 1}))
    prompt = Prompt((Message("user", "Roll a die."),))
    backend.generate([GenerateRequest("t", prompt, SamplingParams(), (1, 2))])
    assert [("seed" in b, "n" in b) for b in stub.bodies] == [(False, False)] * 2


def test_bad_model_args_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown model arg.*nn"):
        load_backend(ModelSpec("openai", "m", {"base_url": "http://x/v1", "nn": 2}))
    with pytest.raises(ValueError, match="expected one of chat, completions"):
        load_backend(ModelSpec("openai", "m", {"base_url": "http://x/v1", "api": "chat2"}))
    with pytest.raises(ValueError, match="template_from"):
        load_backend(ModelSpec("openai", "m", {"base_url": "http://x/v1", "api": "completions"}))
    with pytest.raises(ValueError, match="needs a model name"):
        load_backend(ModelSpec("openai", "", {"base_url": "http://x/v1"}))
