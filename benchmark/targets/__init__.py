"""Target distributions: one module per target, each registered by ``@register_target``.

Every module of this package is imported here, so a new target is one new file.
"""

from __future__ import annotations

from randbench.registry import import_plugins
from randbench.targets.base import (
    TARGETS,
    Analysis,
    FiniteTarget,
    Target,
    TargetSummary,
    register_target,
)

import_plugins(__name__, __path__)

__all__ = ["TARGETS", "Analysis", "FiniteTarget", "Target", "TargetSummary", "register_target"]
