"""``--tasks`` patterns -> tasks: ``all``, names, groups, ``category/name``, globs, and
``split:train`` / ``split:heldout`` / ``split:generated`` (the tasks of one side of the
fine-tuning split, or those ``randbench tasks generate`` wrote)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from fnmatch import fnmatchcase

from randbench.tasks import Task


class UnknownTaskError(ValueError):
    pass


SPLIT_PREFIX = "split:"


def select_tasks(tasks: Sequence[Task], patterns: Sequence[str]) -> list[Task]:
    """Tasks matching any pattern, in library order, each once.

    A pattern that matches nothing is an error, never an empty selection.
    """
    chosen: dict[str, Task] = {}
    for pattern in patterns:
        matched = [t for t in tasks if _matches(t, pattern)]
        if not matched:
            raise UnknownTaskError(_no_match_message(tasks, pattern))
        for task in matched:
            chosen.setdefault(task.name, task)
    return [t for t in tasks if t.name in chosen]


def split_patterns(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _matches(task: Task, pattern: str) -> bool:
    if pattern == "all":
        return True
    if pattern.startswith(SPLIT_PREFIX):
        return task.split == pattern.removeprefix(SPLIT_PREFIX)
    names = (task.name, task.qualified_name)
    return (
        pattern in names
        or pattern in task.groups
        or any(fnmatchcase(name, pattern) for name in names)
    )


def _no_match_message(tasks: Sequence[Task], pattern: str) -> str:
    known = sorted({t.name for t in tasks} | {g for t in tasks for g in t.groups})
    close = difflib.get_close_matches(pattern, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"no task or group matches {pattern!r}{hint} (see `randbench tasks list`)"
