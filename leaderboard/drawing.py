"""The site's plots, drawn side by side by worker processes once every page is written.

Matplotlib draws about ten plots a second on one core, and the site of the committed
results holds 2,600 of them (about 240 s on a 2-core machine, nine tenths of the build).
The plots are independent of each other, so forked workers draw them: a fork inherits the
board, where a pickled :class:`~randbench.leaderboard.load.TaskData` would carry its
samples to every worker. Each plot is drawn on a fresh figure (see
:mod:`randbench.leaderboard.plots`), so the files are the same bytes whatever the number
of workers.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from randbench.cpus import usable_cpus

PLOTS_PER_WORKER = 8
"""Fewer plots than this per worker are drawn in this process (a fork costs more)."""
CHUNK = 8
"""Plots handed to a worker at a time."""


@dataclass(frozen=True)
class PlotJob:
    """One SVG of the site: ``draw(*args)`` written to ``path`` (relative to the site)."""

    path: str
    draw: Callable[..., str]
    args: tuple[Any, ...]


def default_workers() -> int:
    return usable_cpus()


def draw_plots(out: Path, jobs: Sequence[PlotJob], workers: int) -> None:
    """Draw ``jobs`` into the site at ``out`` with up to ``workers`` processes."""
    workers = min(workers, len(jobs) // PLOTS_PER_WORKER)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for job in jobs:
            _draw(out, job)
        return
    global _QUEUE
    _QUEUE = (out, jobs)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for _ in pool.imap_unordered(_draw_queued, range(len(jobs)), chunksize=CHUNK):
                pass
    finally:
        _QUEUE = None


_QUEUE: tuple[Path, Sequence[PlotJob]] | None = None
"""The jobs of the pool being run, for its forked workers to read by index."""


def _draw_queued(index: int) -> None:
    assert _QUEUE is not None, "a plot worker runs only inside draw_plots"
    out, jobs = _QUEUE
    _draw(out, jobs[index])


def _draw(out: Path, job: PlotJob) -> None:
    write_file(out, job.path, job.draw(*job.args))


def write_file(out: Path, path: str, content: str) -> None:
    """Write one file of the site, its folders made as needed, with Unix line ends."""
    target = out / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8", newline="\n")
