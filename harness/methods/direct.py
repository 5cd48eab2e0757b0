from __future__ import annotations

from randbench.answers import read_answer
from randbench.harness.methods.base import (
    MethodOptions,
    SamplingMethod,
    instructed_prompt,
    register_method,
    task_prompt,
)
from randbench.harness.requests import Prompt
from randbench.outcomes import ParseResult
from randbench.tasks import Task


class DirectOptions(MethodOptions):
    system: str | None = None
    """A system instruction before the task's prompt (a replication's exact Direct setup,
    e.g. Verbalized Sampling's "Generate a response to the input prompt. ...")."""


@register_method("direct")
class Direct(SamplingMethod):
    """One answer per sample, the task's prompt as written (Verbalized Sampling's "Direct")."""

    Options = DirectOptions

    def prompt(self, task: Task) -> Prompt:
        system = self.options(task).system
        return instructed_prompt(task, system) if system else task_prompt(task)

    def outcomes(self, task: Task, completion: str) -> list[ParseResult]:
        return [read_answer(task.parser, task.target, completion)]
