"""Stale results (issue #30 item 2): a result whose tasks changed since the run, or that
older statistics judged, is shown on the board, marked, and left out of the ranking."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from randbench.leaderboard.board import build_board
from randbench.leaderboard.load import load_results
from randbench.leaderboard.staleness import Library, current_library, stale_reason
from randbench.metrics import METRICS_VERSION

from .conftest import invoke


def test_a_result_with_one_altered_task_is_stale_and_not_ranked(contestants_dir: Path) -> None:
    loaded = load_results(contestants_dir)
    library = current_library()
    current = build_board(loaded, n_boot=100, library=library)
    assert not any(row.stale for row in current.rows), "fresh runs are current"
    contestants = {r.model.backend for r in current.rows if r.ranked}
    assert contestants == {"model_a", "model_b"}, "the oracle is a reference, not ranked"
    altered = Library({**library.hashes, "dice_d6": "0" * 64})
    board = build_board(loaded, n_boot=100, library=altered)
    stale = [row for row in board.rows if row.stale]
    assert stale and all("dice_d6" in row.tasks for row in stale)
    assert {row.stale["dice_d6"] for row in stale} == {"the task changed since the run"}
    assert all(len(row.stale) == 1 for row in stale), "only the altered task"
    assert all(not row.ranked and row.overall.rank is None for row in stale)
    assert {r.model.backend for r in stale} >= {"model_a", "model_b"}
    assert board.rows[-len(stale) :] == stale, "stale rows are listed last"
    asked = build_board(loaded, n_boot=100, library=altered, include_stale=True)
    ranked = {r.model.backend: r.overall.rank for r in asked.rows if r.ranked}
    assert ranked == {"model_a": 1, "model_b": 2}


def test_older_statistics_a_missing_hash_and_a_removed_task_are_stale(
    results_dir: Path,
) -> None:
    loaded = load_results(results_dir)
    config = loaded.runs[0].document.config
    library = current_library()
    name = next(iter(config.task_hashes))
    assert stale_reason(name, config, library) is None
    assert config.metrics_version == METRICS_VERSION
    older = config.model_copy(update={"metrics_version": METRICS_VERSION - 1})
    assert "older statistics" in (stale_reason(name, older, library) or "")
    unhashed = config.model_copy(update={"task_hashes": {}})
    assert stale_reason(name, unhashed, library) == "the result records no task hash"
    removed = Library({k: v for k, v in library.hashes.items() if k != name})
    assert stale_reason(name, config, removed) == "no longer in the task library"


@pytest.mark.slow
def test_the_build_command_marks_a_result_whose_task_changed(
    results_dir: Path, tmp_path: Path
) -> None:
    """End to end: a copy of the results where one file recorded another hash for dice_d6
    (as if the task had changed since): the build says so, the index shows the row as
    stale and unranked, and --include-stale ranks it."""
    copy = tmp_path / "results"
    shutil.copytree(results_dir, copy)
    path = next(p for p in sorted(copy.glob("results_oracle_*.json")))
    document = json.loads(path.read_text(encoding="utf-8"))
    document["config"]["task_hashes"]["dice_d6"] = "0" * 64
    path.write_text(json.dumps(document), encoding="utf-8")
    site = tmp_path / "site"
    output = invoke("leaderboard", "build", str(copy), "-o", str(site), "--bootstrap", "100")
    assert "stale, not ranked: oracle / direct: 1 tasks: the task changed since the run" in output
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "stale, not ranked</small>" in index
    output = invoke(
        "leaderboard", "build", str(copy), "-o", str(site), "--bootstrap", "100",
        "--include-stale",
    )  # fmt: skip
    assert "stale, not ranked: oracle / direct" in output, "a reference is never ranked"
