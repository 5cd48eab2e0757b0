"""Elicitation methods: one module per method, each registered by ``@register_method``."""

from __future__ import annotations

from randbench.harness.methods.base import (
    METHODS,
    Method,
    SamplingMethod,
    ScoringMethod,
    register_method,
)
from randbench.registry import import_plugins

import_plugins(__name__, __path__)

__all__ = ["METHODS", "Method", "SamplingMethod", "ScoringMethod", "register_method"]
