"""The fine-tuning comparison by level of novelty (issue #37 items 4 and 5): the mean
change with its interval over tasks, what moved, and whether the split is the same."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from randbench.finetune.heldout import TASKS_NEEDED_PER_LEVEL
from randbench.leaderboard.finetune import (
    ALL_HELDOUT,
    Comparison,
    TaskChange,
    objectives,
    paired_difference,
    split_note,
)
from randbench.loader import library_split_hash, load_tasks
from randbench.tasks import split_hash


def change(
    name: str, base: float, tuned: float, novelty: str | None = None, **kw: Any
) -> TaskChange:
    return TaskChange(
        name=name, split="heldout" if novelty else "train", trained=False, control=False,
        base_tvd=base, tuned_tvd=tuned, base_mass=None, tuned_mass=None, novelty=novelty, **kw,
    )  # fmt: skip


def test_a_level_has_its_mean_change_interval_and_counts() -> None:
    tasks = [
        change("a", 0.5, 0.3, "parameter"),  # exact: improved
        change("b", 0.5, 0.505, "parameter"),  # exact: within noise
        change("c", 0.2, 0.4, "parameter"),  # exact: worsened
        change("d", 0.4, 0.2, "parameter", base_interval=(0.3, 0.5), tuned_interval=(0.25, 0.35)),
        change("e", 0.3, 0.5, "family"),
        change("f", 0.3, 0.3),
    ]
    compared = Comparison(SimpleNamespace(), SimpleNamespace(), {}, tasks)  # type: ignore[arg-type]
    level = compared.group("parameter")
    assert (level.n, level.improved, level.worsened, level.noise) == (4, 1, 1, 2)
    assert level.change == pytest.approx((-0.2 + 0.005 + 0.2 - 0.2) / 4)
    assert level.interval is not None and level.interval[0] < level.change < level.interval[1]
    assert level.underpowered and TASKS_NEEDED_PER_LEVEL > 4
    assert compared.group("family").interval is None, "one task has no interval"
    assert compared.group("untrained").n == 1 and not compared.group("untrained").underpowered


def test_the_split_hash_follows_which_tasks_are_held_out() -> None:
    tasks = load_tasks()
    assert split_hash(tasks) == library_split_hash()
    moved = [t for t in tasks if t.name != "dice_d12"]
    assert split_hash(moved) != split_hash(tasks)
    assert split_hash([t for t in tasks if t.split == "heldout"]) == split_hash(tasks)


def test_a_comparison_across_split_versions_says_so() -> None:
    today = library_split_hash()
    assert split_note({"split_hash": today}, today) is None
    assert "before the held-out split was versioned" in (split_note({}, today) or "")
    assert "measured on another version" in (split_note({"split_hash": today}, "x") or "")
    assert "has changed since" in (split_note({"split_hash": "old"}, None) or "")


def test_the_interval_resamples_families_not_tasks() -> None:
    """Three dice and three number ranges that each moved together: the interval of the
    mean spans both families' values, as two families (not six tasks) allow."""
    dice = [change(f"dice_d{s}", 0.5, 0.2, "parameter") for s in (3, 5, 7)]
    numbers = [change(f"random_number_1_to_{h}", 0.5, 0.6, "parameter") for h in (5, 6, 8)]
    compared = Comparison(SimpleNamespace(), SimpleNamespace(), {}, dice + numbers)  # type: ignore[arg-type]
    low, high = compared.group("parameter").interval or (0.0, 0.0)
    assert low == pytest.approx(-0.3) and high == pytest.approx(0.1)


def compared_with(
    label: str, method: str, checkpoint: dict[str, Any], tasks: list[TaskChange]
) -> Comparison:
    tuned: Any = SimpleNamespace(label=label, method="logprob", id=label)
    card = {"base": "smollm2", "method": method, "train_tasks": ["dice_d6"], **checkpoint}
    return Comparison(tuned, SimpleNamespace(), card, tasks)  # type: ignore[arg-type]


def test_objectives_are_ranked_on_every_held_out_level_and_paired_task_by_task() -> None:
    """Two objectives over the same held-out tasks (two families at two levels): the one
    with the lower TVD ranks first, and their difference is read task by task."""
    names = [("dice_d3", "parameter"), ("dice_d5", "parameter"), ("shuffle_a", "family"),
             ("shuffle_b", "family")]  # fmt: skip
    sft = [change(n, 0.5, 0.45, level) for n, level in names]
    grpo = [change(n, 0.5, 0.30 + 0.01 * i, level) for i, (n, level) in enumerate(names)]
    other_base = compared_with("other", "sft", {"base": "gemma3"}, sft)
    found = objectives(
        [
            compared_with("sft", "sft", {}, sft),
            compared_with("grpo", "grpo", {"curriculum": True}, grpo),
            other_base,
        ]
    )
    assert len(found) == 1, "a lone checkpoint of another base model is no comparison"
    (group,) = found
    assert [c.tuned.label for c in group.ranked()] == ["grpo", "sft"]
    heldout = group.ranked()[0].group(ALL_HELDOUT)
    assert heldout.n == 4 and heldout.change == pytest.approx(-0.185)
    gap = paired_difference(grpo, sft)
    assert gap.n == 4 and gap.change == pytest.approx(-0.135)
    assert gap.interval is not None and gap.interval[1] < 0
    assert paired_difference(sft, sft).change == 0


def test_a_checkpoint_is_placed_in_its_arm_by_the_generated_tasks_it_trained_on() -> None:
    from randbench.leaderboard.findings import training_arm

    assert training_arm({"train_tasks": ["dice_d6"]}) == "hand-written"
    assert training_arm({"train_tasks": ["dice_d6"], "generated_tasks": []}) == "hand-written"
    assert training_arm({"train_tasks": ["gems"], "generated_tasks": ["gems"]}) == "generated"
    both = {"train_tasks": ["dice_d6", "gems"], "generated_tasks": ["gems"]}
    assert training_arm(both) == "both"
