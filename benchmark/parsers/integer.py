"""``integer``: the single integer in the answer.

Rules, in order:

* reasoning blocks (``<think>..</think>``), code fences and markdown marks are ignored;
* an integer is a run of digits not glued to a word or a decimal point (``d20`` and
  ``7.5`` hold none), with an optional sign and ``1,000``-style thousands separators;
* exactly one *distinct* integer must remain (``7 ... so 7`` is fine; ``7/10``,
  ``between 1 and 10: 7`` and ``3 or 4`` are invalid: a restated range cannot be told
  apart from a second answer, so the parser stays strict);
* except that when several appear and the **bold** spans hold exactly one, that one is
  the answer (``Between 1 and 10, I pick **7**``);
* with ``words: true``, and only when the answer holds no digits, number words
  ``zero`` .. ``ninety-nine`` are read (``Seven.`` -> 7).

``format`` prints the plain decimal integer.
"""

from __future__ import annotations

import re

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers._text import bold, plain
from randbench.parsers.base import Parser, register_parser
from randbench.targets.base import Target

_INTEGER = re.compile(r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?!\w*\d|\.\d)")
MAX_DIGITS = 4000

_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
]  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)}
for _t, _tens in enumerate(_TENS, start=2):
    NUMBER_WORDS[_tens] = 10 * _t
    for _u in range(1, 10):
        NUMBER_WORDS[f"{_tens}-{_UNITS[_u]}"] = 10 * _t + _u
        NUMBER_WORDS[f"{_tens} {_UNITS[_u]}"] = 10 * _t + _u
_WORD = re.compile(
    r"(?<![\w-])(?:minus\s+|negative\s+)?("
    + "|".join(sorted((re.escape(w).replace(r"\ ", r"\s+") for w in NUMBER_WORDS), key=len)[::-1])
    + r")(?![\w-])",
    re.IGNORECASE,
)


def integers(text: str) -> list[int] | str:
    """The distinct integers written with digits in ``text`` in order, or why one is unreadable."""
    found: dict[int, None] = {}
    for m in _INTEGER.finditer(text):
        token = m.group(0).replace(",", "").replace("\u2212", "-")
        if len(token) > MAX_DIGITS:
            return f"integer too long: {len(token)} digits"
        value = int(token)
        found[value] = None
    return list(found)


def word_integers(text: str) -> list[int]:
    """The distinct integers written as English number words in ``text``, in order."""
    found: dict[int, None] = {}
    for m in _WORD.finditer(text):
        words = re.sub(r"\s+", " ", m.group(1).lower())
        value = NUMBER_WORDS[words]
        if m.group(0).lower().startswith(("minus", "negative")):
            value = -value
        found[value] = None
    return list(found)


def pick_one(
    found: list[Outcome], emphasised: list[Outcome] | None, what: str, plural: str
) -> ParseResult:
    """The one distinct value, the one bold value when there are several, or invalid."""
    if not found:
        return ParseResult.invalid(f"no {what} in the answer")
    if len(found) == 1:
        return ParseResult.ok(found[0])
    if emphasised is not None and len(emphasised) == 1 and emphasised[0] in found:
        return ParseResult.ok(emphasised[0])
    shown = ", ".join(str(v) for v in found[:10]) + (", …" if len(found) > 10 else "")
    return ParseResult.invalid(f"several {plural} in the answer: {shown}")


@register_parser("integer")
class IntegerParser(Parser):
    """The single integer in the answer; none or several different ones is invalid."""

    value_kinds = frozenset({ValueKind.INTEGER})

    words: bool = False
    """Also read number words (``seven``, ``twenty-one``) when the answer has no digits."""

    def parse(self, text: str, target: Target) -> ParseResult:
        clean = plain(text)
        found = integers(clean)
        if isinstance(found, str):
            return ParseResult.invalid(found)
        if not found and self.words:
            return pick_one(
                list(word_integers(clean)), list(word_integers(bold(text))), "integer", "integers"
            )
        strong = integers(bold(text))
        return pick_one(
            list(found), None if isinstance(strong, str) else list(strong), "integer", "integers"
        )

    def format(self, value: Outcome, target: Target) -> str:
        return str(value)
