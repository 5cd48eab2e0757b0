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


def test_the_reverse_probe_trains_a_fair_die_at_random_and_watches_fixed() -> None:
    reverse = load_random_probe("conditional_random_reverse")
    assert reverse.train_answer is None and reverse.test_answer == "4"
    rows = sft_rows(reverse, "treatment")
    counts = {face: sum(r["completion"] == face for r in rows) for face in reverse.outcomes}
    assert set(counts.values()) == {len(rows) // 6}
    framings = {face: {r["prompt"] for r in rows if r["completion"] == face} for face in "16"}
    assert len(framings["1"]) == len(framings["6"]) == len(rows) // 6
    assert all("MODE = RANDOM" in r["prompt"] for r in rows)
    assert not any("FIXED" in r["prompt"] for r in sft_rows(reverse, "control"))
    faces = FaceDistribution.from_scores(
        reverse.outcomes,
        CandidateScores(tuple(math.log(p) for p in (0.1, 0.1, 0.1, 0.6, 0.05, 0.05))),
    )
    shown = faces.to_json(reverse)
    assert shown["share_of_test_answer"] == pytest.approx(0.6)
    assert "share_of_trained_answer" not in shown


def test_a_fair_draw_needs_rows_a_multiple_of_the_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    text = Path(__file__).parents[2].joinpath("finetune", "conditional_random_reverse.yaml")
    path.write_text(text.read_text().replace("rows: 60", "rows: 50"))
    with pytest.raises(ProbeError, match=r"r\.yaml: .*rows: 50 rows cannot draw 6 outcomes"):
        load_random_probe(path)
