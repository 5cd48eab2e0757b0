"""Per-call seeds: every call of every unit gets its own, derived from the run's seed."""

from __future__ import annotations

import hashlib

SEED_BITS = 31
"""Per-sample seeds fit in 31 bits: llama.cpp and several servers take 32-bit seeds."""


def sample_seed(run_seed: int, task_hash: str, method: str, index: int, call: int = 0) -> int:
    """A distinct, reproducible seed for every call of every unit (a seed-honouring server
    must not return the same answer N times). The first call of a unit keeps the seed it
    had before units had several calls, so existing caches stay valid."""
    text = f"{run_seed}:{task_hash}:{method}:{index}" + (f":{call}" if call else "")
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (1 << SEED_BITS)
