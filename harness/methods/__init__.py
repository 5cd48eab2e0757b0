"""Elicitation methods: one module per method, each registered by ``@register_method``."""

from __future__ import annotations

import importlib
import pkgutil

from randbench.harness.methods.base import (
    METHODS,
    Method,
    SamplingMethod,
    ScoringMethod,
    register_method,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["METHODS", "Method", "SamplingMethod", "ScoringMethod", "register_method"]
