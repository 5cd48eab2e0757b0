from __future__ import annotations

from randbench.harness.methods._answers import last_tag, read_one, wraps_misfit
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
    "First generate a random string of characters. Then manipulate that string (for example "
    "by counting, summing or mapping its characters) to derive your answer, so that your "
    "answer follows the distribution the request asks for.\n"
    "Write the random string inside <random_string></random_string> tags, how you derive "
    "the answer from it inside <thinking></thinking> tags, and only the final answer inside "
    "<answer></answer> tags."
)


class SsotOptions(MethodOptions):
    instruction: str = INSTRUCTION


@register_method("ssot")
class Ssot(SamplingMethod):
    """String Seed of Thought: write a random string, derive the answer from it.

    Misaki & Akiba (2025), "String Seed of Thought: Prompting LLMs for Distribution-Faithful
    and Diverse Generation", arXiv:2510.21150. The instruction follows the paper's
    structure (random string, manipulation, final answer in a tag); the wording is a
    paraphrase, not the authors' verbatim prompt. The answer is read from the last
    complete ``<answer>`` tag by the task's parser; a reply without one is invalid (a
    truncated reply is too: give ``--max-tokens`` room for the string and the derivation).
    """

    Options = SsotOptions

    def not_applicable(self, task: Task) -> str | None:
        return wraps_misfit(task)

    def prompt(self, task: Task) -> Prompt:
        return instructed_prompt(task, self.options(task).instruction)

    def outcomes(self, task: Task, completion: str) -> list[ParseResult]:
        answer = last_tag(completion, "answer")
        if answer is None:
            return [ParseResult.invalid("no <answer> tag")]
        return [read_one(task, answer)]

    def form(self, task: Task, call: int) -> AnswerForm:
        return AnswerForm(
            1,
            lambda values: (
                "<random_string>q7Zk2pX</random_string><answer>"
                + task.parser.format(values[0], task.target)
                + "</answer>"
            ),
        )
