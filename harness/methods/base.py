"""Elicitation methods: how a task is put to a model, and how its replies become outcomes.

Two kinds, so that the runner never needs to know a particular method:
a :class:`SamplingMethod` turns a task into the prompts of its *units* and each cached
unit into a :class:`Reading`; a :class:`ScoringMethod` turns a task into one scoring
request and the candidate log-probabilities into exact metrics.

A unit is what the cache stores as one entry: one call (``direct``, ``sequence``,
``vs_standard``), one conversation of several turns (``multi_turn``, ``vs_multi``), or a
call and its replicate (``seeded``). The runner asks :meth:`SamplingMethod.next_prompt`
for the next call of a unit given the replies so far, until it says the unit is done; so a
method with per-unit prompts or several turns needs no change to the runner.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from randbench.harness.backends.base import Capability
from randbench.harness.requests import (
    AnswerForm,
    CandidateScores,
    Message,
    Prompt,
    ScoreRequest,
)
from randbench.metrics import TaskMetrics
from randbench.outcomes import Outcome, ParseResult
from randbench.registry import Registry
from randbench.tasks import Task


class MethodOptions(BaseModel):
    """Settings a task gives a method (``methods: {name: {option: value}}`` in its YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Method(ABC):
    capability: ClassVar[Capability]
    name: ClassVar[str] = ""
    Options: ClassVar[type[MethodOptions]] = MethodOptions

    def not_applicable(self, task: Task) -> str | None:
        """Why this method cannot run ``task`` (the run reports it), or None."""
        return None

    def refusal(self, tasks: Sequence[Task]) -> str | None:
        """Why this method must not run at all on ``tasks`` (an error before any work), or
        None; a method that fits only some of them reports the others by
        :meth:`not_applicable` instead."""
        return None

    def options(self, task: Task) -> Any:
        """This method's settings for ``task``; a clear error names the task and method."""
        try:
            return self.Options.model_validate(task.methods.get(self.name, {}))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in error.errors()
            )
            raise ValueError(f"task {task.name}: methods.{self.name}: {problems}") from None


Stated = tuple[tuple[Outcome, float], ...]
"""A verbalized distribution as the model wrote it: (answer, probability) pairs, in order."""


@dataclass(frozen=True)
class Reading:
    """What one unit said: its answers, and what else the method measures from it.

    ``outcomes`` are the unit's answers in the order given, always as many as the method
    asked for (missing ones are invalid, never dropped): they make the marginal metrics.
    ``stated`` is a verbalized distribution per call of the unit (Verbalized Sampling);
    ``replicate`` is the answer to the same prompt asked again in a fresh context (seeded).
    """

    outcomes: tuple[ParseResult, ...]
    stated: tuple[Stated | None, ...] = ()
    replicate: ParseResult | None = None


class SamplingMethod(Method, ABC):
    """One call per unit by default: override :meth:`prompt` and :meth:`outcomes`.

    Methods with several answers per call set :attr:`answers`; methods with several calls
    per unit, or a prompt per unit, override :meth:`next_prompt` and :meth:`read`.
    """

    capability = Capability.GENERATE

    def answers(self, task: Task) -> int:
        """Answers per unit; ``n`` samples take ``ceil(n / answers)`` units. Above one,
        the answers of a unit are checked for dependence."""
        return 1

    def prompt(self, task: Task) -> Prompt:
        """The prompt shared by every unit (single-call methods)."""
        raise NotImplementedError(f"method {self.name!r} has no shared prompt")

    def outcomes(self, task: Task, completion: str) -> list[ParseResult]:
        """The outcomes in one completion (single-call methods)."""
        raise NotImplementedError(f"method {self.name!r} reads whole units")

    def units(self, task: Task, n: int) -> int:
        """Units to ask for ``n`` samples."""
        return math.ceil(n / self.answers(task))

    def next_prompt(self, task: Task, unit: int, replies: tuple[str, ...]) -> Prompt | None:
        """The next call of ``unit`` after ``replies``, or None when the unit is complete.

        Units that share their next prompt are sent together as one request with one seed
        per unit (the backend shares the prompt's prefill); the conversation so far, when
        a method continues one, is part of the prompt it returns.
        """
        return None if replies else self.prompt(task)

    def read(self, task: Task, unit: int, replies: tuple[str, ...]) -> Reading:
        """The answers of a complete unit."""
        return Reading(tuple(self.outcomes(task, replies[0])))

    def form(self, task: Task, call: int) -> AnswerForm:
        """How a perfect sampler would write call ``call`` of a unit (for ``oracle``)."""
        return AnswerForm(1, lambda values: task.parser.format(values[0], task.target))

    def display(self, replies: tuple[str, ...]) -> str:
        """A unit's replies as one text for the samples file and the leaderboard."""
        if len(replies) == 1:
            return replies[0]
        return "\n".join(f"[call {i + 1}] {text}" for i, text in enumerate(replies))


class ScoringMethod(Method, ABC):
    capability = Capability.SCORE

    @abstractmethod
    def request(self, task: Task) -> ScoreRequest: ...

    def fold(self, task: Task, scores: CandidateScores) -> CandidateScores:
        """The backend's scores of the request's candidates -> one per outcome of the
        support (what results and metrics hold); identity where each outcome is one
        candidate."""
        return scores

    @abstractmethod
    def metrics(self, task: Task, scores: CandidateScores) -> TaskMetrics: ...


def task_prompt(task: Task) -> Prompt:
    """The task's own conversation: optional system message, the prompt, the prefix; a
    completion-style task is its prompt alone, as plain text (:attr:`Prompt.plain`)."""
    if task.completion:
        return Prompt((), task.prompt)
    messages = [Message("system", task.system)] if task.system else []
    messages.append(Message("user", task.prompt))
    return Prompt(tuple(messages), task.assistant_prefix or "")


def instructed_prompt(task: Task, instruction: str, user: str | None = None) -> Prompt:
    """The task's prompt (or ``user``) under a method's instruction as the system message,
    as Verbalized Sampling packs its methods; the task's own system message comes first."""
    system = f"{task.system}\n\n{instruction}" if task.system else instruction
    messages = (Message("system", system), Message("user", user or task.prompt))
    return Prompt(messages, task.assistant_prefix or "")


METHODS: Registry[type[Method]] = Registry("method")


def register_method(name: str) -> Any:
    def decorate(cls: type[Method]) -> type[Method]:
        cls.name = name
        METHODS.register(name)(cls)
        return cls

    return decorate
