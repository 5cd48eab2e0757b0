"""The ``constant`` baseline: one answer, every time, through the real runner and statistics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from randbench.cli import app
from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.backends.constant import first_answer
from randbench.harness.cache import ResponseCache
from randbench.harness.methods import METHODS
from randbench.harness.runner import Runner
from randbench.harness.runs import RunConfig
from randbench.loader import load_tasks
from randbench.selection import select_tasks

TASKS = ["dice_d6", "weighted_colour", "normal_50_10", "uuid4", "shuffle_letters"]


def run(tmp_path: Path, **args: object) -> list:  # type: ignore[type-arg]
    chosen = select_tasks(load_tasks(), TASKS)
    backend = load_backend(ModelSpec("constant", args=dict(args)))
    methods = [METHODS.get("direct")(), METHODS.get("logprob")()]
    runner = Runner(backend, ResponseCache(tmp_path / "c.sqlite"), RunConfig(samples=30))
    return runner.run(chosen, methods)


def test_every_sample_is_the_tasks_first_outcome(tmp_path: Path) -> None:
    runs = [r for r in run(tmp_path) if r.method == "direct"]
    for task_run in runs:
        texts = {s.completion for s in task_run.samples}
        assert texts == {first_answer(task_run.task)}, task_run.task.name
        assert task_run.metrics is not None and task_run.metrics.validity == 1.0
    by_name = {r.task.name: r for r in runs}
    assert first_answer(by_name["dice_d6"].task) == "1"
    assert first_answer(by_name["weighted_colour"].task) == "red"
    # A constant answer is as far from a fair die as one outcome can be: TVD = 1 - 1/6.
    d6 = by_name["dice_d6"].metrics
    assert d6 is not None and d6.values["tvd"] == pytest.approx(5 / 6)
    assert d6.p_value is not None and d6.p_value < 0.001


def test_unenumerable_targets_get_one_fixed_draw(tmp_path: Path) -> None:
    (task,) = select_tasks(load_tasks(), ["uuid4"])
    assert first_answer(task) == first_answer(task)
    assert task.target.contains(task.parser.parse(first_answer(task), task.target).value)


def test_logprob_puts_all_mass_on_the_answer(tmp_path: Path) -> None:
    scored = {r.task.name: r for r in run(tmp_path) if r.method == "logprob" and r.metrics}
    colour = scored["weighted_colour"]
    assert colour.scores is not None
    assert colour.scores.logprobs[0] == 0.0
    assert all(lp == -math.inf for lp in colour.scores.logprobs[1:])
    assert colour.metrics is not None
    assert colour.metrics.values["tvd"] == pytest.approx(0.5)  # red has probability 0.5
    assert colour.metrics.values["entropy"] == pytest.approx(0.0)


def test_answer_argument_overrides_and_unreadable_answers_count_invalid(tmp_path: Path) -> None:
    runs = {(r.task.name, r.method): r for r in run(tmp_path, answer="blue")}
    colour = runs[("weighted_colour", "direct")].metrics
    assert colour is not None and colour.validity == 1.0
    assert colour.values["mode_share"] == 1.0
    exact = runs[("weighted_colour", "logprob")].metrics
    assert exact is not None and exact.distribution["blue"] == pytest.approx(1.0)
    dice = runs[("dice_d6", "direct")].metrics
    assert dice is not None and dice.validity == 0.0 and dice.n == 30


def test_cli_run_writes_a_constant_result(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "--model", "constant", "--tasks", "dice_d6,coin_flip", "--samples", "20",
         "--method", "direct,logprob", "--output-path", str(tmp_path),
         "--cache", str(tmp_path / "c.sqlite")],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("results_constant_*.json")
    document = json.loads(path.read_text())
    assert document["config"]["model"]["backend"] == "constant"
    assert document["results"]["coin_flip"]["direct"]["values"]["mode_share"] == 1.0
