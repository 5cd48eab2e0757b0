"""The base of every backend that talks to a model server over HTTP (``openai``, ``anthropic``).

A subclass says how to make one API call for a group of samples (:meth:`sample_call`) or
for one scoring request (:meth:`score_call`); this base turns requests into jobs, runs them
through one :class:`RequestPool` (concurrency, retries, timeouts, the final error) on one
event loop, and hands every completion to the runner as soon as its call returns.

Model args shared by these backends (none of them changes what the model says, so none
is part of the cache key):

- ``timeout``: seconds per try (default 120);
- ``max_attempts``: tries per request before the run stops with an error (default 8);
- ``retry_base`` / ``retry_max``: the first backoff wait and its cap, seconds (1, 60);
- ``api_key_env``: the environment variable holding the key (default per backend).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from randbench.harness.api.pool import EventLoop, Job, PoolStats, RequestPool
from randbench.harness.api.retry import RetryPolicy
from randbench.harness.api.secrets import refuse_secret_args
from randbench.harness.backends.base import Backend, CompletionSink, ModelSpec
from randbench.harness.requests import CandidateScores, Completion, GenerateRequest, ScoreRequest

T = TypeVar("T")
TRANSPORT_ARGS: dict[str, str] = {
    "timeout": "seconds per try (default 120)",
    "max_attempts": "tries per request before giving up (default 8)",
    "retry_base": "first backoff wait in seconds, doubled per retry (default 1)",
    "retry_max": "longest backoff wait in seconds (default 60)",
    "api_key_env": "environment variable holding the API key",
}


@dataclass
class SampleJob(Job[list[Completion]]):
    """One API call for the samples ``positions`` of request number ``request``."""

    request: int = 0
    positions: tuple[int, ...] = ()


def _number(args: Mapping[str, Any], name: str, default: float, kind: type = float) -> Any:
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"model arg {name}={value!r}: expected a positive number")
    if kind is int and not float(value).is_integer():
        raise ValueError(f"model arg {name}={value!r}: expected a whole number")
    return kind(value)


class ApiBackend(Backend):
    """Subclasses set ``model_args`` (their own args, name -> help) and ``default_key_env``."""

    model_args: ClassVar[dict[str, str]] = {}
    arg_prefixes: ClassVar[tuple[str, ...]] = ()
    """Args named with one of these prefixes are the subclass's own (e.g. ``extra_``)."""
    default_key_env: ClassVar[str] = ""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        args = dict(spec.args)
        refuse_secret_args(args, spec.backend, allowed=frozenset({"api_key_env"}))
        known = {**self.model_args, **TRANSPORT_ARGS}
        unknown = sorted(k for k in args if k not in known and not k.startswith(self.arg_prefixes))
        if unknown:
            listed = "; ".join(f"{k}: {v}" for k, v in known.items())
            raise ValueError(
                f"backend {spec.backend!r}: unknown model arg(s) {', '.join(unknown)}; "
                f"known: {listed}"
            )
        if not spec.name:
            raise ValueError(
                f"backend {spec.backend!r} needs a model name: --model {spec.backend}:NAME"
            )
        self.policy = RetryPolicy(
            max_attempts=_number(args, "max_attempts", 8, int),
            timeout=_number(args, "timeout", 120.0),
            base=_number(args, "retry_base", 1.0),
            max_delay=_number(args, "retry_max", 60.0),
        )
        self.key_env = str(args.get("api_key_env", self.default_key_env))
        self.stats = PoolStats()
        self.client: Any = None
        self._loop = EventLoop()

    def identity(self) -> dict[str, Any]:
        identity = super().identity()
        identity["args"] = {k: v for k, v in identity["args"].items() if k not in TRANSPORT_ARGS}
        return identity

    # -- what a subclass provides ------------------------------------------------------

    @abstractmethod
    def sample_jobs(self, index: int, request: GenerateRequest) -> list[SampleJob]:
        """The calls that produce the samples of one request (use :meth:`sample_job`)."""

    def follow_up(self, job: SampleJob, got: int, request: GenerateRequest) -> list[SampleJob]:
        """Jobs for the samples a call left out (``got`` of ``len(job.positions)``)."""
        raise RuntimeError(
            f"{self.spec.backend}: a call returned {got} of {len(job.positions)} samples"
        )

    def score_call(self, request: ScoreRequest) -> Awaitable[CandidateScores]:
        raise NotImplementedError

    @abstractmethod
    def open_client(self) -> Any:
        """A new async SDK client (with ``close()``); one per :meth:`run`, so that no
        connection outlives the event loop it was opened on."""

    # -- the shared machinery -----------------------------------------------------------

    def pool(self) -> RequestPool:
        return RequestPool(self.spec.backend, self.concurrency, self.policy, self.stats)

    def run(self, jobs: Iterable[Job[T]], done: Callable[[Job[T], T], Any]) -> None:
        """Run jobs through a fresh pool, with ``self.client`` open for their duration."""

        async def session() -> None:
            self.client = self.open_client()
            try:
                await self.pool().run(jobs, done)
            finally:
                await self.client.close()

        self._loop.run(session())

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        out: list[dict[int, Completion]] = [{} for _ in requests]

        def keep(r: int, i: int, completion: Completion) -> None:
            out[r][i] = completion

        self.generate_each(requests, keep)
        return [[found[i] for i in range(len(found))] for found in out]

    def generate_each(self, requests: Sequence[GenerateRequest], sink: CompletionSink) -> None:
        jobs = [job for r, request in enumerate(requests) for job in self.sample_jobs(r, request)]

        def done(job: Job[list[Completion]], completions: list[Completion]) -> Iterable[SampleJob]:
            assert isinstance(job, SampleJob)
            got = min(len(completions), len(job.positions))
            for position, completion in zip(job.positions[:got], completions[:got], strict=True):
                sink(job.request, position, completion)
            if got < len(job.positions):
                return self.follow_up(job, got, requests[job.request])
            return ()

        self.run(jobs, done)

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        results: dict[int, CandidateScores] = {}
        jobs = [
            Job(f"scoring {r.task!r} ({len(r.candidates)} candidates)", self._score_caller(r))
            for r in requests
        ]
        index = {id(job): i for i, job in enumerate(jobs)}

        def done(job: Job[CandidateScores], scores: CandidateScores) -> None:
            results[index[id(job)]] = scores

        self.run(jobs, done)
        return [results[i] for i in range(len(requests))]

    def _score_caller(self, request: ScoreRequest) -> Any:
        return lambda: self.score_call(request)

    @staticmethod
    def sample_job(
        index: int, request: GenerateRequest, positions: Sequence[int], call: Any
    ) -> SampleJob:
        first, last = positions[0], positions[-1]
        span = f"sample {first}" if first == last else f"samples {first}-{last}"
        return SampleJob(f"{request.task!r} {span}", call, index, tuple(positions))
