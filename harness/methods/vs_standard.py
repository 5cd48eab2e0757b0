from __future__ import annotations

from pydantic import Field

from randbench.harness.methods._answers import verbalized_outcomes, wraps_misfit, write_verbalized
from randbench.harness.methods.base import (
    MethodOptions,
    Reading,
    SamplingMethod,
    instructed_prompt,
    register_method,
)
from randbench.harness.requests import AnswerForm, Prompt
from randbench.tasks import Task

INSTRUCTION = (
    "Generate {k} responses to the input prompt. "
    "Randomly sample the responses from the full distribution.\n"
    'Return the responses in JSON format with the key: "responses" (list of dicts). '
    "Each dictionary must include:\n"
    "- text: the response string only (no explanation or extra text).\n"
    "- probability: the estimated probability from 0.0 to 1.0 of this response given the "
    "input prompt (relative to the full distribution).\n"
    "Give ONLY the JSON object, with no explanations or extra text."
)


class VerbalizedOptions(MethodOptions):
    k: int = Field(default=5, ge=1, le=100)
    """Responses per call (Verbalized Sampling uses 5)."""
    instruction: str = INSTRUCTION
    """The system instruction; ``{k}`` is filled in (a replication gives its exact text)."""


@register_method("vs_standard")
class VsStandard(SamplingMethod):
    """k responses with verbalized probabilities, as JSON; both are measured.

    Verbalized Sampling, "VS-Standard" (Zhang et al., 2025, "Verbalized Sampling: How to
    Mitigate Mode Collapse and Unlock LLM Diversity", arXiv:2510.01171, Appendix prompts,
    with the "explicit" probability definition): the instruction is the system message
    and the task's prompt the user message. The sampled texts are the outcomes (invalid
    ones counted); the probabilities the model states are recorded per call and scored
    exactly against the target (``verbalized`` in the result); the k responses of a call
    are checked for dependence.
    """

    Options = VerbalizedOptions

    def not_applicable(self, task: Task) -> str | None:
        return wraps_misfit(task)

    def answers(self, task: Task) -> int:
        return int(self.options(task).k)

    def instruction(self, task: Task) -> str:
        options = self.options(task)
        return str(options.instruction).replace("{k}", str(options.k))

    def prompt(self, task: Task) -> Prompt:
        return instructed_prompt(task, self.instruction(task))

    def read(self, task: Task, unit: int, replies: tuple[str, ...]) -> Reading:
        outcomes, stated = verbalized_outcomes(task, replies[0], self.answers(task))
        return Reading(outcomes, stated=(stated,))

    def form(self, task: Task, call: int) -> AnswerForm:
        return AnswerForm(self.answers(task), lambda values: write_verbalized(task, values))
