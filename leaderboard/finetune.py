"""Fine-tuned checkpoints beside their base models: per task, before and after.

A checkpoint's result file names its base model (``config.model.checkpoint.base``, from
the checkpoint's card); its rows are set against the base model's rows of the same
method, task by task, with each task's split shown, so that what was trained on and
what was held out read apart.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from statistics import fmean
from typing import Any

import numpy as np

from randbench import stats
from randbench.finetune.heldout import NOVELTY_LEVELS, TASKS_NEEDED_PER_LEVEL
from randbench.harness.adapters import base_name
from randbench.leaderboard.board import Board, Row
from randbench.leaderboard.load import TaskData
from randbench.loader import library_split_hash, load_tasks
from randbench.result_schema import ModelInfo
from randbench.tasks import Task

EXACT_NOISE = 0.01
"""Read exactly (logprob), a TVD has no sampling noise: a change below this is none."""


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
    novelty: str | None = None
    """A held-out task: parameter, family or category (from the result, else the library)."""
    base_interval: tuple[float, float] | None = None
    tuned_interval: tuple[float, float] | None = None
    """Sampled rows: the 95% intervals of the two TVDs (none when read exactly)."""

    @property
    def change(self) -> float | None:
        if self.base_tvd is None or self.tuned_tvd is None:
            return None
        return self.tuned_tvd - self.base_tvd

    @property
    def verdict(self) -> str | None:
        """improved, worsened or noise: sampled, by whether the two TVD intervals are
        apart; read exactly, by whether the change exceeds ``EXACT_NOISE``."""
        change = self.change
        if change is None:
            return None
        if self.base_interval is not None and self.tuned_interval is not None:
            if self.tuned_interval[1] < self.base_interval[0]:
                return "improved"
            if self.tuned_interval[0] > self.base_interval[1]:
                return "worsened"
            return "noise"
        if abs(change) < EXACT_NOISE:
            return "noise"
        return "improved" if change < 0 else "worsened"


@dataclass(frozen=True)
class GroupChange:
    """The tasks of one group (trained, a novelty level, ...): mean TVDs, the mean change
    with a 95% bootstrap interval over tasks, and how many tasks moved."""

    group: str
    n: int
    base: float | None
    tuned: float | None
    change: float | None
    interval: tuple[float, float] | None
    improved: int
    worsened: int
    noise: int

    @property
    def underpowered(self) -> bool:
        """A held-out level with fewer tasks than the power analysis asks for."""
        return self.group in NOVELTY_LEVELS and self.n < TASKS_NEEDED_PER_LEVEL


@dataclass(frozen=True)
class Comparison:
    tuned: Row
    base: Row
    checkpoint: dict[str, Any]
    tasks: list[TaskChange]

    split_note: str | None = None
    """Why the trained and held-out labels may not be like with like, or None."""

    def group(self, group: str) -> GroupChange:
        """The change over the tasks of ``group`` (see ``GROUPS``)."""
        return group_change(self.tasks, group)

    def mean_tvd(self, group: str) -> tuple[float | None, float | None, int]:
        """Mean TVD (base, checkpoint) over the tasks of ``group``."""
        found = self.group(group)
        return found.base, found.tuned, found.n


GROUPS = ("trained", *NOVELTY_LEVELS, "heldout", "untrained", "controls")
ALL_HELDOUT = "all-heldout"
SIDE_BY_SIDE = ("trained", ALL_HELDOUT, "untrained", "controls")
"""The groups the objectives' side-by-side table shows for each checkpoint."""
GROUP_LABELS = {
    "trained": "Trained on",
    "parameter": "Held out: new parameter of a trained family",
    "family": "Held out: new family of a trained category",
    "category": "Held out: category never trained",
    "heldout": "Held out (no novelty level recorded)",
    "untrained": "Not trained on (train split)",
    "controls": "Deterministic controls",
    ALL_HELDOUT: "Held out (every level)",
}


def group_of(change: TaskChange) -> str:
    if change.trained:
        return "trained"
    if change.control:
        return "controls"
    if change.split != "heldout":
        return "untrained"
    return change.novelty if change.novelty in NOVELTY_LEVELS else "heldout"


def in_group(change: TaskChange, group: str) -> bool:
    """``group`` is one of ``GROUPS``, or ``ALL_HELDOUT``: every held-out task whatever its
    novelty (the objectives' comparison reads generalisation over the whole split)."""
    if group == ALL_HELDOUT:
        return group_of(change) in (*NOVELTY_LEVELS, "heldout")
    return group_of(change) == group


def group_change(tasks: Sequence[TaskChange], group: str) -> GroupChange:
    """The change over the tasks of ``group``: the fine-tuning page's row and the findings'."""
    chosen = [t for t in tasks if in_group(t, group) and t.change is not None]
    changes = [t.change for t in chosen if t.change is not None]
    verdicts = [t.verdict for t in chosen]
    interval = None
    if len(changes) >= 2:
        interval = family_interval(chosen)
    return GroupChange(
        group=group,
        n=len(chosen),
        base=fmean(t.base_tvd for t in chosen if t.base_tvd is not None) if chosen else None,
        tuned=fmean(t.tuned_tvd for t in chosen if t.tuned_tvd is not None) if chosen else None,
        change=fmean(changes) if changes else None,
        interval=interval,
        improved=verdicts.count("improved"),
        worsened=verdicts.count("worsened"),
        noise=verdicts.count("noise"),
    )


def family_interval(chosen: Sequence[TaskChange]) -> tuple[float, float]:
    """95% bootstrap interval of the mean change that resamples task *families* (task
    files), the tasks of a family together: tasks of one family share their prompt and
    move together, so resampling tasks alone would overstate the evidence. With a single
    family it is the interval over tasks. Seeded by the tasks: a page is the same every
    build."""
    by_family: dict[str, list[float]] = {}
    for change in chosen:
        if change.change is not None:
            by_family.setdefault(family_of(change.name), []).append(change.change)
    rng = np.random.default_rng(zlib.crc32(",".join(sorted(t.name for t in chosen)).encode()))
    if len(by_family) < 2:
        found = stats.bootstrap_ci([c for cs in by_family.values() for c in cs], np.mean, rng=rng)
        return found.low, found.high
    groups = list(by_family.values())

    def pooled_mean(indices: np.ndarray) -> float:
        return float(np.mean(np.concatenate([groups[int(i)] for i in indices])))

    found = stats.bootstrap_ci(np.arange(len(groups), dtype=float), pooled_mean, rng=rng)
    return found.low, found.high


@cache
def library() -> dict[str, Task]:
    """Today's built-in tasks by name, for what older result files did not record."""
    return {task.name: task for task in load_tasks()}


def family_of(name: str) -> str:
    """The task file a task comes from (itself where the library no longer has it)."""
    task = library().get(name)
    return task.path.stem if task is not None and task.path is not None else name


def _library_novelty(name: str) -> str | None:
    task = library().get(name)
    return task.novelty if task is not None else None


def split_note(checkpoint: dict[str, Any], measured_on: str | None) -> str | None:
    """Whether the checkpoint's split, its result's (``measured_on``) and today's library's
    are one."""
    trained_on = checkpoint.get("split_hash")
    if trained_on is None:
        return (
            "trained before the held-out split was versioned: its held-out labels are "
            "today's library's, not necessarily what it was kept from"
        )
    if measured_on is not None and measured_on != trained_on:
        return "measured on another version of the held-out split than it was trained on"
    if trained_on != library_split_hash():
        return "the library's held-out split has changed since this checkpoint was trained"
    return None


def comparisons(board: Board) -> list[Comparison]:
    """Every checkpoint row with a base-model row of the same method."""
    found = []
    for row in board.rows:
        checkpoint = row.model.checkpoint
        if not checkpoint:
            continue
        wanted = base_name({"base": checkpoint.get("base", "")})
        for base in board.rows:
            if base.method == row.method and is_base_model(base.model, wanted):
                changes = task_changes(row.data, base.data, checkpoint)
                found.append(
                    Comparison(
                        row,
                        base,
                        checkpoint,
                        changes,
                        split_note(checkpoint, row.run.document.config.split_hash),
                    )
                )
                break
    return found


def is_base_model(model: ModelInfo, name: str) -> bool:
    """``model`` is the hf model ``name`` itself, not a checkpoint of it."""
    return model.checkpoint is None and model.backend == "hf" and model.name == name


def task_changes(
    tuned: Mapping[str, TaskData], base: Mapping[str, TaskData], checkpoint: dict[str, Any]
) -> list[TaskChange]:
    """Each task both measured: TVD before and after, and what the checkpoint saw of it."""
    trained = set(checkpoint.get("train_tasks", []))
    names = sorted(set(tuned) & set(base))
    return [
        TaskChange(
            name=name,
            split=tuned[name].entry.task.split,
            trained=name in trained,
            control="controls" in tuned[name].entry.task.groups,
            base_tvd=_distance(base[name].entry.values),
            tuned_tvd=_distance(tuned[name].entry.values),
            base_mass=base[name].entry.values.get("mass_on_support"),
            tuned_mass=tuned[name].entry.values.get("mass_on_support"),
            novelty=tuned[name].entry.task.novelty or _library_novelty(name),
            base_interval=base[name].entry.intervals.get("tvd"),
            tuned_interval=tuned[name].entry.intervals.get("tvd"),
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


@dataclass(frozen=True)
class Objectives:
    """The checkpoints of one base model trained on the same tasks, measured by one method:
    the objectives (SFT, distribution matching, GRPO, ...) side by side."""

    base: str
    method: str
    train_tasks: tuple[str, ...]
    comparisons: list[Comparison]

    def ranked(self, group: str = ALL_HELDOUT) -> list[Comparison]:
        """Best first: the lowest mean change of TVD over ``group``."""
        scored = [(c.group(group).change, c.tuned.label, c) for c in self.comparisons]
        return [c for change, _, c in sorted(
            (s for s in scored if s[0] is not None), key=lambda s: (s[0], s[1]))]  # fmt: skip


def objectives(found: Sequence[Comparison]) -> list[Objectives]:
    """``found`` grouped by base model, measuring method and training tasks; only groups
    of two or more checkpoints are a comparison of objectives."""
    by_key: dict[tuple[str, str, tuple[str, ...]], list[Comparison]] = {}
    for comparison in found:
        key = (
            str(comparison.checkpoint.get("base")),
            comparison.tuned.method,
            tuple(sorted(comparison.checkpoint.get("train_tasks", []))),
        )
        by_key.setdefault(key, []).append(comparison)
    return [
        Objectives(base, method, tasks, sorted(group, key=lambda c: c.tuned.label))
        for (base, method, tasks), group in sorted(by_key.items())
        if len(group) >= 2
    ]


def paired_difference(
    first: Sequence[TaskChange], second: Sequence[TaskChange], group: str = ALL_HELDOUT
) -> GroupChange:
    """``first``'s TVD minus ``second``'s on the tasks of ``group`` both measured, with the
    interval resampling task families: the base model cancels, so the difference is read
    task by task, not as a difference of two means with their separate intervals."""
    theirs = {t.name: t for t in second if in_group(t, group)}
    paired = [
        TaskChange(
            name=t.name,
            split=t.split,
            trained=t.trained,
            control=t.control,
            base_tvd=theirs[t.name].tuned_tvd,
            tuned_tvd=t.tuned_tvd,
            base_mass=None,
            tuned_mass=None,
            novelty=t.novelty,
        )
        for t in first
        if in_group(t, group) and t.name in theirs
    ]
    return group_change(paired, group)
