"""Model backends: one module per backend, each registered by ``@register_backend``.

Every module here is imported, so a new backend is one new file; modules import
their engines (torch, llama_cpp, openai) inside the backend, never at the top.
"""

from __future__ import annotations

import importlib
import pkgutil

from randbench.harness.backends.base import (
    BACKENDS,
    Backend,
    Capability,
    CapabilityError,
    ModelSpec,
    load_backend,
    register_backend,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "BACKENDS",
    "Backend",
    "Capability",
    "CapabilityError",
    "ModelSpec",
    "load_backend",
    "register_backend",
]
