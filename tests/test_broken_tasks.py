"""The corpus of broken task files: each must produce the messages written in its header."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from randbench.cli import app
from randbench.loader import TaskFile, discover, load_file, load_files

CORPUS = Path(__file__).parent / "data" / "broken_tasks"
FILES = sorted(CORPUS.glob("*.yaml"))


def expectations(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: ")]


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_broken_file_gives_its_message(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    tasks, problems = load_files([TaskFile(path, "broken")])
    rendered = [str(p) for p in problems]
    assert problems, f"{path.name} loaded without a problem"
    for fragment in expected:
        assert any(fragment in r for r in rendered), f"{fragment!r} not in {rendered}"
    assert all(r.startswith(str(path)) for r in rendered), "every message names the file"
    assert not [t for t in tasks if t.path == path] or "duplicate" in " ".join(rendered)


def test_a_broken_file_yields_no_task() -> None:
    tasks, problems = load_file(TaskFile(CORPUS / "low_above_high.yaml", "broken"))
    assert tasks == []
    assert len(problems) == 1


def test_validate_reports_every_file_and_exits_nonzero() -> None:
    result = CliRunner().invoke(app, ["tasks", "validate", str(CORPUS)])
    assert result.exit_code == 1
    for path in FILES:
        assert str(path) in result.output, f"{path.name} missing from validate's report"
    for path in FILES:
        for fragment in expectations(path):
            assert fragment in result.output
    assert f"{len(FILES)} files" in result.output


def test_discover_finds_the_whole_corpus() -> None:
    assert [f.path for f in discover([CORPUS])] == FILES
