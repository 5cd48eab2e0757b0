"""Malformed result files: a clear error naming the file and the problem, never a silent drop."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from randbench.cli import app
from randbench.leaderboard.load import ResultFileError, latest_runs, load_results

runner = CliRunner()


@pytest.fixture
def oracle_copy(results_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the real oracle result and samples files, to break."""
    (result,) = results_dir.glob("results_oracle_*.json")
    samples = result.with_name(result.name.replace("results_", "samples_")).with_suffix(".jsonl")
    folder = tmp_path / "results"
    folder.mkdir()
    shutil.copy2(result, folder / result.name)
    shutil.copy2(samples, folder / samples.name)
    return folder / result.name, folder / samples.name


def edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def problems(folder: Path) -> list[str]:
    with pytest.raises(ResultFileError) as raised:
        load_results(folder)
    return raised.value.problems


def test_the_real_files_load(oracle_copy: tuple[Path, Path]) -> None:
    loaded = load_results(oracle_copy[0].parent)
    assert loaded.problems == []
    (run,) = loaded.runs
    assert run.model.backend == "oracle"
    assert ("dice_d6", "direct") in run.tasks and ("dice_d6", "logprob") in run.tasks


def test_not_json(oracle_copy: tuple[Path, Path]) -> None:
    result, _ = oracle_copy
    result.write_text('{"config": ')
    (problem,) = problems(result.parent)
    assert problem.startswith(f"{result}:1:")
    assert "not JSON" in problem


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["config"].pop("date"), "config.date: Field required"),
        (
            lambda d: d["results"]["dice_d6"]["direct"].update(validity="high"),
            "results.dice_d6.direct.validity: Input should be a valid number",
        ),
        (
            lambda d: d["results"]["dice_d6"]["direct"]["task"].update(target={"dice": {}}),
            "results.dice_d6.direct.task.target: unknown target 'dice'",
        ),
        (lambda d: d.update(results=[1, 2]), "results: Input should be a valid dictionary"),
    ],
)
def test_malformed_fields_name_the_file_and_field(
    oracle_copy: tuple[Path, Path], change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    result, _ = oracle_copy
    edit_json(result, change)
    found = problems(result.parent)
    assert any(p.startswith(str(result)) and expected in p for p in found), found


def test_missing_samples_file(oracle_copy: tuple[Path, Path]) -> None:
    result, samples = oracle_copy
    samples.unlink()
    (problem,) = problems(result.parent)
    assert problem == f"{result}: no samples file beside it (expected {samples.name})"


def test_samples_that_do_not_match_the_results(oracle_copy: tuple[Path, Path]) -> None:
    result, samples = oracle_copy
    lines = samples.read_text().splitlines()
    first = json.loads(lines[0])
    first["outcomes"][0]["value"] = "not a number"
    lines[0] = json.dumps(first)
    lines[1] = "{broken"
    del lines[2]
    samples.write_text("\n".join(lines) + "\n")
    found = problems(result.parent)
    assert any(p.startswith(f"{samples}:1: ") and "outside the task's target" in p for p in found)
    assert any(p.startswith(f"{samples}:2: not JSON") for p in found)
    assert any(
        f"results.{first['task']}.direct.n is" in p and "outcomes for it" in p for p in found
    ), found


def test_cli_fails_listing_problems_and_writes_no_site(
    oracle_copy: tuple[Path, Path], tmp_path: Path
) -> None:
    result, samples = oracle_copy
    samples.unlink()
    out = tmp_path / "site"
    built = runner.invoke(app, ["leaderboard", "build", str(result.parent), "-o", str(out)])
    assert built.exit_code == 2
    assert f"error: {result}: no samples file beside it" in built.output
    assert not out.exists()


def test_skip_invalid_reports_the_file_on_the_site(
    oracle_copy: tuple[Path, Path], results_dir: Path, tmp_path: Path
) -> None:
    result, _ = oracle_copy
    result.write_text("[]")
    shutil.copytree(results_dir / "constant", result.parent / "constant")
    out = tmp_path / "site"
    built = runner.invoke(
        app,
        ["leaderboard", "build", str(result.parent), "-o", str(out), "--skip-invalid",
         "--bootstrap", "100"],
        terminal_width=300,
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    assert f"warning: left out: {result}" in built.output
    methodology = (out / "methodology.html").read_text()
    assert "Files left out because they are malformed" in methodology
    assert result.name in methodology


def test_newest_run_of_a_model_and_method_wins(
    oracle_copy: tuple[Path, Path], tmp_path: Path
) -> None:
    result, samples = oracle_copy
    newer = result.with_name("results_oracle_2099-01-01T00-00-00Z.json")
    shutil.copy2(result, newer)
    shutil.copy2(samples, newer.with_name("samples_oracle_2099-01-01T00-00-00Z.jsonl"))
    edit_json(newer, lambda d: d["config"].update(date="2099-01-01T00:00:00+00:00"))
    chosen, superseded = latest_runs(load_results(result.parent).runs)
    assert {run.path for source in chosen.values() for run in source.runs} == {newer}
    assert superseded == [result]


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ResultFileError, match="not a folder of result files"):
        load_results(tmp_path / "missing")


def test_output_folder_that_is_not_a_site_is_refused(results_dir: Path, tmp_path: Path) -> None:
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    built = runner.invoke(app, ["leaderboard", "build", str(results_dir), "-o", str(precious)])
    assert built.exit_code == 2
    assert "not a randbench site" in built.output
    assert (precious / "notes.txt").read_text() == "keep me"
