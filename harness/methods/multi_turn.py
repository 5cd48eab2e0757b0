from __future__ import annotations

from pydantic import Field

from randbench.harness.methods._answers import fill, read_one, wraps_misfit
from randbench.harness.methods.base import (
    MethodOptions,
    Reading,
    SamplingMethod,
    register_method,
    task_prompt,
)
from randbench.harness.requests import Message, Prompt
from randbench.tasks import Task

CONTINUE = (
    "Generate an alternative response to the original input prompt.\n"
    "Make it different from your previous response(s) while maintaining quality and relevance."
)


class MultiTurnOptions(MethodOptions):
    k: int = Field(default=5, ge=2, le=50)
    """Turns per conversation (one answer each)."""
    follow_up: str = CONTINUE
    """The user message of every turn after the first."""


@register_method("multi_turn")
class MultiTurn(SamplingMethod):
    """One answer, then "another one", for k turns of one conversation.

    Verbalized Sampling's "Multi-turn" baseline (Zhang et al., 2025, arXiv:2510.01171):
    the first turn is the task's prompt as written; every later turn asks, in the same
    conversation, the authors' ``MULTI_TURN_CONTINUE_PROMPT``
    (github.com/CHATS-lab/verbalized-sampling, verbalized_sampling/prompts/prompt.py).
    A conversation is one cached unit; its k answers are checked for dependence.
    """

    Options = MultiTurnOptions

    def not_applicable(self, task: Task) -> str | None:
        return wraps_misfit(task)

    def answers(self, task: Task) -> int:
        return int(self.options(task).k)

    def next_prompt(self, task: Task, unit: int, replies: tuple[str, ...]) -> Prompt | None:
        if len(replies) >= self.answers(task):
            return None
        follow_up = self.options(task).follow_up
        messages = list(task_prompt(task).messages)
        for reply in replies:
            messages += [Message("assistant", reply), Message("user", follow_up)]
        return Prompt(tuple(messages))

    def read(self, task: Task, unit: int, replies: tuple[str, ...]) -> Reading:
        return Reading(fill([read_one(task, r) for r in replies], self.answers(task)))
