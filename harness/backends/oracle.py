"""``oracle``: draws every answer from the task's target exactly — the reference row.

Its answers go through the same formatting, parsing and statistics as a model's,
so over many runs its p-values are uniform: the end-to-end calibration check. It answers
in the form a method's prompt asks for (``GenerateRequest.form``): k i.i.d. draws as a
list, a verbalized distribution stating the target's own probabilities, a tagged answer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from randbench.harness.backends.base import Backend, Capability, register_backend
from randbench.harness.requests import CandidateScores, Completion, GenerateRequest, ScoreRequest
from randbench.tasks import Task


@register_backend("oracle")
class OracleBackend(Backend):
    """Options: ``delay`` (seconds per sample, to exercise progress and resume)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.GENERATE, Capability.SCORE}
    )

    def bind(self, tasks: Sequence[Task]) -> None:
        self.tasks = {t.name: t for t in tasks}

    def _task(self, name: str) -> Task:
        if name not in getattr(self, "tasks", {}):
            raise KeyError(f"oracle: unknown task {name!r} (bind the run's tasks first)")
        return self.tasks[name]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        delay = float(self.spec.args.get("delay", 0.0))
        out = []
        for request in requests:
            task = self._task(request.task)
            texts = []
            for seed in request.seeds:
                rng = np.random.default_rng(seed)
                if request.form is None:
                    (value,) = task.target.sample(rng, 1)
                    texts.append(Completion(task.parser.format(value, task.target)))
                else:  # the form the method's prompt asks for, e.g. a list of k answers
                    values = task.target.sample(rng, request.form.count)
                    texts.append(Completion(request.form.write(values)))
                if delay:
                    time.sleep(delay)
            out.append(texts)
        return out

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        out = []
        for request in requests:
            task = self._task(request.task)
            support = task.target.support() or []
            written = task.scored_answer.write
            probability = {
                written(task.parser.format(v, task.target)): float(p)
                for v, p in zip(support, task.target.probabilities(), strict=True)
            }
            logprobs = tuple(
                math.log(probability[c]) if probability.get(c, 0.0) > 0 else -math.inf
                for c in request.candidates
            )
            out.append(CandidateScores(logprobs=logprobs))
        return out
