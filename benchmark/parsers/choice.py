"""``choice``: one label of the target's finite support.

A label (or one of its ``aliases``) is found anywhere in the answer, case-insensitively,
with multi-word labels tolerant of line breaks and extra spaces, and word-bounded:
``heads`` is not found in ``headstrong``. Markdown, quotes and punctuation around it do not
matter (``I choose **Tails**.``). Where labels overlap the longest wins (``light blue``
holds no ``blue``).

For integer targets with a finite support (integer-keyed ``categorical``,
``uniform_int``) every integer in the answer is a candidate (as the ``integer`` parser
reads them) besides the aliases (``{1: [one, ace]}``); an integer outside the support is
returned as it is, for the caller's support check to report.

Exactly one label must be found. When several are, two tie-breaks apply in turn: the
**bold** spans name exactly one; dropping one-letter labels written in the other case
(the article ``a`` is not the label ``A``) leaves exactly one. Otherwise the answer is
invalid and the reason names the labels found. ``format`` prints the label itself.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from pydantic import Field

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers._text import bold, plain, shorten
from randbench.parsers.base import Parser, register_parser
from randbench.parsers.integer import _INTEGER
from randbench.targets.base import Target

_SPACE = re.compile(r"\s+")


def _norm(form: str) -> str:
    return _SPACE.sub(" ", form.strip()).casefold()


class _Match:
    __slots__ = ("end", "label", "start", "text")

    def __init__(self, start: int, end: int, label: Outcome, text: str) -> None:
        self.start, self.end, self.label, self.text = start, end, label, text


class Vocabulary:
    """Surface forms of a set of labels and a word-bounded matcher over them."""

    def __init__(
        self, labels: list[Outcome], aliases: dict[Any, list[str]], integers: bool
    ) -> None:
        self.integers = integers
        self.labels = labels
        self.forms: dict[str, list[tuple[str, Outcome]]] = {}
        by_text = {str(label): label for label in labels}
        for label in labels:
            if not (integers and isinstance(label, int)):
                self._add(str(label), label)
        for key, names in aliases.items():
            named = by_text.get(str(key))
            if named is not None:
                for name in names:
                    self._add(str(name), named)
        forms = sorted(self.forms, key=len, reverse=True)
        body = "|".join(re.escape(f).replace(r"\ ", r"\s+") for f in forms if f)
        self.pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE) if body else None

    def _add(self, form: str, label: Outcome) -> None:
        key = _norm(form)
        if key:
            entries = self.forms.setdefault(key, [])
            if (form.strip(), label) not in entries:
                entries.append((form.strip(), label))

    def matches(self, text: str) -> list[_Match]:
        """Non-overlapping matches, longest first where they overlap, in text order."""
        found: list[_Match] = []
        if self.pattern is not None:
            for m in self.pattern.finditer(text):
                entries = self.forms.get(_norm(m.group(0)), [])
                exact = [label for form, label in entries if form == _SPACE.sub(" ", m.group(0))]
                labels = list(dict.fromkeys(label for _, label in entries))
                label = exact[0] if len(labels) > 1 and exact else labels[0] if labels else None
                if label is not None:
                    found.append(_Match(m.start(), m.end(), label, m.group(0)))
        if self.integers:
            taken = [(f.start, f.end) for f in found]
            for m in _INTEGER.finditer(text):
                token = m.group(0).replace(",", "").replace("\u2212", "-")
                if len(token) > 4000 or any(s < m.end() and m.start() < e for s, e in taken):
                    continue
                found.append(_Match(m.start(), m.end(), int(token), m.group(0)))
        found.sort(key=lambda f: f.start)
        return found

    def labels_in(self, text: str) -> list[Outcome]:
        return list(dict.fromkeys(m.label for m in self.matches(text)))


def one_label(vocabulary: Vocabulary, text: str) -> ParseResult:
    """The single label in ``text`` after the tie-breaks, or invalid naming what was found."""
    clean = plain(text)
    matches = vocabulary.matches(clean)
    labels = list(dict.fromkeys(m.label for m in matches))
    if not labels:
        shown = ", ".join(shorten(v, 20) for v in vocabulary.labels[:8])
        more = ", …" if len(vocabulary.labels) > 8 else ""
        return ParseResult.invalid(f"no option in the answer: expected one of {shown}{more}")
    if len(labels) == 1:
        return ParseResult.ok(labels[0])
    strong = vocabulary.labels_in(bold(text))
    if len(strong) == 1:
        return ParseResult.ok(strong[0])
    cased = list(
        dict.fromkeys(
            m.label
            for m in matches
            if not (len(m.text) == 1 and m.text.isalpha() and m.text != str(m.label))
        )
    )
    if len(cased) == 1:
        return ParseResult.ok(cased[0])
    shown = " and ".join(shorten(v, 30) for v in labels[:2])
    more = f" (and {len(labels) - 2} more)" if len(labels) > 2 else ""
    return ParseResult.invalid(f"several options in the answer: {shown}{more}")


@register_parser("choice")
class ChoiceParser(Parser):
    """One label of the target's support, tolerant of case, markdown and punctuation."""

    value_kinds = frozenset({ValueKind.LABEL, ValueKind.INTEGER})

    aliases: dict[str | int, list[str]] = Field(default_factory=dict)
    """Other names for a label: ``{heads: [H, head], tails: [T, tail]}``."""

    def check_fits(self, target: Target) -> str | None:
        misfit = super().check_fits(target)
        if misfit:
            return misfit
        support = target.support()
        if support is None:
            return "parser choice needs a target with a finite support"
        labels = {str(v) for v in support}
        unknown = [str(k) for k in self.aliases if str(k) not in labels]
        if unknown:
            return f"aliases name labels the target does not have: {', '.join(unknown)}"
        return None

    def parse(self, text: str, target: Target) -> ParseResult:
        vocabulary = self._vocabulary(target)
        if vocabulary is None:
            return ParseResult.invalid("the target has no finite set of options")
        return one_label(vocabulary, text)

    def format(self, value: Outcome, target: Target) -> str:
        return str(value)

    def _vocabulary(self, target: Target) -> Vocabulary | None:
        cache = self._cache
        key = id(target)
        if key not in cache:
            support = target.support()
            if support is None:
                return None
            integers = target.kind() is ValueKind.INTEGER
            cache.clear()
            cache[key] = (target, Vocabulary(list(support), dict(self.aliases), integers))
        return cache[key][1]

    @cached_property
    def _cache(self) -> dict[int, tuple[Target, Vocabulary]]:
        return {}
