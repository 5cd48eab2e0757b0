"""What to do when a request to a model server fails: retry (after how long) or give up.

One policy for every backend that talks to a server (``openai``, ``anthropic``): 429 waits
with exponential backoff and honours the server's ``Retry-After`` (or ``retry-after-ms``);
5xx answers, timeouts and connection errors are retried; any other error (a bad request,
a wrong key, an unknown model) is final at once, since asking again cannot help.

Errors are recognised by shape, not by SDK class, so the OpenAI and Anthropic SDKs (whose
status errors carry ``status_code`` and ``response``, and whose connection errors wrap the
httpx error as their cause) and plain httpx all go through the same code.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RETRIED_STATUS = frozenset({408, 409, 425, 429})
"""Retried besides every 5xx: request timeout, conflict (a lock), too early, too many requests."""


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries per request, each limited to ``timeout`` seconds; the wait
    before try k+1 is ``base * 2**(k-1)`` (capped at ``max_delay``) with +-25% jitter drawn
    from a generator seeded with ``seed``, and never shorter than a 429's Retry-After."""

    max_attempts: int = 8
    timeout: float = 120.0
    base: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 600.0
    """A Retry-After longer than this is cut to it (a server asking for hours is an outage)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("timeout", "max_delay", "max_retry_after"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.base < 0:
            raise ValueError(f"retry base must be >= 0, got {self.base}")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed try number ``attempt`` (1-based), jittered."""
        delay = min(self.max_delay, self.base * 2 ** (attempt - 1))
        return float(delay * rng.uniform(0.75, 1.25))

    def delay(self, attempt: int, verdict: Verdict, rng: random.Random) -> float:
        wait = self.backoff(attempt, rng)
        if verdict.retry_after is not None:
            wait = max(wait, min(verdict.retry_after, self.max_retry_after))
        return wait


@dataclass(frozen=True)
class Verdict:
    """How one failed try is handled: ``kind`` is one of rate_limited, server_error,
    timeout, connection (all retried) or fatal."""

    kind: str
    reason: str
    retry_after: float | None = None

    @property
    def retry(self) -> bool:
        return self.kind != "fatal"


def classify(error: BaseException) -> Verdict:
    """Sort a failed try into retried and final kinds (see the module docstring)."""
    status = _status(error)
    if status is not None:
        reason = f"HTTP {status}{_detail(error)}"
        if status == 429:
            return Verdict("rate_limited", reason, retry_after_seconds(_headers(error)))
        if status >= 500 or status in RETRIED_STATUS:
            return Verdict("server_error", reason, retry_after_seconds(_headers(error)))
        return Verdict("fatal", reason)
    for cause in _chain(error):
        if isinstance(cause, asyncio.TimeoutError | TimeoutError) or _named(cause, "Timeout"):
            return Verdict("timeout", f"timed out ({type(cause).__name__})")
    for cause in _chain(error):
        if isinstance(cause, ConnectionError | EOFError) or _is_transport_error(cause):
            return Verdict("connection", f"connection failed ({type(cause).__name__}: {cause})")
    if _named(error, "APIConnectionError"):
        return Verdict("connection", f"connection failed ({error})")
    return Verdict("fatal", f"{type(error).__name__}: {error}")


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (OpenAI, Anthropic), or ``Retry-After`` as
    seconds or as an HTTP date; None when absent or unreadable."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _chain(error: BaseException) -> list[BaseException]:
    """The error and its causes (``raise ... from``) and contexts, without loops."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _named(error: BaseException, fragment: str) -> bool:
    return any(fragment in cls.__name__ for cls in type(error).__mro__)


def _is_transport_error(error: BaseException) -> bool:
    """httpx's TransportError (connect errors, dropped connections, protocol errors),
    recognised without importing httpx."""
    return any(
        cls.__name__ in ("TransportError", "NetworkError", "RemoteProtocolError")
        and cls.__module__.startswith(("httpx", "httpcore"))
        for cls in type(error).__mro__
    )


def _status(error: BaseException) -> int | None:
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _headers(error: BaseException) -> Mapping[str, str] | None:
    response: Any = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    return headers if isinstance(headers, Mapping) else None


def _detail(error: BaseException) -> str:
    text = str(error).strip()
    return f": {text[:300]}" if text else ""
