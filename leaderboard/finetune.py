"""Fine-tuned checkpoints beside their base models: per task, before and after.

A checkpoint's result file names its base model (``config.model.checkpoint.base``, from
the checkpoint's card); its rows are set against the base model's rows of the same
method, task by task, with each task's split shown, so that what was trained on and
what was held out read apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean
from typing import Any

from randbench.harness.adapters import base_name
from randbench.leaderboard.board import Board, Row


@dataclass(frozen=True)
class TaskChange:
    name: str
    split: str
    trained: bool
    """The checkpoint was trained on this very task."""
    control: bool
    """A deterministic control (group ``controls``): has the model kept the one right answer?"""
    base_tvd: float | None
    tuned_tvd: float | None
    base_mass: float | None
    tuned_mass: float | None
    """Logprob rows: the probability on the task's support (answers the parser accepts)."""

    @property
    def change(self) -> float | None:
        if self.base_tvd is None or self.tuned_tvd is None:
            return None
        return self.tuned_tvd - self.base_tvd


@dataclass(frozen=True)
class Comparison:
    tuned: Row
    base: Row
    checkpoint: dict[str, Any]
    tasks: list[TaskChange]

    def mean_tvd(self, group: str) -> tuple[float | None, float | None, int]:
        """Mean TVD (base, checkpoint) over the tasks of ``group``: trained, heldout,
        untrained (train split, not trained on) or controls."""
        chosen = [t for t in self.tasks if _group(t) == group and t.change is not None]
        if not chosen:
            return None, None, 0
        base = fmean(t.base_tvd for t in chosen if t.base_tvd is not None)
        tuned = fmean(t.tuned_tvd for t in chosen if t.tuned_tvd is not None)
        return base, tuned, len(chosen)


GROUPS = ("trained", "heldout", "untrained", "controls")
GROUP_LABELS = {
    "trained": "Trained on",
    "heldout": "Held out (heldout split)",
    "untrained": "Not trained on (train split)",
    "controls": "Deterministic controls",
}


def _group(change: TaskChange) -> str:
    if change.trained:
        return "trained"
    if change.control:
        return "controls"
    return "heldout" if change.split == "heldout" else "untrained"


def comparisons(board: Board) -> list[Comparison]:
    """Every checkpoint row with a base-model row of the same method."""
    found = []
    for row in board.rows:
        checkpoint = row.model.checkpoint
        if not checkpoint:
            continue
        wanted = base_name({"base": checkpoint.get("base", "")})
        for base in board.rows:
            if base.method == row.method and _is_model(base, wanted):
                found.append(Comparison(row, base, checkpoint, _changes(row, base, checkpoint)))
                break
    return found


def _is_model(row: Row, name: str) -> bool:
    return row.model.checkpoint is None and row.model.backend == "hf" and row.model.name == name


def _changes(tuned: Row, base: Row, checkpoint: dict[str, Any]) -> list[TaskChange]:
    trained = set(checkpoint.get("train_tasks", []))
    names = sorted(set(tuned.data) & set(base.data))
    return [
        TaskChange(
            name=name,
            split=tuned.data[name].entry.task.split,
            trained=name in trained,
            control="controls" in tuned.data[name].entry.task.groups,
            base_tvd=_distance(base.data[name].entry.values),
            tuned_tvd=_distance(tuned.data[name].entry.values),
            base_mass=base.data[name].entry.values.get("mass_on_support"),
            tuned_mass=tuned.data[name].entry.values.get("mass_on_support"),
        )
        for name in names
    ]


def _distance(values: dict[str, float | None]) -> float | None:
    """The TVD to the target; for a sampled control (one right answer) that is the share
    of answers that are not the right one, 1 - accuracy."""
    tvd = values.get("tvd")
    accuracy = values.get("accuracy")
    if tvd is None and accuracy is not None:
        return 1.0 - accuracy
    return tvd
