"""The randomness version of the conditional-rule probe (issue #31 item 5): train a model
to answer "4" at ``MODE = FIXED`` only and measure, exactly, what is left of the die at
``MODE = RANDOM``: the distribution over its faces, its TVD to a fair die, the share of 4.

The same file states the reverse (``conditional_random_reverse.yaml``): trained to roll a
fair die at RANDOM only, does the model still answer 4 at FIXED? A probe names the
trained branch's answer (``train_answer``) or leaves it out for a fair draw over the
outcomes, and likewise the answer the untrained branch asks for (``test_answer``)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from randbench.finetune.conditional_rule import (
    ARMS,
    CHAT,
    MODES,
    Arm,
    Frame,
    Mode,
    ProbeError,
    ProbeFile,
    read_probe,
)
from randbench.finetune.conditional_rule_run import ProbeSettings, train_measured
from randbench.finetune.paraphrase import FRAMINGS
from randbench.harness.requests import CandidateScores, ScoreRequest
from randbench.templating import render_text


class RandomProbeSpec(ProbeFile):
    """The randomness probe as its YAML states it."""

    train_answer: str | None = None
    """The trained branch's one answer; left out, the branch is a fair draw over the
    outcomes and the rows cycle through them, each as often."""
    test_answer: str | None = None
    """The one answer the untrained branch asks for; left out, a fair draw."""
    outcomes: list[str] = Field(min_length=2)
    rows: int = Field(default=32, gt=0)

    @model_validator(mode="after")
    def _answers_are_outcomes(self) -> RandomProbeSpec:
        for field_name in ("train_answer", "test_answer"):
            answer = getattr(self, field_name)
            if answer is not None and answer not in self.outcomes:
                raise ValueError(f"{field_name}: {answer!r} is not one of the outcomes")
        if self.train_answer is None and self.rows % len(self.outcomes):
            raise ValueError(
                f"rows: {self.rows} rows cannot draw {len(self.outcomes)} outcomes equally "
                "often; make it a multiple"
            )
        return self

    def named_answers(self) -> list[tuple[str, str]]:
        """(``trained`` or ``test``, answer) for each branch that names one answer: the
        shares the result reports (``share_of_trained_answer``, ``share_of_test_answer``)."""
        named = (("trained", self.train_answer), ("test", self.test_answer))
        return [(which, answer) for which, answer in named if answer is not None]

    def trained_answer(self, row: int) -> str:
        if self.train_answer is not None:
            return self.train_answer
        return self.outcomes[row % len(self.outcomes)]


SHIPPED = ("conditional_random", "conditional_random_reverse")
"""The shipped randomness probes, by name (``--probe conditional_random_reverse``)."""


def load_random_probe(path: Path | str | None = None) -> RandomProbeSpec:
    """The probe file at ``path``, a shipped probe by name, or the shipped randomness probe."""
    if path is None or str(path) in SHIPPED:
        return read_probe(RandomProbeSpec, f"{path or SHIPPED[0]}.yaml", None)
    return read_probe(RandomProbeSpec, "", Path(path))


def prompt(spec: RandomProbeSpec, arm: Arm, mode: Mode) -> str:
    return render_text(spec.arms[arm], {"mode": spec.modes[mode]}).strip()


def sft_rows(spec: RandomProbeSpec, arm: Arm, frame: Frame = CHAT) -> list[dict[str, Any]]:
    """``rows`` training rows: the trained branch's prompt in each framing in turn, with
    its answer (for a fair draw, each outcome in turn, every framing with each)."""
    text = prompt(spec, arm, "train")
    cycle = 1 if spec.train_answer is not None else len(spec.outcomes)
    return [
        frame.row(
            f"{spec.probe}/{arm}/{i}",
            FRAMINGS[(i // cycle) % len(FRAMINGS)].format(prompt=text),
            spec.trained_answer(i),
        )
        for i in range(spec.rows)
    ]


def score_request(spec: RandomProbeSpec, arm: Arm, mode: Mode, frame: Frame = CHAT) -> ScoreRequest:
    return frame.request(f"{spec.probe}/{arm}/{mode}", prompt(spec, arm, mode), spec.outcomes)


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

    def to_json(self, spec: RandomProbeSpec) -> dict[str, Any]:
        return {
            "probabilities": dict(zip(self.outcomes, self.probabilities, strict=True)),
            "mass": self.mass,
            "tvd_to_uniform": self.tvd_to_uniform(),
            **{f"share_of_{which}_answer": self.share(a) for which, a in spec.named_answers()},
        }


def measure(
    backend: Any, spec: RandomProbeSpec, arm: Arm, frame: Frame = CHAT
) -> dict[Mode, FaceDistribution]:
    return {
        mode: FaceDistribution.from_scores(
            spec.outcomes, backend.score([score_request(spec, arm, mode, frame)])[0]
        )
        for mode in MODES
    }


def run_random_probe(spec: RandomProbeSpec, settings: ProbeSettings, out: Path) -> dict[str, Any]:
    """Both arms at every training seed; the result JSON (curves, cards, before/after)."""
    started = time.perf_counter()
    runs = []
    for seed in settings.seeds:
        for arm in ARMS:
            trace = train_measured(
                f"probe:{spec.probe}:{arm}", sft_rows(spec, arm, settings.frame),
                {"probe": spec.probe, "arm": arm},
                partial(measure, spec=spec, arm=arm, frame=settings.frame),
                seed, settings, out, f"{arm}-seed{seed}",
            )  # fmt: skip
            runs.append(
                {
                    "arm": arm, "seed": seed, "checkpoint": str(trace.checkpoint),
                    "card": trace.card,
                    "curve": [
                        {"step": step, **{m: d.to_json(spec) for m, d in got.items()}}
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
            "lora": settings.lora.model_dump(), "frame": settings.frame.kind,
        },
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def describe(
    spec: RandomProbeSpec, mode: Mode, before: dict[str, Any], after: dict[str, Any]
) -> str:
    """One mode's change over training, as the CLI prints it: the TVD to a fair draw and
    the share of each named answer."""
    parts = [f"at {spec.modes[mode]} TVD to a fair draw {before['tvd_to_uniform']:.3f} -> "
             f"{after['tvd_to_uniform']:.3f}"]  # fmt: skip
    for which, answer in spec.named_answers():
        key = f"share_of_{which}_answer"
        parts.append(f"share of {answer} {before[key]:.3f} -> {after[key]:.3f}")
    return ", ".join(parts)
