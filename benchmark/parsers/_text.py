"""Text clean-up shared by the parsers: reasoning blocks, code fences, markdown, JSON lists.

Every function here is total: any string in, a string (or None) out, never an exception.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

_REASONING_TAGS = ("think", "thinking", "reasoning")
_FENCE = re.compile(r"```[^\n`]*\n?(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__", re.DOTALL)
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`|^#+\s*", re.MULTILINE)

MAX_LITERAL = 20_000
MAX_LITERAL_TRIES = 10
"""Longest bracketed text handed to :func:`ast.literal_eval` (Python-style lists)."""


def drop_reasoning(text: str) -> str:
    """``text`` without complete ``<think>...</think>`` blocks (reasoning models emit them).

    A linear scan, not a regex: an answer full of unclosed ``<think>`` tags stays cheap.
    """
    for tag in _REASONING_TAGS:
        opening, closing = f"<{tag}>", f"</{tag}>"
        lowered = text.lower()
        if opening not in lowered:
            continue
        kept: list[str] = []
        position = 0
        while True:
            start = lowered.find(opening, position)
            end = lowered.find(closing, start + len(opening)) if start != -1 else -1
            if start == -1 or end == -1:
                break
            kept.append(text[position:start])
            kept.append(" ")
            position = end + len(closing)
        kept.append(text[position:])
        text = "".join(kept)
    return text


def unfence(text: str) -> str:
    """The contents of code fences and inline code spans, their markers removed."""
    return _INLINE_CODE.sub(r"\1", _FENCE.sub(r"\1", text))


def code_spans(text: str) -> list[str]:
    """The contents of fenced blocks and inline code spans, in order."""
    spans = [m.group(1) for m in _FENCE.finditer(text)]
    spans += [m.group(1) for m in _INLINE_CODE.finditer(_FENCE.sub(" ", text))]
    return spans


def plain(text: str) -> str:
    """``text`` without reasoning blocks, code fences and markdown emphasis/heading marks."""
    return _EMPHASIS.sub("", unfence(drop_reasoning(text)))


def bold(text: str) -> str:
    """The **bold** (or __bold__) spans of ``text``, joined by newlines; '' if there are none."""
    return "\n".join(m.group(1) or m.group(2) or "" for m in _BOLD.finditer(drop_reasoning(text)))


def first_list(text: str) -> list[Any] | None:
    """The first JSON array in ``text`` (fences tolerated), or a Python-style list; else None."""
    return next(iter_lists(text), None)


def iter_lists(text: str, limit: int = 200) -> Iterator[list[Any]]:
    """The lists that start at each ``[`` of ``text`` (JSON, else Python-style), in order."""
    decoder = json.JSONDecoder()
    start = text.find("[")
    tried = 0
    while start != -1 and tried < limit:
        tried += 1
        try:
            value, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            value = _literal_list(text, start) if tried <= MAX_LITERAL_TRIES else None
        if isinstance(value, list):
            yield value
        start = text.find("[", start + 1)


def _literal_list(text: str, start: int) -> Any:
    """A Python-style list literal (single quotes, trailing comma) starting at ``start``."""
    depth = 0
    quote: str | None = None
    end = min(len(text), start + MAX_LITERAL)
    for i in range(start, end):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                try:
                    return ast.literal_eval(text[start : i + 1])
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                    return None
    return None


def element_text(element: Any) -> str:
    """A JSON element as answer text for an item parser."""
    if isinstance(element, str):
        return element
    if isinstance(element, bool) or element is None:
        return json.dumps(element)
    if isinstance(element, int | float):
        return str(element)
    try:
        return json.dumps(element)
    except (TypeError, ValueError):
        return str(element)


def shorten(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for reasons."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
