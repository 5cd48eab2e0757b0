"""API keys: read from the environment only, and never written anywhere.

A key never travels through ``--model-args`` (command lines end up in shell histories,
process lists and result files); :func:`api_key` reads it from an environment variable
and registers it with :func:`redact`, which a log-record factory installed here applies
to every log line of every library (the SDKs' and httpx's debug logs included) and the
CLI applies to error messages. Result files, samples and cache keys are built from
:meth:`Backend.identity`, which holds no key to begin with.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from typing import Any

SECRET_ARG = re.compile(r"key|token|secret|password|authorization", re.IGNORECASE)
"""Model arguments never written to caches, results or logs."""
MASK = "***"
_SECRETS: set[str] = set()
_LOCK = threading.Lock()
_installed = False
MIN_SECRET_LENGTH = 6
"""Shorter values (a placeholder such as "EMPTY" or "none") are not worth masking."""


class MissingKeyError(ValueError):
    """No API key in the environment for a service that needs one."""


def api_key(env_name: str, backend: str, *, required: bool = True) -> str | None:
    """The key in ``$env_name``, registered for redaction; None (when not required) or a clear
    error when the variable is unset or empty."""
    value = os.environ.get(env_name, "").strip()
    if not value:
        if required:
            raise MissingKeyError(
                f"backend {backend!r} needs an API key in the environment variable {env_name} "
                "(keys are read from the environment only, never from --model-args)"
            )
        return None
    register_secret(value)
    return value


def refuse_secret_args(args: Mapping[str, Any], backend: str, allowed: frozenset[str]) -> None:
    """Key-like model args (``api_key=...``) are refused: keys come from the environment."""
    secret = sorted(k for k in args if SECRET_ARG.search(k) and k not in allowed)
    if secret:
        raise ValueError(
            f"backend {backend!r}: {', '.join(secret)} cannot be passed in --model-args; "
            "put the key in the environment (see the backend's api_key_env)"
        )


def register_secret(value: str) -> None:
    if len(value) >= MIN_SECRET_LENGTH:
        with _LOCK:
            _SECRETS.add(value)
        install_log_redaction()


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def install_log_redaction() -> None:
    """Wrap the log-record factory so that every record of every logger is redacted when it
    is made, before any handler or formatter sees it. Idempotent."""
    global _installed
    with _LOCK:
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _SECRETS:
            message = record.getMessage()
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
