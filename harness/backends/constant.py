"""``constant``: the same answer every time — the bottom reference row.

It answers each task with one fixed text: the model argument ``answer`` when given,
otherwise the task's first outcome (the first value of the target's support, or
one draw with a fixed seed where the support cannot be enumerated, or for an open-ended
task the first text of the diversity reference corpus: the floor), written the
way the task's parser writes answers. Asked to score, it puts all its probability
on one candidate: the answer's text when it is a candidate, else the first one.
A constant answer has no randomness at all, which is what the leaderboard's
overall score puts at zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from randbench.diversity import reference_corpus
from randbench.harness.backends.base import Backend, Capability, register_backend
from randbench.harness.requests import CandidateScores, Completion, GenerateRequest, ScoreRequest
from randbench.targets import Analysis
from randbench.tasks import Task

FALLBACK_SEED = 0
"""Seed of the one draw that fixes the answer when the support cannot be enumerated."""


@register_backend("constant")
class ConstantBackend(Backend):
    """Options: ``answer`` (the text of every answer; default: each task's first outcome)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.GENERATE, Capability.SCORE}
    )

    def bind(self, tasks: Sequence[Task]) -> None:
        self.tasks = {t.name: t for t in tasks}

    def answer(self, task_name: str) -> str:
        """The one answer to ``task_name``."""
        if "answer" in self.spec.args:
            return str(self.spec.args["answer"])
        task = getattr(self, "tasks", {}).get(task_name)
        if task is None:
            raise KeyError(f"constant: unknown task {task_name!r} (bind the run's tasks first)")
        return first_answer(task)

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        return [[Completion(self.answer(r.task))] * r.n for r in requests]

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        out = []
        for request in requests:
            answer = self.answer(request.task)
            chosen = request.candidates.index(answer) if answer in request.candidates else 0
            logprobs = tuple(
                0.0 if i == chosen else -math.inf for i in range(len(request.candidates))
            )
            out.append(CandidateScores(logprobs=logprobs))
        return out


def first_answer(task: Task) -> str:
    """The task's first outcome in its parser's canonical text."""
    support = task.target.support()
    if support:
        value = support[0]
    elif task.target.analysis is Analysis.OPEN_ENDED:
        value = reference_corpus()[0]
    else:
        (value,) = task.target.sample(np.random.default_rng(FALLBACK_SEED), 1)
    return task.parser.format(value, task.target)
