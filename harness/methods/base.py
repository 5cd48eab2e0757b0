"""Elicitation methods: how a task is put to a model, and how its replies become outcomes.

Two kinds, so that the runner never needs to know a particular method:
a :class:`SamplingMethod` turns a task into a prompt and each cached completion
into outcomes; a :class:`ScoringMethod` turns a task into one scoring request and
the candidate log-probabilities into exact metrics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from randbench.harness.backends.base import Capability
from randbench.harness.requests import CandidateScores, Message, Prompt, ScoreRequest
from randbench.metrics import TaskMetrics
from randbench.outcomes import ParseResult
from randbench.registry import Registry
from randbench.tasks import Task


class Method(ABC):
    capability: ClassVar[Capability]
    name: ClassVar[str] = ""

    def not_applicable(self, task: Task) -> str | None:
        """Why this method cannot run ``task`` (the run reports it), or None."""
        return None


class SamplingMethod(Method, ABC):
    capability = Capability.GENERATE

    @abstractmethod
    def prompt(self, task: Task) -> Prompt: ...

    @abstractmethod
    def outcomes(self, task: Task, completion: str) -> list[ParseResult]:
        """The outcomes in one completion (several for methods that ask for several)."""


class ScoringMethod(Method, ABC):
    capability = Capability.SCORE

    @abstractmethod
    def request(self, task: Task) -> ScoreRequest: ...

    @abstractmethod
    def metrics(self, task: Task, scores: CandidateScores) -> TaskMetrics: ...


def task_prompt(task: Task) -> Prompt:
    """The task's own conversation: optional system message, the prompt, the prefix."""
    messages = [Message("system", task.system)] if task.system else []
    messages.append(Message("user", task.prompt))
    return Prompt(tuple(messages), task.assistant_prefix or "")


METHODS: Registry[type[Method]] = Registry("method")


def register_method(name: str) -> Any:
    def decorate(cls: type[Method]) -> type[Method]:
        cls.name = name
        METHODS.register(name)(cls)
        return cls

    return decorate
