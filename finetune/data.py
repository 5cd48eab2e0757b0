"""Training data built from tasks of the train split, as Hugging Face ``datasets``.

Three datasets, one row per (task, paraphrase):

* ``sft`` -- multi-sample SFT: the prompt with ``completions`` answers drawn from the
  task's target, one row per answer, so the empirical answer distribution of a prompt
  is a sample of the target rather than one "right" answer.
* ``distmatch`` -- distribution targets: the prompt with every candidate of the target's
  finite support and its probability, for the exact distribution-matching loss.
* ``grpo`` -- the prompt alone, for GRPO (:mod:`randbench.finetune.grpo`), whose reward
  is computed from groups of the model's own answers against the target's cells.

Rows hold the conversation (system, user prompt, assistant prefix) and answer texts, not
tokens: the chat format of the base model is applied when training
(:mod:`randbench.finetune.tokens`), exactly as the evaluation harness applies it, so one
dataset serves any base model. Answers are written as logprob mode scores them (the
parser's canonical text in the task's ``scored_answer`` wrapper).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from randbench.finetune.paraphrase import paraphrases
from randbench.loader import library_split_hash
from randbench.stopping import target_cells
from randbench.targets.base import Analysis
from randbench.tasks import Task

KINDS = ("sft", "distmatch", "grpo")
MANIFEST = "randbench-data.json"


class DataError(ValueError):
    """The tasks cannot make the requested training data; the message says which and why."""


@dataclass(frozen=True)
class DataSettings:
    completions: int = 64
    """SFT answers drawn from the target per prompt wording."""
    paraphrases: int = 4
    """Wordings per task prompt (the first is the task's own)."""
    max_candidates: int = 200
    """A distmatch task with more candidates than this is left out (too costly per step)."""
    seed: int = 0


def unfit_reason(task: Task, kind: str, settings: DataSettings) -> str | None:
    """Why ``task`` cannot give ``kind`` training rows, or None when it can."""
    if task.split == "heldout":
        return "split: heldout (held-out tasks are for evaluation only)"
    if task.target.analysis is Analysis.OPEN_ENDED:
        return "open-ended: no target distribution to draw answers from"
    if not task.parser.scorable:
        return f"parser {next(iter(task.answer_spec))} has no answer text to train on"
    if kind == "grpo" and target_cells(task.target) is None:
        return (
            f"target {next(iter(task.target_spec))} has no partition with exact "
            "probabilities (the group reward compares answers' cells with them)"
        )
    if kind == "distmatch":
        support = task.target.support()
        if support is None:
            return (
                f"target {next(iter(task.target_spec))} has no enumerable finite support "
                "(continuous or unbounded); distmatch needs every candidate"
            )
        if len(support) > settings.max_candidates:
            return f"{len(support)} candidates, more than max_candidates={settings.max_candidates}"
    return None


def task_rng(task: Task, seed: int) -> np.random.Generator:
    """A generator for one task, stable across runs, machines and task order."""
    return np.random.default_rng([seed, zlib.crc32(task.hash.encode())])


def _conversation(task: Task, prompt: str, paraphrase: int) -> dict[str, Any]:
    return {
        "task": task.name,
        "task_hash": task.hash,
        "paraphrase": paraphrase,
        "system": task.system or "",
        "prompt": prompt,
        "assistant_prefix": task.assistant_prefix or "",
        "until": task.scored_answer.until or "",
    }


def answer_text(task: Task, value: Any) -> str:
    return task.scored_answer.write(task.parser.format(value, task.target))


def sft_records(task: Task, settings: DataSettings) -> list[dict[str, Any]]:
    rng = task_rng(task, settings.seed)
    rows = []
    for index, prompt in enumerate(paraphrases(task.prompt, settings.paraphrases, rng)):
        head = _conversation(task, prompt, index)
        for value in task.target.sample(rng, settings.completions):
            rows.append({**head, "completion": answer_text(task, value)})
    return rows


def distmatch_records(task: Task, settings: DataSettings) -> list[dict[str, Any]]:
    rng = task_rng(task, settings.seed)
    support = task.target.support() or []
    weights = [float(w) for w in task.target.probabilities()]
    candidates = [answer_text(task, value) for value in support]
    return [
        {**_conversation(task, prompt, index), "candidates": candidates, "weights": weights}
        for index, prompt in enumerate(paraphrases(task.prompt, settings.paraphrases, rng))
    ]


def grpo_records(task: Task, settings: DataSettings) -> list[dict[str, Any]]:
    rng = task_rng(task, settings.seed)
    return [
        _conversation(task, prompt, index)
        for index, prompt in enumerate(paraphrases(task.prompt, settings.paraphrases, rng))
    ]


RECORDS = {"sft": sft_records, "distmatch": distmatch_records, "grpo": grpo_records}


@dataclass(frozen=True)
class BuiltData:
    datasets: dict[str, Any]
    """Kind -> ``datasets.Dataset``."""
    manifest: dict[str, Any]


def build_data(
    tasks: Sequence[Task], settings: DataSettings, kinds: Sequence[str] = KINDS
) -> BuiltData:
    """The datasets of ``kinds``. A task that does not fit a kind (a held-out task never
    fits) is left out of it and listed in the manifest with the reason; a kind left
    empty is an error."""
    from datasets import Dataset

    built: dict[str, Any] = {}
    manifest: dict[str, Any] = {
        "settings": asdict(settings),
        "kinds": {},
        "split_hash": library_split_hash(),
    }
    for kind in kinds:
        if kind not in RECORDS:
            raise DataError(f"finetune data: unknown kind {kind!r}; known: {', '.join(KINDS)}")
        used, splits, left_out, rows = {}, {}, {}, []
        for task in tasks:
            reason = unfit_reason(task, kind, settings)
            if reason:
                left_out[task.name] = reason
                continue
            used[task.name] = task.hash
            splits[task.name] = task.split
            rows.extend(RECORDS[kind](task, settings))
        if not rows:
            reasons = "; ".join(f"{name}: {why}" for name, why in left_out.items())
            raise DataError(f"finetune data: no task fits {kind}: {reasons}")
        built[kind] = Dataset.from_list(rows)
        manifest["kinds"][kind] = {"rows": len(rows), "tasks": used, "splits": splits,
                                   "left_out": left_out}  # fmt: skip
    return BuiltData(built, manifest)


def save_data(data: BuiltData, out: Path, *, jsonl: bool = False) -> list[Path]:
    """Each dataset saved to ``out/KIND`` (``datasets`` format), with ``out/KIND.jsonl``
    too when asked, and the manifest; returns what was written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, dataset in data.datasets.items():
        dataset.save_to_disk(str(out / kind))
        written.append(out / kind)
        if jsonl:
            dataset.to_json(str(out / f"{kind}.jsonl"), lines=True, force_ascii=False)
            written.append(out / f"{kind}.jsonl")
    manifest_path = out / MANIFEST
    manifest_path.write_text(json.dumps(data.manifest, indent=2, sort_keys=True) + "\n")
    written.append(manifest_path)
    return written


def load_data(data_dir: Path, kind: str) -> Any:
    """The ``kind`` dataset of a directory written by :func:`save_data`."""
    from datasets import load_from_disk

    where = Path(data_dir) / kind
    if not where.is_dir():
        raise DataError(
            f"{data_dir}: no {kind} dataset (expected {where}); build it with "
            f"`randbench finetune data --kinds {kind} --out {data_dir}`"
        )
    return load_from_disk(str(where))


def read_manifest(data_dir: Path) -> dict[str, Any]:
    path = Path(data_dir) / MANIFEST
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a randbench training-data manifest ({error})") from None
