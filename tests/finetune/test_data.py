"""Training data from real library tasks: what it holds, what it leaves out, and why."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

pytest.importorskip("datasets")

from randbench.cli import app
from randbench.finetune.data import (
    DataError,
    DataSettings,
    build_data,
    load_data,
    read_manifest,
    save_data,
)
from randbench.finetune.paraphrase import FRAMINGS, paraphrases
from randbench.finetune.tokens import PrefixError, check_prefix_free
from randbench.loader import load_tasks
from randbench.selection import select_tasks

TASKS = {t.name: t for t in load_tasks()}


def pick(*names: str) -> list:
    return select_tasks(list(TASKS.values()), list(names))


def test_sft_answers_are_a_sample_of_the_target() -> None:
    settings = DataSettings(completions=3000, paraphrases=1, seed=3)
    rows = build_data(pick("dice_d6"), settings, ["sft"]).datasets["sft"]
    counts = Counter(int(r["completion"]) for r in rows)
    assert sorted(counts) == [1, 2, 3, 4, 5, 6]
    observed = [counts[k] for k in range(1, 7)]
    assert stats.chisquare(observed).pvalue > 1e-3
    weighted = build_data(pick("weighted_colour"), settings, ["sft"]).datasets["sft"]
    colours = Counter(r["completion"] for r in weighted)
    target = TASKS["weighted_colour"].target
    expected = [target.pmf(v) * len(weighted) for v in target.support()]
    assert stats.chisquare([colours[v] for v in target.support()], expected).pvalue > 1e-3


def test_distmatch_rows_hold_every_candidate_with_its_probability() -> None:
    built = build_data(pick("dice_sum_2d6"), DataSettings(paraphrases=3), ["distmatch"])
    rows = built.datasets["distmatch"]
    assert len(rows) == 3
    target = TASKS["dice_sum_2d6"].target
    for row in rows:
        assert row["candidates"] == [str(v) for v in target.support()]
        assert np.allclose(row["weights"], target.probabilities())
        assert abs(sum(row["weights"]) - 1) < 1e-9
    assert row["weights"][row["candidates"].index("7")] == pytest.approx(6 / 36)


def test_rows_count_and_paraphrases() -> None:
    settings = DataSettings(completions=5, paraphrases=4)
    rows = build_data(pick("coin_flip", "yes_no"), settings, ["sft"]).datasets["sft"]
    assert len(rows) == 2 * 4 * 5
    for name in ("coin_flip", "yes_no"):
        wordings = {r["prompt"] for r in rows if r["task"] == name}
        assert len(wordings) == 4 and TASKS[name].prompt in wordings
        assert all(TASKS[name].prompt in w for w in wordings)


def test_paraphrases_start_with_the_prompt_and_are_distinct_and_seeded() -> None:
    first = paraphrases("Roll.", 5, np.random.default_rng(1))
    assert first[0] == "Roll." and len(set(first)) == 5
    assert first == paraphrases("Roll.", 5, np.random.default_rng(1))
    with pytest.raises(ValueError, match="count must lie in 1"):
        paraphrases("Roll.", len(FRAMINGS) + 1, np.random.default_rng(1))


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data() -> None:
    tasks = pick("dice_d8")

    def answers(seed: int) -> list[str]:
        built = build_data(tasks, DataSettings(completions=50, seed=seed), ["sft"])
        return list(built.datasets["sft"]["completion"])

    assert answers(0) == answers(0)
    assert answers(0) != answers(1)


def test_heldout_continuous_and_oversized_tasks_are_left_out_with_the_reason() -> None:
    tasks = pick("dice_d6", "dice_d12", "random_decimal", "random_number_1_to_1000", "joke_*")
    built = build_data(tasks, DataSettings(completions=2, paraphrases=1), ["sft", "distmatch"])
    sft, dm = built.manifest["kinds"]["sft"], built.manifest["kinds"]["distmatch"]
    assert set(sft["tasks"]) == {"dice_d6", "random_decimal", "random_number_1_to_1000"}
    assert "heldout" in sft["left_out"]["dice_d12"]
    assert "open-ended" in sft["left_out"]["joke_about_cats"]
    assert set(dm["tasks"]) == {"dice_d6"}
    assert "no enumerable finite support" in dm["left_out"]["random_decimal"]
    assert "1000 candidates" in dm["left_out"]["random_number_1_to_1000"]
    assert "dice_d12" not in set(built.datasets["distmatch"]["task"])


def test_a_kind_no_task_fits_is_an_error_naming_the_tasks() -> None:
    with pytest.raises(DataError, match="no task fits distmatch: random_decimal: target"):
        build_data(pick("random_decimal"), DataSettings(), ["distmatch"])
    with pytest.raises(DataError, match="unknown kind 'rl'"):
        build_data(pick("dice_d6"), DataSettings(), ["rl"])


def test_saved_data_round_trips_and_exports_jsonl(tmp_path: Path) -> None:
    built = build_data(pick("coin_flip"), DataSettings(completions=4, paraphrases=2), ["sft"])
    save_data(built, tmp_path, jsonl=True)
    assert list(load_data(tmp_path, "sft")["completion"]) == list(
        built.datasets["sft"]["completion"]
    )
    lines = (tmp_path / "sft.jsonl").read_text().splitlines()
    assert len(lines) == 8 and json.loads(lines[0])["task"] == "coin_flip"
    assert read_manifest(tmp_path)["kinds"]["sft"]["tasks"] == {
        "coin_flip": TASKS["coin_flip"].hash
    }
    with pytest.raises(DataError, match="no distmatch dataset"):
        load_data(tmp_path, "distmatch")


def test_prefix_free_check_names_the_overlapping_candidates() -> None:
    check_prefix_free("t", ["1", "10"], [[16, 2], [16, 15, 2]])
    with pytest.raises(PrefixError, match="task t: candidate '1' is a prefix of '10'"):
        check_prefix_free("t", ["10", "1", "2"], [[16, 15], [16], [17]])


def test_cli_writes_data_and_reports_what_it_left_out(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["finetune", "data", "--tasks", "dice_d6,dice_d20,random_decimal",
         "--out", str(tmp_path / "d"), "--completions", "3", "--paraphrases", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sft: 12 rows from 2 tasks" in result.output
    assert "distmatch: 2 rows from 1 tasks" in result.output
    assert "left out dice_d20: split: heldout" in result.output
    bad = CliRunner().invoke(
        app, ["finetune", "data", "--tasks", "random_decimal", "--kinds", "distmatch",
              "--out", str(tmp_path / "e")],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "no task fits distmatch" in bad.output and "random_decimal" in bad.output
