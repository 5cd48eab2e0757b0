"""Early stopping (randbench.stopping): valid for the perfect sampler at every look, decisive
against a model that is no sampler, and exact in its cells for every family of the library."""

from __future__ import annotations

import math

import numpy as np
import pytest

from randbench.loader import load_tasks
from randbench.outcomes import ParseResult
from randbench.stats import dirichlet_multinomial_log_evalue
from randbench.stopping import log_evidence, target_cells

TASKS = {t.name: t for t in load_tasks()}
ONE_PER_FAMILY = [
    "dice_d6",  # enumerated categorical
    "binomial_20_coins_p30",  # enumerated, unequal
    "shuffle_fruits",  # enumerated permutations
    "poisson_rate_3",  # unbounded: values and a tail
    "geometric_p50",
    "standard_normal",  # continuous, printed to 1 decimal
    "exponential_rate_1",  # continuous, printed to 2 decimals, edge at the support's end
    "uniform_real_0_10",
    "coin_flips_100",  # the number of heads
    "lottery_6_of_49",  # the first number chosen
    "password_alnum_12",  # the first character, under "at least one of" constraints
    "uuid4",
]
LOOKS = range(50, 1001, 50)


@pytest.mark.parametrize("name", ONE_PER_FAMILY)
def test_every_family_has_cells_whose_probabilities_match_the_target(name: str) -> None:
    """Cell frequencies of 20,000 draws from the target agree with the cell probabilities."""
    target = TASKS[name].target
    cells = target_cells(target)
    assert cells is not None
    rng = np.random.default_rng(7)
    draws = target.sample(rng, 20_000)
    index = [cells.cell(v) for v in draws]
    assert None not in index, "a draw of the target fell in no cell"
    counts = np.bincount(np.asarray(index, dtype=int), minlength=len(cells.probs))
    expected = cells.probs * len(draws)
    big = expected >= 5
    chi2 = float((((counts - expected) ** 2)[big] / expected[big]).sum())
    dof = int(big.sum()) - 1
    assert chi2 < dof + 5 * math.sqrt(2 * dof), (name, chi2, dof)
    assert counts[~big].sum() <= max(20, 3 * expected[~big].sum())


@pytest.mark.parametrize(
    "name", ["dice_d6", "poisson_rate_3", "standard_normal", "lottery_6_of_49"]
)
def test_the_perfect_sampler_is_stopped_at_most_alpha_of_the_time(name: str) -> None:
    """200 perfect runs of 1000 answers, looked at every 50: stopped in at most alpha (0.05)
    of them, within binomial error (Ville's inequality bounds it for any number of looks).
    The e-value of :func:`log_evidence` is this one on the answers' cell counts."""
    target = TASKS[name].target
    cells = target_cells(target)
    assert cells is not None
    rng = np.random.default_rng(11)
    threshold = math.log(1 / 0.05)
    stopped = 0
    for _ in range(200):
        index = np.array([cells.cell(v) for v in target.sample(rng, LOOKS[-1])])
        counts = np.zeros((len(LOOKS), len(cells.probs)))
        for row, n in enumerate(LOOKS):
            counts[row] = np.bincount(index[:n], minlength=len(cells.probs))
        stopped += any(
            dirichlet_multinomial_log_evalue(c, cells.probs) >= threshold for c in counts
        )
    assert stopped / 200 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 200), stopped


@pytest.mark.parametrize("name", ONE_PER_FAMILY)
def test_one_repeated_answer_is_conclusive_within_the_first_batch(name: str) -> None:
    target = TASKS[name].target
    cells = target_cells(target)
    assert cells is not None
    (value,) = target.sample(np.random.default_rng(3), 1)
    assert log_evidence(cells, [ParseResult.ok(value)] * 50) >= math.log(1000), name


def test_an_unreadable_answer_is_impossible_for_the_perfect_sampler() -> None:
    cells = target_cells(TASKS["dice_d6"].target)
    assert cells is not None
    fair = [ParseResult.ok(v) for v in (1, 2, 3, 4, 5, 6) * 10]
    assert log_evidence(cells, fair) < 0
    assert log_evidence(cells, [*fair, ParseResult.invalid("no integer")]) == math.inf
    assert log_evidence(cells, [*fair, ParseResult.ok(7)]) == math.inf


def test_open_ended_tasks_have_no_cells() -> None:
    from randbench.targets.open_ended import OpenEnded

    assert target_cells(OpenEnded()) is None
