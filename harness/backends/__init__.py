"""Model backends: one module per backend, each registered by ``@register_backend``.

Every module here is imported, so a new backend is one new file; modules import
their engines (torch, llama_cpp, openai) inside the backend, never at the top.
"""

from __future__ import annotations

from randbench.harness.backends.base import (
    BACKENDS,
    Backend,
    BackendError,
    Capability,
    CapabilityError,
    ModelSpec,
    load_backend,
    register_backend,
)
from randbench.registry import import_plugins

import_plugins(__name__, __path__)

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "Capability",
    "CapabilityError",
    "ModelSpec",
    "load_backend",
    "register_backend",
]
