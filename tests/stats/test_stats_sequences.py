"""Tests for randbench.stats.sequences: NIST statistics and the simulated suite."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from calibration_rows import assert_calibrated
from statsmodels.sandbox.stats.runs import runstest_1samp

from randbench.stats import sequences as sq

# SP 800-22 rev1a section 2 example of n = 100 (used by 2.1.8, 2.2.8, 2.3.8, 2.13.8)
EPS_100 = (
    "11001001000011111101101010100010001000010110100011"
    "00001000110100110001001100011001100010100010111000"
)


def bits(s: str) -> list[int]:
    return [int(c) for c in s]


# ------------------------------------------------------- NIST worked examples


def test_nist_monobit_example() -> None:
    assert sq.nist_monobit_p(bits("1011010101")) == pytest.approx(0.527089, abs=1e-6)
    assert sq.nist_monobit_p(bits(EPS_100)) == pytest.approx(0.109599, abs=1e-6)


def test_nist_block_frequency_example() -> None:
    assert sq.nist_block_frequency_p(bits("0110011010"), 3) == pytest.approx(0.801252, abs=1e-6)
    assert sq.nist_block_frequency_p(bits(EPS_100), 10) == pytest.approx(0.706438, abs=1e-6)


def test_nist_runs_example() -> None:
    assert sq.runs(bits("1001101011")) == 7.0
    assert sq.nist_runs_p(bits("1001101011")) == pytest.approx(0.147232, abs=1e-6)
    assert sq.nist_runs_p(bits(EPS_100)) == pytest.approx(0.500798, abs=1e-6)


def test_nist_runs_prerequisite() -> None:
    assert sq.nist_runs_p([1] * 75 + [0] * 25) == 0.0  # |pi - 1/2| >= 2 / sqrt(n)


def test_nist_cusum_example() -> None:
    assert sq.cumulative_sums(bits("1011010111")) == 4.0
    assert sq.nist_cusum_p(bits("1011010111")) == pytest.approx(0.4116588, abs=1e-6)
    assert sq.nist_cusum_p(bits(EPS_100)) == pytest.approx(0.219194, abs=1e-6)
    assert sq.nist_cusum_p(bits(EPS_100), forward=False) == pytest.approx(0.114866, abs=1e-6)


def test_serial_psi_squared_example() -> None:
    # SP 800-22 2.11.4: eps = 0011011101, m = 3: psi2_3 = 2.8, psi2_2 = 1.2, psi2_1 = 0.4
    eps = bits("0011011101")
    assert sq.serial(eps, 3) == pytest.approx(2.8 - 1.2)
    assert sq.serial(eps, 2) == pytest.approx(1.2 - 0.4)
    assert sq.serial(eps, 1) == pytest.approx(0.4)


# -------------------------------------------------- independent cross-checks


def brute_force_stats(x: list[int]) -> dict[str, float]:
    n = len(x)
    pm = [2 * b - 1 for b in x]
    partial = list(itertools.accumulate(pm))
    changes = sum(a != b for a, b in itertools.pairwise(x))
    longest = max((len(list(g)) for k, g in itertools.groupby(x) if k == 1), default=0)
    return {
        "monobit": sum(pm) / math.sqrt(n),
        "runs": 1.0 + changes,
        "cumulative_sums": float(max(abs(s) for s in partial)),
        "alternation_rate": changes / (n - 1),
        "longest_run": float(longest),
    }


def test_statistics_match_brute_force() -> None:
    rng = np.random.default_rng(21)
    x = rng.integers(0, 2, size=(30, 130))
    rows = sq.sequence_statistics(x.astype(np.int8))
    for i in range(x.shape[0]):
        expected = brute_force_stats([int(b) for b in x[i]])
        for name, value in expected.items():
            assert rows[name][i] == pytest.approx(value), name


def test_runs_and_alternation_match_statsmodels() -> None:
    rng = np.random.default_rng(22)
    for _ in range(20):
        x = rng.integers(0, 2, size=100)
        z, _ = runstest_1samp(x, cutoff=0.5, correction=False)
        n1 = float(x.sum())
        n0 = x.size - n1
        n = x.size
        mean = 2 * n1 * n0 / n + 1
        sd = math.sqrt(2 * n1 * n0 * (2 * n1 * n0 - n) / (n**2 * (n - 1)))
        assert sq.runs(x) == pytest.approx(z * sd + mean)
        assert sq.alternation_rate(x) == pytest.approx((z * sd + mean - 1) / (n - 1))


def test_lag1_autocorrelation_matches_corrcoef() -> None:
    rng = np.random.default_rng(23)
    x = rng.integers(0, 2, size=(25, 40))
    rows = sq.lag1_autocorrelation_rows(x.astype(np.int8))
    for i in range(x.shape[0]):
        expected = np.corrcoef(x[i, :-1], x[i, 1:])[0, 1]
        assert rows[i] == pytest.approx(float(expected))
    assert sq.lag1_autocorrelation([1] * 20) == 0.0
    assert sq.lag1_autocorrelation([0, 1] * 10) == pytest.approx(-1.0)


def test_block_frequency_by_hand() -> None:
    # blocks of 4: 1100 (pi 0.5), 1110 (0.75), 0000 (0); tail bit dropped
    x = bits("1100111000001")
    assert sq.block_frequency(x, 4) == pytest.approx(16 * (0 + 0.0625 + 0.25))


def test_longest_run_requires_128() -> None:
    with pytest.raises(ValueError, match="128"):
        sq.longest_run([1, 0] * 50)
    assert "longest_run" not in sq.sequence_statistics(np.zeros((2, 100), dtype=np.int8))
    assert "longest_run" in sq.sequence_statistics(np.zeros((2, 128), dtype=np.int8))


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="0 and 1"):
        sq.monobit([0, 2, 1])
    with pytest.raises(ValueError, match="1-D"):
        sq.monobit([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="m must be"):
        sq.serial([0, 1] * 10, 4)


def test_two_sided_p_value_by_pooled_median() -> None:
    sim = np.arange(1.0, 100.0)  # median of pooled values with obs=50 is 50
    assert sq.two_sided_mc_p(50.0, sim) == 1.0
    assert sq.two_sided_mc_p(1000.0, sim) == pytest.approx(1 / 100)
    assert sq.two_sided_mc_p(-1000.0, sim) == pytest.approx(1 / 100)


def test_suite_flags_over_alternation() -> None:
    rng = np.random.default_rng(24)
    x = rng.integers(0, 2, size=(50, 20))
    flip = rng.random(x.shape) < 0.8  # flip the previous bit 80% of the time
    for j in range(1, x.shape[1]):
        x[:, j] = np.where(flip[:, j], 1 - x[:, j - 1], x[:, j - 1])
    res = sq.sequence_tests(x, rng=rng, n_sim=500)
    assert res["alternation_rate"].p_value < 0.01
    assert res["runs"].p_value < 0.01
    assert res["lag1_autocorrelation"].p_value < 0.01
    assert res["alternation_rate"].statistic > 0.7
    assert all(r.method == "monte_carlo" for r in res.values())
    assert all(isinstance(r.p_value, float) for r in res.values())


def test_suite_flags_bias_with_other_p() -> None:
    rng = np.random.default_rng(25)
    x = (rng.random((50, 100)) < 0.7).astype(int)
    assert sq.sequence_tests(x, rng=rng, n_sim=300)["monobit"].p_value < 0.01
    assert sq.sequence_tests(x, p=0.7, rng=rng, n_sim=300)["monobit"].p_value > 0.01


# ---------------------------------------------------------------- calibration


@pytest.mark.slow
@pytest.mark.parametrize("length", [20, 100, 128])
def test_calibration(length: int) -> None:
    rng = np.random.default_rng(1000 + length)
    runs = 400 if length == 20 else 200  # length 20 is cheap: a tighter band
    p_values: dict[str, list[float]] = {}
    for _ in range(runs):
        x = rng.integers(0, 2, size=(50, length))
        for name, res in sq.sequence_tests(x, rng=rng, n_sim=250).items():
            p_values.setdefault(name, []).append(res.p_value)
    if length == 128:
        p_values = {"longest_run": p_values["longest_run"]}
    failures = []
    for name, ps in sorted(p_values.items()):
        try:
            assert_calibrated(f"fair coin, 50 seqs x {length}", f"sequence_tests {name}", ps)
        except AssertionError as err:
            failures.append(str(err))
    assert not failures
