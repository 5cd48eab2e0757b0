"""Answer parsers: one module per parser, each registered by ``@register_parser``.

Every module of this package is imported here, so a new parser is one new file.
"""

from __future__ import annotations

from randbench.parsers.base import PARSERS, Parser, register_parser
from randbench.registry import import_plugins

import_plugins(__name__, __path__)

__all__ = ["PARSERS", "Parser", "register_parser"]
