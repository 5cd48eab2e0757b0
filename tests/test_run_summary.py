"""What ``randbench run`` prints at the end: a summary of a few lines, whatever the number of
tasks, with the leaderboard's own scores; and the progress bar while it runs."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from randbench.cli import app
from randbench.cli.run import _describe, _progress
from randbench.cli.summary import leaderboard_command
from randbench.harness.methods import METHODS
from randbench.leaderboard.board import build_board
from randbench.leaderboard.filters import fmt_interval, fmt_score
from randbench.leaderboard.load import load_results

TASKS = "dice_d6,coin_flip,random_number_1_to_10"
SCORE = re.compile(r"^(\w+): score (\d+\.\d) \(95% interval (\d+\.\d) – (\d+\.\d)\)")


def run(tmp_path: Path, model: str, *args: str) -> tuple[list[str], Path]:
    """Run the CLI; the printed lines and the folder of the result files."""
    out = tmp_path / model.replace(":", "_")
    result = CliRunner().invoke(
        app,
        ["run", "--model", model, *args, "--output-path", str(out),
         "--cache", str(tmp_path / "c.sqlite")],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output.splitlines(), out


def score(lines: list[str], method: str = "direct") -> tuple[float, float, float]:
    """Score and interval of one method's line."""
    found = [m for m in map(SCORE.match, lines) if m and m.group(1) == method]
    assert len(found) == 1, lines
    point, low, high = (float(found[0].group(i)) for i in (2, 3, 4))
    return point, low, high


def line(lines: list[str], start: str) -> str:
    (found,) = [x for x in lines if x.strip().startswith(start)]
    return found


def test_the_summary_gives_score_categories_validity_files_and_the_next_command(
    tmp_path: Path,
) -> None:
    oracle, out = run(tmp_path, "oracle", "--tasks", TASKS, "--samples", "100")
    constant, _ = run(tmp_path, "constant", "--tasks", TASKS, "--samples", "100")
    assert oracle[0].startswith("randbench results: oracle, 3 tasks x 1 method")
    point, low, high = score(oracle)
    assert low <= point <= high and point > 50
    assert score(constant) == (0.0, 0.0, 0.0), "a constant answer scores exactly 0"
    best, worst = line(oracle, "best"), line(oracle, "worst")
    assert {best.split()[1], worst.split()[1]} == {"basic", "games"}
    games = best if " games " in best else worst
    assert "(95% interval" in best and ", 2 tasks" in games, "dice_d6 and coin_flip"
    assert line(oracle, "invalid answers") == (
        "  invalid answers 0.0% (0 of 300); stopped early 0; skipped 0"
    )
    assert "stopped early 3;" in line(constant, "invalid answers"), "conclusive after 50"
    results, samples = Path(line(oracle, "results:")[9:]), Path(line(oracle, "samples:")[9:])
    assert results.is_file() and samples.is_file()
    assert results.parent == out and samples.name.startswith("samples_oracle_")
    assert line(oracle, "leaderboard:") == (
        f"leaderboard: randbench leaderboard build {out} -o site, then open site/index.html"
    )
    (row,) = build_board(load_results(out)).rows
    shown = f"{fmt_score(row.overall.score)} (95% interval {fmt_interval(row.overall.interval)})"
    assert f"direct: score {shown}" in oracle[1], "the leaderboard's score, to the digit"


def test_invalid_answers_and_skipped_tasks_are_counted(tmp_path: Path) -> None:
    lines, _ = run(
        tmp_path, "constant", "--model-args", "answer=banana", "--tasks", "dice_d6,coin_flip",
        "--samples", "50", "--no-stop-early",
    )  # fmt: skip
    assert score(lines) == (0.0, 0.0, 0.0)
    assert line(lines, "invalid answers").startswith("  invalid answers 100.0% (100 of 100)")
    exact, _ = run(tmp_path, "oracle", "--tasks", "dice_d6,uuid4", "--method", "logprob")
    assert score(exact, "logprob") == (100.0, 100.0, 100.0)
    assert line(exact, "category").startswith("  category games 100.0")
    assert line(exact, "probability off the answers").endswith("; skipped 1")
    nothing, _ = run(tmp_path, "oracle", "--tasks", "uuid4", "--method", "direct,logprob")
    assert "logprob: no task ran (1 skipped)" in nothing


def test_the_summary_stays_short_however_many_tasks_ran(tmp_path: Path) -> None:
    lines, _ = run(
        tmp_path, "oracle", "--tasks", "basic,bayesian,combinatorial", "--limit", "30",
        "--method", "direct,logprob", "--samples", "20",
    )  # fmt: skip
    assert lines[0].startswith("randbench results: oracle, 30 tasks x 2 methods")
    assert len(lines) <= 20, "\n".join(lines)
    point, low, high = score(lines, "logprob")
    assert low == point == high, "an exact distribution has no sampling uncertainty"
    point, low, high = score(lines, "direct")
    assert low < point < high, "20 samples a task do"
    assert "probability off the answers 0.0%; stopped early 0; skipped 1" in lines[-4]
    assert not any("random_number_1_to_10" in x for x in lines), "no per-task rows"
    table, _ = run(tmp_path, "oracle", "--tasks", TASKS, "--samples", "20", "--show-tasks")
    assert any("random_number_1_to_10" in x for x in table), "--show-tasks keeps the table"


def test_the_leaderboard_command_quotes_paths() -> None:
    assert leaderboard_command(Path("my results")) == (
        "randbench leaderboard build 'my results' -o site"
    )


def test_the_progress_bar_shows_what_runs_its_count_and_an_eta() -> None:
    methods = [METHODS.get("direct")(), METHODS.get("logprob")()]
    progress = _progress()
    bar = progress.add_task(_describe(3, methods), total=40)
    progress.advance(bar, 10)
    console = Console(record=True, width=120, force_terminal=True)
    console.print(progress.make_tasks_table(progress.tasks))
    text = console.export_text()
    assert "3 tasks x direct,logprob" in text and "10/40" in text and "ETA" in text
    assert _describe(1, methods[:1]) == "1 task x direct"


def test_an_underflowed_p_value_never_prints_as_zero() -> None:
    from randbench.cli.run import fmt_p_value

    assert fmt_p_value(0.0) == "< 1e-300"
    assert fmt_p_value(3.2e-51) == "3.2e-51"
    assert fmt_p_value(None) == ""
