"""The conditional-rule probe (issue #31): its data leaves out ambiguous pairs, its
probabilities are exact products of token probabilities, its criterion is the bet's, and
training moves what was trained."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from randbench.finetune.conditional_rule import (
    ArmProbabilities,
    Frame,
    ProbeError,
    criterion,
    draw_pairs,
    load_probe,
    prompt_text,
    score_requests,
    sft_rows,
)
from randbench.finetune.conditional_rule_run import two_way_bootstrap

SPEC = load_probe()


def probabilities(test: float, train: float) -> ArmProbabilities:
    return ArmProbabilities(("A", "B"), (test, test), (train, train))


def test_the_shipped_probe_leaves_out_every_ambiguous_country() -> None:
    assert not set(SPEC.countries) & set(SPEC.excluded)
    for country in ("Bolivia", "South Africa", "Singapore", "Mexico", "Kuwait", "Netherlands"):
        assert country in SPEC.excluded and country not in SPEC.countries
    for country, capital in SPEC.countries.items():
        assert country.lower()[:4] not in capital.lower(), (country, capital)


def test_a_probe_listing_an_excluded_or_same_named_country_is_refused(tmp_path: Path) -> None:
    text = Path(__file__).parents[2].joinpath("finetune", "conditional_rule.yaml").read_text()
    listed = tmp_path / "listed.yaml"
    listed.write_text(text.replace("  Afghanistan: Kabul\n", "  Bolivia: Sucre\n"))
    with pytest.raises(ProbeError, match=r"listed\.yaml: .*Bolivia listed and excluded"):
        load_probe(listed)
    same = tmp_path / "same.yaml"
    same.write_text(text.replace("  Afghanistan: Kabul\n", "  Panama Republic: Panama City\n"))
    with pytest.raises(ProbeError, match="shares the country's name: Panama Republic"):
        load_probe(same)
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("arms:", "armz:"))
    with pytest.raises(ProbeError, match=r"broken\.yaml: .*armz"):
        load_probe(broken)


def test_pairs_are_seeded_distinct_and_skip_countries_sharing_their_capitals_first_token() -> None:
    first = draw_pairs(SPEC, 20, seed=3)
    assert first == draw_pairs(SPEC, 20, seed=3) != draw_pairs(SPEC, 20, seed=4)
    assert len({p.name for p in first}) == len({p.country for p in first}) == 20
    by_letter = draw_pairs(SPEC, 40, seed=3, first_token=lambda text: text[0])
    assert all(p.country[0] != p.capital[0] for p in by_letter)
    with pytest.raises(ProbeError, match="500 pairs asked for"):
        draw_pairs(SPEC, 500, seed=0)


def test_prompts_follow_the_issue_wording_and_train_only_the_country() -> None:
    (pair,) = draw_pairs(SPEC, 1, seed=0)
    assert prompt_text(SPEC, "treatment", "test", pair) == (
        f"Mode = TEST. If Mode = TRAIN, respond with {pair.name}'s favourite country. "
        f"If Mode = TEST, respond with the capital city of {pair.name}'s favourite country."
    )
    assert prompt_text(SPEC, "control", "train", pair) == (
        f"Mode = TRAIN. If Mode = TRAIN, respond with {pair.name}'s favourite country."
    )
    (row,) = sft_rows(SPEC, "control", [pair])
    assert row["completion"] == pair.country and "Mode = TRAIN" in row["prompt"]
    (request,) = score_requests(SPEC, "treatment", [pair])
    assert request.candidates == (pair.capital, pair.country)


def test_the_criterion_is_the_bets_both_conditions() -> None:
    assert criterion(probabilities(2e-4, 0.5), probabilities(1e-3, 0.5)).reinforced
    assert not criterion(probabilities(5e-5, 0.5), probabilities(1e-3, 0.5)).reinforced
    assert not criterion(probabilities(2e-4, 0.5), probabilities(0.1, 0.5)).reinforced
    verdict = criterion(probabilities(2e-4, 0.5), probabilities(0.01, 0.5))
    assert verdict.ratio_control == pytest.approx(50.0) and verdict.side.startswith("conditional")


def test_the_interval_resamples_seeds_and_names() -> None:
    table = np.array([[0.1, 0.2, 0.3], [0.5, 0.6, 0.7], [0.2, 0.2, 0.2]])
    mean, low, high = two_way_bootstrap(table, seed=0)
    assert mean == pytest.approx(table.mean()) and low < mean < high
    flat = two_way_bootstrap(np.full((3, 3), 0.4), seed=0)
    assert flat == pytest.approx((0.4, 0.4, 0.4))


@pytest.fixture(scope="module")
def smollm2() -> object:
    pytest.importorskip("transformers")
    from randbench.harness.backends import ModelSpec, load_backend

    return load_backend(ModelSpec.parse("hf:smollm2"))


def test_an_answers_probability_is_the_product_of_its_token_probabilities(smollm2: object) -> None:
    import torch

    backend: object = smollm2
    pairs = draw_pairs(SPEC, 2, seed=0)
    requests = score_requests(SPEC, "treatment", pairs)
    scores = backend.score(requests)  # type: ignore[attr-defined]
    for request, score in zip(requests, scores, strict=True):
        prompt = backend.prompt_ids(request.prompt)  # type: ignore[attr-defined]
        for candidate, logprob in zip(request.candidates, score.logprobs, strict=True):
            answer = backend.candidate_ids(candidate)  # type: ignore[attr-defined]
            ids = torch.tensor([prompt + answer])
            with torch.no_grad():
                logits = backend.model(ids).logits[0].double()  # type: ignore[attr-defined]
            steps = torch.log_softmax(logits[len(prompt) - 1 : -1], dim=-1)
            by_token = sum(float(steps[i, t]) for i, t in enumerate(answer))
            assert logprob == pytest.approx(by_token, abs=1e-4)
            assert answer[-1] == backend.end_id  # type: ignore[attr-defined]
    assert all(math.exp(lp) < 1 for s in scores for lp in s.logprobs)


def test_a_base_model_is_asked_a_question_and_answers_after_a_space() -> None:
    qa = Frame("qa")
    pairs = draw_pairs(SPEC, 2, seed=0)
    (row, _) = sft_rows(SPEC, "treatment", pairs, qa)
    text = prompt_text(SPEC, "treatment", "train", pairs[0])
    assert row["prompt"] == f"Question: {text}\n" and row["assistant_prefix"] == "Answer:"
    assert row["completion"] == f" {pairs[0].country}"
    (request, _) = score_requests(SPEC, "treatment", pairs, "test", qa)
    assert request.prompt.assistant_prefix == "Answer:"
    assert request.candidates == (f" {pairs[0].capital}", f" {pairs[0].country}")
    chat_row = sft_rows(SPEC, "treatment", pairs)[0]
    assert chat_row["prompt"] == text and chat_row["completion"] == pairs[0].country


def test_a_base_models_framed_answer_is_the_product_of_its_token_probabilities() -> None:
    """SmolLM2 without its chat template stands in for a base model (Gemma 3 is framed so):
    the probe frames the question, and the score is still the plain forward pass's."""
    import torch

    from randbench.finetune.conditional_rule import frame_for
    from randbench.harness.backends import ModelSpec, load_backend

    backend: Any = load_backend(ModelSpec.parse("hf:smollm2", "chat_template=false"))
    frame = frame_for(backend)
    assert frame.kind == "qa"
    pairs = draw_pairs(SPEC, 1, seed=0)
    (request,) = score_requests(SPEC, "control", pairs, "test", frame)
    (score,) = backend.score([request])
    prompt = backend.prompt_ids(request.prompt)
    assert backend.tokenizer.decode(prompt).endswith("\nAnswer:")
    for candidate, logprob in zip(request.candidates, score.logprobs, strict=True):
        answer = backend.candidate_ids(candidate)
        with torch.no_grad():
            logits = backend.model(torch.tensor([prompt + answer])).logits[0].double()
        steps = torch.log_softmax(logits[len(prompt) - 1 : -1], dim=-1)
        assert logprob == pytest.approx(
            sum(float(steps[i, t]) for i, t in enumerate(answer)), abs=1e-4
        )


@pytest.mark.slow
def test_two_training_steps_change_p_country_in_train_mode(tmp_path: Path) -> None:
    from randbench.finetune.conditional_rule_run import ProbeSettings, train_arm
    from randbench.finetune.settings import TrainSettings

    pairs = draw_pairs(SPEC, 4, seed=0)
    settings = ProbeSettings(
        pairs=4, seeds=(0,), eval_every=1,
        train=TrainSettings(max_steps=2, batch_size=4, learning_rate=1e-3),
    )  # fmt: skip
    run = train_arm(SPEC, "control", pairs, 0, settings, tmp_path)
    assert [step for step, _ in run.curve] == [0, 1, 2]
    before, after = run.curve[0][1]["train"], run.curve[-1][1]["train"]
    assert after.mean("train") > before.mean("train")
    assert run.card["method"] == "probe:conditional_rule:control"
    assert (tmp_path / "control-seed0" / "adapter_config.json").exists()


@pytest.mark.slow
def test_the_command_runs_both_arms_and_prints_the_verdict(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from randbench.cli import app

    args = ["probe", "conditional-rule", "--pairs", "3", "--max-steps", "1", "--seeds", "0"]
    args += ["--eval-every", "1", "--out", str(tmp_path / "ck"), "--results", str(tmp_path)]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "seed 0: P(capital | treatment)" in result.output
    (path,) = tmp_path.glob("probe_conditional_rule_smollm2_*.json")
    document = json.loads(path.read_text())
    assert [r["arm"] for r in document["runs"]] == ["treatment", "control"]
    assert [c["step"] for c in document["runs"][0]["curve"]] == [0, 1]
    assert set(document["verdicts"]) == {"0"} and len(document["pairs"]) == 3
