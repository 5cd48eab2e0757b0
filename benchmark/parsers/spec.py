"""Building a parser from its spec: a name, or ``{name: {option: value}}``.

The task loader and the parsers that take an ``item`` parser (``json_list``, ``verbalized``)
build parsers through :func:`build_parser`.
"""

from __future__ import annotations

from typing import Any

from randbench.outcomes import ValueKind
from randbench.parsers.base import PARSERS, Parser
from randbench.plugins import PluginError, PluginSpec, build_plugin

ParserSpec = str | dict[str, dict[str, Any] | None]

DEFAULT_ITEM: dict[ValueKind, str] = {
    ValueKind.INTEGER: "integer",
    ValueKind.REAL: "real",
    ValueKind.LABEL: "choice",
    ValueKind.SEQUENCE: "sequence",
    ValueKind.PERMUTATION: "permutation",
    ValueKind.SUBSET: "subset",
    ValueKind.STRING: "string",
    ValueKind.TEXT: "text",
}
"""The item parser ``json_list`` and ``verbalized`` use for a target kind when none is given."""


def build_parser(spec: PluginSpec | Any) -> Parser:
    """The parser ``spec`` names, with its options.

    Raises :class:`randbench.plugins.PluginError` (a ValueError) naming an unknown parser and
    the known ones (``unknown parser 'intger' (did you mean 'integer'?); expected one of: ..``),
    or the options that do not validate.
    """
    if not isinstance(spec, str | dict):
        raise PluginError([("", f"expected a parser name or {{name: options}}, got {spec!r}")])
    return build_plugin(PARSERS, spec)
