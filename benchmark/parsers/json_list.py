"""``json_list``: a JSON list of answers, each element read by the ``item`` parser.

The first JSON array in the answer is read (code fences and chatter around it are fine;
a Python-style list with single quotes or a trailing comma is accepted too). Each element is
turned into answer text (strings as they are, numbers as written, nested lists as JSON) and
read by ``item`` -- a parser spec, ``integer`` or ``{choice: {aliases: ..}}``; when ``item`` is
not given it follows the target's kind (``integer``, ``real``, ``choice``, ``sequence``,
``permutation``, ``subset``, ``string``, ``text``).

The value is the tuple of the elements' values, each checked against the target's support
(``yields = "outcomes"``). One element that cannot be read, or lies outside the support, makes
the whole answer invalid, with its 0-based index: ``invalid element: index 3: no integer in the
answer``. An empty list is invalid.

``format`` writes a JSON list of the item parser's texts (numbers bare): ``[3, 7, 1]``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import PrivateAttr, field_validator

from randbench.outcomes import Outcome, ParseResult, ValueKind
from randbench.parsers._text import drop_reasoning, element_text, first_list, shorten
from randbench.parsers.base import Parser, register_parser
from randbench.parsers.spec import DEFAULT_ITEM, ParserSpec, build_parser
from randbench.plugins import PluginError
from randbench.targets.base import Target


class ItemParser(Parser):
    """A parser that reads several answers, each with an ``item`` parser."""

    value_kinds = frozenset(k for k in ValueKind if k is not ValueKind.VERBALIZED)

    item: ParserSpec | None = None
    """The parser for each element (a parser spec); by default, the target kind's usual one."""

    _built: dict[str, Parser] = PrivateAttr(default_factory=dict)

    @field_validator("item")
    @classmethod
    def _item_builds(cls, spec: ParserSpec | None) -> ParserSpec | None:
        if spec is not None:
            try:
                build_parser(spec)
            except PluginError as error:
                raise ValueError(str(error)) from None
        return spec

    def item_parser(self, target: Target) -> Parser:
        """The element parser for ``target``."""
        spec: ParserSpec = self.item if self.item is not None else self._default(target)
        key = json.dumps(spec, sort_keys=True, default=str)
        if key not in self._built:
            self._built[key] = build_parser(spec)
        return self._built[key]

    @staticmethod
    def _default(target: Target) -> str:
        return DEFAULT_ITEM.get(target.kind(), "text")

    def check_fits(self, target: Target) -> str | None:
        misfit = super().check_fits(target)
        if misfit:
            return misfit
        inner = self.item_parser(target).check_fits(target)
        return f"item: {inner}" if inner else None


def _contains(target: Target, value: Outcome) -> bool:
    try:
        return bool(target.contains(value))
    except Exception:
        return False


def json_fragment(value: Outcome, text: str) -> str:
    """``text`` bare when it is the JSON number ``value`` is, else a JSON string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = json.loads(text)
        except ValueError:
            number = None
        if isinstance(number, int | float) and not isinstance(number, bool):
            return text
    return json.dumps(text, ensure_ascii=False)


@register_parser("json_list")
class JsonListParser(ItemParser):
    """A JSON list, each element read by ``item``."""

    yields: ClassVar[Literal["outcome", "outcomes", "weighted"]] = "outcomes"

    def parse(self, text: str, target: Target) -> ParseResult:
        elements = first_list(drop_reasoning(text))
        if elements is None:
            return ParseResult.invalid("no JSON list in the answer")
        if not elements:
            return ParseResult.invalid("empty list")
        item = self.item_parser(target)
        values: list[Any] = []
        for i, element in enumerate(elements):
            result = item.parse(element_text(element), target)
            if not result.valid:
                return ParseResult.invalid(f"invalid element: index {i}: {result.invalid_reason}")
            value = result.value
            assert value is not None
            if not _contains(target, value):
                return ParseResult.invalid(
                    f"invalid element: index {i}: outside the target's support: {shorten(value)}"
                )
            values.append(value)
        return ParseResult.ok(tuple(values))

    def format(self, value: Outcome, target: Target) -> str:
        if not isinstance(value, tuple):
            return str(value)
        item = self.item_parser(target)
        return "[" + ", ".join(json_fragment(v, item.format(v, target)) for v in value) + "]"
