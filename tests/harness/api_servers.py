"""Real local servers for the API backends' tests: llama-cpp-python's OpenAI-compatible server
on the embedded SmolLM2, and a fault-injecting HTTP proxy to put in front of it.

Everything listens on 127.0.0.1 only, and every loop here is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAULTS = ("429", "500", "slow", "drop")
SERVER_KEY = "sk-randbench-test-3f9c1e7a5b2d4068"
"""The shared server (tests/conftest.py's ``llama_cpp_server``) is started with this key:
every request must carry it, from the environment."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def llama_server(
    gguf: Path, *, api_key: str | None = None, log: Path | None = None, threads: int = 1
) -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free port; yields its base URL (``.../v1``)."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
        "--n_threads", str(threads), "--model_alias", "smollm2",
    ]  # fmt: skip
    if api_key:
        command += ["--api_key", api_key]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = log.open("w") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, url, api_key)
        yield f"{url}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def _wait_ready(process: subprocess.Popen[bytes], url: str, api_key: str | None) -> None:
    deadline = time.monotonic() + 120
    request = urllib.request.Request(f"{url}/v1/models")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    raise RuntimeError("llama_cpp.server did not start within 120 s")


class FaultProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of ``upstream`` (host:port).

    A seeded schedule turns exactly ``rate`` of the requests (in every block of 20) into
    faults, one of each kind in turn: ``429`` (with ``Retry-After``), ``500``, ``slow``
    (forwarded after ``slow`` seconds, past the client's timeout) and ``drop`` (forwarded,
    then the connection is closed without an answer). ``outage_after=K`` answers 503 to
    every request after the K-th forwarded one, until ``outage_after`` is set to None.
    Every answer closes its connection (``Connection: close``).
    """

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.2,
        seed: int = 0,
        slow: float = 4.0,
        retry_after: str = "1",
        latency: float = 0.0,
    ) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.rate = rate
        self.slow = slow
        self.retry_after = retry_after
        self.latency = latency
        """Seconds added to every answer, as a remote API's round trip would."""
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.outage_after: int | None = None
        self._schedule: list[str] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port = future.result(timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        """Stop listening and end the answers still in progress (slow ones, say)."""
        self._server.close()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._server.wait_closed()

    # -- faults ---------------------------------------------------------------------------

    def _next_fault(self) -> str | None:
        with self._lock:
            if self.outage_after is not None and self.counts["forwarded"] >= self.outage_after:
                return "outage"
            if not self._schedule:
                block = [None] * 20
                faulty = self.rng.sample(range(20), round(20 * self.rate))
                kinds = list(FAULTS) * (len(faulty) // len(FAULTS) + 1)
                for position, kind in zip(faulty, kinds, strict=False):
                    block[position] = kind
                self._schedule = block  # type: ignore[assignment]
            return self._schedule.pop(0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            fault = self._next_fault()
            if self.latency:
                await asyncio.sleep(self.latency)
            with self._lock:
                self.counts[fault or "ok"] += 1
            if fault == "429":
                headers = {"Retry-After": self.retry_after}
                writer.write(_response(429, "rate limited (injected)", headers))
            elif fault in ("500", "outage"):
                status = 500 if fault == "500" else 503
                writer.write(_response(status, f"server error (injected {fault})"))
            else:
                if fault == "slow":
                    await asyncio.sleep(self.slow)
                answer = await self._forward(request)
                with self._lock:
                    self.counts["forwarded"] += 1
                if fault != "drop":
                    writer.write(answer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _forward(self, request: bytes) -> bytes:
        head, _, body = request.partition(b"\r\n\r\n")
        lines = [
            line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")
        ]
        lines.append(b"Connection: close")
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        up_writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        await up_writer.drain()
        answer = await up_reader.read()
        up_writer.close()
        return answer


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head + body


def _response(status: int, message: str, headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps({"error": {"message": message, "type": "injected", "code": status}}).encode()
    reason = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
    lines = [
        f"HTTP/1.1 {status} {reason.get(status, 'Error')}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
