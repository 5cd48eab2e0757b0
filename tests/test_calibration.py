"""A perfect sampler is rejected 5% of the time at alpha 0.05, for every kind of target.

Runs the whole path (target.sample -> outcomes -> metrics.evaluate) 200 times per
target and checks the rejection rate against the binomial 99% band around 5%.
"""

from __future__ import annotations

import pytest

from randbench.calibration import CASES, CalibrationCase, calibrate

RUNS = 200


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_perfect_sampler_is_rejected_at_rate_alpha(case: CalibrationCase) -> None:
    row = calibrate(case, runs=RUNS, alpha=0.05, seed=1, n_sim=200)
    print(f"{row.label}: {row.test} rejected {row.rejection_rate:.3f} (band {row.band})")
    assert row.inside, f"{row.label}: rejection rate {row.rejection_rate} outside {row.band}"


def test_families_are_all_covered() -> None:
    from randbench.targets import Analysis

    covered = {c.target.analysis for c in CASES}
    assert covered == set(Analysis) - {Analysis.POINT_MASS, Analysis.OPEN_ENDED}
