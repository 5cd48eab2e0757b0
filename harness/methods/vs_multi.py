from __future__ import annotations

from pydantic import Field

from randbench.harness.methods._answers import (
    verbalized_outcomes,
    wraps_misfit,
    write_verbalized,
)
from randbench.harness.methods.base import (
    MethodOptions,
    Reading,
    SamplingMethod,
    Stated,
    instructed_prompt,
    register_method,
)
from randbench.harness.methods.vs_standard import INSTRUCTION
from randbench.harness.requests import AnswerForm, Message, Prompt
from randbench.outcomes import ParseResult
from randbench.tasks import Task

FOLLOW_UP = "Generate {k} alternative responses to the original input prompt."


class VsMultiOptions(MethodOptions):
    per_turn: int = Field(default=5, ge=1, le=100)
    """Responses per turn."""
    turns: int = Field(default=2, ge=2, le=20)
    """Turns per conversation: ``per_turn * turns`` answers in total."""
    instruction: str = INSTRUCTION
    follow_up: str = FOLLOW_UP


@register_method("vs_multi")
class VsMulti(SamplingMethod):
    """Verbalized Sampling over several turns of one conversation: k in total.

    "VS-Multi" of Zhang et al. (2025), arXiv:2510.01171: the first turn is VS-Standard's
    request (system instruction, the task's prompt), every later turn asks for more
    alternatives in the same conversation. Each turn's probabilities are one stated
    distribution; the conversation is one cached unit and all its answers are checked
    for dependence.
    """

    Options = VsMultiOptions

    def not_applicable(self, task: Task) -> str | None:
        return wraps_misfit(task)

    def answers(self, task: Task) -> int:
        options = self.options(task)
        return int(options.per_turn * options.turns)

    def next_prompt(self, task: Task, unit: int, replies: tuple[str, ...]) -> Prompt | None:
        options = self.options(task)
        if len(replies) >= options.turns:
            return None
        k = str(options.per_turn)
        first = instructed_prompt(task, options.instruction.replace("{k}", k))
        follow_up = options.follow_up.replace("{k}", k)
        messages = list(first.messages)
        for reply in replies:
            messages += [Message("assistant", reply), Message("user", follow_up)]
        return Prompt(tuple(messages))

    def read(self, task: Task, unit: int, replies: tuple[str, ...]) -> Reading:
        options = self.options(task)
        outcomes: list[ParseResult] = []
        stated: list[Stated | None] = []
        for turn in range(options.turns):
            text = replies[turn] if turn < len(replies) else ""
            answers, said = verbalized_outcomes(task, text, options.per_turn)
            outcomes += answers
            stated.append(said)
        return Reading(tuple(outcomes), stated=tuple(stated))

    def form(self, task: Task, call: int) -> AnswerForm:
        k = self.options(task).per_turn
        return AnswerForm(k, lambda values: write_verbalized(task, values))
