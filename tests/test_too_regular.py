"""Answers too regular to be random (issue #36 item 1): the lower tail of the TVD against
a perfect sampler's, flagged in the result file, the run summary and the leaderboard, and
a score capped at a perfect sampler's expectation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from randbench import stats
from randbench.cli import app
from randbench.cli.summary import run_summary
from randbench.leaderboard.board import build_board
from randbench.leaderboard.load import load_results
from randbench.leaderboard.scoring import normalised

runner = CliRunner()


def permutation_blocks(blocks: int, seed: int = 0) -> list[int]:
    """Every block of ten is 1..10 in some order: what a model that avoids repeats gives."""
    rng = np.random.default_rng(seed)
    return [int(v) for _ in range(blocks) for v in rng.permutation(np.arange(1, 11))]


def test_permutation_blocks_sit_in_the_lower_tail_where_the_upper_tail_sees_nothing() -> None:
    counts = np.bincount(permutation_blocks(10), minlength=11)[1:].astype(float)
    probs = np.full(10, 0.1)
    rng = np.random.default_rng(0)
    draws = stats.tvd_null_draws(100, probs, rng=rng, n_sim=2000)
    assert stats.tvd(counts, probs) == 0.0
    assert stats.chi_square(counts, probs, rng=rng).p_value == 1.0
    assert stats.lower_tail_p(0.0, draws) == 1 / 2001


def test_a_perfect_sampler_is_flagged_at_no_more_than_the_nominal_rate() -> None:
    """400 oracle runs of a d6 at n = 100; TVD is discrete, so ties make the lower tail
    conservative: at most 5% (plus three binomial standard errors), and not far below."""
    rng = np.random.default_rng(4)
    probs = np.full(6, 1 / 6)
    draws = stats.tvd_null_draws(100, probs, rng=rng, n_sim=2000)
    runs = rng.multinomial(100, probs, size=400).astype(float)
    lower = np.array([stats.lower_tail_p(stats.tvd(c, probs), draws) for c in runs])
    flagged = float(np.mean(lower < 0.05))
    assert 0.01 <= flagged <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 400)


def score_listing(tmp_path: Path) -> tuple[dict, list[str], Path]:
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(str(v)) + "\n" for v in permutation_blocks(10)))
    out = tmp_path / "results"
    result = runner.invoke(
        app,
        ["score", str(answers), "--task", "random_number_1_to_10", "--model-name", "lister",
         "--output-path", str(out)],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = out.glob("results_*.json")
    entry = json.loads(path.read_text())["results"]["random_number_1_to_10"]["direct"]
    return entry, result.output.splitlines(), out


def test_the_result_file_and_the_summaries_flag_it(tmp_path: Path) -> None:
    entry, lines, out = score_listing(tmp_path)
    assert entry["values"]["tvd"] == 0.0 and entry["p_value"] == 1.0
    assert entry["values"]["p_value_lower"] < 0.01
    assert entry["too_regular"] is True
    assert any("too regular (P(TVD <= observed) = 0.0005" in line for line in lines), lines
    (path,) = out.glob("results_*.json")
    summary = run_summary(path, out)
    assert any(line.endswith("; too regular 1") for line in summary), summary


def test_the_board_caps_its_score_at_a_perfect_samplers(tmp_path: Path) -> None:
    _, _, out = score_listing(tmp_path)
    (row,) = build_board(load_results(out)).rows
    score = row.tasks["random_number_1_to_10"]
    assert row.too_regular == ["random_number_1_to_10"]
    assert score.null is not None and score.constant is not None
    uncapped = float(normalised(np.array(0.0), score.null.mean, score.constant))
    assert uncapped > 1.05, "ten of each face is further below the null mean than chance goes"
    assert score.score == 1.0 and score.interval is not None and score.interval[1] <= 1.0
