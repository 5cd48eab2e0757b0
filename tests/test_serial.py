"""Answers that come in order (issue #36 item 2): near repeats and runs up and down against
i.i.d. draws from the target, and `randbench score --group-by` for files of conversations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from randbench.cli import app
from randbench.dependence import ENUMERATION_ALPHA, within_call
from randbench.loader import load_tasks

TASKS = {t.name: t for t in load_tasks()}
ONE_TO_TEN = TASKS["random_number_1_to_10"].target


def blocks(count: int, seed: int = 0) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(v) for _ in range(count) for v in rng.permutation(np.arange(1, 11))]


def test_shuffled_blocks_have_too_few_near_repeats() -> None:
    found = within_call(ONE_TO_TEN, [blocks(10)], 100, rng=np.random.default_rng(0))
    assert found.near_repeat_rate is not None and found.expected_near_repeat_rate is not None
    assert found.near_repeat_rate < 0.06 < 0.09 < found.expected_near_repeat_rate
    assert found.p_fewer_near_repeats is not None and found.p_fewer_near_repeats < 0.001
    assert "fewer near repeats" in found.fired and found.enumerates
    assert "more distinct answers" not in found.fired, "ten faces in 100 is what chance gives"


def test_alternation_fires_the_runs_test_only() -> None:
    seesaw = [1, 10] * 50
    found = within_call(ONE_TO_TEN, [seesaw], 100, rng=np.random.default_rng(0))
    assert found.runs_up_down == 99
    assert found.runs_up_down_null is not None and found.runs_up_down_null[1] < 80
    assert found.fired == ["runs up and down"] and not found.enumerates


@pytest.mark.slow
def test_iid_draws_fire_at_no_more_than_the_nominal_rate() -> None:
    rng = np.random.default_rng(5)
    fired = [
        bool(within_call(ONE_TO_TEN, [list(rng.integers(1, 11, 100))], 100, rng=rng,
                         n_sim=500).fired)
        for _ in range(300)
    ]  # fmt: skip
    rate, allowed = float(np.mean(fired)), 3 * ENUMERATION_ALPHA
    assert rate <= allowed + 3 * np.sqrt(allowed / 300), "three tests at 1% each"


def write_conversations(path: Path, runs: dict[str, list[int]]) -> None:
    lines = [
        json.dumps({"run_id": run, "completion": str(v)})
        for run, values in runs.items()
        for v in values
    ]
    path.write_text("\n".join(lines) + "\n")


def scored_entry(answers: Path, method: str, *args: str) -> dict[str, Any]:
    """``randbench score`` on random_number_1_to_10: the method's entry of the result file."""
    out = answers.parent / "out"
    result = CliRunner().invoke(
        app,
        ["score", str(answers), "--task", "random_number_1_to_10", "--method", method, *args,
         "--output-path", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = out.glob("results_*.json")
    entry: dict[str, Any] = json.loads(path.read_text())["results"]["random_number_1_to_10"]
    return entry[method]


def test_score_groups_the_lines_of_a_conversation(tmp_path: Path) -> None:
    answers = tmp_path / "answers.jsonl"
    write_conversations(answers, {"a": blocks(5, 1), "b": blocks(5, 2)})
    entry = scored_entry(answers, "direct", "--group-by", "run_id")
    assert entry["dependence"]["calls"] == 2 and entry["dependence"]["answers_per_call"] == 50
    assert "fewer near repeats" in entry["dependence"]["fired"]
    assert entry["too_regular"] is True


def test_a_line_without_the_grouping_field_is_a_clear_error(tmp_path: Path) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"run_id": "a", "completion": "3"}\n{"completion": "4"}\n')
    result = CliRunner().invoke(
        app, ["score", str(answers), "--task", "random_number_1_to_10", "--group-by", "run_id"]
    )
    assert result.exit_code == 2
    assert "answers.jsonl:2: no field 'run_id' to group by" in result.output


def test_a_call_of_125_numbers_is_one_call_of_125_answers(tmp_path: Path) -> None:
    """The third-party answer of issue #36: 125 numbers in one reply, scored by sequence."""
    numbers = blocks(13)[:125]
    answers = tmp_path / "one_call.jsonl"
    answers.write_text(json.dumps({"completion": json.dumps(numbers)}) + "\n")
    entry = scored_entry(answers, "sequence")
    assert (entry["n"], entry["n_valid"]) == (125, 125)
    dependence = entry["dependence"]
    assert dependence["answers_per_call"] == 5 and dependence["calls_of_other_length"] == 1
    assert "fewer near repeats" in dependence["fired"]
