from __future__ import annotations

from pydantic import Field

from randbench.harness.methods._answers import list_outcomes, wraps_misfit, write_list
from randbench.harness.methods.base import (
    MethodOptions,
    SamplingMethod,
    instructed_prompt,
    register_method,
)
from randbench.harness.requests import AnswerForm, Prompt
from randbench.outcomes import ParseResult
from randbench.tasks import Task

INSTRUCTION = (
    "Generate {k} different responses to the input prompt. "
    "Try to be as creative and diverse as possible.\n"
    'Give your responses in a Python list of strings format like: ["response1", '
    '"response2", "response3", ...]\n'
    "Output the list, no explanations or extra text."
)


class SequenceOptions(MethodOptions):
    k: int = Field(default=5, ge=1, le=100)
    """Answers per call (Verbalized Sampling uses 5)."""
    instruction: str = INSTRUCTION
    """The system instruction; ``{k}`` is filled in."""


@register_method("sequence")
class Sequence(SamplingMethod):
    """k answers in one response, as a list; every element is read by the task's parser.

    Verbalized Sampling's "Sequence" baseline (Zhang et al., 2025, "Verbalized Sampling: How
    to Mitigate Mode Collapse and Unlock LLM Diversity", arXiv:2510.01171, Section 3 and
    Appendix prompts). The instruction is the authors' ``STANDARD_PROMPT`` followed by
    ``SEQUENCE_FORMAT_PROMPT`` (github.com/CHATS-lab/verbalized-sampling,
    verbalized_sampling/prompts/prompt.py), sent as the system message with the task's
    prompt as the user message, as their ``PromptFactory.pack_prompt`` does. The answers of
    one call are not independent: the run reports within-call dependence.
    """

    Options = SequenceOptions

    def not_applicable(self, task: Task) -> str | None:
        return wraps_misfit(task)

    def answers(self, task: Task) -> int:
        return int(self.options(task).k)

    def prompt(self, task: Task) -> Prompt:
        options = self.options(task)
        return instructed_prompt(task, options.instruction.replace("{k}", str(options.k)))

    def outcomes(self, task: Task, completion: str) -> list[ParseResult]:
        """Every answer of the list, however many: ``k`` is what was asked for, and a call
        that gave another count is counted (``dependence.calls_of_other_length``)."""
        return list(list_outcomes(task, completion, self.answers(task), keep_extra=True))

    def form(self, task: Task, call: int) -> AnswerForm:
        return AnswerForm(self.answers(task), lambda values: write_list(task, values))
