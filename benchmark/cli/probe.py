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

MODEL_HELP = "smollm2 or gemma3 (embedded, in transformers form) or hf:PATH."

probe_app = typer.Typer(
    help="Fine-tuning probes: train on one branch of a rule, measure the other exactly.",
    no_args_is_help=True,
)


OUT_HELP = "Folder for the checkpoints (default: checkpoints/probes/PROBE_MODEL_TIME)."


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")


def safe_model(model: str) -> str:
    return model.replace(":", "_").replace("/", "_")


def checkpoint_folder(probe: str, model: str) -> Path:
    """Each probe run's checkpoints in a folder of their own, so no run overwrites another's."""
    return Path("checkpoints/probes") / f"{probe}_{safe_model(model)}_{stamp()}"


def write_result(results: Path, probe: str, model: str, document: dict[str, Any]) -> Path:
    """``results/probe_{probe}_{model}_{time}.json`` (never a leaderboard result file)."""
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"probe_{probe}_{safe_model(model)}_{stamp()}.json"
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return path


@probe_app.command("conditional-rule")
def conditional_rule_command(
    model: Annotated[
        str, typer.Option(help="smollm2 or gemma3 (embedded) or hf:PATH.")
    ] = "smollm2",
    probe: Annotated[Path | None, typer.Option(help="A probe YAML (default: shipped).")] = None,
    pairs: Annotated[int, typer.Option(min=2, help="(name, country) pairs trained.")] = 16,
    epochs: Annotated[float, typer.Option(min=0.01)] = 16.0,
    max_steps: Annotated[int, typer.Option(min=-1, help="-1: all epochs.")] = -1,
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 3e-3,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    completion_only: Annotated[
        bool, typer.Option(help="Loss on the answer only (--no-completion-only: prompt too).")
    ] = True,
    seeds: Annotated[str, typer.Option(help="Training seeds, comma-separated.")] = "0,1,2",
    data_seed: Annotated[int, typer.Option(help="Seed of the pairs.")] = 0,
    eval_every: Annotated[int, typer.Option(min=1, help="Measure every N steps.")] = 8,
    out: Annotated[Path | None, typer.Option(help=OUT_HELP)] = None,
    results: Annotated[Path, typer.Option(help="Folder for the probe's result JSON.")] = Path(
        "results/probes"
    ),
) -> None:
    """Train LoRA checkpoints of both arms on the TRAIN branch only, measure P(capital)
    and P(country) at TEST exactly along training, and print the bet's verdict."""
    from pydantic import ValidationError

    from randbench.finetune.conditional_rule import (
        ProbeError,
        first_token,
        frame_for,
        load_probe,
    )
    from randbench.finetune.conditional_rule_run import ProbeSettings, run_probe
    from randbench.finetune.settings import TrainSettings
    from randbench.finetune.train import BaseModelError, load_base

    try:
        spec = load_probe(probe)
        train = TrainSettings(
            epochs=epochs, max_steps=max_steps, learning_rate=learning_rate,
            batch_size=batch_size, completion_only_loss=completion_only,
        )  # fmt: skip
        base = load_base(model, "cpu")
        frame = frame_for(base)
        settings = ProbeSettings(
            pairs=pairs, seeds=tuple(int(s) for s in seeds.split(",") if s.strip()),
            data_seed=data_seed, eval_every=eval_every, base=model, train=train, frame=frame,
        )  # fmt: skip
        result = run_probe(
            spec, settings, out or checkpoint_folder(spec.probe, model),
            first_token=first_token(base, frame),
        )  # fmt: skip
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
    model: Annotated[
        str, typer.Option(help="smollm2 or gemma3 (embedded) or hf:PATH.")
    ] = "smollm2",
    probe: Annotated[
        str | None,
        typer.Option(
            help="A probe YAML, or a shipped probe by name: conditional_random (the default) "
            "or conditional_random_reverse."
        ),
    ] = None,
    epochs: Annotated[float, typer.Option(min=0.01)] = 2.0,
    max_steps: Annotated[int, typer.Option(min=-1, help="-1: all epochs.")] = -1,
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 1e-3,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    seeds: Annotated[str, typer.Option(help="Training seeds, comma-separated.")] = "0,1,2",
    eval_every: Annotated[int, typer.Option(min=1, help="Measure every N steps.")] = 2,
    out: Annotated[Path | None, typer.Option(help=OUT_HELP)] = None,
    results: Annotated[Path, typer.Option(help="Folder for the probe's result JSON.")] = Path(
        "results/probes"
    ),
) -> None:
    """Train both arms on one branch only (the default: answer 4 at MODE = FIXED), and
    measure the other exactly (the die left at MODE = RANDOM: TVD to a fair die and the
    share of 4), before, along and after training."""
    from pydantic import ValidationError

    from randbench.finetune.conditional_random import (
        describe,
        load_random_probe,
        run_random_probe,
    )
    from randbench.finetune.conditional_rule import ProbeError, frame_for
    from randbench.finetune.conditional_rule_run import ProbeSettings
    from randbench.finetune.settings import TrainSettings
    from randbench.finetune.train import BaseModelError, load_base

    try:
        spec = load_random_probe(probe)
        train = TrainSettings(
            epochs=epochs, max_steps=max_steps, learning_rate=learning_rate,
            batch_size=batch_size,
        )  # fmt: skip
        frame = frame_for(load_base(model, "cpu"))
        settings = ProbeSettings(
            seeds=tuple(int(s) for s in seeds.split(",") if s.strip()),
            eval_every=eval_every, base=model, train=train, frame=frame,
        )  # fmt: skip
        document = run_random_probe(spec, settings, out or checkpoint_folder(spec.probe, model))
    except (ProbeError, BaseModelError, ValidationError, ValueError) as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    path = write_result(results, spec.probe, model, document)
    for run in document["runs"]:
        first, last = run["curve"][0], run["curve"][-1]
        changes = "; ".join(
            describe(spec, mode, first[mode], last[mode]) for mode in ("test", "train")
        )
        console.print(f"{run['arm']} seed {run['seed']}: {changes}")
    console.print(f"result: {path}")
