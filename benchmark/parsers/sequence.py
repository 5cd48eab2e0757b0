"""``sequence``: a sequence of the target's symbols (``coin_sequence``).

The answer is read as tokens: words, and single punctuation characters. A token that is a
symbol or an alias of one (case-insensitive) is that symbol; a word made only of one-character
symbols is one symbol per character (``HTTH``, ``0110``); punctuation and whitespace separate
(``H, T, H``, ``H-T-H``, ``[H, T, H]``, one per line); list markers at the start of a line
(``1.``, ``-``, ``Flip 3:``) are dropped; any other word ends a run of symbols. For coins,
``heads``/``head`` and ``tails``/``tail`` are aliases of ``H`` and ``T`` (and ``H``/``T`` of
``heads``/``tails``) without being asked. Further aliases: ``aliases: {"1": [one]}``.

Of the runs of symbols in the answer, the one with the target's length is the answer (the same
sequence written twice is fine; two different ones is invalid). When no run has the right length
the longest decides the reason: ``expected 20 symbols, got 19``.

``format`` joins the symbols with ``separator`` (default one space): ``H T H``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers._text import plain
from randbench.parsers.base import Parser, register_parser
from randbench.targets.base import Target

_TOKEN = re.compile(r"[^\W_]+|\S")
LIST_MARKER = re.compile(
    r"^[ \t]*(?:(?:(?:flip|toss|coin|roll|throw|draw|result|trial|step|item)[ \t]*)?#?\d+[ \t]*"
    r"[.):\]]|[-*•+][ \t])[ \t]*",
    re.MULTILINE | re.IGNORECASE,
)
_COINS = [("h", "head", "heads"), ("t", "tail", "tails")]


def symbols_and_length(target: Target) -> tuple[list[Outcome] | None, int | None]:
    """The target's symbols and sequence length: its fields, else read off a tuple support."""
    symbols = getattr(target, "symbols", None)
    length = getattr(target, "length", None)
    if symbols is None or length is None:
        support = _support(target)
        tuples = [v for v in support or [] if isinstance(v, tuple)]
        if tuples:
            if symbols is None:
                symbols = list(dict.fromkeys(s for t in tuples for s in t))
            if length is None and len({len(t) for t in tuples}) == 1:
                length = len(tuples[0])
    if symbols is not None:
        symbols = list(symbols)
    return symbols, length if isinstance(length, int) else None


def _support(target: Target) -> list[Outcome] | None:
    try:
        return target.support()
    except Exception:
        return None


class SymbolReader:
    """Maps tokens to symbols; built once per (parser, target)."""

    def __init__(self, symbols: list[Outcome], aliases: dict[Any, list[str]]) -> None:
        self.exact: dict[str, Outcome] = {}
        self.folded: dict[str, Outcome] = {}
        for s in symbols:
            self._add(str(s), s)
        names = {str(s).casefold() for s in symbols}
        for group in _COINS:
            present = [s for s in symbols if str(s).casefold() in group]
            if len(present) == 1:
                for form in group:
                    if form not in names:
                        self.folded.setdefault(form, present[0])
        by_text = {str(s): s for s in symbols}
        for key, forms in aliases.items():
            if str(key) in by_text:
                for form in forms:
                    self._add(str(form), by_text[str(key)])

    def _add(self, form: str, symbol: Outcome) -> None:
        self.exact.setdefault(form, symbol)
        self.folded.setdefault(form.casefold(), symbol)

    def one(self, token: str) -> Outcome | None:
        if token in self.exact:
            return self.exact[token]
        return self.folded.get(token.casefold())

    def runs(self, text: str) -> list[tuple[Outcome, ...]]:
        """Maximal runs of symbols, in order."""
        runs: list[tuple[Outcome, ...]] = []
        current: list[Outcome] = []
        for m in _TOKEN.finditer(LIST_MARKER.sub("", text)):
            token = m.group(0)
            symbol = self.one(token)
            if symbol is not None:
                current.append(symbol)
                continue
            if token[0].isalnum() or token[0] == "_":
                chars = [self.one(c) for c in token]
                if all(c is not None for c in chars):
                    current.extend(c for c in chars if c is not None)
                    continue
                if current:
                    runs.append(tuple(current))
                current = []
        if current:
            runs.append(tuple(current))
        return runs


def read_sequence(reader: SymbolReader, text: str, length: int | None) -> ParseResult:
    runs = reader.runs(plain(text))
    if not runs:
        return ParseResult.invalid("no sequence of symbols in the answer")
    if length is None:
        fitting = list(dict.fromkeys(runs))
    else:
        fitting = list(dict.fromkeys(r for r in runs if len(r) == length))
    if len(fitting) == 1:
        return ParseResult.ok(fitting[0])
    if len(fitting) > 1:
        return ParseResult.invalid(f"several sequences in the answer: {len(fitting)} different")
    longest = max(len(r) for r in runs)
    return ParseResult.invalid(f"expected {length} symbols, got {longest}")


@register_parser("sequence")
class SequenceParser(Parser):
    """A fixed-length sequence of the target's symbols."""

    value_kinds = frozenset({ValueKind.SEQUENCE})

    aliases: dict[str | int, list[str]] = Field(default_factory=dict)
    """Other names for a symbol: ``{"1": [one]}``."""
    separator: str = " "
    """Between symbols in the canonical answer text (parsing accepts any separator)."""

    def check_fits(self, target: Target) -> str | None:
        misfit = super().check_fits(target)
        if misfit:
            return misfit
        symbols, _ = symbols_and_length(target)
        if not symbols:
            return "parser sequence needs a target with symbols"
        names = {str(s) for s in symbols}
        unknown = [str(k) for k in self.aliases if str(k) not in names]
        if unknown:
            return f"aliases name symbols the target does not have: {', '.join(unknown)}"
        if not re.search(r"[\W_]", self.separator) and any(len(n) != 1 for n in names):
            return f"separator {self.separator!r} cannot separate symbols longer than a character"
        return None

    def parse(self, text: str, target: Target) -> ParseResult:
        symbols, length = symbols_and_length(target)
        if not symbols:
            return ParseResult.invalid("the target has no symbols")
        return read_sequence(SymbolReader(symbols, dict(self.aliases)), text, length)

    def format(self, value: Outcome, target: Target) -> str:
        if isinstance(value, tuple):
            return self.separator.join(str(s) for s in value)
        return str(value)
