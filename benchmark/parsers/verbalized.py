"""``verbalized``: answers with stated probabilities, as in Verbalized Sampling.

Verbalized Sampling (Zhang et al., 2025, "Verbalized Sampling: How to Mitigate Mode Collapse
and Unlock LLM Diversity") asks for several responses with a probability each, as JSON:
``{"responses": [{"text": "7", "probability": 0.1}, ..]}``. The first JSON array of objects in
the answer is read (fences, chatter and the wrapping object are fine); the paper's tagged form
``<response><text>7</text><probability>0.1</probability></response>`` is read too.

Each object needs an answer under ``text`` (or ``answer``, ``response``) and a probability
under ``probability`` (or ``prob``): a number, or a string holding a number or a percentage
(``"15%"`` -> 0.15). The answer text is read by ``item`` (a parser spec; by default the target
kind's usual parser). The value is the tuple of ``(answer value, probability)`` pairs in the
order given (``yields = "weighted"``): probabilities are recorded as given, never renormalised,
and answers outside the target's support are kept (they are the mass the model puts outside).

Invalid: no list of objects, an empty list, an element without answer or probability, an
answer its parser cannot read, a negative or non-finite probability; reasons carry the 0-based
index: ``invalid element: index 2: negative probability -0.1``.

``format`` writes the JSON list: ``[{"text": "7", "probability": 0.25}, ..]``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, ClassVar, Literal

from randbench.outcomes import Outcome, ParseResult
from randbench.parsers._text import drop_reasoning, element_text, iter_lists
from randbench.parsers.base import register_parser
from randbench.parsers.json_list import ItemParser
from randbench.targets.base import Target

TEXT_KEYS = ("text", "answer", "response")
PROBABILITY_KEYS = ("probability", "prob")
_TAGGED = re.compile(r"<text>([^<]*)</text>\s*<probability>([^<]*)</probability>", re.IGNORECASE)


def probability(raw: Any) -> float | str:
    """The probability ``raw`` states, or why it is unreadable."""
    if isinstance(raw, bool) or raw is None:
        return f"not a probability: {raw!r}"
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        token = raw.strip()
        percent = token.endswith("%")
        if percent:
            token = token[:-1].strip()
        try:
            value = float(token) / 100 if percent else float(token)
        except ValueError:
            return f"not a probability: {raw[:20]!r}"
    else:
        return f"not a probability: {type(raw).__name__}"
    if not math.isfinite(value):
        return f"not a finite probability: {raw!r}"
    if value < 0:
        return f"negative probability {value:g}"
    return value


def object_field(element: dict[str, Any], keys: tuple[str, ...]) -> tuple[bool, Any]:
    lowered = {str(k).strip().lower(): v for k, v in element.items()}
    for key in keys:
        if key in lowered:
            return True, lowered[key]
    return False, None


def answer_objects(text: str) -> list[Any] | None:
    """The first list of objects in ``text``, else its tagged responses, else its first list."""
    first: list[Any] | None = None
    for found in iter_lists(text):
        if first is None:
            first = found
        if found and all(isinstance(e, dict) for e in found):
            return found
    tagged = _TAGGED.findall(text)
    if tagged:
        return [{"text": t.strip(), "probability": p.strip()} for t, p in tagged]
    return first


@register_parser("verbalized")
class VerbalizedParser(ItemParser):
    """Several answers, each with the probability the model states for it."""

    yields: ClassVar[Literal["outcome", "outcomes", "weighted"]] = "weighted"

    def parse(self, text: str, target: Target) -> ParseResult:
        elements = answer_objects(drop_reasoning(text))
        if elements is None:
            return ParseResult.invalid("no list of answers with probabilities")
        if not elements:
            return ParseResult.invalid("empty list")
        item = self.item_parser(target)
        pairs: list[tuple[Outcome, float]] = []
        for i, element in enumerate(elements):
            where = f"invalid element: index {i}"
            if not isinstance(element, dict):
                return ParseResult.invalid(f"{where}: not an object")
            has_text, answer = object_field(element, TEXT_KEYS)
            if not has_text:
                return ParseResult.invalid(f"{where}: no text")
            has_p, raw = object_field(element, PROBABILITY_KEYS)
            if not has_p:
                return ParseResult.invalid(f"{where}: no probability")
            p = probability(raw)
            if isinstance(p, str):
                return ParseResult.invalid(f"{where}: {p}")
            result = item.parse(element_text(answer), target)
            if not result.valid or result.value is None:
                return ParseResult.invalid(f"{where}: {result.invalid_reason}")
            pairs.append((result.value, p))
        return ParseResult.ok(tuple(pairs))

    def format(self, value: Outcome, target: Target) -> str:
        if not isinstance(value, tuple):
            return str(value)
        item = self.item_parser(target)
        rows = []
        for pair in value:
            answer, p = pair if isinstance(pair, tuple) and len(pair) == 2 else (pair, 0.0)
            rows.append({"text": item.format(answer, target), "probability": p})
        return json.dumps(rows, ensure_ascii=False)
