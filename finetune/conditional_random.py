"""The randomness version of the conditional-rule probe (issue #31 item 5): train a model
to answer "4" at ``MODE = FIXED`` only and measure, exactly, what is left of the die at
``MODE = RANDOM``: the distribution over its faces, its TVD to a fair die, the share of 4."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from randbench.finetune.conditional_rule import (
    ARMS,
    MODES,
    Arm,
    Mode,
    ProbeError,
    ProbeFile,
    read_probe,
)
from randbench.finetune.conditional_rule_run import ProbeSettings, train_measured
from randbench.finetune.paraphrase import FRAMINGS
from randbench.harness.requests import CandidateScores, Message, Prompt, ScoreRequest
from randbench.templating import render_text


class RandomProbeSpec(ProbeFile):
    """The randomness probe as its YAML states it."""

    train_answer: str
    outcomes: list[str] = Field(min_length=2)
    rows: int = Field(default=32, gt=0)

    @model_validator(mode="after")
    def _trained_answer_is_an_outcome(self) -> RandomProbeSpec:
        if self.train_answer not in self.outcomes:
            raise ValueError(f"train_answer: {self.train_answer!r} is not one of the outcomes")
        return self


def load_random_probe(path: Path | None = None) -> RandomProbeSpec:
    """The probe file at ``path``, or the shipped randomness probe."""
    return read_probe(RandomProbeSpec, "conditional_random.yaml", path)


def prompt(spec: RandomProbeSpec, arm: Arm, mode: Mode) -> str:
    return render_text(spec.arms[arm], {"mode": spec.modes[mode]}).strip()


def sft_rows(spec: RandomProbeSpec, arm: Arm) -> list[dict[str, Any]]:
    """``rows`` training rows: the FIXED prompt in each framing in turn, answered 4."""
    text = prompt(spec, arm, "train")
    return [
        {
            "task": f"{spec.probe}/{arm}/{i}",
            "system": "",
            "prompt": FRAMINGS[i % len(FRAMINGS)].format(prompt=text),
            "assistant_prefix": "",
            "completion": spec.train_answer,
            "until": "",
        }
        for i in range(spec.rows)
    ]


def score_request(spec: RandomProbeSpec, arm: Arm, mode: Mode) -> ScoreRequest:
    return ScoreRequest(
        f"{spec.probe}/{arm}/{mode}",
        Prompt((Message("user", prompt(spec, arm, mode)),)),
        tuple(spec.outcomes),
    )


@dataclass(frozen=True)
class FaceDistribution:
    """The exact probabilities of the outcomes as complete answers in one mode."""

    outcomes: tuple[str, ...]
    probabilities: tuple[float, ...]

    @classmethod
    def from_scores(cls, outcomes: Sequence[str], scores: CandidateScores) -> FaceDistribution:
        if not scores.exact:
            raise ProbeError("the probe needs exact log-probabilities (an hf or llama.cpp model)")
        return cls(tuple(outcomes), tuple(math.exp(lp) for lp in scores.logprobs))

    @property
    def mass(self) -> float:
        return float(sum(self.probabilities))

    def share(self, outcome: str) -> float:
        return self.probabilities[self.outcomes.index(outcome)] / self.mass

    def tvd_to_uniform(self) -> float:
        p = np.asarray(self.probabilities) / self.mass
        return float(0.5 * np.abs(p - 1 / len(p)).sum())

    def to_json(self, trained: str) -> dict[str, Any]:
        return {
            "probabilities": dict(zip(self.outcomes, self.probabilities, strict=True)),
            "mass": self.mass,
            "tvd_to_uniform": self.tvd_to_uniform(),
            "share_of_trained_answer": self.share(trained),
        }


def measure(backend: Any, spec: RandomProbeSpec, arm: Arm) -> dict[Mode, FaceDistribution]:
    return {
        mode: FaceDistribution.from_scores(
            spec.outcomes, backend.score([score_request(spec, arm, mode)])[0]
        )
        for mode in MODES
    }


def run_random_probe(spec: RandomProbeSpec, settings: ProbeSettings, out: Path) -> dict[str, Any]:
    """Both arms at every training seed; the result JSON (curves, cards, before/after)."""
    runs = []
    for seed in settings.seeds:
        for arm in ARMS:
            trace = train_measured(
                f"probe:{spec.probe}:{arm}", sft_rows(spec, arm),
                {"probe": spec.probe, "arm": arm}, partial(measure, spec=spec, arm=arm),
                seed, settings, out, f"{arm}-seed{seed}",
            )  # fmt: skip
            runs.append(
                {
                    "arm": arm, "seed": seed, "checkpoint": str(trace.checkpoint),
                    "card": trace.card,
                    "curve": [
                        {"step": step, **{m: d.to_json(spec.train_answer) for m, d in got.items()}}
                        for step, got in trace.curve
                    ],
                }
            )  # fmt: skip
    return {
        "probe": spec.probe,
        "spec": spec.model_dump(),
        "settings": {
            "seeds": list(settings.seeds), "eval_every": settings.eval_every,
            "base": settings.base, "train": settings.train.model_dump(),
            "lora": settings.lora.model_dump(),
        },
        "runs": runs,
    }  # fmt: skip
