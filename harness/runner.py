"""Tasks x methods x one model -> responses (cached per sample) -> outcomes -> metrics.

Every unit (one call, or one conversation of several calls: see
randbench.harness.methods.base) is stored in the SQLite cache as soon as its last call
returns, keyed by model, task hash, method, sampling settings, seed and unit index: a run
killed at any point resumes where it stopped, and a rerun of the same configuration asks
the model nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field

import numpy as np

from randbench.dependence import reproducibility, stated_distribution, within_call
from randbench.harness.backends.base import Backend, BackendError
from randbench.harness.cache import ResponseCache, RunKey
from randbench.harness.methods.base import Method, Reading, SamplingMethod, ScoringMethod
from randbench.harness.requests import (
    CandidateScores,
    Completion,
    GenerateRequest,
    Prompt,
    SamplingParams,
)
from randbench.metrics import TaskMetrics, evaluate
from randbench.outcomes import Outcome, ParseResult
from randbench.stopping import Cells, log_evidence, target_cells
from randbench.tasks import Task

DEFAULT_SAMPLING = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=64)
DEFAULT_STOP_ALPHA = 0.001
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
    stop_alpha: float | None = DEFAULT_STOP_ALPHA
    """Stop sampling a task once the anytime-valid evidence that the model is no perfect
    sampler reaches 1/stop_alpha (:mod:`randbench.stopping`); None samples every task fully."""
    min_samples: int = 50
    """Answers a task gets before it may stop early."""
    tasks_in_flight: int = 8
    """Tasks whose next batch goes to the backend in one call (a local backend decodes
    their samples side by side; an API backend has more requests to keep in flight)."""


@dataclass(frozen=True)
class SampleRecord:
    """One unit: its first call's seed, its replies (one per call) and what they say."""

    index: int
    seed: int | None
    completion: str
    outcomes: tuple[ParseResult, ...]
    replies: tuple[str, ...] = ()
    reading: Reading | None = None


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
    stopped: StopRecord | None = None


@dataclass(frozen=True)
class StopRecord:
    """Why sampling a task ended before its planned units."""

    units: int
    planned: int
    log_evidence: float
    alpha: float
    cells: str


def stop_cells(task: Task, config: RunConfig) -> Cells | None:
    """The cells early stopping judges a task on, or None when the task cannot stop early."""
    if config.stop_alpha is None or not task.stop_early:
        return None
    return target_cells(task.target)


def first_look(task: Task, config: RunConfig, units: int | None = None) -> int:
    """Units a task takes before it can first stop early (all of them if it cannot);
    ``units``: its planned units (default: its samples)."""
    planned = task.samples if units is None else units
    if stop_cells(task, config) is None:
        return planned
    batches = math.ceil(config.min_samples / config.batch_size)
    return min(planned, batches * config.batch_size)


@dataclass
class _Evidence:
    """A task's answers so far, each unit read once, in index order; checked at batch
    boundaries (a fixed schedule, so a resumed run stops where an uninterrupted one does)."""

    task: Task
    method: SamplingMethod
    cells: Cells
    outcomes: list[ParseResult] = field(default_factory=list)
    read: int = 0

    def conclusive(
        self, units: dict[int, tuple[str, ...]], done: int, planned: int, config: RunConfig
    ) -> StopRecord | None:
        """Whether units 0..done-1 are conclusive evidence against the perfect sampler."""
        assert config.stop_alpha is not None
        for i in range(self.read, done):
            self.outcomes.extend(self.method.read(self.task, i, units[i]).outcomes)
        self.read = done
        if len(self.outcomes) < config.min_samples:
            return None
        evidence = log_evidence(self.cells, self.outcomes)
        if evidence < math.log(1 / config.stop_alpha):
            return None
        return StopRecord(done, planned, evidence, config.stop_alpha, self.cells.description)


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


def sample_seed(run_seed: int, task_hash: str, method: str, index: int, call: int = 0) -> int:
    """A distinct, reproducible seed for every call of every unit (a seed-honouring server
    must not return the same answer N times). The first call of a unit keeps the seed it
    had before units had several calls, so existing caches stay valid."""
    text = f"{run_seed}:{task_hash}:{method}:{index}" + (f":{call}" if call else "")
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (1 << SEED_BITS)


def judge_units(
    run: TaskRun,
    method: SamplingMethod,
    units: Sequence[tuple[str, ...]],
    seeds: Sequence[int | None],
    config: RunConfig,
) -> None:
    """Read every unit into outcomes and score them: the one path from text to metrics,
    shared by ``randbench run`` and ``randbench score`` (generations made elsewhere)."""
    readings = [method.read(run.task, i, replies) for i, replies in enumerate(units)]
    run.samples = [
        SampleRecord(i, seed, method.display(replies), reading.outcomes, replies, reading)
        for i, (replies, seed, reading) in enumerate(zip(units, seeds, readings, strict=True))
    ]
    outcomes = [o for s in run.samples for o in s.outcomes]
    rng = np.random.default_rng([config.seed, int(run.task.hash[:8], 16)])
    run.metrics = evaluate(run.task.target, outcomes, rng=rng, n_sim=config.n_sim)
    measure_units(run.metrics, run.task, method, readings, rng, config.n_sim)


def measure_units(
    metrics: TaskMetrics,
    task: Task,
    method: SamplingMethod,
    readings: Sequence[Reading],
    rng: np.random.Generator,
    n_sim: int,
) -> None:
    """What units say beyond their marginal: dependence between the answers of one unit,
    stated distributions, and seeded replicates (each only where the method gives it)."""
    if method.answers(task) > 1:
        calls = [[_value(o) for o in r.outcomes] for r in readings]
        metrics.dependence = within_call(
            task.target, calls, method.answers(task), rng=rng, n_sim=n_sim
        )
    stated = [s for r in readings for s in r.stated if s is not None]
    if any(r.stated for r in readings):
        metrics.verbalized = stated_distribution(task.target, stated)
    pairs = [(_value(r.outcomes[0]), _value(r.replicate)) for r in readings if r.replicate]
    if pairs:
        marginal = [o.value for r in readings for o in r.outcomes if _value(o) is not None]
        metrics.reproducibility = reproducibility(
            task.target, pairs, [v for v in marginal if v is not None]
        )


def _value(result: ParseResult | None) -> Outcome | None:
    return result.value if result is not None and result.valid else None


def judge_completions(
    run: TaskRun,
    method: SamplingMethod,
    completions: Sequence[str],
    seeds: Sequence[int | None],
    config: RunConfig,
) -> None:
    """:func:`judge_units` for single-call units (one completion each)."""
    judge_units(run, method, [(text,) for text in completions], seeds, config)


def encode_unit(replies: tuple[str, ...]) -> str | list[str]:
    """A unit as the cache stores it: a single call's text as it always was, else a list."""
    return replies[0] if len(replies) == 1 else list(replies)


def decode_unit(stored: object) -> tuple[str, ...]:
    if isinstance(stored, str):
        return (stored,)
    if isinstance(stored, list) and all(isinstance(t, str) for t in stored):
        return tuple(stored)
    raise ValueError(f"cache entry is not a unit of replies: {stored!r:.80}")


@dataclass
class _Round:
    """One round of calls of one task: its requests, the units each request's samples belong
    to, and the replies by unit as the backend hands them over."""

    requests: list[GenerateRequest] = field(default_factory=list)
    owners: list[list[int]] = field(default_factory=list)
    fresh: dict[int, str] = field(default_factory=dict)


_Sampling = Generator[_Round, None, TaskRun]
"""A sampling task in progress: it yields each round of calls and ends with its run."""


def _advance(
    index: int,
    job: _Sampling,
    runs: dict[int, TaskRun],
    active: dict[int, tuple[_Sampling, _Round]],
) -> None:
    """Advance ``job`` to its next round (into ``active``) or to its end (into ``runs``)."""
    try:
        active[index] = (job, next(job))
    except StopIteration as done:
        active.pop(index, None)
        runs[index] = done.value


def work_units(task: Task, method: Method, config: RunConfig) -> int:
    """Progress units: the units of a sampling method, one for a scoring method."""
    if isinstance(method, SamplingMethod):
        return method.units(task, config.samples or task.samples)
    return 1


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
        for method in methods:
            refusal = method.refusal(tasks)
            if refusal is not None:
                raise ValueError(refusal)
        for task in tasks:  # a task's settings for a method are checked before any work
            for method in methods:
                method.options(task)
        self.backend.bind(tasks)
        return self._drive([(task, method) for task in tasks for method in methods])

    def _drive(self, jobs: Sequence[tuple[Task, Method]]) -> list[TaskRun]:
        """Run ``jobs``, those sure to ask the most batches first (:meth:`_sure_batches`; the runs
        come back in the order of ``jobs``), the next round of up to ``tasks_in_flight``
        sampling jobs in one backend call. A job's own batches stay in order, each asked
        after the one before it was judged, so early stopping ends a task where it would
        have alone."""
        runs: dict[int, TaskRun] = {}
        queue = deque(sorted(enumerate(jobs), key=lambda job: -self._sure_batches(*job[1])))
        active: dict[int, tuple[_Sampling, _Round]] = {}
        while queue or active:
            while queue and len(active) < max(1, self.config.tasks_in_flight):
                index, (task, method) = queue.popleft()
                job = self._start(task, method)
                if isinstance(job, TaskRun):
                    runs[index] = job
                else:
                    _advance(index, job, runs, active)
            if active:
                self._call(active, runs)
        return [runs[i] for i in range(len(jobs))]

    def _sure_batches(self, task: Task, method: Method) -> int:
        """The batches a job is sure to ask, those before its first look. Jobs sure to ask
        more start first, so that a long one (``vs_dice``: 600 samples that cannot stop
        early, 12 batches) runs beside the others instead of alone at the end, one batch per
        backend call (50 samples in flight where 255 fit: the last 2-3 minutes of the main
        job)."""
        units = first_look(task, self.config, self.work(task, method))
        return max(1, math.ceil(units / self.config.batch_size))

    def _start(self, task: Task, method: Method) -> TaskRun | _Sampling:
        reason = method.not_applicable(task)
        if reason is not None:
            self.advance(self.work(task, method))
            return TaskRun(task, method.name, skipped=reason)
        if isinstance(method, ScoringMethod):
            return self._score(task, method)
        if isinstance(method, SamplingMethod):
            return self._sample(task, method)
        raise TypeError(f"method {method.name!r} is neither a sampling nor a scoring method")

    def _call(self, active: dict[int, tuple[_Sampling, _Round]], runs: dict[int, TaskRun]) -> None:
        """One backend call for the current round of every active job. A failure, in the call
        or in a job that got too few samples, ends every job (each keeps the units that
        finished) and is raised."""
        rounds = list(active.items())
        requests = [request for _, (_, round_) in rounds for request in round_.requests]
        owners = [(round_, i) for _, (_, round_) in rounds for i in range(len(round_.requests))]

        def keep(request: int, position: int, reply: Completion) -> None:
            round_, local = owners[request]
            round_.fresh[round_.owners[local][position]] = reply.text

        try:
            self.backend.generate_each(requests, keep)
        except BaseException:
            for _, (job, _) in rounds:
                job.close()
            raise
        failure: BaseException | None = None
        for index, (job, _) in rounds:
            try:
                _advance(index, job, runs, active)
            except BaseException as error:  # a job the backend gave too few samples
                active.pop(index, None)
                failure = failure or error
        if failure is not None:
            for job, _ in active.values():
                job.close()
            raise failure

    def work(self, task: Task, method: Method) -> int:
        return work_units(task, method, self.config)

    def _key(self, task: Task, method: Method, sampling: dict[str, object]) -> str:
        return RunKey(
            model=self.backend.identity(),
            task_hash=task.hash,
            method=method.name,
            sampling=sampling,
            seed=self.config.seed,
        ).digest()

    def _sample(self, task: Task, method: SamplingMethod) -> _Sampling:
        params = sampling_params(task, self.config)
        run = TaskRun(task, method.name, sampling=params)
        key = self._key(task, method, vars(params))
        n = self.work(task, method)
        stored = self.cache.get_many(key, range(n))
        units: dict[int, tuple[str, ...]] = {i: decode_unit(v) for i, v in stored.items()}
        self.advance(len(units))
        cells = stop_cells(task, self.config)
        evidence = _Evidence(task, method, cells) if cells is not None else None
        done = 0
        for start in range(0, n, self.config.batch_size):
            done = min(start + self.config.batch_size, n)
            todo = [i for i in range(start, done) if i not in units]
            if todo:
                yield from self._converse(run, method, key, params, todo, units)
            if evidence is not None and done < n:
                run.stopped = evidence.conclusive(units, done, n, self.config)
                if run.stopped is not None:
                    self.advance(sum(1 for i in range(done, n) if i not in units))
                    break
        seeds = [self._seed(task, method, i, 0) for i in range(done)]
        judge_units(run, method, [units[i] for i in range(done)], seeds, self.config)
        return run

    def _seed(self, task: Task, method: Method, unit: int, call: int) -> int:
        return sample_seed(self.config.seed, task.hash, method.name, unit, call)

    def _converse(
        self,
        run: TaskRun,
        method: SamplingMethod,
        key: str,
        params: SamplingParams,
        batch: list[int],
        done: dict[int, tuple[str, ...]],
    ) -> Generator[_Round, None, None]:
        """Ask every call of the units in ``batch``, one round of calls at a time (each round
        is yielded to the driver, which asks the backend); each unit goes to the cache the
        moment its last call returns, so a kill loses only units in flight and a resumed run
        asks them again from their first call."""
        task = run.task
        replies: dict[int, tuple[str, ...]] = dict.fromkeys(batch, ())
        asking = self._next_round(task, method, replies)
        while asking:
            groups: dict[Prompt, list[int]] = {}
            for unit, prompt in asking.items():
                groups.setdefault(prompt, []).append(unit)
            round_ = _Round()
            for prompt, members in groups.items():
                call = len(replies[members[0]])
                seeds = tuple(self._seed(task, method, u, len(replies[u])) for u in members)
                form = method.form(task, call)
                round_.requests.append(GenerateRequest(task.name, prompt, params, seeds, form))
                round_.owners.append(members)
            fresh = round_.fresh
            try:
                yield round_
            finally:  # a failure part-way keeps every unit that finished
                for unit, text in fresh.items():
                    replies[unit] = (*replies[unit], text)
                asking = self._next_round(task, method, {u: replies[u] for u in asking})
                finished = {u: replies[u] for u in fresh if u not in asking}
                self.cache.put_many(key, {u: encode_unit(r) for u, r in finished.items()})
                done.update(finished)
                self.advance(len(finished))
            run.model_calls += 1
            expected = sum(len(m) for m in round_.owners)
            if len(fresh) != expected:
                raise BackendError(
                    f"backend returned {len(fresh)} of {expected} samples for {task.name}"
                )

    @staticmethod
    def _next_round(
        task: Task, method: SamplingMethod, replies: dict[int, tuple[str, ...]]
    ) -> dict[int, Prompt]:
        """The next call of every unit that is not complete."""
        asking = {}
        for unit, so_far in replies.items():
            prompt = method.next_prompt(task, unit, so_far)
            if prompt is not None:
                asking[unit] = prompt
        return asking

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
