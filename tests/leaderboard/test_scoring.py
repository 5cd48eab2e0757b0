"""The score: its ends (perfect sampler 100, constant 0), its null-band correction, intervals
and tied ranks, on real result files and against independent computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from randbench.leaderboard.board import Board, build_board
from randbench.leaderboard.load import load_results
from randbench.leaderboard.projection import projection_for
from randbench.leaderboard.scoring import normalised
from randbench.loader import load_tasks


@pytest.fixture(scope="module")
def board(results_dir: Path) -> Board:
    return build_board(load_results(results_dir), n_boot=300)


def rows(board: Board, backend: str, method: str) -> list:  # type: ignore[type-arg]
    return [r for r in board.rows if r.model.backend == backend and r.method == method]


def test_oracle_scores_100_and_constant_scores_0(board: Board) -> None:
    (oracle,) = rows(board, "oracle", "direct")
    (exact,) = rows(board, "oracle", "logprob")
    constants = rows(board, "constant", "direct") + rows(board, "constant", "logprob")
    assert oracle.overall.interval is not None
    low, high = oracle.overall.interval
    assert low <= 1.0 <= high, oracle.overall
    assert exact.overall.score == pytest.approx(1.0, abs=1e-9)
    assert len(constants) == 4
    for row in constants:
        assert row.overall.score == 0.0
        assert all(s.score == 0.0 for s in row.tasks.values() if s.scored)
    assert all(r.reference and r.overall.rank is None for r in [oracle, exact, *constants])
    references = [r.exact for r in board.rows if r.reference]
    assert references == sorted(references), "sampled references before exact ones"


def test_categorical_distance_and_null_match_the_harness(board: Board) -> None:
    """D is the result file's TVD; D0 is the harness's perfect-sampler mean (both simulated)."""
    (oracle,) = rows(board, "oracle", "direct")
    for name in ("dice_d6", "coin_flip", "weighted_colour", "random_number_1_to_100"):
        score, values = oracle.tasks[name], oracle.data[name].entry.values
        assert score.distance == pytest.approx(values["tvd"], abs=1e-12)
        assert score.null is not None
        assert score.null.mean == pytest.approx(values["tvd_null_mean"], rel=0.1)


def test_perfect_sampler_band_is_the_statistics_notes_bias() -> None:
    """STATISTICS.md: a perfect sampler's expected TVD, k=6 n=100: 0.089; k=2 n=100: 0.040."""
    from randbench.leaderboard.scoring import null_band

    (d6,) = [t for t in load_tasks() if t.name == "dice_d6"]
    (coin,) = [t for t in load_tasks() if t.name == "coin_flip"]
    for task, expected in ((d6, 0.089), (coin, 0.040)):
        projection = projection_for(task.target)
        assert projection is not None
        band = null_band(task.target, projection, 100)
        assert band.mean == pytest.approx(expected, abs=0.006)
        assert band.low < band.mean < band.high


def test_every_constant_answer_is_at_least_the_constant_distance() -> None:
    """Dc bounds every constant answer from below, on every task of the library, so that a
    constant answer can never score above 0."""
    rng = np.random.default_rng(0)
    checked = 0
    for task in load_tasks():
        projection = projection_for(task.target)
        if projection is None:
            continue
        for value in task.target.sample(rng, 3):
            cells = np.tile(projection.cells(value), (40, 1))
            distance = float(projection.distances(projection.count(cells)[None])[0])
            assert distance >= projection.constant_distance() - 1e-12, (task.name, value)
            null = 0.5 * projection.constant_distance()
            assert normalised(np.array(distance), null, projection.constant_distance()) == 0.0
            checked += 1
    assert checked > 100


def test_scores_normalise_between_the_two_ends() -> None:
    null, constant = 0.09, 0.83
    assert normalised(np.array(null), null, constant) == pytest.approx(1.0)
    assert normalised(np.array(constant), null, constant) == pytest.approx(0.0)
    assert normalised(np.array(0.46), null, constant) == pytest.approx(0.5)
    assert normalised(np.array(0.95), null, constant) == 0.0  # worse than constant: floor
    assert normalised(np.array(0.05), null, constant) > 1.0  # luck above a perfect sampler
    assert normalised(np.array(0.5), 0.9, 0.8) == 0.0  # too few answers to tell anything


def test_intervals_contain_their_estimates(board: Board) -> None:
    (oracle,) = rows(board, "oracle", "direct")
    for score in oracle.tasks.values():
        if score.scored:
            assert score.interval is not None
            assert score.interval[0] <= score.score <= score.interval[1], score.name


def test_invalid_answers_count_against_the_model(board: Board) -> None:
    (injected,) = rows(board, "scored", "direct")
    dice = injected.tasks["dice_d6"]
    entry = injected.data["dice_d6"].entry
    assert 0 < entry.n_valid < entry.n
    assert dice.validity == entry.validity == entry.n_valid / entry.n
    assert dice.null is not None and dice.constant is not None
    alone = normalised(np.array(dice.distance), dice.null.mean, dice.constant)
    assert dice.score == pytest.approx(dice.validity * float(alone))


def test_category_selection_changes_scores_and_ranks(board: Board) -> None:
    (oracle,) = rows(board, "oracle", "direct")
    everything = ",".join(board.categories)
    assert oracle.subsets[everything].score == pytest.approx(oracle.overall.score)
    games = oracle.subsets["games"]
    assert games.score == pytest.approx(oracle.categories["games"].score)
    assert len(board.subsets) == 2 ** len(board.categories) - 1


def test_fdr_consistency_counts(board: Board) -> None:
    (oracle,) = rows(board, "oracle", "direct")
    (constant,) = [r for r in rows(board, "constant", "direct") if not r.model.args]
    assert oracle.passed is not None and constant.passed is not None
    assert oracle.passed[0] >= oracle.passed[1] - 1
    # A constant answer fails every test but the coin-sequence ones, which look within one
    # answer (a fixed random-looking sequence has fair runs); the score still gives it 0.
    assert constant.passed[0] <= 1
    assert constant.tasks["coin_flips_20"].score == 0.0


def test_logprob_scores_the_renormalised_distribution(board: Board) -> None:
    """Probability on other wording is reported as validity but does not scale the score."""
    from dataclasses import replace

    from randbench.leaderboard.scoring import task_score

    (exact,) = rows(board, "oracle", "logprob")
    data = exact.data["weighted_colour"]
    assert data.logprobs is not None
    tilted = [lp + np.log(0.01) + 0.2 * i for i, lp in enumerate(data.logprobs)]  # type: ignore[operator]
    shifted = task_score(replace(data, logprobs=tilted), exact.id)
    assert shifted.validity == pytest.approx(float(np.exp(tilted).sum()))
    assert shifted.validity < 0.05
    weights = np.exp(tilted) / np.exp(tilted).sum()
    tvd = 0.5 * np.abs(weights - np.array([0.5, 0.3, 0.2])).sum()
    assert shifted.distance == pytest.approx(tvd)
    assert shifted.score == pytest.approx(1 - tvd / 0.5)


def test_the_leaderboard_recentres_with_the_statistics_function() -> None:
    """One implementation: the leaderboard's re-centring of bootstrap distances is the one
    the result files' TVD interval uses (randbench.stats.recentre)."""
    from randbench.leaderboard import scoring
    from randbench.stats import uncertainty

    assert scoring.recentre is uncertainty.recentre
    distances = np.array([0.2, 0.3, 0.4])
    assert np.mean(scoring.recentre(distances, 0.1)) == pytest.approx(0.1)


def test_a_coin_that_always_lands_tails_is_a_control_scored_by_its_right_answers(
    board: Board,
) -> None:
    """Issue #29 item 3: a target with one outcome of positive weight is a control: not
    scored, its accuracy the share (sampled) or probability (exact) of the right answer,
    where the outcome of weight 0 is a miss, not a right answer."""
    from dataclasses import replace

    from randbench.leaderboard.scoring import task_score
    from randbench.targets.categorical import Categorical

    coin = Categorical(weights={"heads": 0.0, "tails": 1.0})
    (exact,) = rows(board, "oracle", "logprob")
    data = exact.data["coin_flip"]
    assert data.target.support() == ["heads", "tails"]
    scored = task_score(replace(data, target=coin, logprobs=list(np.log([0.3, 0.1]))), exact.id)
    assert not scored.scored and scored.accuracy == pytest.approx(0.1)
    (sampled,) = rows(board, "oracle", "direct")
    data = sampled.data["coin_flip"]
    entry = data.entry.model_copy(update={"values": {"accuracy": 0.25, "miss_rate": 0.75}})
    scored = task_score(replace(data, target=coin, entry=entry), sampled.id)
    assert not scored.scored and scored.accuracy == 0.25


def test_monte_carlo_p_values_are_ranked_only_against_each_other() -> None:
    """Issue #29 item 7: a Monte Carlo p-value at its floor of 1/2001, ranked behind 100
    asymptotic p-values of 1e-51, is rejected by Benjamini-Hochberg only because they came
    first; ranked among its own class it stands on its own evidence. Where the floored
    p-values are strong evidence among their peers, they are rejected either way."""
    from randbench.leaderboard.scoring import fdr_passes

    floor = 1 / 2001
    p_values = {f"a{i}": (1e-51, "asymptotic") for i in range(10)}
    p_values |= {f"m{i}": (floor, "monte_carlo") for i in range(3)}
    p_values |= {f"n{i}": (0.5, "monte_carlo") for i in range(27)}
    passed = fdr_passes([], p_values)
    assert passed == (27, 40), "the 3 floored p-values are rejected in their own class"
    together = {n: (p, "asymptotic") for n, (p, _) in p_values.items()}
    assert fdr_passes([], together) == (27, 40)
    few = {"m0": (floor, "monte_carlo"), **{f"n{i}": (0.9, "monte_carlo") for i in range(200)}}
    few |= {f"a{i}": (1e-51, "asymptotic") for i in range(100)}
    alone = fdr_passes([], few)
    mixed = fdr_passes([], {n: (p, "asymptotic") for n, (p, _) in few.items()})
    assert alone == (201, 301), "floor 5e-4 > 0.05 / 201: not rejected among its peers"
    assert mixed == (200, 301), "ranked behind 100 tiny asymptotic p-values it would be"
    assert fdr_passes([], {}) is None
