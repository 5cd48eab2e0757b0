"""GRPO for randomness (issue #32, docs/finetune.md "GRPO"): trl's ``GRPOTrainer`` with a
LoRA adapter on the ``hf`` backend's model, rewarded per group of the model's own answers
(:mod:`randbench.finetune.grpo_reward`), its prompts drawn by an adaptive curriculum
(:mod:`randbench.finetune.curriculum`).

The prompts are the ``grpo`` rows of ``finetune data`` (train-split tasks only), written
by the backend's own chat formatting, as evaluation writes them. Each prompt's group of
G completions is parsed with its task's parser and judged on the target's cells (the
same cells early stopping uses), so every task the harness can score exactly can be
rewarded; a task without such cells is left out by ``finetune data`` with the reason.

The prompt stream is lazy: trl reads one generation batch at a time (no shuffle buffer),
so each prompt is drawn after the rewards of the groups before it have updated the
curriculum. The curriculum's table and history are written beside the checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from randbench.answers import read_answer
from randbench.finetune.curriculum import Curriculum
from randbench.finetune.data import load_data
from randbench.finetune.grpo_reward import group_rewards, optimum
from randbench.finetune.settings import LoraSettings, TrainSettings
from randbench.finetune.tokens import row_prompt
from randbench.finetune.train import Trained, run_training, trained, trainer_arguments
from randbench.loader import load_tasks
from randbench.stopping import Cells, target_cells
from randbench.tasks import Task

CURRICULUM_FILE = "randbench-curriculum.json"


class GrpoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    group: int = Field(default=16, ge=2)
    """Completions sampled per prompt (G)."""
    prompts_per_step: int = Field(default=1, ge=1)
    max_completion_tokens: int = Field(default=24, gt=0)
    temperature: float = Field(default=1.0, gt=0)
    curriculum: bool = True
    window: int = Field(default=4, ge=1)
    tolerance: float = Field(default=0.05, ge=0)


@dataclass
class GroupReward:
    """trl's reward function: rewards each group of G consecutive completions (one prompt)
    against its task's cells, and tells the curriculum each group's mean reward."""

    tasks: dict[str, Task]
    cells: dict[str, Cells]
    curriculum: Curriculum
    group: int
    log: list[dict[str, Any]] = field(default_factory=list)
    __name__: str = "group_reward"

    def cell_of(self, task: Task, text: str) -> int | None:
        parsed = read_answer(task.parser, task.target, text)
        if not parsed.valid or parsed.value is None:
            return None
        return self.cells[task.name].cell(parsed.value)

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], task: Sequence[str], **_: Any
    ) -> list[float | None]:
        rewards: list[float | None] = []
        for start in range(0, len(completions), self.group):
            name = task[start]
            found = [self.cell_of(self.tasks[name], _text(c))
                     for c in completions[start : start + self.group]]  # fmt: skip
            group = group_rewards(found, self.cells[name].probs)
            mean = float(np.mean(group))
            self.curriculum.update(name, mean)
            valid = sum(c is not None for c in found)
            self.log.append({"task": name, "mean_reward": mean, "valid": valid / len(found)})
            rewards.extend(group)
        return rewards


def _text(completion: Any) -> str:
    """A completion as trl hands it over: text, or a conversational list of messages."""
    if isinstance(completion, str):
        return completion
    return "".join(str(m.get("content", "")) for m in completion)


def prompt_stream(
    rows: dict[str, list[str]], curriculum: Curriculum, seed: int
) -> Iterator[dict[str, str]]:
    """Prompts for ever: a task drawn by the curriculum, then one of its wordings."""
    rng = np.random.default_rng(seed)
    while True:
        name = curriculum.draw()
        texts = rows[name]
        yield {"prompt": texts[int(rng.integers(len(texts)))], "task": name}


def rewardable(data_dir: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Task]]:
    """The ``grpo`` rows of ``data_dir`` by task, and the library tasks they come from."""
    dataset = load_data(data_dir, "grpo")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in dataset:
        by_task.setdefault(row["task"], []).append(dict(row))
    library = {t.name: t for t in load_tasks()}
    missing = sorted(set(by_task) - set(library))
    if missing:
        raise ValueError(f"{data_dir}: tasks no longer in the library: {', '.join(missing)}")
    return by_task, {name: library[name] for name in by_task}


def task_optima(tasks: dict[str, Task], group: int) -> tuple[dict[str, Cells], dict[str, float]]:
    cells: dict[str, Cells] = {}
    for name, task in tasks.items():
        found = target_cells(task.target)
        if found is None:
            raise ValueError(f"{name}: its target has no cells to reward against")
        cells[name] = found
    return cells, {name: optimum(c.probs, group) for name, c in cells.items()}


def train_grpo(
    data_dir: Path,
    out: Path,
    *,
    base: str = "smollm2",
    lora: LoraSettings | None = None,
    settings: TrainSettings | None = None,
    grpo: GrpoSettings | None = None,
    merge: bool = False,
) -> Path:
    """GRPO on ``data_dir``'s prompts; the checkpoint, its card and the curriculum's
    table and history (``randbench-curriculum.json``) go to ``out``."""
    from datasets import IterableDataset
    from trl import GRPOConfig, GRPOTrainer  # type: ignore[attr-defined]

    settings = settings or TrainSettings(max_steps=50, learning_rate=1e-4)
    grpo = grpo or GrpoSettings()
    if settings.max_steps <= 0:
        raise ValueError("GRPO draws prompts for ever: give --max-steps")
    rows, tasks = rewardable(data_dir)
    cells, optima = task_optima(tasks, grpo.group)
    curriculum = Curriculum(optima, seed=settings.seed, enabled=grpo.curriculum,
                            window=grpo.window, tolerance=grpo.tolerance)  # fmt: skip
    reward = GroupReward(tasks, cells, curriculum, grpo.group)

    def train(backend: Any, model: Any, work_dir: str) -> Trained:
        texts = {name: [backend.prompt_text(row_prompt(r)) for r in found]
                 for name, found in rows.items()}  # fmt: skip
        stream = IterableDataset.from_generator(
            prompt_stream, gen_kwargs={"rows": texts, "curriculum": curriculum,
                                       "seed": settings.seed})  # fmt: skip
        arguments = trainer_arguments(settings, work_dir, backend)
        arguments["per_device_train_batch_size"] = grpo.group * grpo.prompts_per_step
        config = GRPOConfig(
            **arguments, num_generations=grpo.group, temperature=grpo.temperature,
            max_completion_length=grpo.max_completion_tokens, beta=0.0, shuffle_dataset=False,
            steps_per_generation=1,
        )  # fmt: skip
        trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=config,
                              train_dataset=stream, processing_class=backend.tokenizer)  # fmt: skip
        output = trainer.train()
        return trained(trainer, output, group=grpo.group, curriculum=grpo.curriculum,
                       groups=len(reward.log))  # fmt: skip

    checkpoint = run_training(
        method="grpo", base=base, data_dir=data_dir, out=out, lora=lora or LoraSettings(),
        settings=settings, merge=merge, train=train,
    )  # fmt: skip
    record = {"settings": grpo.model_dump(), "table": curriculum.table(),
              "groups": reward.log, "history": curriculum.history}  # fmt: skip
    (checkpoint / CURRICULUM_FILE).write_text(json.dumps(record, indent=1) + "\n")
    return checkpoint
