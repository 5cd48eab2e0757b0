"""GRPO (issue #32): the grpo rows of `finetune data`, and a real two-step run on SmolLM2
that writes a loadable checkpoint, its card and the curriculum's table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from randbench.finetune.data import DataSettings, build_data, save_data
from randbench.loader import load_tasks

TASKS = {t.name: t for t in load_tasks()}


def test_grpo_rows_are_prompts_of_tasks_with_cells_to_reward_against() -> None:
    tasks = [TASKS[n] for n in ("dice_d6", "random_decimal", "dice_d12", "joke_about_cats")]
    built = build_data(tasks, DataSettings(paraphrases=2), ["grpo"])
    grpo = built.manifest["kinds"]["grpo"]
    assert set(grpo["tasks"]) == {"dice_d6", "random_decimal"}  # binned cells for a decimal
    assert "heldout" in grpo["left_out"]["dice_d12"]
    assert "open-ended" in grpo["left_out"]["joke_about_cats"]
    rows = list(built.datasets["grpo"])
    assert len(rows) == 4 and "completion" not in rows[0]


@pytest.mark.slow
def test_two_grpo_steps_write_a_loadable_checkpoint_with_its_card_and_curriculum(
    tmp_path: Path,
) -> None:
    from randbench.finetune.grpo import CURRICULUM_FILE, GrpoSettings, train_grpo
    from randbench.finetune.settings import TrainSettings
    from randbench.harness.backends import ModelSpec, load_backend
    from randbench.harness.requests import Message, Prompt, ScoreRequest

    built = build_data([TASKS["coin_flip"], TASKS["dice_d6"]], DataSettings(paraphrases=1),
                       ["grpo"])  # fmt: skip
    save_data(built, tmp_path / "data")
    out = train_grpo(
        tmp_path / "data", tmp_path / "ck",
        settings=TrainSettings(max_steps=2, batch_size=4, learning_rate=1e-4, logging_steps=1),
        grpo=GrpoSettings(group=4, max_completion_tokens=6),
    )  # fmt: skip
    card = json.loads((out / "randbench-card.json").read_text())
    assert card["method"] == "grpo" and card["steps"] == 2
    assert card["group"] == 4 and card["budget"] == 8 and card["curriculum"] is True
    record = json.loads((out / CURRICULUM_FILE).read_text())
    assert len(record["groups"]) == 2
    assert sum(row["groups"] for row in record["table"]) == 2
    assert [e["event"] for e in record["history"]].count("draw") >= 2
    for group in record["groups"]:
        assert group["mean_reward"] <= 1e-9  # -KL of the group's shares, or the penalty
    backend = load_backend(ModelSpec.parse(f"hf:{out}"))
    prompt = Prompt((Message("user", "Flip a coin."),))
    (scores,) = backend.score([ScoreRequest("coin", prompt, ("heads", "tails"))])
    assert scores.exact and len(scores.logprobs) == 2
