"""``oracle``: draws every answer from the task's target exactly — the reference row.

Its answers go through the same formatting, parsing and statistics as a model's,
so over many runs its p-values are uniform: the end-to-end calibration check. It answers
in the form a method's prompt asks for (``GenerateRequest.form``): k i.i.d. draws as a
list, a verbalized distribution stating the target's own probabilities, a tagged answer.
An open-ended task has no distribution: the oracle answers it with texts drawn from the
diversity metrics' reference corpus (randbench.diversity), near their ceiling.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from randbench.diversity import reference_sample
from randbench.harness.backends.base import Backend, Capability, register_backend
from randbench.harness.requests import CandidateScores, Completion, GenerateRequest, ScoreRequest
from randbench.outcomes import Outcome
from randbench.targets import Analysis
from randbench.tasks import Task


def draw(task: Task, rng: np.random.Generator, n: int) -> list[Outcome]:
    """n exact draws from the task's target; reference-corpus texts for an open-ended task."""
    if task.target.analysis is Analysis.OPEN_ENDED:
        return list(reference_sample(rng, n))
    return task.target.sample(rng, n)


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
                    (value,) = draw(task, rng, 1)
                    texts.append(Completion(task.parser.format(value, task.target)))
                else:  # the form the method's prompt asks for, e.g. a list of k answers
                    values = draw(task, rng, request.form.count)
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
                math.log(p) if (p := _probability(probability, c, request)) > 0 else -math.inf
                for c in request.candidates
            )
            out.append(CandidateScores(logprobs=logprobs))
        return out


def _probability(probability: dict[str, float], candidate: str, request: ScoreRequest) -> float:
    """The target's probability of a candidate as a perfect sampler writes it: its canonical
    text, or after a pre-filled lead-in, that text behind one space (`` 4``, never
    `` 4.`` or `` Heads``)."""
    if candidate in probability:
        return probability[candidate]
    if request.prompt.assistant_prefix and candidate.startswith(" "):
        return probability.get(candidate[1:], 0.0)
    return 0.0
