"""Fine-tuning the real embedded SmolLM2 (transformers form) with real trl and peft.

The steps are few: these tests check that the objectives are the right ones (against
the evaluation harness's own scoring), that training moves the model the right way,
and that checkpoints load as ``--model hf:DIR``. The figures of a real run are
``randbench finetune`` runs, reported in docs/finetune.md.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")
pytest.importorskip("gguf")

from conftest import Converted  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from randbench.cli import app  # noqa: E402
from randbench.finetune.data import DataSettings, build_data, save_data  # noqa: E402
from randbench.finetune.distmatch import entropy, prompt_loss, train_distmatch  # noqa: E402
from randbench.finetune.settings import LoraSettings, TrainSettings  # noqa: E402
from randbench.finetune.sft import sft_trainer, train_sft  # noqa: E402
from randbench.finetune.tokens import distmatch_features, row_prompt, sft_features  # noqa: E402
from randbench.finetune.train import load_base, with_lora  # noqa: E402
from randbench.harness.backends import ModelSpec, load_backend  # noqa: E402
from randbench.harness.methods.logprob import Logprob  # noqa: E402
from randbench.harness.models import ModelNotFoundError, smollm2_gguf  # noqa: E402
from randbench.harness.requests import ScoreRequest  # noqa: E402
from randbench.loader import load_tasks  # noqa: E402

try:
    smollm2_gguf()
except ModelNotFoundError as error:  # pragma: no cover - depends on the environment
    pytest.skip(str(error), allow_module_level=True)

TASKS = {t.name: t for t in load_tasks()}
SMALL = LoraSettings(r=4, alpha=8)


@pytest.fixture(scope="module", autouse=True)
def smollm2_converted(converted: Converted) -> None:
    """``load_base("smollm2")`` reads the session's converted directory."""


@pytest.fixture(scope="module")
def base() -> Any:
    return load_base("smollm2", "cpu")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tasks = [TASKS["coin_flip"], TASKS["dice_d4"], TASKS["random_number_1_to_10"]]
    out = tmp_path_factory.mktemp("data")
    save_data(build_data(tasks, DataSettings(completions=8, paraphrases=2, seed=1)), out)
    return out


def rows(kind: str, task: str) -> list[dict[str, Any]]:
    built = build_data([TASKS[task]], DataSettings(completions=4, paraphrases=2), [kind])
    return list(built.datasets[kind])


def exact_scores(backend: Any, task: str, prompt: Any = None) -> np.ndarray:
    request = Logprob().request(TASKS[task])
    if prompt is not None:
        request = ScoreRequest(request.task, prompt, request.candidates, request.until)
    return np.array(backend.score([request])[0].logprobs)


def test_training_rows_are_the_sequences_logprob_mode_scores(base: Any) -> None:
    row = rows("sft", "random_number_1_to_10")[0]
    features = sft_features(row, base)
    request = Logprob().request(TASKS["random_number_1_to_10"])
    prompt_ids = base.prompt_ids(request.prompt)
    assert row_prompt(row) == request.prompt  # paraphrase 0 is the task's own prompt
    assert features["input_ids"] == prompt_ids + base.candidate_ids(row["completion"])
    pairs = zip(features["input_ids"], features["completion_mask"], strict=True)
    answer = [i for i, m in pairs if m]
    assert base.tokenizer.decode(answer) == row["completion"] + "<|im_end|>"
    assert sum(features["completion_mask"]) == len(answer)
    assert features["completion_mask"][: len(prompt_ids)] == [0] * len(prompt_ids)


def test_the_distmatch_loss_is_the_exact_cross_entropy_of_the_harness(base: Any) -> None:
    """sum_y p*(y) NLL(y) from the training path equals the same sum over the logprob
    mode's own scores, and exceeds H(p*) by KL >= 0."""
    for task in ("dice_d4", "random_number_1_to_10"):
        row = rows("distmatch", task)[1]  # a paraphrase, not the task's own wording
        features = distmatch_features(row, base)
        with torch.no_grad():
            loss = float(
                prompt_loss(base.model, features["prompt_ids"], features["candidate_ids"],
                            features["weights"], base.end_id)
            )  # fmt: skip
        logprobs = exact_scores(base, task, row_prompt(row))
        expected = -float(np.dot(row["weights"], logprobs))
        assert loss == pytest.approx(expected, rel=1e-4)
        assert loss - entropy(row["weights"]) > 0


def test_the_adapters_first_weights_follow_the_seed_not_the_process(base: Any) -> None:
    """The first checkpoint of a process once drew its LoRA init from whatever state
    torch's generator was left in: seeded, the same seed gives the same adapter."""
    import torch

    def first_weights(seed: int, noise: int) -> Any:
        torch.rand(noise)  # what a process did before
        model = with_lora(base.model, SMALL, seed)
        try:
            return next(p.detach().clone() for n, p in model.named_parameters() if "lora_A" in n)
        finally:
            model.unload()

    assert torch.equal(first_weights(3, 1), first_weights(3, 1000))
    assert not torch.equal(first_weights(3, 1), first_weights(4, 1))


def test_sft_masks_the_prompt_out_of_the_loss(base: Any, data_dir: Path, tmp_path: Path) -> None:
    model = with_lora(base.model, SMALL)
    try:
        trainer = sft_trainer(base, model, data_dir, TrainSettings(max_steps=1), str(tmp_path))
        example = trainer.train_dataset[0]
        labels, ids = example["labels"], example["input_ids"]
        answer = [i for i, label in enumerate(labels) if label != -100]
        assert answer and answer == list(range(answer[0], len(ids)))
        assert [ids[i] for i in answer] == [labels[i] for i in answer]
        assert base.tokenizer.decode([ids[i] for i in answer]).endswith("<|im_end|>")
    finally:
        model.unload()  # gives the base model back without LoRA layers


@pytest.mark.slow
def test_distmatch_moves_the_model_to_the_target_and_the_checkpoint_loads(
    base: Any, data_dir: Path, tmp_path: Path
) -> None:
    out = train_distmatch(
        data_dir, tmp_path / "dm", lora=SMALL,
        settings=TrainSettings(max_steps=6, batch_size=2, learning_rate=3e-3, logging_steps=3),
    )  # fmt: skip
    card = json.loads((out / "randbench-card.json").read_text())
    assert card["method"] == "distmatch" and card["base"] == "smollm2" and card["steps"] == 6
    assert card["budget"] == 12  # 6 steps of 2 prompts with their target
    assert set(card["data"]["tasks"]) == {"coin_flip", "dice_d4", "random_number_1_to_10"}
    assert card["hyperparameters"]["lora"]["r"] == 4 and card["final_kl"] is not None
    tuned = load_backend(ModelSpec("hf", str(out)))
    identity = tuned.identity()
    assert identity["checkpoint"]["method"] == "distmatch"
    assert identity["checkpoint"]["budget"] == 12
    assert identity["model_hash"] != base.identity()["model_hash"]
    for task in ("dice_d4", "coin_flip"):
        weights = TASKS[task].target.probabilities()
        before = -float(np.dot(weights, exact_scores(base, task)))
        after = -float(np.dot(weights, exact_scores(tuned, task)))
        assert after < before - 0.5, (task, before, after)


@pytest.mark.slow
def test_distmatch_stops_near_the_optimum(data_dir: Path, tmp_path: Path) -> None:
    out = train_distmatch(
        data_dir, tmp_path / "dm", lora=SMALL,
        settings=TrainSettings(max_steps=50, batch_size=1, logging_steps=1, target_kl=1e6),
    )  # fmt: skip
    card = json.loads((out / "randbench-card.json").read_text())
    assert card["steps"] == 1 and card["stopped_near_optimum"] is True


@pytest.mark.slow
def test_sft_checkpoint_and_its_merged_model_score_alike(data_dir: Path, tmp_path: Path) -> None:
    out = train_sft(
        data_dir, tmp_path / "sft", lora=SMALL, merge=True,
        settings=TrainSettings(max_steps=2, batch_size=4, learning_rate=1e-3),
    )  # fmt: skip
    card = json.loads((out / "randbench-card.json").read_text())
    assert card["method"] == "sft" and card["steps"] == 2 and math.isfinite(card["final_loss"])
    assert card["budget"] == 8
    adapter = load_backend(ModelSpec("hf", str(out)))
    merged = load_backend(ModelSpec("hf", str(out / "merged")))
    assert merged.identity()["checkpoint"]["merged"] is True
    a, b = exact_scores(adapter, "dice_d4"), exact_scores(merged, "dice_d4")
    assert np.allclose(a, b, atol=1e-3)


def test_cli_refuses_a_base_that_cannot_be_trained(data_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["finetune", "distmatch", "--data", str(data_dir), "--out", str(tmp_path / "x"),
              "--base", "llamacpp:model.gguf"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "fine-tuning needs a transformers model" in result.output
    missing = CliRunner().invoke(
        app, ["finetune", "sft", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "y")],
    )  # fmt: skip
    assert missing.exit_code == 2 and "no sft dataset" in missing.output
