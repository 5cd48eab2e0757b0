"""The README's set-up commands stay true: CI runs its test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README has no bash block at the top"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert all(c.startswith("bash scripts/setup.sh && ") for c in commands)


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
