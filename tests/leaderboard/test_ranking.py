"""Like with like (issue #35): boards built from constructed results, where a partial row is
better on its tasks than a complete row, a row lacks a category, and the oracle is there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import randbench
from randbench.leaderboard.board import Board, Row, build_board
from randbench.leaderboard.load import load_results
from randbench.leaderboard.ranking import MIN_COVERAGE, paired_difference, paired_ranks
from randbench.leaderboard.scoring import TaskScore
from randbench.leaderboard.site import SiteWriter
from randbench.leaderboard.views import pair_views

from .conftest import write_as

TASKS = "dice_d6,coin_flip,weighted_colour,random_number_1_to_10"
"""Two categories: games (dice_d6, coin_flip) and basic (the other two)."""


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Board:
    folder = tmp_path_factory.mktemp("constructed")
    oracle = randbench.evaluate("oracle", tasks=TASKS, methods="direct,logprob", samples=200)
    oracle.write(folder)
    constant = randbench.evaluate("constant", tasks=TASKS, samples=50)
    write_as(constant, folder, "complete_but_constant")
    partial = randbench.evaluate("oracle", tasks="dice_d6", samples=200, seed=1)
    write_as(partial, folder, "partial_but_perfect")
    good = randbench.evaluate("oracle", tasks=TASKS, samples=200, seed=2)
    write_as(good, folder, "complete_and_perfect")
    return build_board(load_results(folder), n_boot=200)


def row(board: Board, backend: str, method: str = "direct") -> Row:
    (found,) = [r for r in board.rows if r.model.backend == backend and r.method == method]
    return found


def test_a_partial_row_is_not_ranked_above_a_complete_one(board: Board) -> None:
    partial, complete = row(board, "partial_but_perfect"), row(board, "complete_but_constant")
    assert partial.overall.score is not None and complete.overall.score is not None
    assert partial.overall.score > complete.overall.score + 0.5
    assert not partial.ranked and partial.overall.rank is None
    assert partial.coverage == (1, 4) and MIN_COVERAGE > 1 / 4
    assert partial.coverage_by_category == {"basic": (0, 2), "games": (1, 2)}
    assert complete.ranked and complete.coverage == (4, 4)
    assert row(board, "complete_and_perfect").overall.rank == 1
    assert complete.overall.rank == 2
    ranked = [r for r in board.rows if r.ranked]
    assert board.rows[: len(ranked)] == ranked, "ranked rows come first"


def test_a_missing_category_is_not_measured_and_leaves_the_mean_alone(board: Board) -> None:
    partial = row(board, "partial_but_perfect")
    assert set(partial.categories) == {"games"}
    assert partial.overall.score == pytest.approx(partial.categories["games"].score)
    assert partial.subsets["basic"].score is None and partial.subsets["basic"].rank is None


def test_the_references_are_lines_not_ranked_rows(board: Board) -> None:
    for method in ("direct", "logprob"):
        oracle = row(board, "oracle", method)
        assert oracle.reference and not oracle.ranked and oracle.overall.rank is None
    assert row(board, "oracle").overall.score == pytest.approx(1.0, abs=0.1)


def test_sampled_and_exact_rows_are_ranked_apart(board: Board) -> None:
    """The only ranked rows are sampled; no exact row takes a rank among them."""
    ranked = [r for r in board.rows if r.overall.rank is not None]
    assert ranked and not any(r.exact for r in ranked)
    assert sorted(r.overall.rank for r in ranked) == [1, 2]  # type: ignore[type-var]


def _score(name: str, category: str, score: float, spread: float, seed: int) -> TaskScore:
    replicates = score + spread * np.random.default_rng(seed).standard_normal(400)
    return TaskScore(name, "direct", category, "categorical", 100, 100, 1.0, False, None,
                     score=score, replicates=replicates)  # fmt: skip


def test_rows_are_compared_on_the_tasks_both_measured() -> None:
    """A is better than B on the two tasks they share; B also has a task where it is
    perfect. On common tasks A ranks first; rows within noise share a rank."""
    a = {"t1": _score("t1", "games", 0.9, 0.01, 1), "t2": _score("t2", "games", 0.8, 0.01, 2)}
    b = {"t1": _score("t1", "games", 0.5, 0.01, 3), "t2": _score("t2", "games", 0.4, 0.01, 4),
         "t3": _score("t3", "games", 1.0, 0.01, 5)}  # fmt: skip
    assert paired_ranks([a, b], [None]) == [[1, 2]]
    close = {"t1": _score("t1", "games", 0.89, 0.05, 6), "t2": _score("t2", "games", 0.8, 0.05, 7)}
    assert paired_ranks([a, close], [None]) == [[1, 1]]
    apart = {"t9": _score("t9", "basic", 0.1, 0.01, 8)}
    assert paired_ranks([a, apart], [None]) == [[1, 1]], "no common task: not comparable"


def test_the_comparison_shows_each_pair_on_common_tasks(board: Board, tmp_path: Path) -> None:
    """The difference behind a rank, with its interval: perfect minus constant is about
    100 points and separated; the partial row is compared with each ranked row on its one
    task; the page lists the same numbers."""
    perfect, constant = row(board, "complete_and_perfect"), row(board, "complete_but_constant")
    difference = paired_difference(perfect.tasks, constant.tasks)
    assert difference is not None and difference.tasks == 4
    assert difference.point == pytest.approx(1.0, abs=0.1) and difference.low > 0
    assert difference.verdict == "A better"
    games = paired_difference(perfect.tasks, constant.tasks, ["games"])
    assert games is not None and games.tasks == 2 and games.categories == ("games",)
    partial = row(board, "partial_but_perfect")
    on_one = paired_difference(partial.tasks, constant.tasks)
    assert on_one is not None and on_one.tasks == 1
    views = pair_views(board)
    assert set(views) == {"sampled"}, "exact rows here are references only"
    pairs = {(v.a.model.backend, v.b.model.backend) for v in views["sampled"]}
    assert pairs == {
        ("complete_and_perfect", "complete_but_constant"),
        ("partial_but_perfect", "complete_and_perfect"),
        ("partial_but_perfect", "complete_but_constant"),
    }
    writer = SiteWriter(tmp_path, board, 200)
    writer.write_all()
    page = (tmp_path / "compare_models.html").read_text(encoding="utf-8")
    assert page.count("<tr data-a=") == 3
    assert f'data-point="{difference.point}"' in page and "A better" in page


def test_every_difference_interval_holds_its_point(board: Board) -> None:
    """Exact rows' replicates equal the point up to float summation order; the interval
    still holds the point for every pair of rows, exact ones included."""
    checked = 0
    for first in board.rows:
        for second in board.rows:
            found = paired_difference(first.tasks, second.tasks)
            if first is not second and found is not None:
                assert found.low <= found.point <= found.high, (first.id, second.id)
                checked += 1
    assert checked >= 6
