"""The command line as a user runs it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from randbench.calibration import CASES
from randbench.cli import app
from randbench.loader import load_tasks

runner = CliRunner()


def test_tasks_list_shows_every_task_and_filters_by_group_and_split() -> None:
    tasks = load_tasks()
    everything = runner.invoke(app, ["tasks", "list"], terminal_width=250)
    assert everything.exit_code == 0
    assert f"{len(tasks)} tasks" in everything.output
    dice = runner.invoke(app, ["tasks", "list", "--group", "dice"], terminal_width=250)
    assert f"{sum('dice' in t.groups for t in tasks)} tasks" in dice.output
    assert "dice_d6" in dice.output
    heldout = runner.invoke(app, ["tasks", "list", "--split", "heldout"], terminal_width=250)
    expected = sum(t.split == "heldout" for t in tasks)
    assert f"{expected} tasks" in heldout.output


def test_tasks_show_renders_prompt_target_and_candidates() -> None:
    result = runner.invoke(app, ["tasks", "show", "dice_d6"], terminal_width=200)
    assert result.exit_code == 0
    assert "Reply with only" in result.output or "6-sided" in result.output
    assert "uniform_int(low=1, high=6)" in result.output
    assert "support (6 outcomes)" in result.output
    assert "0.1667" in result.output


def test_tasks_show_large_and_open_supports() -> None:
    result = runner.invoke(app, ["tasks", "show", "uuid4"], terminal_width=200)
    assert result.exit_code == 0
    assert "too large to list" in result.output


def test_unknown_task_is_a_clear_error() -> None:
    result = runner.invoke(app, ["tasks", "show", "dice_d13"])
    assert result.exit_code == 2
    assert "no task or group matches 'dice_d13'" in result.output


def test_validate_the_library_is_clean() -> None:
    result = runner.invoke(app, ["tasks", "validate"])
    assert result.exit_code == 0, result.output
    assert "0 problem(s)" in result.output


def test_validate_checks_a_new_file_against_the_library(tmp_path: Path) -> None:
    clash = tmp_path / "games" / "my_dice.yaml"
    clash.parent.mkdir()
    clash.write_text(
        "task: dice_d6\nprompt: Roll.\nanswer: integer\ntarget: {uniform_int: {low: 1, high: 6}}\n"
    )
    result = runner.invoke(app, ["tasks", "validate", str(clash)], terminal_width=300)
    assert result.exit_code == 1
    assert "duplicate task name 'dice_d6'" in result.output


def test_calibrate_prints_and_writes_a_row_per_case(tmp_path: Path) -> None:
    out = tmp_path / "calibration.md"
    result = runner.invoke(
        app, ["calibrate", "--runs", "20", "--n-sim", "50", "-o", str(out)], terminal_width=300
    )
    table = out.read_text()
    for case in CASES:
        assert case.label in table
    assert result.exit_code in (0, 1)
    assert ("NO |" in table) == (result.exit_code == 1)
    lower = table[table.index("Too regular") :]
    assert "| d6, n=50 (the library's default n) | 50 | 20 |" in lower
    assert "UUID v4" not in lower, "a string target's TVD has no null band to be below"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("randbench ")


def test_bench_prints_each_mode_beside_its_baseline_and_the_time_of_all() -> None:
    result = runner.invoke(
        app,
        ["bench", "--model", "oracle", "--samples", "40", "--naive-samples", "4"],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for mode in ("n=40", "8 tasks side by side", "exact distribution"):
        (row,) = [line for line in lines if mode in line]
        assert row.rstrip(" │|").endswith("x"), f"{mode}: no speed-up printed: {row}"
    assert "peak memory:" in result.output
    assert "estimated time of --tasks all" in result.output
