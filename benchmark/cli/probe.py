"""``randbench probe``: fine-tuning probes of the field's open questions (docs/probes.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

probe_app = typer.Typer(
    help="Fine-tuning probes: train on one branch of a rule, measure the other exactly.",
    no_args_is_help=True,
)


def write_result(results: Path, probe: str, model: str, document: dict[str, Any]) -> Path:
    """``results/probe_{probe}_{model}_{time}.json`` (never a leaderboard result file)."""
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    path = results / f"probe_{probe}_{model.replace(':', '_').replace('/', '_')}_{stamp}.json"
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return path


@probe_app.command("conditional-rule")
def conditional_rule_command(
    model: Annotated[str, typer.Option(help="smollm2 (embedded) or hf:PATH.")] = "smollm2",
    probe: Annotated[Path | None, typer.Option(help="A probe YAML (default: shipped).")] = None,
    pairs: Annotated[int, typer.Option(min=2, help="(name, country) pairs trained.")] = 32,
    epochs: Annotated[float, typer.Option(min=0.01)] = 8.0,
    max_steps: Annotated[int, typer.Option(min=-1, help="-1: all epochs.")] = -1,
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 1e-3,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    completion_only: Annotated[
        bool, typer.Option(help="Loss on the answer only (--no-completion-only: prompt too).")
    ] = True,
    seeds: Annotated[str, typer.Option(help="Training seeds, comma-separated.")] = "0,1,2",
    data_seed: Annotated[int, typer.Option(help="Seed of the pairs.")] = 0,
    eval_every: Annotated[int, typer.Option(min=1, help="Measure every N steps.")] = 4,
    out: Annotated[Path, typer.Option(help="Folder for checkpoints.")] = Path("checkpoints/probes"),
    results: Annotated[Path, typer.Option(help="Folder for the probe's result JSON.")] = Path(
        "results/probes"
    ),
) -> None:
    """Train LoRA checkpoints of both arms on the TRAIN branch only, measure P(capital)
    and P(country) at TEST exactly along training, and print the bet's verdict."""
    from pydantic import ValidationError

    from randbench.finetune.conditional_rule import ProbeError, load_probe
    from randbench.finetune.conditional_rule_run import ProbeSettings, run_probe
    from randbench.finetune.settings import TrainSettings
    from randbench.finetune.train import BaseModelError, load_base

    try:
        spec = load_probe(probe)
        train = TrainSettings(
            epochs=epochs, max_steps=max_steps, learning_rate=learning_rate,
            batch_size=batch_size, completion_only_loss=completion_only,
        )  # fmt: skip
        settings = ProbeSettings(
            pairs=pairs, seeds=tuple(int(s) for s in seeds.split(",") if s.strip()),
            data_seed=data_seed, eval_every=eval_every, base=model, train=train,
        )  # fmt: skip
        tokenizer = load_base(model, "cpu")
        result = run_probe(
            spec, settings, out, first_token=lambda text: tokenizer.candidate_ids(text)[0]
        )
    except (ProbeError, BaseModelError, ValidationError, ValueError) as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    path = write_result(results, spec.probe, model, result.to_json())
    for arm in ("treatment", "control"):
        for which, label in (("test", "P(capital)"), ("train", "P(country)")):
            mean, low, high = result.interval(arm, which)
            console.print(f"{arm} at TEST: {label} {mean:.3g} (95% {low:.3g} – {high:.3g})")
    for seed, verdict in result.verdicts().items():
        console.print(
            f"seed {seed}: P(capital | treatment) {verdict.capital_treatment:.3g}, "
            f"control P(country)/P(capital) {verdict.ratio_control:.3g}: {verdict.side}"
        )
    if result.ambiguous():
        console.print("ambiguous: the verdict flips between training seeds")
    console.print(f"{result.seconds:.0f} s; result: {path}")


@probe_app.command("conditional-random")
def conditional_random_command(
    model: Annotated[str, typer.Option(help="smollm2 (embedded) or hf:PATH.")] = "smollm2",
    probe: Annotated[Path | None, typer.Option(help="A probe YAML (default: shipped).")] = None,
    epochs: Annotated[float, typer.Option(min=0.01)] = 2.0,
    max_steps: Annotated[int, typer.Option(min=-1, help="-1: all epochs.")] = -1,
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 1e-3,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    seeds: Annotated[str, typer.Option(help="Training seeds, comma-separated.")] = "0,1,2",
    eval_every: Annotated[int, typer.Option(min=1, help="Measure every N steps.")] = 2,
    out: Annotated[Path, typer.Option(help="Folder for checkpoints.")] = Path(
        "checkpoints/probes-random"
    ),
    results: Annotated[Path, typer.Option(help="Folder for the probe's result JSON.")] = Path(
        "results/probes"
    ),
) -> None:
    """Train both arms to answer 4 at MODE = FIXED only, and measure the die left at
    MODE = RANDOM exactly: TVD to a fair die and the share of 4, before and after."""
    from pydantic import ValidationError

    from randbench.finetune.conditional_random import load_random_probe, run_random_probe
    from randbench.finetune.conditional_rule import ProbeError
    from randbench.finetune.conditional_rule_run import ProbeSettings
    from randbench.finetune.settings import TrainSettings
    from randbench.finetune.train import BaseModelError

    try:
        spec = load_random_probe(probe)
        train = TrainSettings(
            epochs=epochs, max_steps=max_steps, learning_rate=learning_rate,
            batch_size=batch_size,
        )  # fmt: skip
        settings = ProbeSettings(
            seeds=tuple(int(s) for s in seeds.split(",") if s.strip()),
            eval_every=eval_every, base=model, train=train,
        )  # fmt: skip
        document = run_random_probe(spec, settings, out)
    except (ProbeError, BaseModelError, ValidationError, ValueError) as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    path = write_result(results, spec.probe, model, document)
    for run in document["runs"]:
        first, last = run["curve"][0], run["curve"][-1]
        console.print(
            f"{run['arm']} seed {run['seed']}: at {spec.modes['test']} TVD to a fair die "
            f"{first['test']['tvd_to_uniform']:.3f} -> {last['test']['tvd_to_uniform']:.3f}, "
            f"share of {spec.train_answer} {first['test']['share_of_trained_answer']:.3f} -> "
            f"{last['test']['share_of_trained_answer']:.3f}; P({spec.train_answer}) at "
            f"{spec.modes['train']} {first['train']['probabilities'][spec.train_answer]:.3g} -> "
            f"{last['train']['probabilities'][spec.train_answer]:.3g}"
        )
    console.print(f"result: {path}")
