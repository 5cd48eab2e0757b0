"""Target distributions: one module per target, each registered by ``@register_target``.

Every module of this package is imported here, so a new target is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil

from randbench.targets.base import (
    TARGETS,
    Analysis,
    FiniteTarget,
    Target,
    TargetSummary,
    register_target,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["TARGETS", "Analysis", "FiniteTarget", "Target", "TargetSummary", "register_target"]
