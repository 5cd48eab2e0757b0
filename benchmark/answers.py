"""Raw model text -> outcome: parse, then check the support. Nothing is dropped."""

from __future__ import annotations

from randbench.outcomes import ParseResult
from randbench.parsers import Parser
from randbench.targets import Target

MAX_SHOWN = 40
OUTSIDE_SUPPORT = "outside the target's support"


def read_answer(parser: Parser, target: Target, text: str) -> ParseResult:
    """The outcome of one answer; out-of-support values become invalid with their reason.

    Parsers that yield several outcomes (``json_list``) check each against the
    support themselves; verbalized distributions are recorded as given.
    """
    result = parser.parse(text, target)
    if parser.yields != "outcome" or not result.valid or result.value is None:
        return result
    if not target.contains(result.value):
        shown = repr(result.value)
        if len(shown) > MAX_SHOWN:
            shown = shown[: MAX_SHOWN - 1] + "…"
        return ParseResult.invalid(f"{OUTSIDE_SUPPORT}: {shown}")
    return result


def reason_category(reason: str) -> str:
    """The kind of an invalid reason, for tallies: the text before any ':' (values vary)."""
    return reason.split(":", 1)[0].strip()
