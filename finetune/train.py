"""What SFT and distribution matching share: the base model, LoRA, trainer settings and
the checkpoint they end with."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from randbench.finetune.checkpoint import card_fields, save_checkpoint
from randbench.finetune.data import MANIFEST, read_manifest
from randbench.finetune.settings import LoraSettings, TrainSettings
from randbench.harness.backends.base import ModelSpec


class BaseModelError(ValueError):
    """The base model cannot be fine-tuned here; the message says why."""


def base_spec(base: str) -> ModelSpec:
    """``smollm2`` or ``gemma3`` (an embedded model, in transformers form) or
    ``hf:PATH_OR_ID``."""
    from randbench.harness.hf_convert import EMBEDDED

    spec = ModelSpec.parse(f"hf:{base}" if base in EMBEDDED else base)
    if spec.backend != "hf" or not spec.name:
        raise BaseModelError(
            f"--base {base!r}: fine-tuning needs a transformers model: --base smollm2, "
            "--base gemma3 or --base hf:PATH (a GGUF or API model cannot be trained)"
        )
    return spec


def load_base(base: str, device: str) -> Any:
    """The ``hf`` backend for the base model: its model, tokenizer and chat formatting."""
    from randbench.harness.backends.hf import HFBackend

    spec = base_spec(base)
    return HFBackend(ModelSpec(spec.backend, spec.name, {**spec.args, "device": device}))


def with_lora(model: Any, lora: LoraSettings, seed: int = 0) -> Any:
    """``model`` wrapped in a LoRA adapter whose initial weights are drawn with ``seed``
    (peft draws them from torch's global generator, whose state would otherwise depend on
    whatever the process did before: a run's first checkpoint would not reproduce)."""
    from peft import LoraConfig, get_peft_model
    from transformers import set_seed

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in lora.target_modules if m not in present]
    if missing:
        raise BaseModelError(
            f"LoRA target modules {missing} are not in the base model; it has e.g. "
            f"{sorted(present)[:12]}"
        )
    config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )
    set_seed(seed)
    return get_peft_model(model, config)


def trainer_arguments(settings: TrainSettings, work_dir: str, backend: Any) -> dict[str, Any]:
    """Keyword arguments shared by ``TrainingArguments`` and trl's ``SFTConfig``."""
    return {
        "output_dir": work_dir,
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps,
        "per_device_train_batch_size": settings.batch_size,
        "learning_rate": settings.learning_rate,
        "warmup_steps": settings.warmup_steps,
        "logging_steps": settings.logging_steps,
        "seed": settings.seed,
        "data_seed": settings.seed,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": backend.device == "cpu",
        "disable_tqdm": False,
        "gradient_checkpointing": False,
    }


def data_record(data_dir: Path, kind: str) -> dict[str, Any]:
    """The training data as the card records it: where, its manifest's hash, its tasks."""
    manifest = read_manifest(data_dir)
    text = json.dumps(manifest, sort_keys=True).encode()
    return {
        "dir": str(data_dir),
        "kind": kind,
        "manifest_sha256": hashlib.sha256(text).hexdigest(),
        "tasks": manifest["kinds"].get(kind, {}).get("tasks", {}),
        "splits": manifest["kinds"].get(kind, {}).get("splits", {}),
        "settings": manifest.get("settings", {}),
        "split_hash": manifest.get("split_hash"),
        "file": MANIFEST,
    }


@dataclass(frozen=True)
class Trained:
    steps: int
    final_loss: float | None
    extra: dict[str, Any]


def run_training(
    *, method: str, base: str, data_dir: Path, out: Path, lora: LoraSettings,
    settings: TrainSettings, merge: bool, train: Callable[[Any, Any, str], Trained],
) -> Path:  # fmt: skip
    """Load the base, wrap it in LoRA, ``train(backend, peft_model, work_dir)``, and write
    the checkpoint with its card."""
    backend = load_base(base, settings.device)
    model = with_lora(backend.model, lora, settings.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="randbench-train-") as work_dir:
        trained = train(backend, model, work_dir)
    seconds = round(time.perf_counter() - started, 1)
    card = card_fields(
        base=base,
        base_identity=backend.identity(),
        method=method,
        data=data_record(data_dir, method),
        hyperparameters={"lora": lora.model_dump(), "train": settings.model_dump()},
        result={
            "steps": trained.steps,
            "final_loss": trained.final_loss,
            **trained.extra,
            "train_seconds": seconds,
            "device": device_name(backend),
        },
    )
    return save_checkpoint(out, model, backend.tokenizer, card, merge=merge)


def device_name(backend: Any) -> str:
    torch = backend.torch
    if str(backend.device).startswith("cuda"):
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {torch.get_num_threads()} threads"


def trained(trainer: Any, output: Any, **extra: Any) -> Trained:
    """What a finished ``Trainer`` run reports: its steps, the last logged loss (the mean
    over the run when nothing was logged), the mean loss and the budget, plus ``extra``."""
    final = last_logged(trainer.state.log_history, "loss")
    mean = float(output.training_loss)
    steps = int(trainer.state.global_step)
    return Trained(
        steps=steps,
        final_loss=final if final is not None else mean,
        extra={"budget": training_budget(steps, trainer.args), **extra, "mean_loss": mean},
    )


def training_budget(steps: int, arguments: Any) -> int:
    """The sequences a run trained on, steps x batch (x gradient accumulation): answers
    for SFT, prompts with their target for distribution matching, sampled completions for
    GRPO (whose batch is its groups). Methods are compared at the same budget."""
    return steps * int(arguments.train_batch_size) * int(arguments.gradient_accumulation_steps)


def last_logged(history: list[dict[str, Any]], key: str) -> float | None:
    values = [entry[key] for entry in history if key in entry]
    return float(values[-1]) if values else None
