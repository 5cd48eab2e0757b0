"""Running the conditional-rule probe: per training seed and arm, a LoRA SFT run on the
arm's TRAIN rows, measured exactly at TEST before training, every ``eval_every`` steps
and at the end; then the bet's criterion per seed and over seeds (docs/probes.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from randbench.finetune.conditional_rule import (
    ARMS,
    CHAT,
    MODES,
    Arm,
    ArmProbabilities,
    Frame,
    Mode,
    Pair,
    ProbeSpec,
    Verdict,
    criterion,
    draw_pairs,
    probabilities_json,
    score_requests,
    sft_rows,
)
from randbench.finetune.data import MANIFEST
from randbench.finetune.settings import LoraSettings, TrainSettings
from randbench.finetune.sft import sft_trainer
from randbench.finetune.train import Trained, run_training, trained

T = TypeVar("T")


@dataclass(frozen=True)
class ProbeSettings:
    pairs: int = 16
    seeds: tuple[int, ...] = (0, 1, 2)
    """Training seeds; the pairs are drawn once, with ``data_seed``."""
    data_seed: int = 0
    eval_every: int = 8
    base: str = "smollm2"
    train: TrainSettings = field(
        default_factory=lambda: TrainSettings(epochs=16, batch_size=8, learning_rate=3e-3)
    )
    lora: LoraSettings = field(default_factory=LoraSettings)
    frame: Frame = field(default_factory=Frame)
    """Chat turns, or a question and an answer line for a base model (:func:`frame_for`)."""


@dataclass
class ArmRun:
    arm: Arm
    seed: int
    checkpoint: Path
    card: dict[str, Any]
    curve: list[tuple[int, Measured]]
    """(step, probabilities): step 0 is the base model, the last the checkpoint."""

    @property
    def final(self) -> ArmProbabilities:
        """At TEST, after training: what the bet is judged on."""
        return self.curve[-1][1]["test"]


def write_rows(rows: list[dict[str, Any]], settings: dict[str, Any], out: Path) -> Path:
    """SFT rows and a manifest, as `finetune data` writes them."""
    from datasets import Dataset

    out.mkdir(parents=True, exist_ok=True)
    Dataset.from_list(rows).save_to_disk(str(out / "sft"))
    manifest = {
        "settings": settings,
        "kinds": {"sft": {"rows": len(rows), "tasks": {}, "left_out": {}}},
        "split_hash": None,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out


def evaluating(backend: Any, measure: Callable[[Any], T]) -> T:
    """``measure(backend)`` with the model in eval mode, put back as it was."""
    model = backend.model
    was_training = bool(getattr(model, "training", False))
    model.eval()
    try:
        return measure(backend)
    finally:
        if was_training:
            model.train()


@dataclass
class Trace(Generic[T]):
    checkpoint: Path
    card: dict[str, Any]
    curve: list[tuple[int, T]]
    """(step, what was measured): step 0 is the base model, the last the checkpoint."""


def train_measured(
    method: str, rows: list[dict[str, Any]], data_settings: dict[str, Any],
    measure: Callable[[Any], T], seed: int, settings: ProbeSettings, out: Path, name: str,
) -> Trace[T]:  # fmt: skip
    """LoRA SFT on ``rows`` (seed ``seed``), measured before training, every
    ``settings.eval_every`` steps and at the end; the checkpoint goes to ``out/name``."""
    from transformers import TrainerCallback

    data_dir = write_rows(rows, data_settings, out / f"data-{name}")
    train_settings = settings.train.model_copy(update={"seed": seed})
    curve: list[tuple[int, T]] = []

    class Measure(TrainerCallback):
        def __init__(self, backend: Any) -> None:
            self.backend = backend

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step % settings.eval_every == 0:
                curve.append((state.global_step, evaluating(self.backend, measure)))

    def train(backend: Any, model: Any, work_dir: str) -> Trained:
        curve.append((0, evaluating(backend, measure)))
        trainer = sft_trainer(backend, model, data_dir, train_settings, work_dir)
        trainer.add_callback(Measure(backend))
        output = trainer.train()
        if curve[-1][0] != trainer.state.global_step:
            curve.append((trainer.state.global_step, evaluating(backend, measure)))
        return trained(trainer, output, probe=method)

    checkpoint = out / name
    run_training(
        method=method, base=settings.base, data_dir=data_dir, out=checkpoint,
        lora=settings.lora, settings=train_settings, merge=False, train=train,
    )  # fmt: skip
    card = json.loads((checkpoint / "randbench-card.json").read_text())
    return Trace(checkpoint, card, curve)


Measured = dict[Mode, ArmProbabilities]
"""The exact answer probabilities of every name, in TRAIN and in TEST mode."""


def measure(
    backend: Any, spec: ProbeSpec, arm: Arm, pairs: list[Pair], frame: Frame = CHAT
) -> Measured:
    return {
        mode: ArmProbabilities.from_scores(
            pairs, backend.score(score_requests(spec, arm, pairs, mode, frame))
        )
        for mode in MODES
    }


def train_arm(
    spec: ProbeSpec, arm: Arm, pairs: list[Pair], seed: int, settings: ProbeSettings, out: Path
) -> ArmRun:
    trace = train_measured(
        f"probe:{spec.probe}:{arm}", sft_rows(spec, arm, pairs, settings.frame),
        {"probe": spec.probe, "arm": arm, "pairs": [vars(p) for p in pairs]},
        lambda backend: measure(backend, spec, arm, pairs, settings.frame), seed, settings, out,
        f"{arm}-seed{seed}",
    )  # fmt: skip
    return ArmRun(arm, seed, trace.checkpoint, trace.card, trace.curve)


@dataclass
class ProbeResult:
    spec: ProbeSpec
    settings: ProbeSettings
    pairs: list[Pair]
    runs: list[ArmRun]
    seconds: float

    def verdicts(self) -> dict[int, Verdict]:
        by_seed: dict[int, dict[str, ArmRun]] = {}
        for run in self.runs:
            by_seed.setdefault(run.seed, {})[run.arm] = run
        return {
            seed: criterion(arms["treatment"].final, arms["control"].final)
            for seed, arms in sorted(by_seed.items())
        }

    def ambiguous(self) -> bool:
        """The criterion flips between training seeds."""
        return len({v.reinforced for v in self.verdicts().values()}) > 1

    def interval(self, arm: Arm, which: str) -> tuple[float, float, float]:
        """Mean probability over names and seeds at the end of training, with a 95%
        bootstrap interval that resamples names and seeds."""
        table = np.array(
            [
                r.final.test_answer if which == "test" else r.final.train_answer
                for r in self.runs
                if r.arm == arm
            ]
        )
        return two_way_bootstrap(table, seed=self.settings.data_seed)

    def to_json(self) -> dict[str, Any]:
        return {
            "probe": self.spec.probe,
            "spec": self.spec.model_dump(),
            "settings": {
                "pairs": self.settings.pairs,
                "seeds": list(self.settings.seeds),
                "data_seed": self.settings.data_seed,
                "eval_every": self.settings.eval_every,
                "base": self.settings.base,
                "train": self.settings.train.model_dump(),
                "lora": self.settings.lora.model_dump(),
                "frame": self.settings.frame.kind,
            },
            "pairs": [vars(p) for p in self.pairs],
            "seconds": round(self.seconds, 1),
            "runs": [
                {
                    "arm": r.arm,
                    "seed": r.seed,
                    "checkpoint": str(r.checkpoint),
                    "card": r.card,
                    "curve": [
                        {"step": step, **{mode: probabilities_json(p)[mode] for mode in p}}
                        for step, p in r.curve
                    ],
                }
                for r in self.runs
            ],
            "verdicts": {
                str(seed): {
                    "capital_treatment": v.capital_treatment,
                    "ratio_control": v.ratio_control,
                    "reinforced": v.reinforced,
                    "side": v.side,
                }
                for seed, v in self.verdicts().items()
            },
            "ambiguous": self.ambiguous(),
        }


BOOTSTRAP_DRAWS = 2000


def two_way_bootstrap(table: np.ndarray, *, seed: int) -> tuple[float, float, float]:
    """Mean of a (seeds x names) table and its 95% percentile interval, resampling seeds
    and names independently (a seed's run and a name's pair are both random effects, so
    a bootstrap over the flattened cells would overstate the evidence; scipy's bootstrap
    resamples one axis only)."""
    rng = np.random.default_rng(seed)
    rows, cols = table.shape
    seeds = rng.integers(0, rows, size=(BOOTSTRAP_DRAWS, rows))
    names = rng.integers(0, cols, size=(BOOTSTRAP_DRAWS, cols))
    means = np.array([table[np.ix_(s, n)].mean() for s, n in zip(seeds, names, strict=True)])
    low, high = np.quantile(means, [0.025, 0.975])
    return float(table.mean()), float(low), float(high)


def run_probe(
    spec: ProbeSpec, settings: ProbeSettings, out: Path, *, first_token: Any = None
) -> ProbeResult:
    started = time.perf_counter()
    pairs = draw_pairs(spec, settings.pairs, seed=settings.data_seed, first_token=first_token)
    runs = [
        train_arm(spec, arm, pairs, seed, settings, out) for seed in settings.seeds for arm in ARMS
    ]
    return ProbeResult(spec, settings, pairs, runs, time.perf_counter() - started)
