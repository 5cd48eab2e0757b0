"""Which published results no longer describe the current library and statistics.

A result file records the hash of every task it ran (``config.task_hashes``, the hash of
what the task measures: prompt, target, parser, sampling) and the version of the
statistics that judged it (``config.metrics_version``). A task whose hash differs from the
library's, that the library no longer has, or whose file predates either record, was
measured by something other than what randbench would measure today: its row is stale.
A stale row is shown on the board, marked, and left out of the ranking unless the build
asks for it (``randbench leaderboard build --include-stale``); rerunning it clears it.
"""

from __future__ import annotations

from dataclasses import dataclass

from randbench.leaderboard.load import RunFile
from randbench.metrics import METRICS_VERSION
from randbench.result_schema import RunConfigInfo


@dataclass(frozen=True)
class Library:
    """What the current code would measure: every task's hash, and the statistics' version."""

    hashes: dict[str, str]
    metrics_version: int = METRICS_VERSION


def current_library() -> Library:
    from randbench.loader import load_tasks

    return Library({task.name: task.hash for task in load_tasks()})


def stale_reason(name: str, config: RunConfigInfo, library: Library) -> str | None:
    """Why task ``name``'s result in a file with ``config`` is stale, or None if current."""
    if name not in library.hashes:
        return "no longer in the task library"
    recorded = config.task_hashes.get(name)
    if recorded is None:
        return "the result records no task hash"
    if recorded != library.hashes[name]:
        return "the task changed since the run"
    if config.metrics_version < library.metrics_version:
        return (
            f"judged by older statistics (version {config.metrics_version}, "
            f"now {library.metrics_version})"
        )
    return None


def stale_tasks(files: dict[str, RunFile], library: Library) -> dict[str, str]:
    """Task name -> why its result is stale, for the stale tasks of one row (``files``:
    task name -> the file its result comes from)."""
    reasons = {name: stale_reason(name, f.document.config, library) for name, f in files.items()}
    return {name: reason for name, reason in reasons.items() if reason is not None}
