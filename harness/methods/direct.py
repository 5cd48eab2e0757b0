from __future__ import annotations

from randbench.answers import read_answer
from randbench.harness.methods.base import SamplingMethod, register_method, task_prompt
from randbench.harness.requests import Prompt
from randbench.outcomes import ParseResult
from randbench.tasks import Task


@register_method("direct")
class Direct(SamplingMethod):
    """One answer per sample, the task's prompt as written (Verbalized Sampling's "Direct")."""

    def prompt(self, task: Task) -> Prompt:
        return task_prompt(task)

    def outcomes(self, task: Task, completion: str) -> list[ParseResult]:
        return [read_answer(task.parser, task.target, completion)]
