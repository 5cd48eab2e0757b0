"""Calibration of the TVD null band: perfect samples should fall outside it about 5% of the time.

``tvd_null`` reports the central 95% of the TVD of a perfect sampler of size n. Here the
band is computed once per family (default n_sim) and then checked against 400 fresh
perfect datasets scored with ``tvd``: the share outside the band (strictly) must lie in
the binomial 99% band around 5%. TVD is a lattice statistic (multiples of 1/(2n)), so
the mass sitting on the band's end points makes the true rate a little under 5% (k=2,
n=100 gives only ~2%, which is why that case is not used); the rates measured here are
reported for CALIBRATION.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from calibration_rows import record_row

from randbench.stats import tvd, tvd_null

RUNS = 400
ALPHA = 0.05
CASES = [(6, 100), (6, 600), (100, 1000)]


@pytest.mark.slow
@pytest.mark.parametrize(("k", "n"), CASES)
def test_tvd_null_band_coverage(k: int, n: int) -> None:
    rng = np.random.default_rng(1000 * k + n)
    probs = np.full(k, 1.0 / k)
    band = tvd_null(n, probs, rng=rng)
    values = np.array([tvd(rng.multinomial(n, probs), probs) for _ in range(RUNS)])
    rate = float(np.mean((values < band.low) | (values > band.high)))
    low, high = record_row(f"uniform k={k}, n={n}", "TVD outside tvd_null band", RUNS, rate)
    assert low <= rate <= high, rate
