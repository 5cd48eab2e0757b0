"""An adaptive curriculum for GRPO over many tasks (after the ARC-GRPO plan in the research
notes): a running table per task of its groups' mean reward, their spread and their recent
improvement; tasks are drawn with weights that favour those still improving and those
whose rewards still vary (where a group's advantages carry signal), and a task whose
reward has stayed near its optimum for a window is retired. ``enabled=False`` draws the
active tasks uniformly, for the ablation. Every draw and update is recorded, so the
table's history is saved beside the checkpoint and the run can be read back."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FLOOR = 0.05
"""Every active task keeps at least this weight, so none starves."""


@dataclass
class TaskRecord:
    optimum: float
    """The expected group reward of a policy equal to the target
    (:func:`randbench.finetune.grpo_reward.optimum`)."""
    window: int
    rewards: deque[float] = field(default_factory=deque)
    groups: int = 0
    retired_at: int | None = None
    """The update at which the task was retired (None: active)."""

    def add(self, reward: float) -> None:
        self.rewards.append(reward)
        if len(self.rewards) > 2 * self.window:
            self.rewards.popleft()
        self.groups += 1

    @property
    def recent(self) -> list[float]:
        return list(self.rewards)[-self.window :]

    @property
    def mean(self) -> float:
        return float(np.mean(self.recent)) if self.rewards else float("nan")

    @property
    def spread(self) -> float:
        return float(np.std(self.recent)) if len(self.rewards) > 1 else 0.0

    @property
    def improvement(self) -> float:
        """The recent window's mean reward less the window before it (0 until both exist)."""
        if len(self.rewards) < 2 * self.window:
            return 0.0
        earlier = list(self.rewards)[: self.window]
        return float(np.mean(self.recent) - np.mean(earlier))


@dataclass
class Curriculum:
    optima: Mapping[str, float]
    """Each task's optimum: the tasks the curriculum draws from."""
    seed: int = 0
    enabled: bool = True
    window: int = 4
    tolerance: float = 0.05
    """A task is retired when its recent mean reward is within this of its optimum."""
    records: dict[str, TaskRecord] = field(init=False)
    history: list[dict[str, Any]] = field(init=False, default_factory=list)
    _rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        if not self.optima:
            raise ValueError("curriculum: no task to draw from")
        self.records = {name: TaskRecord(o, self.window) for name, o in sorted(self.optima.items())}
        self._rng = np.random.default_rng(self.seed)

    @property
    def active(self) -> list[str]:
        """The tasks still drawn from; all of them again if every one is retired."""
        found = [n for n, r in self.records.items() if r.retired_at is None]
        return found or list(self.records)

    def weights(self) -> dict[str, float]:
        """The drawing weights of the active tasks, summing to 1."""
        names = self.active
        if not self.enabled:
            return {n: 1 / len(names) for n in names}
        raw = np.array(
            [FLOOR + max(self.records[n].improvement, 0.0) + self.records[n].spread for n in names]
        )
        return {n: float(w) for n, w in zip(names, raw / raw.sum(), strict=True)}

    def draw(self) -> str:
        weights = self.weights()
        names = list(weights)
        task = names[int(self._rng.choice(len(names), p=list(weights.values())))]
        self.history.append({"event": "draw", "task": task, "weights": weights})
        return task

    def update(self, task: str, group_mean_reward: float) -> None:
        """A group of ``task`` was rewarded: record it, and retire the task if its recent
        rewards have stayed within ``tolerance`` of its optimum for a whole window."""
        record = self.records[task]
        record.add(group_mean_reward)
        retired = (
            self.enabled
            and record.retired_at is None
            and len(record.rewards) >= self.window
            and all(r >= record.optimum - self.tolerance for r in record.recent)
        )
        if retired:
            record.retired_at = len(self.history)
        self.history.append({"event": "update", "task": task, "reward": group_mean_reward,
                             "retired": retired})  # fmt: skip

    def table(self) -> list[dict[str, Any]]:
        """The running table: per task, groups seen, mean reward, spread, improvement,
        optimum and whether (when) it was retired."""
        return [
            {"task": name, "groups": r.groups, "mean_reward": r.mean, "spread": r.spread,
             "improvement": r.improvement, "optimum": r.optimum, "retired_at": r.retired_at}
            for name, r in self.records.items()
        ]  # fmt: skip
