"""Shared by the calibration tests: the binomial band, and the row each test reports.

Every row is printed (``pytest -s`` shows it). When ``RANDBENCH_CALIBRATION_ROWS``
names a folder (``calibration_report.py`` sets it), the row is also appended to
``rows.md`` there; a plain test run writes nothing into the repository.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import stats

ALPHA = 0.05
ROWS_ENV = "RANDBENCH_CALIBRATION_ROWS"


def band(runs: int, level: float = ALPHA) -> tuple[float, float]:
    """The binomial 99% interval of a rejection rate over ``runs`` runs, as rates."""
    low, high = stats.binom.interval(0.99, runs, level)
    return float(low) / runs, float(high) / runs


def record_row(
    family: str, test: str, runs: int, rate: float, level: float = ALPHA, note: str = ""
) -> tuple[float, float]:
    """Report one measured rejection rate; return its band."""
    low, high = band(runs, level)
    row = f"| {family} | {test} | {runs} | {rate:.4f} | [{low:.4f}, {high:.4f}]{note} |"
    print(f"calibration {family} / {test}: {rate:.4f} over {runs} runs, band [{low}, {high}]")
    folder = os.environ.get(ROWS_ENV)
    if folder:
        with (Path(folder) / "rows.md").open("a", encoding="utf-8") as rows:
            rows.write(row + "\n")
    return low, high


def assert_calibrated(family: str, test: str, p_values: Sequence[float]) -> None:
    runs = len(p_values)
    rate = float(np.mean(np.asarray(p_values) <= ALPHA))
    low, high = record_row(family, test, runs, rate)
    assert low <= rate <= high, (family, test, rate)
