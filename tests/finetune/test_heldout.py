"""The held-out split (issue #37): its levels of novelty, its size by power, and no leakage
of a held-out task into training data."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from randbench.cli import app
from randbench.finetune.heldout import (
    NOVELTY_LEVELS,
    TASKS_NEEDED_PER_LEVEL,
    TrainingText,
    bootstrap_power,
    conversation_text,
    find_leaks,
    leak_threshold,
    merged_results,
    paraphrase_similarities,
    split_counts,
    target_signature,
    task_text,
    tasks_needed,
    training_texts,
    tvd_differences,
)
from randbench.finetune.paraphrase import FRAMINGS
from randbench.loader import TaskLoadError, load_tasks

TASKS = load_tasks()
BY_NAME = {task.name: task for task in TASKS}
RESULTS = Path(__file__).parents[2] / "results"
BASE_RESULTS = sorted(RESULTS.glob("results_hf_smollm2_*.json"))
SFT_RESULTS = sorted(RESULTS.glob("results_hf_checkpoints_smollm2-sft_2*.json"))
EXEMPT = {
    "open_ended": "no finite target: scored for diversity, never trained on",
    "replication": "rewordings of trained tasks (coinflips_bayesian_die asks dice_d6's "
    "question); holding one out would leak",
}
"""Categories with no held-out task, and why (docs/finetune.md says the same)."""


PILOT = Path(__file__).parents[1] / "data" / "power_pilot.json"
"""The per-task TVD changes the split was sized from: SmolLM2 and its SFT checkpoint as
published before the split (their files are in git's history, see its ``source``)."""


def needed_per_level() -> int:
    """What the published base and SFT results ask for today."""
    return tasks_needed(tvd_differences(merged_results(BASE_RESULTS), merged_results(SFT_RESULTS)))


def test_a_held_out_task_must_say_how_it_is_new(tmp_path: Path) -> None:
    body = (
        'task: t\nprompt: "Roll a d6."\nanswer: integer\ntarget: {uniform_int: {low: 1, high: 6}}\n'
    )
    (tmp_path / "basic").mkdir()
    for extra, problem in [
        ("split: heldout\n", "split: heldout needs novelty"),
        ("novelty: family\n", "a train task takes none"),
        ("split: heldout\nnovelty: brand_new\n", "novelty"),
    ]:
        path = tmp_path / "basic" / "t.yaml"
        path.write_text(body + extra)
        with pytest.raises(TaskLoadError, match=problem) as error:
            load_tasks([tmp_path], builtin=False)
        assert "t.yaml" in str(error.value)


def test_every_level_holds_as_many_tasks_as_the_pilot_power_analysis_needs() -> None:
    pilot = json.loads(PILOT.read_text())["tvd_differences"]
    needed = tasks_needed(pilot)
    assert needed == TASKS_NEEDED_PER_LEVEL, "the constant the fine-tuning page uses"
    counts = split_counts(TASKS)
    for level in NOVELTY_LEVELS:
        assert sum(counts[level].values()) >= needed, level
    assert sum(task.split == "heldout" for task in TASKS) >= 40


def test_every_category_with_a_finite_target_holds_out_three_tasks_or_says_why_not() -> None:
    held_out: dict[str, int] = defaultdict(int)
    for task in TASKS:
        held_out[task.category] += task.split == "heldout"
    for category, count in held_out.items():
        if category in EXEMPT:
            assert count == 0, f"{category} is exempt ({EXEMPT[category]}) yet holds tasks out"
        else:
            assert count >= 3, category


def test_each_task_is_as_new_as_it_declares() -> None:
    """parameter: a trained task shares its groups and target kind; family: its category
    is trained; category: no task of its category is trained."""
    trained = [task for task in TASKS if task.split == "train"]
    trained_categories = {task.category for task in trained}
    kinds = {(task.category, next(iter(task.target_spec))) for task in trained}
    for task in TASKS:
        if task.novelty == "category":
            assert task.category not in trained_categories, task.name
        elif task.novelty == "family":
            assert task.category in trained_categories, task.name
        elif task.novelty == "parameter":
            siblings = [
                t
                for t in trained
                if set(t.groups) & set(task.groups)
                and next(iter(t.target_spec)) == next(iter(task.target_spec))
            ]
            assert siblings, f"{task.name}: no trained task of its family"
            assert (task.category, next(iter(task.target_spec))) in kinds


def test_both_forms_are_held_out_stated_and_only_implied() -> None:
    listed = BY_NAME["random_planet_listed"].prompt
    implied = BY_NAME["random_planet"].prompt
    assert "Neptune" in listed and "Neptune" not in implied
    assert "%" in BY_NAME["spinner_four_tenths"].prompt
    assert "%" not in BY_NAME["marble_bag_r3_b2_g1"].prompt
    assert BY_NAME["card_is_face"].target.pmf("yes") == pytest.approx(12 / 52)


def test_tasks_needed_follows_the_normal_approximation() -> None:
    rng = np.random.default_rng(1)
    differences = rng.normal(0.0, 0.15, size=4000)
    spread = np.std(differences, ddof=1)
    assert tasks_needed(differences) == int(np.ceil((2.8016 * spread / 0.05) ** 2))
    assert tasks_needed(differences, effect=0.1) < tasks_needed(differences) / 3.9


@pytest.mark.slow
def test_the_bootstrap_over_tasks_has_the_power_the_formula_promises() -> None:
    differences = np.random.default_rng(2).normal(0.0, 0.15, size=400)
    needed = tasks_needed(differences)
    assert 0.7 <= bootstrap_power(differences, needed, trials=300) <= 0.9
    assert bootstrap_power(differences, needed // 4, trials=300) < 0.45


def test_the_split_command_prints_each_level_and_the_tasks_needed() -> None:
    args = ["finetune", "split"]
    for path in BASE_RESULTS:
        args += ["--base", str(path)]
    for path in SFT_RESULTS:
        args += ["--checkpoint", str(path)]
    result = CliRunner().invoke(app, args, terminal_width=250)
    assert result.exit_code == 0, result.output
    counts = split_counts(TASKS)
    for level in NOVELTY_LEVELS:
        assert f"{level}: {sum(counts[level].values())} (" in result.output
    assert f"needs {needed_per_level()} held-out tasks per level" in result.output


def test_the_retrained_checkpoints_ask_for_more_tasks_than_the_pilot_and_the_docs_say_so() -> None:
    """The retrained SFT checkpoint's changes spread wider than the pilot's, so the levels'
    72 tasks detect a mean change of 0.05 with less than the planned 80% power; the
    fine-tuning doc states the figure the published results give."""
    needed = needed_per_level()
    assert needed > TASKS_NEEDED_PER_LEVEL
    docs = (Path(__file__).parents[2] / "docs" / "finetune.md").read_text()
    assert f"asks for {needed} tasks per level" in docs


@pytest.mark.parametrize(
    ("selection", "held_out"),
    [("dice_d12", "dice_d12"), ("dice", "dice_d20"), ("dice_d1*", "dice_d14")],
)
def test_finetune_data_never_holds_a_held_out_task(
    tmp_path: Path, selection: str, held_out: str
) -> None:
    """By name the command refuses; by group or glob it leaves the held-out tasks out and
    says so."""
    pytest.importorskip("datasets")
    out = tmp_path / "data"
    result = CliRunner().invoke(
        app,
        ["finetune", "data", "--tasks", selection, "--out", str(out), "--completions", "1"],
        terminal_width=250,
    )
    if selection == held_out:
        assert result.exit_code == 2
        assert f"{held_out}: split: heldout" in result.output
        assert not out.exists()
        return
    assert result.exit_code == 0, result.output
    assert f"left out {held_out}: split: heldout" in result.output
    rows = [json.loads(line) for line in _rows(out)]
    assert rows and all(BY_NAME[row["task"]].split == "train" for row in rows)


def _rows(out: Path) -> list[str]:
    from randbench.finetune.data import load_data

    return [json.dumps(dict(row)) for row in load_data(out, "sft")]


def test_a_leak_needs_the_same_distribution_as_well_as_a_close_text() -> None:
    """Fake embeddings (one direction per text) isolate the rule from MiniLM."""
    texts: dict[str, np.ndarray] = {}

    def encode(batch: list[str]) -> np.ndarray:
        for text in batch:
            texts.setdefault(text, np.random.default_rng(len(texts)).normal(size=16))
        rows = np.array([texts[t] for t in batch])
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    d12 = BY_NAME["dice_d12"]
    same_text_other_target = TrainingText(
        task_text(d12), "dice_d10", target_signature(BY_NAME["dice_d10"])
    )
    copy = TrainingText(task_text(d12), "copied", target_signature(d12))
    other = TrainingText("Flip a coin.", "coin_flip", target_signature(BY_NAME["coin_flip"]))
    leaks = find_leaks([same_text_other_target, copy, other], [d12], 0.99, encode)
    assert [(leak.heldout_task, leak.training_task) for leak in leaks] == [("dice_d12", "copied")]


@pytest.mark.slow
def test_no_training_text_is_a_held_out_task_in_other_words() -> None:
    """Every ``finetune data`` text (each train task in all its framings) against every
    held-out prompt, embedded by the shipped MiniLM; the threshold is the least similarity
    of a prompt and one of its framings (one task of each file, in every framing)."""
    pytest.importorskip("datasets")
    from randbench.embedder import default_embedder
    from randbench.finetune.data import DataSettings, build_data

    encode = default_embedder().encode
    trained = [task for task in TASKS if task.split == "train"]
    heldout = [task for task in TASKS if task.split == "heldout"]
    one_per_file = list({task.path: task for task in TASKS}.values())
    similarities = paraphrase_similarities(one_per_file, encode)
    threshold = leak_threshold(similarities)
    assert 0.5 < threshold < 0.99
    settings = DataSettings(completions=1, paraphrases=len(FRAMINGS))
    rows = build_data(trained, settings, ["sft"]).datasets["sft"]
    texts = training_texts(rows, BY_NAME)
    assert find_leaks(texts, heldout, threshold, encode) == []
    # The check can fail: a held-out prompt in one of the framings is caught.
    d12 = BY_NAME["dice_d12"]
    framed = conversation_text(None, FRAMINGS[3].format(prompt=d12.prompt), None)
    planted = [*texts, TrainingText(framed, "planted", target_signature(d12))]
    assert [leak.training_task for leak in find_leaks(planted, heldout, threshold, encode)] == [
        "planted"
    ]
    # And the rule's second condition matters: d12 is nearer d10 than the threshold.
    near = encode([task_text(d12), task_text(BY_NAME["dice_d10"])])
    assert float(near[0] @ near[1]) >= threshold
