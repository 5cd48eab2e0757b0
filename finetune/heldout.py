"""The held-out split as an experiment (docs/finetune.md, "The held-out split").

Three things a claim of generalisation rests on:

* the split itself: which held-out tasks exist at each level of novelty
  (:func:`split_counts`);
* its size: how many held-out tasks a level needs to detect a given change of mean TVD,
  from the per-task TVD differences of a base model and a checkpoint
  (:func:`tasks_needed`, checked by simulating the bootstrap over tasks in
  :func:`bootstrap_power`);
* no leakage: no training text is a held-out task in other words (:func:`find_leaks`).

A leak is a training text whose embedding lies within the paraphrase distance of a
held-out prompt *and* that asks for the same distribution. Closeness alone cannot be the
rule: a task of ``parameter`` novelty differs from its trained family by design in one
number only ("a fair 12-sided die" beside the trained 10-sided one), and MiniLM puts such
pairs closer than a prompt and its framings. What must never reach training is the
held-out question itself, in any wording, with its answer distribution.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from randbench.finetune.paraphrase import FRAMINGS
from randbench.tasks import Task

NOVELTY_LEVELS = ("parameter", "family", "category")
TASKS_NEEDED_PER_LEVEL = 72
"""Held-out tasks a novelty level needs to detect a change of mean TVD of 0.05 (two-sided
5%, power 0.8), from the committed SmolLM2 and SFT results (:func:`tasks_needed`; the test
suite recomputes it)."""
SUPPORT_LIMIT = 10_000
"""A target with a larger support is signed by its spec, not by its probabilities."""

Encode = Callable[[Sequence[str]], np.ndarray]
"""Unit-norm sentence embeddings, one row per text (``randbench.embedder.Embedder.encode``)."""


def split_counts(tasks: Iterable[Task]) -> dict[str, Counter[str]]:
    """Held-out tasks by novelty level, then by category."""
    counts: dict[str, Counter[str]] = {level: Counter() for level in NOVELTY_LEVELS}
    for task in tasks:
        if task.split == "heldout" and task.novelty is not None:
            counts[task.novelty][task.category] += 1
    return counts


def conversation_text(system: str | None, prompt: str, assistant_prefix: str | None) -> str:
    """What a model reads before it answers, as one text to embed."""
    return "\n".join(part for part in (system, prompt, assistant_prefix) if part)


def task_text(task: Task) -> str:
    return conversation_text(task.system, task.prompt, task.assistant_prefix)


def target_signature(task: Task) -> str:
    """Equal for two tasks exactly when they ask for the same answer distribution."""
    support = task.target.support()
    if support is not None and len(support) <= SUPPORT_LIMIT:
        weights = task.target.probabilities()
        cells = sorted((str(v), round(float(w), 9)) for v, w in zip(support, weights, strict=True))
        return json.dumps(cells)
    return json.dumps(task.target_spec, sort_keys=True, default=str)


@dataclass(frozen=True)
class TrainingText:
    """One text a model is trained on, with the task whose answers it is trained towards."""

    text: str
    task: str
    signature: str


@dataclass(frozen=True)
class Leak:
    heldout_task: str
    training_task: str
    similarity: float
    training_text: str


def paraphrase_similarities(tasks: Sequence[Task], encode: Encode) -> np.ndarray:
    """Cosine similarity of each task's prompt with each of its framings (the rewordings
    ``finetune data`` trains on): the distance at which a text is the same question."""
    originals, framed = [], []
    for task in tasks:
        for framing in FRAMINGS[1:]:
            originals.append(task_text(task))
            framed.append(
                conversation_text(task.system, framing.format(prompt=task.prompt),
                                  task.assistant_prefix)
            )  # fmt: skip
    left, right = encode(originals), encode(framed)
    return np.asarray(np.einsum("ij,ij->i", left, right))


def leak_threshold(similarities: np.ndarray) -> float:
    """The least similarity of a prompt and one of its framings: every text at least this
    close to a held-out prompt is treated as that prompt in other words."""
    return float(np.min(similarities))


def find_leaks(
    training: Sequence[TrainingText], heldout: Sequence[Task], threshold: float, encode: Encode
) -> list[Leak]:
    """Training texts within ``threshold`` of a held-out prompt that ask for its
    distribution (see the module docstring for why both conditions). Only texts that share
    a held-out task's distribution are embedded."""
    by_signature: dict[str, list[Task]] = {}
    for task in heldout:
        by_signature.setdefault(target_signature(task), []).append(task)
    candidates = [item for item in training if item.signature in by_signature]
    if not candidates:
        return []
    texts = list(dict.fromkeys(item.text for item in candidates))
    prompts = list(dict.fromkeys(task_text(task) for task in heldout))
    similarity = encode(texts) @ encode(prompts).T
    rows = {text: i for i, text in enumerate(texts)}
    columns = {text: i for i, text in enumerate(prompts)}
    leaks = []
    for item in candidates:
        for task in by_signature[item.signature]:
            close = float(similarity[rows[item.text], columns[task_text(task)]])
            if close >= threshold:
                leaks.append(Leak(task.name, item.task, close, item.text))
    return leaks


def training_texts(
    rows: Iterable[Mapping[str, Any]], tasks: Mapping[str, Task]
) -> list[TrainingText]:
    """The texts of ``finetune data`` rows (their conversation), signed by their task."""
    return [
        TrainingText(
            conversation_text(row.get("system"), row["prompt"], row.get("assistant_prefix")),
            row["task"],
            target_signature(tasks[row["task"]]),
        )
        for row in rows
    ]


def tasks_needed(
    differences: Sequence[float], effect: float = 0.05, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Held-out tasks needed to detect a change of mean TVD of ``effect`` with a two-sided
    test at ``alpha`` and the given power, from per-task differences (checkpoint minus
    base) whose spread stands for the held-out tasks'."""
    spread = float(np.std(differences, ddof=1))
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return math.ceil((z * spread / effect) ** 2)


def bootstrap_power(
    differences: Sequence[float],
    tasks: int,
    effect: float = 0.05,
    *,
    trials: int = 200,
    resamples: int = 999,
    seed: int = 0,
) -> float:
    """The share of simulated held-out sets of ``tasks`` tasks, drawn from ``differences``
    moved to mean ``effect``, whose 95% percentile bootstrap interval of the mean excludes
    0: the power of the analysis the fine-tuning page runs."""
    rng = np.random.default_rng(seed)
    shifted = np.asarray(differences, dtype=float)
    shifted = shifted - shifted.mean() + effect
    detected = 0
    for _ in range(trials):
        sample = rng.choice(shifted, size=tasks, replace=True)
        interval = stats.bootstrap(
            (sample,), np.mean, n_resamples=resamples, method="percentile", random_state=rng
        ).confidence_interval
        detected += bool(interval.low > 0 or interval.high < 0)
    return detected / trials


def merged_results(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """The ``results`` mappings of several result files of one model, later files winning."""
    merged: dict[str, dict[str, Any]] = {}
    for path in paths:
        for task, methods in json.loads(path.read_text())["results"].items():
            merged.setdefault(task, {}).update(methods)
    return merged


def tvd_differences(base: Mapping[str, Any], checkpoint: Mapping[str, Any]) -> list[float]:
    """Per-task TVD of ``checkpoint`` minus ``base`` over the (task, method) pairs both
    result documents hold (their ``results`` mappings)."""
    differences = []
    for task, methods in checkpoint.items():
        for method, entry in methods.items():
            theirs = ((base.get(task) or {}).get(method) or {}).get("values") or {}
            ours = entry.get("values") or {}
            if theirs.get("tvd") is not None and ours.get("tvd") is not None:
                differences.append(float(ours["tvd"]) - float(theirs["tvd"]))
    return differences
