"""GRPO's group reward and the adaptive curriculum (issue #32 items 2-3), on constructed
groups and a synthetic reward stream."""

from __future__ import annotations

import numpy as np
import pytest

from randbench.finetune.curriculum import Curriculum
from randbench.finetune.grpo_reward import (
    INVALID_REWARD,
    expected_reward,
    group_rewards,
    optimum,
)

D6 = np.full(6, 1 / 6)
WEIGHTED = np.array([0.5, 0.3, 0.15, 0.05])


def test_a_group_matching_the_target_earns_more_than_a_uniform_or_collapsed_one() -> None:
    matching = [0] * 5 + [1] * 3 + [2] * 1 + [3] * 1  # shares 0.5/0.3/0.1/0.1 ~ target
    exact = [0] * 10 + [1] * 6 + [2] * 3 + [3] * 1  # shares equal to the target
    uniform = [0, 1, 2, 3] * 5
    collapsed = [0] * 20
    means = {name: float(np.mean(group_rewards(g, WEIGHTED))) for name, g in
             (("exact", exact), ("matching", matching), ("uniform", uniform),
              ("collapsed", collapsed))}  # fmt: skip
    assert means["exact"] == pytest.approx(0.0, abs=1e-12)
    assert means["exact"] > means["matching"] > means["uniform"] > means["collapsed"]
    assert means["collapsed"] == pytest.approx(np.log(0.5))


def test_the_group_mean_is_minus_the_kl_of_its_shares_to_the_target() -> None:
    group = [0, 0, 0, 1, 2, 2, 5, 5, 5, 5]
    shares = np.bincount(group, minlength=6) / len(group)
    kl = sum(q * np.log(q / p) for q, p in zip(shares, D6, strict=True) if q > 0)
    assert float(np.mean(group_rewards(group, D6))) == pytest.approx(-kl)


def test_an_over_used_answer_earns_less_than_an_under_used_one() -> None:
    rewards = group_rewards([0, 0, 0, 1], np.array([0.5, 0.5]))
    assert rewards[3] > rewards[0]


def test_an_unreadable_answer_gets_the_fixed_penalty() -> None:
    rewards = group_rewards([0, None, 1], np.array([0.5, 0.5]))
    assert rewards[1] == INVALID_REWARD and all(
        r > INVALID_REWARD for r in (rewards[0], rewards[2])
    )


@pytest.mark.parametrize("target", [D6, WEIGHTED, np.array([0.7, 0.3])])
def test_a_policy_equal_to_the_target_expects_more_than_one_on_its_mode(target: np.ndarray) -> None:
    mode = np.eye(len(target))[int(np.argmax(target))]
    uniform = np.full(len(target), 1 / len(target))
    assert optimum(target, 16) > expected_reward(mode, target, 16)
    assert expected_reward(mode, target, 16) == pytest.approx(np.log(target.max()))
    assert optimum(target, 16) >= expected_reward(uniform, target, 16) - 1e-12
    # The finite group biases the optimum's reward below 0 by about (K - 1) / 2G.
    assert optimum(target, 16) == pytest.approx(-(len(target) - 1) / 32, rel=0.25)


def test_the_exact_expectation_matches_simulated_groups() -> None:
    rng = np.random.default_rng(0)
    groups = rng.choice(4, size=(20000, 16), p=WEIGHTED)
    simulated = np.mean([np.mean(group_rewards(list(g), WEIGHTED)) for g in groups])
    assert simulated == pytest.approx(optimum(WEIGHTED, 16), abs=0.005)


def synthetic(curriculum: Curriculum, streams: dict[str, list[float]], draws: int) -> None:
    """Feed each drawn task the next reward of its stream (its last, once spent)."""
    position = dict.fromkeys(streams, 0)
    for _ in range(draws):
        task = curriculum.draw()
        stream = streams[task]
        curriculum.update(task, stream[min(position[task], len(stream) - 1)])
        position[task] += 1


def test_an_improving_noisy_task_is_drawn_more_and_a_solved_one_is_retired() -> None:
    rng = np.random.default_rng(1)
    streams = {
        "solved": [-0.1] * 200,  # at its optimum from the start
        "improving": list(np.linspace(-2.0, -0.2, 200) + rng.normal(0, 0.3, 200)),
        "stuck": [-1.5] * 200,  # far from its optimum, no progress, no spread
    }
    curriculum = Curriculum({"solved": -0.1, "improving": -0.1, "stuck": -0.1}, seed=0)
    synthetic(curriculum, streams, 120)
    table = {row["task"]: row for row in curriculum.table()}
    assert table["solved"]["retired_at"] is not None
    assert table["improving"]["retired_at"] is None and table["stuck"]["retired_at"] is None
    assert table["improving"]["groups"] > 2 * table["stuck"]["groups"]
    weights = curriculum.weights()
    assert "solved" not in weights and weights["improving"] > weights["stuck"]
    assert sum(weights.values()) == pytest.approx(1.0)
    events = [e["event"] for e in curriculum.history]
    assert events.count("draw") == events.count("update") == 120


def test_with_the_curriculum_off_tasks_are_drawn_uniformly_and_never_retired() -> None:
    streams = {"solved": [-0.1] * 300, "stuck": [-1.5] * 300}
    curriculum = Curriculum({"solved": -0.1, "stuck": -0.1}, seed=0, enabled=False)
    synthetic(curriculum, streams, 300)
    table = {row["task"]: row for row in curriculum.table()}
    assert all(row["retired_at"] is None for row in table.values())
    assert abs(table["solved"]["groups"] - 150) < 30


def test_the_same_seed_draws_the_same_tasks() -> None:
    def run() -> list[str]:
        c = Curriculum({"a": 0.0, "b": 0.0, "c": 0.0}, seed=7)
        synthetic(c, {"a": [-1.0, -0.5], "b": [-2.0], "c": [0.0]}, 30)
        return [e["task"] for e in c.history if e["event"] == "draw"]

    assert run() == run()
