"""The README stays a short user's guide whose commands are true: CI runs its test command
verbatim, and every timing it gives is a dated, reproducible row of docs/performance.md."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = "bash scripts/setup.sh && "
README_MAX_LINES = 180
FAST_TIER = 'pytest -m "not slow"'
COMMAND = re.compile(r"`([^`]*\b(?:randbench|pytest|bash)\b[^`]*)`")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README has no bash block at the top"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert all(c.startswith(SETUP) for c in commands)


def test_ci_runs_the_readme_test_command() -> None:
    test_command = readme_commands()[1]
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_catalogue_is_up_to_date() -> None:
    from randbench.catalogue import catalogue_markdown
    from randbench.loader import load_tasks

    committed = (ROOT / "docs" / "tasks.md").read_text(encoding="utf-8")
    assert committed == catalogue_markdown(load_tasks()), (
        "docs/tasks.md is stale: run `randbench tasks docs -o docs/tasks.md`"
    )


def test_readme_is_a_short_guide_with_the_fast_tier() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): "
        "move narratives and measurements to docs/performance.md"
    )
    assert FAST_TIER in text, f"README.md should show the fast test tier, `{FAST_TIER}`"
    assert "docs/performance.md" in text
    assert "engine=torch" not in text, "engine=torch was removed (docs/performance.md, History)"


def performance_rows() -> list[list[str]]:
    """The cells of each row of docs/performance.md's "Current figures" table."""
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    section = re.search(r"^## Current figures\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, 'docs/performance.md has no "## Current figures" section'
    table = [line for line in section.group(1).splitlines() if line.startswith("|")]
    assert len(table) >= 3, "the figures table has no rows"
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header == ["what", "figure", "command", "date", "machine"]
    assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", table[1]), "the table's second line is not |---|"
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table[2:]]
    for row in rows:
        assert len(row) == len(header), f"row {row[0]!r}: {len(row)} cells, not {len(header)}"
    return rows


def test_every_current_figure_names_its_command_date_and_machine() -> None:
    for what, figure, command, date, machine in performance_rows():
        assert what and figure and machine, f"row {what!r}: a cell is empty"
        assert COMMAND.search(command), f"row {what!r}: no `randbench`/`pytest`/`bash` command"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), f"row {what!r}: date {date!r}"
        datetime.date.fromisoformat(date)  # a real day


def test_readme_timings_are_current_figures() -> None:
    commands = {match.group(1) for row in performance_rows() for match in COMMAND.finditer(row[2])}
    for command in [*readme_commands(), f".venv/bin/{FAST_TIER}"]:
        measured = {command, command.removeprefix(SETUP)}
        assert measured & commands, f"docs/performance.md has no figure for `{command}`"


def test_the_readme_python_example_runs_on_the_oracle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's notebook example, verbatim, in a fresh folder: it prints a row per task
    and writes the same two files ``randbench run`` writes."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[0] for line in printed) == ["coin_flip", "dice_d6"]
    assert all(line.split()[1] == "200" for line in printed)
    assert len(list((tmp_path / "results").glob("results_oracle_*.json"))) == 1
    assert len(list((tmp_path / "results").glob("samples_oracle_*.jsonl"))) == 1
    scored = namespace["scored"]
    entry = scored.document.results["dice_d6"]["direct"]  # type: ignore[attr-defined]
    assert (entry.n, entry.n_valid) == (5, 4)
