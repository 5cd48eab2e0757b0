from __future__ import annotations

from pydantic import Field

from randbench.harness.methods._answers import read_one, wraps_misfit
from randbench.harness.methods.base import (
    MethodOptions,
    Reading,
    SamplingMethod,
    register_method,
    task_prompt,
)
from randbench.harness.requests import Message, Prompt
from randbench.tasks import Task

TEMPLATE = "{prompt}\n\nUse this random seed to make your choice: {seed}"
SEED_SPACE = 900_000
"""Prompt seeds are six-digit numbers, distinct for the first SEED_SPACE units."""
SEED_STRIDE = 7919
"""A prime coprime to SEED_SPACE: ``unit * stride mod space`` never repeats a seed."""


class SeededOptions(MethodOptions):
    template: str = TEMPLATE
    """The user message: ``{prompt}`` is the task's prompt, ``{seed}`` the unit's seed."""
    replicate_every: int = Field(default=4, ge=1)
    """Every this many units, the same seeded prompt is asked again in a fresh context."""


def prompt_seed(unit: int) -> int:
    """The seed written into unit ``unit``'s prompt: distinct per unit, six digits."""
    return 100_000 + (unit * SEED_STRIDE) % SEED_SPACE


@register_method("seeded")
class Seeded(SamplingMethod):
    """A seed in the prompt, distinct per sample; some prompts are asked twice.

    The folk remedy of writing a seed into the prompt; no published wording, so the
    template is this harness's own. Every unit's answer counts in the marginal. Every
    ``replicate_every``-th unit asks its seeded prompt a second time, in a fresh context
    with a different sampling seed: ``reproducibility`` in the result is how often the
    two answers agree, beside the agreement of independent draws from the target and from
    the model's own marginal (what ignoring the seed gives).
    """

    Options = SeededOptions

    def not_applicable(self, task: Task) -> str | None:
        return wraps_misfit(task)

    def seeded_prompt(self, task: Task, unit: int) -> Prompt:
        base = task_prompt(task)
        template = self.options(task).template
        text = template.replace("{prompt}", task.prompt).replace("{seed}", str(prompt_seed(unit)))
        return Prompt((*base.messages[:-1], Message("user", text)))

    def next_prompt(self, task: Task, unit: int, replies: tuple[str, ...]) -> Prompt | None:
        calls = 2 if unit % self.options(task).replicate_every == 0 else 1
        return None if len(replies) >= calls else self.seeded_prompt(task, unit)

    def read(self, task: Task, unit: int, replies: tuple[str, ...]) -> Reading:
        first = read_one(task, replies[0])
        replicate = read_one(task, replies[1]) if len(replies) > 1 else None
        return Reading((first,), replicate=replicate)
