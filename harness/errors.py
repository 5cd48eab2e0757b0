"""Errors shared by the harness's layers, kept apart so no layer imports another for them."""

from __future__ import annotations


class BackendError(RuntimeError):
    """The model failed for good (e.g. a server kept failing after every retry). Raised only
    after every finished completion has been handed over, so the cache keeps them."""
