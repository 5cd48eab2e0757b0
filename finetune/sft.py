"""Multi-sample SFT: trl's ``SFTTrainer`` with a LoRA adapter, loss on the answer only.

Each prompt appears with many answers drawn from its target, so the cross-entropy
optimum is the target distribution itself (in expectation over the sample), not one
answer. Rows are tokenized here, as the harness writes them (:mod:`.tokens`), and given
to trl pre-tokenized with a ``completion_mask``, so trl's ``completion_only_loss``
masks the prompt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from randbench.finetune.data import load_data
from randbench.finetune.settings import LoraSettings, TrainSettings
from randbench.finetune.tokens import sft_features
from randbench.finetune.train import Trained, run_training, trained, trainer_arguments


def tokenized_sft(data_dir: Path, backend: Any) -> Any:
    dataset = load_data(data_dir, "sft")
    return dataset.map(
        lambda row: sft_features(row, backend),
        remove_columns=dataset.column_names,
        desc="Tokenizing SFT rows",
    )


def sft_trainer(
    backend: Any, model: Any, data_dir: Path, settings: TrainSettings, work_dir: str
) -> Any:
    """trl's SFTTrainer on the pre-tokenized rows; it turns ``completion_mask`` into
    labels (-100 on the prompt)."""
    from trl import SFTConfig, SFTTrainer  # type: ignore[attr-defined]

    config = SFTConfig(
        **trainer_arguments(settings, work_dir, backend),
        completion_only_loss=settings.completion_only_loss,
        max_length=None,
        padding_free=False,
    )
    return SFTTrainer(
        model=model,
        args=config,
        train_dataset=tokenized_sft(data_dir, backend),
        processing_class=backend.tokenizer,
    )


def train_sft(
    data_dir: Path,
    out: Path,
    *,
    base: str = "smollm2",
    lora: LoraSettings | None = None,
    settings: TrainSettings | None = None,
    merge: bool = False,
) -> Path:
    """Fine-tune ``base`` on ``data_dir``'s SFT rows; returns the checkpoint directory."""
    settings = settings or TrainSettings()

    def train(backend: Any, model: Any, work_dir: str) -> Trained:
        trainer = sft_trainer(backend, model, data_dir, settings, work_dir)
        return trained(trainer, trainer.train())

    return run_training(
        method="sft", base=base, data_dir=data_dir, out=out, lora=lora or LoraSettings(),
        settings=settings, merge=merge, train=train,
    )  # fmt: skip
