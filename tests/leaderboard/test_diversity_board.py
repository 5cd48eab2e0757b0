"""Open-ended tasks on the leaderboard: rows merge newer task files into older ones, the
index has diversity columns, task pages group answers by semantic class (escaped)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.cache import ResponseCache
from randbench.harness.methods import METHODS
from randbench.harness.results import write_results
from randbench.harness.runner import Runner
from randbench.harness.runs import RunConfig
from randbench.leaderboard.board import build_board
from randbench.leaderboard.load import latest_runs, load_results
from randbench.leaderboard.site import build_site
from randbench.loader import load_tasks
from randbench.selection import select_tasks

INJECTED = '<script>window.__pwned = 1</script>"><img src=x onerror=alert(1)>'


def run_file(folder: Path, model: str, tasks: list[str], date: str, **args: str) -> Path:
    """A real result file of ``model`` on ``tasks`` (direct), dated ``date``."""
    backend = load_backend(ModelSpec(model, args=dict(args)))
    config = RunConfig(n_sim=200)
    chosen = select_tasks(load_tasks(), tasks)
    runs = Runner(backend, ResponseCache(folder / "cache.sqlite"), config).run(
        chosen, [METHODS.get("direct")()]
    )
    path, _ = write_results(folder, backend.identity(), ["direct"], config, runs)
    document = json.loads(path.read_text())
    document["config"]["date"] = date
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("results")
    return {
        "full": run_file(folder, "oracle", ["dice_d6", "coin_flip"], "2026-01-01T00:00:00+00:00"),
        "open": run_file(folder, "oracle", ["short_story_dragon"], "2026-02-01T00:00:00+00:00"),
        "rerun": run_file(folder, "oracle", ["coin_flip"], "2026-03-01T00:00:00+00:00"),
        "injected": run_file(
            folder,
            "constant",
            ["short_story_dragon"],
            "2026-02-01T00:00:00+00:00",
            answer=INJECTED,
        ),
    }


def test_a_newer_file_of_some_tasks_keeps_the_rest_of_the_row(results: dict[str, Path]) -> None:
    chosen, superseded = latest_runs(load_results(results["full"].parent).runs)
    oracle = {k: v for k, v in chosen.items() if '"oracle"' in k[0]}
    ((_, method), sources) = next(iter(oracle.items()))
    assert len(oracle) == 1 and method == "direct"
    assert {name: run.path for name, run in sources.files.items()} == {
        "dice_d6": results["full"],
        "coin_flip": results["rerun"],
        "short_story_dragon": results["open"],
    }
    assert superseded == []
    assert sources.newest.path == results["rerun"]


def test_a_file_whose_every_task_is_newer_elsewhere_is_superseded(
    results: dict[str, Path], tmp_path: Path
) -> None:
    only = tmp_path / "r"
    only.mkdir()
    for key in ("open", "rerun"):
        for path in (results[key], _samples(results[key])):
            (only / path.name).write_bytes(path.read_bytes())
    older = run_file(only, "oracle", ["coin_flip"], "2025-01-01T00:00:00+00:00")
    _, superseded = latest_runs(load_results(only).runs)
    assert superseded == [older]


def _samples(path: Path) -> Path:
    return path.with_name("samples_" + path.name.removeprefix("results_")).with_suffix(".jsonl")


def test_rows_summarise_open_ended_diversity(results: dict[str, Path]) -> None:
    board = build_board(load_results(results["full"].parent), n_boot=50)
    rows = {r.model.backend: r for r in board.rows}
    oracle, constant = rows["oracle"], rows["constant"]
    assert board.has_diversity
    assert set(oracle.tasks) == {"dice_d6", "coin_flip", "short_story_dragon"}
    assert oracle.overall.tasks == 2  # the open-ended task is not scored
    assert oracle.diversity is not None and constant.diversity is not None
    assert constant.diversity.classes == pytest.approx(1 / 10)
    assert constant.diversity.placement < 0.1  # 0 on the embedding metrics; its own words
    assert oracle.diversity.placement > 0.5 > constant.diversity.placement


def test_site_shows_diversity_columns_and_escaped_classes(
    results: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site(results["full"].parent, out, n_boot=50)
    index = (out / "index.html").read_text()
    assert 'data-col="diversity"' in index and 'data-toggle="selfbleu"' in index
    (page,) = out.glob("runs/constant*/direct/short_story_dragon.html")
    html = page.read_text()
    assert "The answers by semantic class (1 classes)" in html
    assert "<strong>10×</strong>" in html
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    (oracle_page,) = out.glob("runs/oracle*/direct/short_story_dragon.html")
    assert results["open"].name in oracle_page.read_text()
