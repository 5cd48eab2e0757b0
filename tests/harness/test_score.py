"""``randbench score``: generations made elsewhere go through the same parsers and statistics."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from randbench.cli import app

runner = CliRunner()


def only(folder: Path, pattern: str) -> Path:
    (path,) = folder.glob(pattern)
    return path


def test_scoring_a_runs_samples_reproduces_its_metrics(tmp_path: Path) -> None:
    run_dir, score_dir = tmp_path / "run", tmp_path / "score"
    ran = runner.invoke(
        app,
        ["run", "--model", "oracle", "--tasks", "dice_d6", "--output-path", str(run_dir),
         "--cache", str(tmp_path / "c.sqlite")],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    samples = only(run_dir, "samples_*.jsonl")
    scored = runner.invoke(
        app, ["score", str(samples), "--task", "dice_d6", "--output-path", str(score_dir)]
    )
    assert scored.exit_code == 0, scored.output
    original = json.loads(only(run_dir, "results_*.json").read_text())["results"]["dice_d6"]
    again = json.loads(only(score_dir, "results_*.json").read_text())["results"]["dice_d6"]
    for field in ("n", "validity", "test", "p_value"):
        assert again["direct"][field] == original["direct"][field]
    assert again["direct"]["values"]["tvd"] == original["direct"]["values"]["tvd"]


def test_plain_strings_with_unreadable_answers_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "published.jsonl"
    answers = ["4", "I rolled a 4", "four", "<b>no idea</b>", "7", "2"]
    path.write_text("\n".join(json.dumps(a) for a in answers) + "\n")
    result = runner.invoke(
        app, ["score", str(path), "--task", "dice_d6", "--output-path", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(only(tmp_path / "out", "results_*.json").read_text())["results"]
    direct = metrics["dice_d6"]["direct"]
    assert (direct["n"], direct["n_valid"]) == (6, 3)
    assert direct["invalid_reasons"] == {
        "no integer in the answer": 2,
        "outside the target's support": 1,
    }


def test_a_malformed_samples_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('"4"\n{"completion": "5"\n')
    result = runner.invoke(app, ["score", str(path), "--task", "dice_d6"])
    assert result.exit_code == 2
    assert f"{path}:2: not JSON" in result.output
    path.write_text('{"reply": "5"}\n')
    result = runner.invoke(app, ["score", str(path), "--task", "dice_d6"])
    assert result.exit_code == 2
    assert "no text; expected one of the fields completion, response" in result.output
