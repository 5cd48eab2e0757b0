"""The answer parser interface.

A parser turns a model's raw text into an :class:`Outcome` or an invalid
outcome with its reason, and formats an outcome back into the canonical answer
text (what logprob mode scores as a candidate). Its fields are the options a
task gives it in YAML (``answer: {integer: {allow_words: true}}``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.registry import Registry
from randbench.targets.base import Target


class Parser(BaseModel, ABC):
    """Reads one answer. ``target`` gives the vocabulary (choices, items, symbols) where needed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value_kinds: ClassVar[frozenset[ValueKind]]
    """The target value kinds this parser can produce values for."""

    yields: ClassVar[Literal["outcome", "outcomes", "weighted"]] = "outcome"
    """What a valid ``ParseResult.value`` holds: one outcome the target judges (``outcome``);
    a tuple of such outcomes, each already checked against the target's support
    (``outcomes``, ``json_list``); or a tuple of ``(outcome, probability)`` pairs, recorded
    as given (``weighted``, ``verbalized``). Callers check the support only for ``outcome``."""

    scorable: ClassVar[bool] = True
    """Whether ``format`` writes an answer the model could give, so that logprob mode can
    score it (False for parsers that measure the answer, such as ``count``)."""

    @abstractmethod
    def parse(self, text: str, target: Target) -> ParseResult:
        """Read ``text``; never raises on model output, returns an invalid result instead."""

    def format(self, value: Outcome, target: Target) -> str:
        """The canonical answer text for ``value`` (the candidate scored in logprob mode)."""
        return str(value)

    def check_fits(self, target: Target) -> str | None:
        """Why this parser cannot read answers for ``target``, or None if it can."""
        if target.kind() not in self.value_kinds:
            kinds = ", ".join(sorted(k.value for k in self.value_kinds))
            return (
                f"parser reads {kinds} answers but the target produces {target.kind().value} values"
            )
        return None


PARSERS: Registry[type[Parser]] = Registry("parser")


def register_parser(name: str) -> Any:
    """Class decorator: make a parser available to task YAMLs under ``name``."""
    return PARSERS.register(name)
