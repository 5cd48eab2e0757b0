"""Tasks x methods x one model -> responses (cached per sample) -> outcomes -> metrics.

Every completion is stored in the SQLite cache as soon as its batch returns,
keyed by model, task hash, method, sampling settings, seed and sample index:
a run killed at any point resumes where it stopped, and a rerun of the same
configuration asks the model nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from randbench.harness.backends.base import Backend, BackendError, CompletionSink
from randbench.harness.cache import ResponseCache, RunKey
from randbench.harness.methods.base import Method, SamplingMethod, ScoringMethod
from randbench.harness.requests import (
    CandidateScores,
    Completion,
    GenerateRequest,
    SamplingParams,
)
from randbench.metrics import TaskMetrics, evaluate
from randbench.outcomes import ParseResult
from randbench.tasks import Task

DEFAULT_SAMPLING = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=64)
SEED_BITS = 31
"""Per-sample seeds fit in 31 bits: llama.cpp and several servers take 32-bit seeds."""


@dataclass(frozen=True)
class RunConfig:
    seed: int = 0
    samples: int | None = None
    """Samples per task for every task (default: each task's own ``samples``)."""
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    batch_size: int = 50
    """Samples per backend call; each finished batch is committed to the cache."""
    n_sim: int = 2000


@dataclass(frozen=True)
class SampleRecord:
    index: int
    seed: int | None
    completion: str
    outcomes: tuple[ParseResult, ...]


@dataclass
class TaskRun:
    task: Task
    method: str
    sampling: SamplingParams | None = None
    metrics: TaskMetrics | None = None
    skipped: str | None = None
    samples: list[SampleRecord] = field(default_factory=list)
    scores: CandidateScores | None = None
    model_calls: int = 0


def sampling_params(task: Task, config: RunConfig) -> SamplingParams:
    """The command line wins over the task's own settings, which win over the defaults."""
    task_gen = task.generation

    def pick(cli: float | None, task_value: float | None, default: float) -> float:
        return cli if cli is not None else task_value if task_value is not None else default

    return SamplingParams(
        temperature=pick(config.temperature, task_gen.temperature, DEFAULT_SAMPLING.temperature),
        top_p=pick(config.top_p, task_gen.top_p, DEFAULT_SAMPLING.top_p),
        max_tokens=int(pick(config.max_tokens, task_gen.max_tokens, DEFAULT_SAMPLING.max_tokens)),
    )


def sample_seed(run_seed: int, task_hash: str, method: str, index: int) -> int:
    """A distinct, reproducible seed for every sample (a seed-honouring server must not
    return the same answer N times)."""
    digest = hashlib.sha256(f"{run_seed}:{task_hash}:{method}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (1 << SEED_BITS)


def judge_completions(
    run: TaskRun,
    method: SamplingMethod,
    completions: Sequence[str],
    seeds: Sequence[int | None],
    config: RunConfig,
) -> None:
    """Parse every completion into outcomes and score them: the one path from text to metrics,
    shared by ``randbench run`` and ``randbench score`` (generations made elsewhere)."""
    run.samples = [
        SampleRecord(i, seed, text, tuple(method.outcomes(run.task, text)))
        for i, (text, seed) in enumerate(zip(completions, seeds, strict=True))
    ]
    outcomes = [o for s in run.samples for o in s.outcomes]
    rng = np.random.default_rng([config.seed, int(run.task.hash[:8], 16)])
    run.metrics = evaluate(run.task.target, outcomes, rng=rng, n_sim=config.n_sim)


class Runner:
    def __init__(
        self,
        backend: Backend,
        cache: ResponseCache,
        config: RunConfig,
        advance: Callable[[int], None] = lambda _: None,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.config = config
        self.advance = advance

    def check(self, methods: Sequence[Method]) -> None:
        """Refuse, before any work, a method the backend cannot serve."""
        for method in methods:
            self.backend.require(method.capability, f"method {method.name!r}")

    def run(self, tasks: Sequence[Task], methods: Sequence[Method]) -> list[TaskRun]:
        self.check(methods)
        self.backend.bind(tasks)
        return [self.run_one(task, method) for task in tasks for method in methods]

    def run_one(self, task: Task, method: Method) -> TaskRun:
        reason = method.not_applicable(task)
        if reason is not None:
            self.advance(self.work(task, method))
            return TaskRun(task, method.name, skipped=reason)
        if isinstance(method, ScoringMethod):
            return self._score(task, method)
        if isinstance(method, SamplingMethod):
            return self._sample(task, method)
        raise TypeError(f"method {method.name!r} is neither a sampling nor a scoring method")

    def work(self, task: Task, method: Method) -> int:
        """Progress units: samples for a sampling method, one for a scoring method."""
        if isinstance(method, ScoringMethod):
            return 1
        return self.config.samples or task.samples

    def _key(self, task: Task, method: Method, sampling: dict[str, object]) -> str:
        return RunKey(
            model=self.backend.identity(),
            task_hash=task.hash,
            method=method.name,
            sampling=sampling,
            seed=self.config.seed,
        ).digest()

    def _sample(self, task: Task, method: SamplingMethod) -> TaskRun:
        params = sampling_params(task, self.config)
        run = TaskRun(task, method.name, sampling=params)
        key = self._key(task, method, vars(params))
        n = self.work(task, method)
        seeds = [sample_seed(self.config.seed, task.hash, method.name, i) for i in range(n)]
        completions: dict[int, str] = self.cache.get_many(key, range(n))
        self.advance(len(completions))
        missing = [i for i in range(n) if i not in completions]
        prompt = method.prompt(task)
        for start in range(0, len(missing), self.config.batch_size):
            batch = missing[start : start + self.config.batch_size]
            request = GenerateRequest(task.name, prompt, params, tuple(seeds[i] for i in batch))
            fresh: dict[int, str] = {}
            try:
                self.backend.generate_each([request], self._keeper(batch, fresh))
            finally:  # a failure part-way keeps every sample that finished
                self.cache.put_many(key, fresh)
                completions.update(fresh)
            run.model_calls += 1
            if len(fresh) != len(batch):
                raise BackendError(
                    f"backend returned {len(fresh)} of {len(batch)} samples for {task.name}"
                )
        judge_completions(run, method, [completions[i] for i in range(n)], seeds, self.config)
        return run

    def _keeper(self, batch: list[int], fresh: dict[int, str]) -> CompletionSink:
        """Completions of one batch, by sample index, as the backend hands them over."""

        def keep(_: int, position: int, reply: Completion) -> None:
            fresh[batch[position]] = reply.text
            self.advance(1)

        return keep

    def _score(self, task: Task, method: ScoringMethod) -> TaskRun:
        run = TaskRun(task, method.name)
        request = method.request(task)
        key = self._key(task, method, {"candidates": list(request.candidates)})
        cached = self.cache.get_many(key, [0])
        if 0 in cached:
            entry = cached[0]
            scores = CandidateScores(
                tuple(entry["logprobs"]), entry["exact"], entry["note"], entry.get("details", {})
            )
        else:
            (scores,) = self.backend.score([request])
            run.model_calls += 1
            self.cache.put_many(
                key,
                {
                    0: {
                        "logprobs": list(scores.logprobs),
                        "exact": scores.exact,
                        "note": scores.note,
                        "details": dict(scores.details),
                    }
                },
            )
        run.scores = scores
        run.metrics = method.metrics(task, scores)
        self.advance(1)
        return run
