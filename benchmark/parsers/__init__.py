"""Answer parsers: one module per parser, each registered by ``@register_parser``.

Every module of this package is imported here, so a new parser is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil

from randbench.parsers.base import PARSERS, Parser, register_parser

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["PARSERS", "Parser", "register_parser"]
