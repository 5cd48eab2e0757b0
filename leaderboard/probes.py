"""The probes' result files (``randbench probe``, docs/probes.md) read for the site and
the findings: each file's setting, the command that reruns it, and its curves over
training steps (mean over training seeds, with the seeds' range)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PROBE_GLOB = "probe_*.json"
RULE = "conditional_rule"
RANDOM_PROBES = ("conditional_random", "conditional_random_reverse")
COMMANDS = {RULE: "conditional-rule", **dict.fromkeys(RANDOM_PROBES, "conditional-random")}
"""A probe's name (its YAML's ``probe``) -> its ``randbench probe`` command."""


@dataclass(frozen=True)
class ProbeFile:
    path: Path
    document: dict[str, Any]

    @property
    def probe(self) -> str:
        return str(self.document["probe"])

    @property
    def model(self) -> str:
        return str(self.document["settings"]["base"])

    @property
    def seeds(self) -> list[int]:
        return sorted({int(run["seed"]) for run in self.document["runs"]})

    def runs(self, arm: str) -> list[dict[str, Any]]:
        return [run for run in self.document["runs"] if run["arm"] == arm]

    def end_path(self, arm: str, seed: int, key: str) -> str:
        """The JSON path (dots between keys and list indices) of ``key`` at the end of the
        training run of ``arm`` and ``seed``."""
        for i, run in enumerate(self.document["runs"]):
            if run["arm"] == arm and int(run["seed"]) == seed:
                return f"runs.{i}.curve.{len(run['curve']) - 1}.{key}"
        raise KeyError(f"{self.path.name}: no run of {arm} at seed {seed}")

    def mode_word(self, mode: str) -> str:
        return str(self.document["spec"]["modes"][mode])

    def setting(self) -> str:
        """The knobs as a reader compares settings: pairs, steps, learning rate, loss."""
        settings = self.document["settings"]
        train = settings["train"]
        steps = max(run["curve"][-1]["step"] for run in self.document["runs"])
        parts = [f"{len(self.document['pairs'])} pairs"] if "pairs" in self.document else []
        parts += [f"{train['epochs']:g} epochs ({steps} steps of {train['batch_size']})",
                  f"lr {train['learning_rate']:g}"]  # fmt: skip
        if self.probe == RULE:
            parts.append("answer loss" if train["completion_only_loss"] else "prompt + answer loss")
        return ", ".join(parts)

    def command(self) -> str:
        """The ``randbench probe`` command that reruns this file's setting."""
        settings = self.document["settings"]
        train = settings["train"]
        words = [f"randbench probe {COMMANDS.get(self.probe, self.probe)}",
                 f"--model {self.model}"]  # fmt: skip
        if self.probe in RANDOM_PROBES[1:]:
            words.append(f"--probe {self.probe}")
        if "pairs" in self.document:
            words.append(f"--pairs {len(self.document['pairs'])}")
        if train["max_steps"] > 0:
            words.append(f"--max-steps {train['max_steps']}")
        else:
            words.append(f"--epochs {train['epochs']:g}")
        words += [f"--learning-rate {train['learning_rate']:g}",
                  f"--batch-size {train['batch_size']}"]  # fmt: skip
        if self.probe == RULE and not train["completion_only_loss"]:
            words.append("--no-completion-only")
        words += [f"--seeds {','.join(map(str, self.seeds))}",
                  f"--eval-every {settings['eval_every']}"]  # fmt: skip
        return " ".join(words)


def read_probe_files(paths: Sequence[Path]) -> list[ProbeFile]:
    return [ProbeFile(p, json.loads(p.read_text(encoding="utf-8"))) for p in paths]


def probe_files(results_dir: Path) -> list[Path]:
    """The probes' result files under ``results_dir``."""
    return sorted(results_dir.rglob(PROBE_GLOB))


@dataclass(frozen=True)
class Series:
    """One line of a probe's plot: a quantity of one arm over training steps, per seed
    (rows, the arm's runs in seed order) at the steps every seed measured."""

    label: str
    arm: str
    style: str
    key: str
    """Where a curve point holds it (``test.mean.test_answer``: dots between keys)."""
    steps: list[int]
    per_seed: list[list[float]]

    @property
    def mean(self) -> list[float]:
        return [float(v) for v in np.mean(self.per_seed, axis=0)]

    @property
    def low(self) -> list[float]:
        return [float(v) for v in np.min(self.per_seed, axis=0)]

    @property
    def high(self) -> list[float]:
        return [float(v) for v in np.max(self.per_seed, axis=0)]


def series(probe: ProbeFile, arm: str, label: str, style: str, key: str) -> Series:
    """The value at ``key`` of each curve point of the arm's runs, at the steps every seed
    measured."""
    runs = sorted(probe.runs(arm), key=lambda run: int(run["seed"]))
    curves = [{point["step"]: at_key(point, key) for point in run["curve"]} for run in runs]
    steps = sorted(set.intersection(*(set(c) for c in curves)))
    return Series(label, arm, style, key, steps, [[c[s] for s in steps] for c in curves])


def at_key(point: dict[str, Any], key: str) -> float:
    found: Any = point
    for part in key.split("."):
        found = found[part]
    return float(found)


def rule_series(probe: ProbeFile) -> list[Series]:
    """The conditional-rule probe: P(capital) and P(country) at TEST, and P(country) at
    TRAIN (the pairs being learnt), mean over names, per arm."""
    test, train = probe.mode_word("test"), probe.mode_word("train")
    spec = probe.document["spec"]
    quantities = [
        (f"P({spec['test_answer']} | {test})", "-", "test.mean.test_answer"),
        (f"P({spec['train_answer']} | {test})", "--", "test.mean.train_answer"),
        (f"P({spec['train_answer']} | {train})", ":", "train.mean.train_answer"),
    ]
    return [
        series(probe, arm, label, style, key)
        for arm in ("treatment", "control")
        for label, style, key in quantities
    ]


def random_series(probe: ProbeFile) -> list[Series]:
    """A randomness probe: at the untrained branch, the TVD to a fair draw and the share of
    the answer it matters most to see (the trained one, or the one the branch asks for)."""
    spec = probe.document["spec"]
    test = probe.mode_word("test")
    if spec.get("test_answer"):
        named = ("test", spec["test_answer"])
    else:
        named = ("trained", spec["train_answer"])
    quantities = [
        (f"TVD to a fair draw at {test}", "-", "test.tvd_to_uniform"),
        (f"share of {named[1]} at {test}", "--", f"test.share_of_{named[0]}_answer"),
    ]
    return [
        series(probe, arm, label, style, key)
        for arm in ("treatment", "control")
        for label, style, key in quantities
    ]


@dataclass
class ProbeView:
    """One probe result file as its section of the probes page shows it."""

    file: ProbeFile
    title: str
    log_scale: bool
    series: list[Series]
    plot: str = ""

    @property
    def columns(self) -> list[str]:
        return ["seed", "arm", *dict.fromkeys(s.label for s in self.series)]

    @property
    def rows(self) -> list[list[str]]:
        """Per arm and seed, each quantity before training and at its end."""
        found = []
        for arm in ("treatment", "control"):
            lines = [s for s in self.series if s.arm == arm]
            for k, seed in enumerate(self.file.seeds):
                found.append([str(seed), arm, *[
                    f"{line.per_seed[k][0]:.3g} → {line.per_seed[k][-1]:.3g}" for line in lines
                ]])  # fmt: skip
        return found


def probe_view(probe: ProbeFile) -> ProbeView:
    if probe.probe == RULE:
        return ProbeView(probe, f"Conditional rule · {probe.model}", True, rule_series(probe))
    title = probe.probe.replace("_", " ").capitalize()
    return ProbeView(probe, f"{title} · {probe.model}", False, random_series(probe))
