"""Requests to a model server, ``concurrency`` at a time, each retried by one policy.

The pool is the one place (not one per backend) that does bounded concurrency, retries
with backoff, Retry-After, per-try timeouts and the final error. Results are handed to a
callback the moment each request finishes, so the runner stores every finished sample in
its cache as it arrives: when a request fails for good, the pool stops sending new ones,
lets those in flight finish (their results are kept too), then raises
:class:`RequestFailedError` — and the next run resumes from the cache.

A 429 pauses the whole pool, not only the request that got it: the limit is the server's,
shared by every request in flight.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from randbench.harness.api.retry import RetryPolicy, Verdict, classify
from randbench.harness.api.secrets import redact
from randbench.harness.errors import BackendError

T = TypeVar("T")
log = logging.getLogger("randbench.api")


@dataclass
class Job(Generic[T]):
    """One request: ``call`` makes one try of it (a fresh coroutine each time)."""

    label: str
    call: Callable[[], Awaitable[T]]


@dataclass
class PoolStats:
    """What the pool did, summed over its runs (for logs, tests and ``randbench bench``)."""

    tries: int = 0
    succeeded: int = 0
    failed: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    """Retried tries by kind: rate_limited, server_error, timeout, connection."""
    retry_after: list[float] = field(default_factory=list)
    """Every Retry-After a server asked for, in seconds."""
    waited: float = 0.0
    """Seconds spent waiting before retries."""
    max_in_flight: int = 0


class JobFailedError(Exception):
    def __init__(self, label: str, tries: int, verdict: Verdict) -> None:
        super().__init__(f"{label}: {verdict.reason}")
        self.label = label
        self.tries = tries
        self.verdict = verdict


class RequestFailedError(BackendError):
    """A request failed for good. Every request that finished was handed over before this
    was raised (so the runner has cached their samples)."""

    def __init__(self, name: str, failure: JobFailedError, finished: int, unsent: int) -> None:
        self.failure = failure
        self.finished = finished
        self.unsent = unsent
        tries = "try" if failure.tries == 1 else "tries"
        super().__init__(
            redact(
                f"{name}: {failure.label} failed after {failure.tries} {tries}: "
                f"{failure.verdict.reason}; {finished} request(s) of this batch finished and "
                f"were kept, {unsent} not sent"
            )
        )


class RequestPool:
    def __init__(
        self,
        name: str,
        concurrency: int,
        policy: RetryPolicy,
        stats: PoolStats | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.name = name
        self.concurrency = concurrency
        self.policy = policy
        self.stats = stats if stats is not None else PoolStats()
        self._rng = random.Random(policy.seed)
        self._resume_at = 0.0
        self._in_flight = 0

    async def run(
        self,
        jobs: Iterable[Job[T]],
        done: Callable[[Job[T], T], Iterable[Job[T]] | None],
    ) -> None:
        """Run every job; ``done(job, result)`` gets each result as it comes and may return
        follow-up jobs (e.g. the samples a server left out). Raises
        :class:`RequestFailedError` after the jobs in flight have finished, if one failed."""
        pending: deque[Job[T]] = deque(jobs)
        running: dict[asyncio.Task[T], Job[T]] = {}
        failure: JobFailedError | None = None
        finished = 0
        try:
            while pending or running:
                while pending and failure is None and len(running) < self.concurrency:
                    job = pending.popleft()
                    running[asyncio.ensure_future(self._tries(job))] = job
                if not running:
                    break
                completed, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in completed:
                    job = running.pop(task)
                    try:
                        result = task.result()
                    except JobFailedError as failed:
                        failure = failure or failed
                        self.stats.failed += 1
                        continue
                    finished += 1
                    pending.extend(done(job, result) or ())
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        if failure is not None:
            raise RequestFailedError(self.name, failure, finished, len(pending))

    async def _tries(self, job: Job[T]) -> T:
        loop = asyncio.get_running_loop()
        for attempt in range(1, self.policy.max_attempts + 1):
            pause = self._resume_at - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            self.stats.tries += 1
            self._in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
            try:
                result = await asyncio.wait_for(job.call(), self.policy.timeout)
            except Exception as error:
                verdict = classify(error)
                if not verdict.retry or attempt == self.policy.max_attempts:
                    raise JobFailedError(job.label, attempt, verdict) from error
                await self._wait(job, attempt, verdict)
                continue
            finally:
                self._in_flight -= 1
            self.stats.succeeded += 1
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait(self, job: Job[Any], attempt: int, verdict: Verdict) -> None:
        delay = self.policy.delay(attempt, verdict, self._rng)
        self.stats.retries[verdict.kind] += 1
        if verdict.retry_after is not None:
            self.stats.retry_after.append(verdict.retry_after)
        if verdict.kind == "rate_limited":
            loop = asyncio.get_running_loop()
            self._resume_at = max(self._resume_at, loop.time() + delay)
        self.stats.waited += delay
        log.info(
            "%s: %s: %s; try %d of %d in %.2fs",
            self.name, job.label, verdict.reason, attempt + 1, self.policy.max_attempts, delay,
        )  # fmt: skip
        await asyncio.sleep(delay)


class EventLoop:
    """One event loop per backend, reused by every call, so that an SDK's async client and
    its connection pool (bound to the loop that first used them) stay usable.

    The loop runs in a thread of its own: a caller whose thread already runs a loop (a
    Jupyter notebook, Playwright's sync API) could not run another there ("Cannot run the
    event loop while another loop is running")."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="randbench-api-loop", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:  # Ctrl-C while waiting: the requests in flight stop too
            future.cancel()
            raise

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
