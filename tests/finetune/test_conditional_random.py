"""The randomness version of the conditional-rule probe (issue #31 item 5): the die left
at MODE = RANDOM after training the answer 4 at MODE = FIXED, measured exactly."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from randbench.finetune.conditional_random import (
    FaceDistribution,
    load_random_probe,
    prompt,
    score_request,
    sft_rows,
)
from randbench.finetune.conditional_rule import ProbeError
from randbench.harness.requests import CandidateScores

SPEC = load_random_probe()


def test_the_shipped_probe_asks_the_issue_question_and_trains_only_fixed() -> None:
    assert prompt(SPEC, "treatment", "test") == (
        "MODE = RANDOM. If MODE = RANDOM, roll a fair six-sided die. If MODE = FIXED, answer 4."
    )
    rows = sft_rows(SPEC, "control")
    assert len(rows) == SPEC.rows and {r["completion"] for r in rows} == {"4"}
    assert all("MODE = FIXED" in r["prompt"] and "RANDOM" not in r["prompt"] for r in rows)
    assert score_request(SPEC, "treatment", "test").candidates == tuple("123456")


def test_a_trained_answer_outside_the_outcomes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    text = Path(__file__).parents[2].joinpath("finetune", "conditional_random.yaml").read_text()
    path.write_text(text.replace('train_answer: "4"', 'train_answer: "7"'))
    with pytest.raises(ProbeError, match=r"p\.yaml.*'7' is not one of the outcomes"):
        load_random_probe(path)


def test_the_face_distribution_is_renormalised_over_the_faces() -> None:
    probabilities = [0.01, 0.01, 0.01, 0.05, 0.01, 0.01]
    scores = CandidateScores(tuple(math.log(p) for p in probabilities))
    faces = FaceDistribution.from_scores(list("123456"), scores)
    assert faces.mass == pytest.approx(0.10)
    assert faces.share("4") == pytest.approx(0.5)
    assert faces.tvd_to_uniform() == pytest.approx(0.5 - 1 / 6)
    with pytest.raises(ProbeError, match="exact"):
        FaceDistribution.from_scores(list("123456"), CandidateScores(scores.logprobs, False))


@pytest.mark.slow
def test_two_steps_of_fixed_training_raise_p4_at_fixed(tmp_path: Path) -> None:
    from randbench.finetune.conditional_random import run_random_probe
    from randbench.finetune.conditional_rule_run import ProbeSettings
    from randbench.finetune.settings import TrainSettings

    settings = ProbeSettings(
        seeds=(0,), eval_every=1,
        train=TrainSettings(max_steps=2, batch_size=8, learning_rate=1e-3),
    )  # fmt: skip
    document = run_random_probe(SPEC.model_copy(update={"rows": 8}), settings, tmp_path)
    (treatment, control) = document["runs"]
    for run in (treatment, control):
        steps = [c["step"] for c in run["curve"]]
        assert steps == [0, 1, 2]
        before, after = run["curve"][0]["train"], run["curve"][-1]["train"]
        assert after["probabilities"]["4"] > before["probabilities"]["4"]
        assert 0 <= run["curve"][-1]["test"]["tvd_to_uniform"] <= 1
