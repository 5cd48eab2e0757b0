"""Reading a list of the target's items out of free text (shared by permutation and subset).

1. Reasoning blocks, fences and markdown are dropped; if the answer holds a JSON (or
   Python-style) list of two or more elements, its elements are the answer, each matched
   whole against the items.
2. Otherwise the items (case-insensitive, word-bounded, longest first, so items may hold
   spaces or commas) are located in the text, and the text is cut into segments at commas,
   semicolons, pipes, arrows and line breaks (list markers such as ``1.`` or ``-`` dropped).
   A segment that is only items (``3 1 2`` included) gives those items; a segment without items
   that is short (at most four words, no ``!``/``?``) is an *unknown item*; other words are
   chatter and end a run. Blank lines and ``:`` end a run too. A word made only of one-character
   items (``BAC``) gives those items.
3. The run with the most items is the answer. Unknown items at its ends count only where they
   are listed (comma-separated, or on a marked list line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from randbench.outcomes import Outcome
from randbench.parsers._text import element_text, first_list, plain
from randbench.parsers.choice import Vocabulary, _norm
from randbench.parsers.sequence import LIST_MARKER

_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_STRONG = re.compile(r"[,;|\u2192]|->|=>|>")
_EDGE = " \t\"'`“”‘’()[]{}<>.!?*_~"
_CONNECTORS = {"and", "then", "or", "finally", "next", "followed", "by", "last", "lastly"}
_CHATTER = {
    "sure", "okay", "ok", "here", "yes", "alright", "certainly", "of course", "well", "so",
    "absolutely", "great", "done", "hi", "hello",
}  # fmt: skip
MAX_UNKNOWN_WORDS = 4
MAX_UNKNOWN_CHARS = 40


@dataclass(frozen=True)
class Element:
    item: Outcome | None = None
    """The item, or None for an unknown item."""
    text: str = ""
    listed: bool = False


_BREAK = Element(text="\n")


def read_items(text: str, items: list[Outcome]) -> tuple[list[Outcome], list[str]] | str:
    """The items in the answer's best run and the unknown items in it, or why there are none."""
    vocabulary = Vocabulary(items, {}, integers=False)
    clean = plain(text).replace(_OPEN, " ").replace(_CLOSE, " ")
    listed = first_list(clean)
    if listed is not None and len(listed) >= 2 and all(not isinstance(e, list) for e in listed):
        found: list[Outcome] = []
        unknown: list[str] = []
        for e in listed:
            label = _whole(vocabulary, element_text(e))
            if label is None:
                unknown.append(element_text(e).strip())
            else:
                found.append(label)
        return found, unknown
    elements = _elements(vocabulary, clean, items)
    best: list[Element] = []
    best_count = 0
    for run in _runs(elements):
        count = sum(1 for e in run if e.item is not None)
        if count > best_count:
            best, best_count = run, count
    if not best_count:
        return "no items of the target in the answer"
    return [e.item for e in best if e.item is not None], [e.text for e in best if e.item is None]


def _whole(vocabulary: Vocabulary, text: str) -> Outcome | None:
    entries = vocabulary.forms.get(_norm(text.strip(_EDGE)))
    if not entries:
        return None
    stripped = text.strip(_EDGE)
    exact = [label for form, label in entries if form == stripped]
    return exact[0] if exact else entries[0][1]


def _elements(vocabulary: Vocabulary, text: str, items: list[Outcome]) -> list[Element]:
    found: list[Outcome] = []

    def place(m: re.Match[str]) -> str:
        label = _whole(vocabulary, m.group(0))
        if label is None:
            return m.group(0)
        found.append(label)
        return f" {_OPEN}{len(found) - 1}{_CLOSE} "

    pattern = vocabulary.pattern
    if pattern is None:
        return []
    singles = all(len(str(i)) == 1 for i in items)
    elements: list[Element] = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        elements.append(_BREAK)
        for line in paragraph.split("\n"):
            has_marker = LIST_MARKER.match(line) is not None
            marked = pattern.sub(place, LIST_MARKER.sub("", line, count=1))
            segments = _STRONG.split(marked)
            is_list = has_marker or len(segments) > 1
            for segment in segments:
                elements.extend(_segment(vocabulary, segment, found, singles, is_list))
    return elements


def _segment(
    vocabulary: Vocabulary, segment: str, found: list[Outcome], singles: bool, listed: bool
) -> list[Element]:
    if ":" in segment:
        out: list[Element] = []
        for part in segment.split(":"):
            out.extend(_segment(vocabulary, part, found, singles, listed))
            out.append(_BREAK)
        return out[:-1]
    stripped = segment.strip(_EDGE)
    if not stripped:
        return []
    if not _PLACEHOLDER.search(stripped):
        if (
            singles
            and len(stripped) <= 4 * len(vocabulary.labels)
            and re.fullmatch(r"[^\W_]+", stripped)
        ):
            chars = [_whole(vocabulary, c) for c in stripped]
            if all(c is not None for c in chars):
                return [Element(item=c) for c in chars]
        words = stripped.split()
        if (
            len(words) <= MAX_UNKNOWN_WORDS
            and len(stripped) <= MAX_UNKNOWN_CHARS
            and not re.search(r"[!?]", segment)
            and stripped.casefold() not in _CHATTER
            and not any(w.casefold() in _CHATTER for w in words)
        ):
            return [Element(text=stripped, listed=listed)]
        return [_BREAK]
    out = []
    chatter = False
    for token in re.split(f"({_OPEN}\\d+{_CLOSE})", stripped):
        m = _PLACEHOLDER.fullmatch(token)
        if m:
            out.append(Element(item=found[int(m.group(1))], listed=listed))
            chatter = False
            continue
        words = [w for w in re.findall(r"[^\W_]+", token) if w.casefold() not in _CONNECTORS]
        if words and not chatter:
            out.append(_BREAK)
            chatter = True
    return out


def _runs(elements: list[Element]) -> list[list[Element]]:
    runs: list[list[Element]] = []
    current: list[Element] = []
    for e in [*elements, _BREAK]:
        if e is _BREAK:
            while current and current[0].item is None and not current[0].listed:
                current.pop(0)
            while current and current[-1].item is None and not current[-1].listed:
                current.pop()
            if current:
                runs.append(current)
            current = []
        else:
            current.append(e)
    return runs
