"""Tasks x methods x one model -> responses (cached per unit) -> judged runs: the schedule.

Every unit (one call, or one conversation of several calls: see
randbench.harness.methods.base) is stored in the SQLite cache as soon as its last call
returns, keyed by model, task hash, method, sampling settings, seed and unit index: a run
killed at any point resumes where it stopped, and a rerun of the same configuration asks
the model nothing. What a run is lives in :mod:`randbench.harness.runs`, its seeds in
:mod:`~randbench.harness.seeds`, early stopping in :mod:`~randbench.harness.early_stop`
and judging in :mod:`~randbench.harness.judging`; this module only schedules the calls.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field

from randbench.harness.backends.base import Backend, BackendError
from randbench.harness.cache import ResponseCache, RunKey, decode_unit, encode_unit
from randbench.harness.early_stop import Evidence, first_look, stop_cells
from randbench.harness.judging import judge_units
from randbench.harness.methods.base import Method, SamplingMethod, ScoringMethod
from randbench.harness.requests import (
    CandidateScores,
    Completion,
    GenerateRequest,
    Prompt,
    SamplingParams,
)
from randbench.harness.runs import RunConfig, TaskRun, sampling_params, work_units
from randbench.harness.seeds import sample_seed
from randbench.tasks import Task


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
        evidence = Evidence(task, method, cells) if cells is not None else None
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
        run.scores = method.fold(task, scores)
        run.metrics = method.metrics(task, run.scores)
        self.advance(1)
        return run
