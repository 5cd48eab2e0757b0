"""When a task may stop sampling early: the cells it is judged on, the first batch it may
stop at, and its answers' anytime-valid evidence against a perfect sampler
(:mod:`randbench.stopping` holds the statistics; this module their schedule in a run)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from randbench.harness.methods.base import SamplingMethod
from randbench.harness.runs import RunConfig, StopRecord
from randbench.outcomes import ParseResult
from randbench.stopping import Cells, log_evidence, target_cells
from randbench.tasks import Task


def stop_cells(task: Task, config: RunConfig) -> Cells | None:
    """The cells early stopping judges a task on, or None when the task cannot stop early."""
    if config.stop_alpha is None or not task.stop_early:
        return None
    return target_cells(task.target)


def first_look(task: Task, config: RunConfig, units: int | None = None) -> int:
    """Units a task takes before it can first stop early (all of them if it cannot);
    ``units``: its planned units (default: its samples)."""
    planned = task.samples if units is None else units
    if stop_cells(task, config) is None:
        return planned
    batches = math.ceil(config.min_samples / config.batch_size)
    return min(planned, batches * config.batch_size)


@dataclass
class Evidence:
    """A task's answers so far, each unit read once, in index order; checked at batch
    boundaries (a fixed schedule, so a resumed run stops where an uninterrupted one does)."""

    task: Task
    method: SamplingMethod
    cells: Cells
    outcomes: list[ParseResult] = field(default_factory=list)
    read: int = 0

    def conclusive(
        self, units: dict[int, tuple[str, ...]], done: int, planned: int, config: RunConfig
    ) -> StopRecord | None:
        """Whether units 0..done-1 are conclusive evidence against the perfect sampler."""
        assert config.stop_alpha is not None
        for i in range(self.read, done):
            self.outcomes.extend(self.method.read(self.task, i, units[i]).outcomes)
        self.read = done
        if len(self.outcomes) < config.min_samples:
            return None
        evidence = log_evidence(self.cells, self.outcomes)
        if evidence < math.log(1 / config.stop_alpha):
            return None
        return StopRecord(done, planned, evidence, config.stop_alpha, self.cells.description)
