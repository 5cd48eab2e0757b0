"""GRPO's reward for randomness: a per-sample reward does not exist ("be random" is a
property of many answers), so each completion is rewarded against its group.

For a group of G completions of one prompt, parsed into the target's cells c_1..c_G (the
finest partition with exact probabilities, :func:`randbench.stopping.target_cells`; an
unreadable answer or one the target cannot produce has no cell):

    r_i = log p*(c_i) - log(n(c_i) / G)          (valid answers)
    r_i = INVALID_REWARD                          (no cell)

where n(c) counts the group's answers in cell c. The group's mean valid reward is
``sum_c q(c) log(p*(c) / q(c)) = -KL(q || p*)`` with q the group's empirical shares: at
most 0, and 0 exactly when the group matches the target. Within a group, an answer the
group over-uses earns less than one it under-uses, so GRPO's advantage (reward minus the
group mean) pushes the policy toward the target, not toward its mode: a policy on the mode
earns log p*(mode) per sample, below the target's own expected reward (docs/finetune.md,
"GRPO"). The estimate of q from G samples biases the optimum's expected reward below 0 by
about (K - 1) / 2G for K cells, and its variance falls as 1/G: :func:`expected_reward`
computes it exactly, and :func:`optimum` is what a curriculum compares a task against.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import stats

INVALID_REWARD = -10.0
"""Below any valid reward a group of 16 can give a cell of probability 1e-4 (about -6.5)."""


def group_rewards(
    cells: Sequence[int | None], probs: np.ndarray, invalid: float = INVALID_REWARD
) -> list[float]:
    """Each completion's reward, from the cells of its whole group (None: no cell)."""
    size = len(cells)
    counts = Counter(c for c in cells if c is not None)
    return [
        invalid
        if c is None or probs[c] <= 0
        else float(np.log(probs[c]) - np.log(counts[c] / size))
        for c in cells
    ]


def expected_reward(policy: np.ndarray, probs: np.ndarray, group: int) -> float:
    """A sample's expected reward when every answer of a group of ``group`` is drawn from
    ``policy`` (over the same cells as ``probs``): exact, with the other G - 1 answers'
    count in the sample's cell binomial."""
    others = np.arange(group)
    total = 0.0
    for cell, share in enumerate(policy):
        if share <= 0:
            continue
        if probs[cell] <= 0:
            total += share * INVALID_REWARD
            continue
        weights = stats.binom.pmf(others, group - 1, share)
        log_share = float(np.dot(weights, np.log((others + 1) / group)))
        total += share * (float(np.log(probs[cell])) - log_share)
    return total


def optimum(probs: np.ndarray, group: int) -> float:
    """The expected reward of a policy equal to the target: the mark a curriculum retires
    a task at. (With a finite group the exact maximiser is a shade flatter than a
    non-uniform target, since a rare cell's share is over-estimated less often: the
    bias is second order, docs/finetune.md.)"""
    return expected_reward(probs, probs, group)
