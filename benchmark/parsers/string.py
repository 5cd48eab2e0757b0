"""``string``: the answer token (``string`` and ``uuid4`` targets).

Reasoning blocks are dropped, then, in order:

1. if the answer holds code (a fenced block or inline backticks) whose content is a single
   token, that token is the answer;
2. if the stripped answer is a single token, it is the answer, with wrapping quotes, brackets
   and markdown removed (``"k3J$9x"`` -> ``k3J$9x``); trailing sentence punctuation is removed
   only where the target accepts the shorter string and not the longer one;
3. otherwise only tokens set apart as the answer count: quoted, bold or backticked, right after
   a ``:`` (``Sure! Here is your password: k3J$9x. Keep it safe.``), or alone on their line.
   Of these, exactly one that the target accepts is the answer; several are invalid
   (``several strings in the answer``); if none is accepted but exactly one is set apart, it
   is returned (for the caller's support check to report); otherwise the answer is invalid
   (``no single string in the answer``) -- so chatter words such as ``generate`` in
   ``I cannot generate passwords.`` are never taken for the answer.

``format`` prints the string itself.
"""

from __future__ import annotations

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers._text import code_spans, drop_reasoning, shorten
from randbench.parsers.base import Parser, register_parser
from randbench.targets.base import Target

_WRAP = "\"'`“”‘’«»*_"
_PAIRS = [("(", ")"), ("[", "]"), ("{", "}"), ("<", ">")]
_TRAILING = ".,;:!?"
_BRACKETS = "()[]{}<>"
MAX_TOKENS = 2000


def _unwrap(token: str) -> str:
    """``token`` without wrapping quotes, markdown and matching brackets."""
    previous = None
    while token != previous:
        previous = token
        token = token.strip(_WRAP)
        for left, right in _PAIRS:
            if len(token) >= 2 and token[0] == left and token[-1] == right:
                token = token[1:-1]
    return token


def _bare(token: str) -> str:
    """``token`` without any wrapping or trailing punctuation characters at its ends."""
    return token.strip(_WRAP + _BRACKETS + _TRAILING)


def _marked(answer: str) -> list[str]:
    """Tokens set apart as the answer: quoted or bold, after a ``:``, or alone on their line."""
    found: list[str] = []
    for line in answer.splitlines()[:MAX_TOKENS]:
        tokens = line.split()
        if len(tokens) == 1 and not tokens[0].endswith(":"):
            found.append(tokens[0])
            continue
        after_colon = False
        for token in tokens:
            if token.endswith(":"):
                after_colon = True
                continue
            stripped = token.rstrip(_TRAILING)
            if after_colon or (_unwrap(stripped) != stripped and _unwrap(stripped)):
                found.append(token)
            after_colon = False
    return found


def _contains(target: Target, value: str) -> bool:
    try:
        return bool(target.contains(value))
    except Exception:
        return False


def _best(token: str, target: Target) -> str:
    """The first of ``token``, unwrapped, and bare, that the target accepts; else the barest."""
    candidates = [token, _unwrap(token), _unwrap(token.rstrip(_TRAILING)), _bare(token)]
    for candidate in candidates:
        if candidate and _contains(target, candidate):
            return candidate
    return next((c for c in reversed(candidates) if c), "")


@register_parser("string")
class StringParser(Parser):
    """The answer token, wrappers removed."""

    value_kinds = frozenset({ValueKind.STRING})

    def parse(self, text: str, target: Target) -> ParseResult:
        answer = drop_reasoning(text).strip()
        spans = [s.strip() for s in code_spans(answer)]
        singles = list(dict.fromkeys(s for s in spans if s and len(s.split()) == 1))
        if len(singles) == 1:
            return ParseResult.ok(_best(singles[0], target))
        tokens = answer.split()
        if not tokens:
            return ParseResult.invalid("empty answer")
        if len(tokens) == 1:
            token = _best(tokens[0], target)
            return ParseResult.ok(token) if token else ParseResult.invalid("empty answer")
        marked = list(dict.fromkeys(_best(t, target) for t in _marked(answer)))
        marked = [t for t in marked if t]
        fitting = [t for t in marked if _contains(target, t)]
        if len(fitting) == 1:
            return ParseResult.ok(fitting[0])
        if len(fitting) > 1:
            shown = " and ".join(shorten(c, 30) for c in fitting[:2])
            return ParseResult.invalid(f"several strings in the answer: {shown}")
        if len(marked) == 1:
            return ParseResult.ok(marked[0])
        return ParseResult.invalid(f"no single string in the answer: {len(tokens)} words")

    def format(self, value: Outcome, target: Target) -> str:
        return str(value)
