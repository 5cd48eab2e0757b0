"""What the harness sends to a backend and what comes back.

Requests are plain frozen data: a backend never sees a Task, only a prompt
(chat messages plus an optional pre-filled assistant prefix), sampling settings
and, for scoring, the candidate answer texts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Prompt:
    """A conversation; the backend applies the chat template (or concatenates for base models)."""

    messages: tuple[Message, ...]
    assistant_prefix: str = ""
    """Text the assistant turn starts with; completions continue it (Gupta et al.'s pre-fill)."""

    @property
    def plain(self) -> bool:
        """No conversation, only text to continue (a completion-style task): backends send
        ``assistant_prefix`` as it is, with no chat template around it."""
        return not self.messages


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 64


@dataclass(frozen=True)
class AnswerForm:
    """How a perfect sampler would write one reply: ``count`` draws from the target, put
    into words by ``write`` (a list, a JSON object with probabilities, a tagged answer).

    Only reference backends (``oracle``) use it; a model reads the prompt instead.
    """

    count: int
    write: Callable[[Sequence[Any]], str]


@dataclass(frozen=True)
class GenerateRequest:
    """``len(seeds)`` samples from one prompt; a backend shares the prompt's prefill across them.

    ``task`` names the task (for logs, and for reference backends that sample its target);
    ``form`` is the form of answer the prompt asks for (for reference backends).
    """

    task: str
    prompt: Prompt
    params: SamplingParams
    seeds: tuple[int, ...]
    form: AnswerForm | None = field(default=None, compare=False)

    @property
    def n(self) -> int:
        return len(self.seeds)


@dataclass(frozen=True)
class Completion:
    text: str
    tokens: int | None = None


@dataclass(frozen=True)
class ScoreRequest:
    """Score every candidate answer as a complete answer: followed by the end of the turn,
    or by ``until`` when the task declares a delimiter (then no end of turn is required)."""

    task: str
    prompt: Prompt
    candidates: tuple[str, ...]
    until: str | None = None


@dataclass(frozen=True)
class CandidateScores:
    """log P(candidate, then end of answer | prompt) for each candidate, in request order.

    ``exact`` is False when a backend could only approximate (e.g. an API's
    first-token top_logprobs); ``note`` then says how.
    """

    logprobs: tuple[float, ...]
    exact: bool = True
    note: str = ""
    details: dict[str, float] = field(default_factory=dict)
