"""``randbench finetune``: training data, SFT, distribution-matching and GRPO checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from randbench.loader import TaskLoadError, load_tasks
from randbench.selection import UnknownTaskError, select_tasks, split_patterns

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

finetune_app = typer.Typer(
    help="Build training data from train-split tasks and fine-tune LoRA checkpoints.",
    no_args_is_help=True,
)

DataDir = Annotated[Path, typer.Option("--data", help="A folder written by `finetune data`.")]
Out = Annotated[Path, typer.Option("--out", help="Checkpoint folder (--model hf:OUT).")]
Base = Annotated[str, typer.Option(help="smollm2 or gemma3 (embedded) or hf:PATH.")]
Epochs = Annotated[float, typer.Option(min=0.01)]
MaxSteps = Annotated[int, typer.Option(min=-1, help="Stop after N steps (-1: all epochs).")]
LearningRate = Annotated[float, typer.Option(min=0.0)]
LoraR = Annotated[int, typer.Option(min=1)]
Seed = Annotated[int, typer.Option()]
Device = Annotated[str, typer.Option(help="cpu | cuda | auto")]
Merge = Annotated[bool, typer.Option(help="Also save base + adapter merged, in OUT/merged.")]


@finetune_app.command("data")
def data_command(
    tasks: Annotated[str, typer.Option(help="Train-split tasks: names, groups, globs.")],
    out: Annotated[Path, typer.Option(help="Folder for the datasets.")],
    kinds: Annotated[str, typer.Option(help="sft, distmatch, grpo (comma-separated).")] = (
        "sft,distmatch,grpo"
    ),
    completions: Annotated[int, typer.Option(min=1, help="SFT answers per wording.")] = 64,
    paraphrases: Annotated[int, typer.Option(min=1, help="Wordings per prompt.")] = 4,
    max_candidates: Annotated[int, typer.Option(min=2)] = 200,
    seed: Seed = 0,
    jsonl: Annotated[bool, typer.Option(help="Also export each dataset as JSONL.")] = False,
    include_path: Annotated[list[Path] | None, typer.Option(help="Extra task folders.")] = None,
) -> None:
    """Write SFT rows (answers drawn from each target) and distribution targets."""
    from randbench.finetune.data import DataError, DataSettings, build_data, save_data

    settings = DataSettings(completions, paraphrases, max_candidates, seed)
    try:
        chosen = select_tasks(load_tasks(include_path or []), split_patterns(tasks))
        built = build_data(chosen, settings, split_patterns(kinds))
    except (TaskLoadError, UnknownTaskError, DataError, ValueError) as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    written = save_data(built, out, jsonl=jsonl)
    for kind, info in built.manifest["kinds"].items():
        console.print(f"{kind}: {info['rows']} rows from {len(info['tasks'])} tasks")
        for name, why in info["left_out"].items():
            console.print(f"  left out {name}: {why}")
    console.print("wrote " + ", ".join(str(p) for p in written))


def _train(
    method: str, data: Path, out: Path, base: str, lora_r: int, settings_kw: dict[str, object],
    merge: bool, **extra: object,
) -> None:  # fmt: skip
    from pydantic import ValidationError

    from randbench.finetune.data import DataError
    from randbench.finetune.distmatch import train_distmatch
    from randbench.finetune.grpo import train_grpo
    from randbench.finetune.settings import LoraSettings, TrainSettings
    from randbench.finetune.sft import train_sft
    from randbench.finetune.tokens import PrefixError
    from randbench.finetune.train import BaseModelError

    trainer: Any = {"sft": train_sft, "distmatch": train_distmatch, "grpo": train_grpo}[method]
    try:
        settings = TrainSettings.model_validate(settings_kw)
        lora = LoraSettings(r=lora_r, alpha=2 * lora_r)
        path = trainer(data, out, base=base, lora=lora, settings=settings, merge=merge, **extra)
    except (
        DataError, PrefixError, BaseModelError, ValidationError, FileNotFoundError, ValueError,
    ) as error:  # fmt: skip
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    from randbench.harness.adapters import read_card

    card = read_card(path)
    summary = f"final loss {card['final_loss']:.4f}"
    if card.get("final_kl") is not None:
        summary += f", KL to target {card['final_kl']:.4f} nats"
    console.print(f"{method}: {card['steps']} steps in {card['train_seconds']} s, {summary}")
    console.print(f"checkpoint: {path}  (evaluate: randbench run --model hf:{path})")


@finetune_app.command("sft")
def sft_command(
    data: DataDir, out: Out, base: Base = "smollm2", epochs: Epochs = 1.0,
    max_steps: MaxSteps = -1,
    batch_size: Annotated[int, typer.Option(min=1, help="Answers per step.")] = 16,
    learning_rate: LearningRate = 2e-4, lora_r: LoraR = 16, seed: Seed = 0,
    device: Device = "cpu", merge: Merge = False,
) -> None:  # fmt: skip
    """Multi-sample SFT with trl's SFTTrainer and a LoRA adapter (loss on answers only)."""
    _train(
        "sft", data, out, base, lora_r,
        {"epochs": epochs, "max_steps": max_steps, "batch_size": batch_size,
         "learning_rate": learning_rate, "seed": seed, "device": device},
        merge,
    )  # fmt: skip


@finetune_app.command("distmatch")
def distmatch_command(
    data: DataDir, out: Out, base: Base = "smollm2", epochs: Epochs = 1.0,
    max_steps: MaxSteps = -1,
    batch_size: Annotated[int, typer.Option(min=1, help="Prompts per step.")] = 4,
    learning_rate: LearningRate = 2e-4, lora_r: LoraR = 16, seed: Seed = 0,
    device: Device = "cpu", merge: Merge = False,
    target_kl: Annotated[
        float, typer.Option(min=0.0, help="Stop once within this many nats of H(p*).")
    ] = 0.01,
) -> None:  # fmt: skip
    """Exact distribution matching: sum_y p*(y) NLL(y | prompt) over every candidate."""
    _train(
        "distmatch", data, out, base, lora_r,
        {"epochs": epochs, "max_steps": max_steps, "batch_size": batch_size,
         "learning_rate": learning_rate, "seed": seed, "device": device,
         "target_kl": target_kl},
        merge,
    )  # fmt: skip


@finetune_app.command("grpo")
def grpo_command(
    data: DataDir, out: Out, base: Base = "smollm2",
    max_steps: Annotated[int, typer.Option(min=1, help="Optimiser steps.")] = 50,
    group: Annotated[int, typer.Option(min=2, help="Completions sampled per prompt (G).")] = 16,
    prompts_per_step: Annotated[int, typer.Option(min=1)] = 1,
    max_completion_tokens: Annotated[int, typer.Option(min=1)] = 24,
    curriculum: Annotated[
        str, typer.Option(help="on: adaptive task weights and retirement; off: uniform.")
    ] = "on",
    learning_rate: LearningRate = 1e-4, lora_r: LoraR = 16, seed: Seed = 0,
    device: Device = "cpu", merge: Merge = False,
) -> None:  # fmt: skip
    """GRPO with trl's GRPOTrainer: groups of G answers per prompt, each rewarded against
    its group and the target (log p*(a) - log share of a), prompts drawn by a curriculum."""
    from randbench.finetune.grpo import GrpoSettings

    if curriculum not in ("on", "off"):
        errors.print(f"error: --curriculum must be on or off, not {curriculum!r}")
        raise typer.Exit(2)
    _train(
        "grpo", data, out, base, lora_r,
        {"max_steps": max_steps, "batch_size": group * prompts_per_step,
         "learning_rate": learning_rate, "seed": seed, "device": device, "logging_steps": 1},
        merge,
        grpo=GrpoSettings(group=group, prompts_per_step=prompts_per_step,
                          max_completion_tokens=max_completion_tokens,
                          curriculum=curriculum == "on"),
    )  # fmt: skip


@finetune_app.command("check")
def check_command(
    model: Annotated[
        list[str], typer.Option(help="hf models to compare, e.g. hf:smollm2 and hf:CHECKPOINT.")
    ],
    output: Annotated[Path | None, typer.Option(help="Also write the figures as JSON.")] = None,
) -> None:
    """Likelihood of a held-out English text under each model (did fine-tuning collapse it?)."""
    import json

    from randbench.finetune.check import heldout_text, text_likelihood
    from randbench.finetune.train import BaseModelError, load_base

    text, figures = heldout_text(), {}
    for name in model:
        try:
            backend = load_base(name, "cpu")
        except (BaseModelError, ValueError, FileNotFoundError) as error:
            errors.print(f"error: {error}")
            raise typer.Exit(2) from None
        result = text_likelihood(backend, text)
        figures[name] = {"tokens": result.tokens, "nll_per_token": result.nll_per_token}
        console.print(
            f"{name}: {result.nll_per_token:.4f} nats/token (perplexity "
            f"{result.perplexity:.2f}) over {result.tokens} tokens of held-out text"
        )
    if output is not None:
        output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


@finetune_app.command("split")
def split_command(
    base: Annotated[
        list[Path] | None, typer.Option(help="Result files of the base model (for --checkpoint).")
    ] = None,
    checkpoint: Annotated[
        list[Path] | None, typer.Option(help="Result files of a checkpoint of that base model.")
    ] = None,
    effect: Annotated[float, typer.Option(help="Change of mean TVD to detect.")] = 0.05,
    power: Annotated[float, typer.Option(help="Wanted power (two-sided test at 5%).")] = 0.8,
    include_path: Annotated[list[Path] | None, typer.Option(help="Extra task folders.")] = None,
) -> None:
    """The held-out split by novelty and category; with --base and --checkpoint, how many
    held-out tasks a novelty level needs to detect a change of mean TVD."""
    import numpy as np

    from randbench.finetune.heldout import (
        NOVELTY_LEVELS,
        bootstrap_power,
        merged_results,
        split_counts,
        tasks_needed,
        tvd_differences,
    )

    try:
        tasks = load_tasks(include_path or [])
    except TaskLoadError as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    counts = split_counts(tasks)
    trained = sum(task.split == "train" for task in tasks)
    console.print(f"{len(tasks)} tasks: {trained} train, {len(tasks) - trained} held out")
    for level in NOVELTY_LEVELS:
        by_category = ", ".join(f"{c} {n}" for c, n in sorted(counts[level].items()))
        console.print(f"  {level}: {sum(counts[level].values())} ({by_category})")
    if not base or not checkpoint:
        return

    differences = tvd_differences(merged_results(base), merged_results(checkpoint))
    if len(differences) < 2:
        errors.print("error: the base and checkpoint results share fewer than 2 scored tasks")
        raise typer.Exit(2)
    needed = tasks_needed(differences, effect, power=power)
    spread = float(np.std(differences, ddof=1))
    console.print(
        f"{len(differences)} paired tasks: mean TVD change {np.mean(differences):+.3f}, "
        f"sd {spread:.3f}; detecting {effect} at 5% with power {power} needs {needed} "
        f"held-out tasks per level (simulated bootstrap power at that size: "
        f"{bootstrap_power(differences, needed, effect):.2f})"
    )
