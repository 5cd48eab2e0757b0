"""The shared layer under every API backend: retry verdicts, Retry-After, the request pool
(bounded concurrency, backoff, pool-wide 429 pause, per-try timeouts, the final error that
keeps finished work) and key redaction. The backends' own tests run it against real servers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from randbench.harness.api.pool import EventLoop, Job, RequestFailedError, RequestPool
from randbench.harness.api.retry import RetryPolicy, classify, retry_after_seconds
from randbench.harness.api.secrets import (
    MissingKeyError,
    api_key,
    redact,
    refuse_secret_args,
)

FAST = RetryPolicy(max_attempts=4, timeout=2.0, base=0.01, max_delay=0.05)


class StatusError(Exception):
    """Shaped like the SDKs' APIStatusError: ``status_code`` and ``response.headers``."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"status {status}")
        self.status_code = status
        self.response = type("Response", (), {"headers": headers or {}})()


# ---------------------------------------------------------------- verdicts


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    seconds = retry_after_seconds({"Retry-After": format_datetime(when, usegmt=True)})
    assert seconds is not None and 25 < seconds <= 30
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_classify_sorts_failures() -> None:
    limited = classify(StatusError(429, {"retry-after": "2"}))
    assert (limited.kind, limited.retry_after, limited.retry) == ("rate_limited", 2.0, True)
    assert classify(StatusError(503)).kind == "server_error"
    assert classify(StatusError(529)).kind == "server_error"  # Anthropic's "overloaded"
    for status in (400, 401, 403, 404, 422):
        assert not classify(StatusError(status)).retry, status
    assert classify(asyncio.TimeoutError()).kind == "timeout"
    assert classify(ConnectionResetError("reset")).kind == "connection"
    assert classify(ValueError("a bug")).kind == "fatal"


def test_classify_looks_through_wrapped_transport_errors() -> None:
    httpx = pytest.importorskip("httpx2")

    class APIConnectionError(Exception):
        pass

    wrapped = APIConnectionError("Connection error.")
    wrapped.__cause__ = httpx.RemoteProtocolError("Server disconnected without a response.")
    assert classify(wrapped).kind == "connection"
    assert classify(httpx.ReadTimeout("read timed out")).kind == "timeout"


def test_backoff_grows_and_is_capped_and_seeded() -> None:
    import random

    policy = RetryPolicy(base=1.0, max_delay=8.0)
    waits = [policy.backoff(k, random.Random(0)) for k in range(1, 7)]
    assert 0.75 <= waits[0] <= 1.25 and 1.5 <= waits[1] <= 2.5
    assert all(w <= 8.0 * 1.25 for w in waits)
    assert waits == [policy.backoff(k, random.Random(0)) for k in range(1, 7)]
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


# ---------------------------------------------------------------- the pool


def run_pool(
    pool: RequestPool,
    jobs: list[Job[Any]],
    done: Callable[[Job[Any], Any], Any] | None = None,
) -> list[Any]:
    results: list[Any] = []

    def keep(job: Job[Any], result: Any) -> Any:
        results.append(result)
        return done(job, result) if done else None

    asyncio.run(pool.run(jobs, keep))
    return results


def test_concurrency_is_bounded_and_used() -> None:
    async def work(i: int) -> int:
        await asyncio.sleep(0.02)
        return i

    jobs = [Job(f"job {i}", lambda i=i: work(i)) for i in range(24)]
    pool = RequestPool("test", 4, FAST)
    assert sorted(run_pool(pool, jobs)) == list(range(24))
    assert pool.stats.max_in_flight == 4
    assert pool.stats.tries == pool.stats.succeeded == 24


def test_follow_up_jobs_run() -> None:
    async def value(v: int) -> int:
        return v

    def more(job: Job[Any], result: int) -> list[Job[int]]:
        return [Job("follow-up", lambda: value(result + 100))] if result < 100 else []

    results = run_pool(RequestPool("t", 2, FAST), [Job("a", lambda: value(1))], more)
    assert results == [1, 101]


def flaky(failures: list[BaseException], value: str = "ok") -> Callable[[], Any]:
    """A call that raises each of ``failures`` once, in order, then returns ``value``."""
    remaining = list(failures)

    async def call() -> str:
        if remaining:
            raise remaining.pop(0)
        return value

    return call


def test_transient_failures_are_retried() -> None:
    call = flaky([StatusError(500), ConnectionResetError(), asyncio.TimeoutError()])
    pool = RequestPool("t", 1, FAST)
    assert run_pool(pool, [Job("flaky", call)]) == ["ok"]
    assert pool.stats.tries == 4
    assert pool.stats.retries == {"server_error": 1, "connection": 1, "timeout": 1}


def test_a_fatal_error_is_not_retried() -> None:
    pool = RequestPool("t", 1, FAST)
    with pytest.raises(RequestFailedError, match="HTTP 401") as raised:
        run_pool(pool, [Job("bad key", flaky([StatusError(401)]))])
    assert pool.stats.tries == 1
    assert raised.value.failure.tries == 1


def test_retry_after_is_honoured_and_pauses_the_whole_pool() -> None:
    starts: dict[str, list[float]] = {"limited": [], "other": []}

    def timed(name: str, call: Callable[[], Any]) -> Callable[[], Any]:
        async def wrapped() -> Any:
            starts[name].append(asyncio.get_running_loop().time())
            return await call()

        return wrapped

    async def other() -> str:
        return "other"

    limited = timed("limited", flaky([StatusError(429, {"Retry-After": "0.4"})], "limited"))
    pool = RequestPool("t", 1, FAST)  # backoff alone would wait <= 0.0125 s
    # The second job starts only after the first is done (concurrency 1) and after the pause.
    results = run_pool(pool, [Job("limited", limited), Job("other", timed("other", other))])
    assert results == ["limited", "other"]
    first, second = starts["limited"]
    assert second - first >= 0.4
    assert pool.stats.retry_after == [0.4] and pool.stats.retries["rate_limited"] == 1

    # With room for both at once, the 429 also holds back the other job's retry.
    starts = {"limited": [], "other": []}

    async def fails_late() -> str:
        await asyncio.sleep(0.05)
        raise StatusError(500)

    other_call = flaky([], "other")
    attempts = iter([fails_late, other_call])

    async def other_job() -> str:
        return str(await next(attempts)())

    limited = timed("limited", flaky([StatusError(429, {"Retry-After": "0.4"})], "limited"))
    pool = RequestPool("t", 2, FAST)
    run_pool(pool, [Job("limited", limited), Job("other", timed("other", other_job))])
    assert starts["other"][1] - starts["limited"][0] >= 0.4


def test_each_try_is_timed_out() -> None:
    calls = 0

    async def hangs_once() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(30)
        return "done"

    pool = RequestPool("t", 1, RetryPolicy(max_attempts=3, timeout=0.2, base=0.01))
    assert run_pool(pool, [Job("slow", hangs_once)]) == ["done"]
    assert pool.stats.retries["timeout"] == 1


def test_repeated_failure_stops_new_work_keeps_finished_work() -> None:
    async def ok(i: int) -> int:
        await asyncio.sleep(0.05)
        return i

    async def always_down() -> int:
        raise StatusError(503)

    jobs = [Job("down", always_down)] + [Job(f"ok {i}", lambda i=i: ok(i)) for i in range(20)]
    pool = RequestPool("srv", 3, RetryPolicy(max_attempts=3, timeout=1.0, base=0.02))
    kept: list[int] = []
    with pytest.raises(RequestFailedError) as raised:
        asyncio.run(pool.run(jobs, lambda job, result: kept.append(result)))
    error = raised.value
    assert "down failed after 3 tries: HTTP 503" in str(error)
    # Every job that finished was handed over; those never started are counted, none lost.
    assert error.finished == len(kept) > 0
    assert error.finished + error.unsent == 20
    assert sorted(kept) == list(range(len(kept)))


# ---------------------------------------------------------------- keys


def test_the_loop_serves_a_caller_whose_thread_already_runs_one() -> None:
    """A notebook (or Playwright's sync API) runs a loop in the caller's thread; the
    backend's calls must still work there, on the same loop every time."""
    loop = EventLoop()

    async def where() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def notebook_cell() -> list[asyncio.AbstractEventLoop]:
        return [loop.run(where()), loop.run(where())]

    first, second = asyncio.run(notebook_cell())
    assert first is second and first is not asyncio.new_event_loop()
    loop.close()
    loop.close()


def test_keys_come_from_the_environment_and_are_redacted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("RANDBENCH_TEST_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="RANDBENCH_TEST_KEY"):
        api_key("RANDBENCH_TEST_KEY", "openai")
    assert api_key("RANDBENCH_TEST_KEY", "openai", required=False) is None
    secret = "sk-unit-test-0123456789abcdef"
    monkeypatch.setenv("RANDBENCH_TEST_KEY", secret)
    assert api_key("RANDBENCH_TEST_KEY", "openai") == secret
    assert redact(f"Authorization: Bearer {secret}") == "Authorization: Bearer ***"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("some.library").debug("headers: %s", {"authorization": secret})
    assert secret not in caplog.text and "***" in caplog.text
    with pytest.raises(ValueError, match="environment"):
        refuse_secret_args({"api_key": "sk-x"}, "openai", frozenset({"api_key_env"}))
    refuse_secret_args({"api_key_env": "MY_KEY"}, "openai", frozenset({"api_key_env"}))


def test_importing_the_backends_loads_no_engine_or_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys, randbench.harness.backends as b; "
        "assert {'openai', 'anthropic', 'vllm', 'lmeval'} <= set(b.BACKENDS.names()); "
        "heavy = {'openai', 'anthropic', 'vllm', 'lm_eval', 'torch', 'llama_cpp', 'httpx2'}; "
        "loaded = heavy & set(sys.modules); "
        "assert not loaded, f'imported eagerly: {loaded}'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
