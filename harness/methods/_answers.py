"""Reading several answers out of one reply, shared by the multi-answer methods.

Every function is total on model text: unreadable output becomes invalid outcomes with
their reason, never an exception, and a reply always yields exactly the number of answers
that was asked for (missing ones invalid, extra ones left out and counted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from randbench.answers import read_answer
from randbench.harness.methods.base import Stated
from randbench.outcomes import Outcome, ParseResult
from randbench.parsers._text import drop_reasoning, element_text, first_list
from randbench.parsers.json_list import json_fragment
from randbench.parsers.verbalized import (
    PROBABILITY_KEYS,
    TEXT_KEYS,
    answer_objects,
    object_field,
    probability,
)
from randbench.tasks import Task

MISSING = "missing answer"
"""The reason of an answer a reply should have held but did not."""


def wraps_misfit(task: Task) -> str | None:
    """Why a method that rewraps the task's prompt cannot run ``task``, or None."""
    if task.assistant_prefix or task.completion:
        return "skipped: the task pre-fills the start of the answer (a completion-style prompt)"
    if task.parser.yields != "outcome":
        return "skipped: the task's answer is already several answers"
    return None


def read_one(task: Task, text: str) -> ParseResult:
    """One answer, read by the task's own parser and checked against its support."""
    return read_answer(task.parser, task.target, text)


def fill(outcomes: Sequence[ParseResult], k: int, why: str = MISSING) -> tuple[ParseResult, ...]:
    """Exactly ``k`` outcomes: the first ``k`` given, then invalid ones saying ``why``."""
    kept = list(outcomes[:k])
    return (*kept, *[ParseResult.invalid(why)] * (k - len(kept)))


_BARE_LIST = re.compile(r"\[([^\[\]]*,[^\[\]]*)\]")
"""A bracketed, comma-separated list without quotes: ``[blue, red, green]``."""


def bare_list(text: str) -> list[str] | None:
    """The items of the first bracketed list of bare words in ``text``, or None."""
    found = _BARE_LIST.search(text)
    if found is None:
        return None
    return [item.strip() for item in found.group(1).split(",")]


def list_outcomes(
    task: Task, text: str, k: int, *, keep_extra: bool = False
) -> tuple[ParseResult, ...]:
    """The answers of a reply that should be a list of ``k`` answers, element by element
    (a JSON or Python list; else a bracketed list of unquoted words, as small models write).
    With ``keep_extra``, a longer list keeps all its answers (a call of 125 numbers is
    125 answers, not 5 and 120 left out); a shorter one is still filled with missing ones."""
    cleaned = drop_reasoning(text)
    elements: list[Any] | None = first_list(cleaned)
    if elements is None:
        elements = bare_list(cleaned)
    if elements is None:
        return fill([], k, "no list in the answer")
    if not elements:
        return fill([], k, "empty list")
    read = [read_one(task, element_text(e)) for e in elements]
    return fill(read, max(k, len(read)) if keep_extra else k)


def write_list(task: Task, values: Sequence[Outcome]) -> str:
    """A list of answers as a perfect sampler would write it (a JSON list)."""
    return "[" + ", ".join(_fragment(task, v) for v in values) + "]"


def _fragment(task: Task, value: Outcome) -> str:
    return json_fragment(value, task.parser.format(value, task.target))


def verbalized_outcomes(
    task: Task, text: str, k: int
) -> tuple[tuple[ParseResult, ...], Stated | None]:
    """The ``k`` answers of a verbalized reply and the distribution it states.

    The stated distribution is None unless every object has a readable answer and
    probability; answers the parser reads but that lie outside the support keep their
    stated probability (mass the model puts outside) and are invalid outcomes.
    """
    objects = answer_objects(drop_reasoning(text))
    if objects is None:
        return fill([], k, "no list of answers with probabilities"), None
    if not objects:
        return fill([], k, "empty list"), None
    outcomes: list[ParseResult] = []
    stated: list[tuple[Outcome, float]] | None = []
    for i, element in enumerate(objects):
        outcome, pair = _verbalized_element(task, element, i)
        outcomes.append(outcome)
        if pair is None or stated is None:
            stated = None
        else:
            stated.append(pair)
    return fill(outcomes, k), (tuple(stated) if stated is not None else None)


def _verbalized_element(
    task: Task, element: Any, index: int
) -> tuple[ParseResult, tuple[Outcome, float] | None]:
    where = f"invalid element: index {index}"
    if not isinstance(element, dict):
        return ParseResult.invalid(f"{where}: not an object"), None
    has_text, answer = object_field(element, TEXT_KEYS)
    if not has_text:
        return ParseResult.invalid(f"{where}: no text"), None
    parsed = task.parser.parse(element_text(answer), task.target)
    outcome = read_one(task, element_text(answer))
    has_p, raw = object_field(element, PROBABILITY_KEYS)
    p = probability(raw) if has_p else "no probability"
    if not parsed.valid or parsed.value is None or isinstance(p, str):
        return outcome, None
    return outcome, (parsed.value, p)


def write_verbalized(task: Task, values: Sequence[Outcome]) -> str:
    """A verbalized reply stating each answer's true probability under the target."""
    rows = [
        {"text": task.parser.format(v, task.target), "probability": _pmf(task, v)} for v in values
    ]
    return json.dumps({"responses": rows})


def _pmf(task: Task, value: Outcome) -> float:
    support = task.target.support()
    if support is None:
        return 0.0
    return float(task.target.probabilities()[support.index(value)])


_TAG = r"<{0}>(.*?)</{0}>"


def last_tag(text: str, tag: str) -> str | None:
    """The contents of the last complete ``<tag>...</tag>`` in ``text``, or None."""
    found = re.findall(_TAG.format(re.escape(tag)), drop_reasoning(text), re.DOTALL | re.IGNORECASE)
    return found[-1].strip() if found else None
