"""Generated in-context evidence: a task's ``context`` block -> one set of variables per
(theta, length), drawn reproducibly.

The draws depend only on the task's name template, the block's ``seed`` and the index of
theta in the grid, so the same YAML always yields the same prompts (and task hashes).
Each theta gets one sequence of the longest length; shorter lengths take its prefix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from randbench.schema import ContextSpec, theta_weights

CONTEXT_VARIABLES: tuple[str, ...] = (
    "theta",
    "theta_index",
    "theta_pct",
    "weights",
    "n",
    "sequence",
    "counts",
    "observed",
)
"""Template variables a ``context`` block defines (a ``params`` name may not reuse one)."""


def context_seed(name_template: str, seed: int, theta_index: int) -> int:
    """The seed of one theta's draws: a SHA-256 of the name template, seed and index."""
    digest = hashlib.sha256(f"{name_template}\x00{seed}\x00{theta_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def draw_sequence(
    outcomes: Sequence[str | int], weights: Sequence[float], length: int, seed: int
) -> list[str | int]:
    """``length`` i.i.d. draws from the categorical ``weights`` over ``outcomes``."""
    rng = np.random.default_rng(seed)
    index = rng.choice(len(outcomes), size=length, p=np.asarray(weights, dtype=float))
    return [outcomes[i] for i in index]


def count(outcomes: Sequence[str | int], sequence: Sequence[str | int]) -> list[int]:
    """How often each outcome occurs in ``sequence``, aligned with ``outcomes``."""
    return [sum(1 for s in sequence if s == o) for o in outcomes]


def context_variables(spec: ContextSpec, name_template: str) -> list[dict[str, Any]]:
    """One variable set per (theta, length), theta-major in the block's order."""
    found: list[dict[str, Any]] = []
    longest = max(spec.lengths)
    for index, theta in enumerate(spec.theta):
        weights = theta_weights(theta, len(spec.outcomes))
        assert weights is not None  # checked by ContextSpec
        full = draw_sequence(
            spec.outcomes, weights, longest, context_seed(name_template, spec.seed, index)
        )
        for n in spec.lengths:
            sequence = full[:n]
            found.append(
                {
                    "theta": theta,
                    "theta_index": index,
                    "theta_pct": round(100 * weights[0]),
                    "weights": dict(zip(spec.outcomes, weights, strict=True)),
                    "n": n,
                    "sequence": sequence,
                    "counts": count(spec.outcomes, sequence),
                    "observed": spec.separator.join(str(s) for s in sequence),
                }
            )
    return found
