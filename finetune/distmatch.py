"""Exact distribution matching over enumerable candidates.

For a prompt x with target p* over candidates y (each terminated, so they are
prefix-free), the loss is

    L(x) = sum_y p*(y) * -log p_model(y | x)  =  H(p*) + KL(p* || p_model),

so its minimum is the target's entropy H(p*) and the excess over it is exactly the KL
divergence left to remove. trl's SFT loss (a mean over answer tokens) does not give
this, so this is a ``transformers.Trainer`` with its own collation and loss. Training
stops early once the mean excess, over the last logging window, falls below
``target_kl`` nats.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from randbench.finetune.data import load_data
from randbench.finetune.settings import LoraSettings, TrainSettings
from randbench.finetune.tokens import distmatch_features
from randbench.finetune.train import (
    Trained,
    last_logged,
    run_training,
    trained,
    trainer_arguments,
)


def entropy(weights: list[float]) -> float:
    return -math.fsum(w * math.log(w) for w in weights if w > 0)


def tokenized_distmatch(data_dir: Path, backend: Any) -> Any:
    dataset = load_data(data_dir, "distmatch")
    return dataset.map(
        lambda row: {**distmatch_features(row, backend), "entropy": entropy(row["weights"])},
        remove_columns=dataset.column_names,
        desc="Tokenizing distmatch rows",
    )


def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
    """Prompts stay whole (each is run once, its candidates share its KV cache); only the
    candidates with positive target weight are kept."""
    batch: dict[str, list[Any]] = {"prompt_ids": [], "candidate_ids": [], "weights": []}
    for feature in features:
        kept = [i for i, w in enumerate(feature["weights"]) if w > 0]
        batch["prompt_ids"].append(list(feature["prompt_ids"]))
        batch["candidate_ids"].append([list(feature["candidate_ids"][i]) for i in kept])
        batch["weights"].append([float(feature["weights"][i]) for i in kept])
    return {**batch, "entropy": [float(f["entropy"]) for f in features]}


def prompt_loss(
    model: Any, prompt_ids: list[int], candidates: list[list[int]], weights: list[float],
    pad_id: int,
) -> Any:  # fmt: skip
    """sum_y p*(y) NLL(y | prompt), the prompt run once and its cache shared by every
    candidate (K short rows instead of K copies of the prompt)."""
    import torch

    from randbench.harness.backends.hf import candidate_token_logprobs

    device = next(model.parameters()).device
    out = model(input_ids=torch.tensor([prompt_ids], device=device), use_cache=True)
    first = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)
    cache = out.past_key_values
    cache.batch_repeat_interleave(len(candidates))
    picked = candidate_token_logprobs(model, cache, first, len(prompt_ids), candidates, pad_id)
    nll = -picked.sum(dim=1)
    return (torch.tensor(weights, device=device) * nll).sum()


def make_trainer_class() -> type:
    from transformers import Trainer, TrainerCallback

    class DistMatchTrainer(Trainer):
        """Loss = mean over prompts of sum_y p*(y) NLL(y); logs ``kl``, its excess."""

        def __init__(self, *args: Any, target_kl: float, pad_id: int, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._excess: list[float] = []
            self.target_kl = target_kl
            self.pad_id = pad_id
            self.add_callback(_StopNearOptimum(self))

        def compute_loss(
            self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:  # fmt: skip
            losses = [
                prompt_loss(model, prompt, candidates, weights, self.pad_id)
                for prompt, candidates, weights in zip(
                    inputs["prompt_ids"], inputs["candidate_ids"], inputs["weights"], strict=True
                )
            ]
            loss = sum(losses) / len(losses)
            entropy = sum(inputs["entropy"]) / len(inputs["entropy"])
            self._excess.append(float(loss.detach()) - entropy)
            return (loss, None) if return_outputs else loss

        def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
            if self._excess and "loss" in logs:
                logs["kl"] = sum(self._excess) / len(self._excess)
                self._excess = []
            super().log(logs, start_time)

    class _StopNearOptimum(TrainerCallback):
        def __init__(self, trainer: Any) -> None:
            self.trainer = trainer

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> None:
            kl = (logs or {}).get("kl")
            if kl is not None and kl < self.trainer.target_kl:
                state.stopped_near_optimum = True
                control.should_training_stop = True

    return DistMatchTrainer


def train_distmatch(
    data_dir: Path,
    out: Path,
    *,
    base: str = "smollm2",
    lora: LoraSettings | None = None,
    settings: TrainSettings | None = None,
    merge: bool = False,
) -> Path:
    """Fine-tune ``base`` to match ``data_dir``'s distribution targets exactly."""
    settings = settings or TrainSettings(batch_size=4)

    def train(backend: Any, model: Any, work_dir: str) -> Trained:
        from transformers import TrainingArguments

        pad = backend.tokenizer.pad_token_id
        pad_id = int(pad if pad is not None else backend.end_id)
        trainer = make_trainer_class()(
            model=model,
            args=TrainingArguments(
                **trainer_arguments(settings, work_dir, backend), remove_unused_columns=False
            ),
            train_dataset=tokenized_distmatch(data_dir, backend),
            data_collator=collate,
            target_kl=settings.target_kl,
            pad_id=pad_id,
        )
        output = trainer.train()
        return trained(
            trainer,
            output,
            final_kl=last_logged(trainer.state.log_history, "kl"),
            stopped_near_optimum=bool(getattr(trainer.state, "stopped_near_optimum", False)),
        )

    return run_training(
        method="distmatch", base=base, data_dir=data_dir, out=out, lora=lora or LoraSettings(),
        settings=settings, merge=merge, train=train,
    )  # fmt: skip
