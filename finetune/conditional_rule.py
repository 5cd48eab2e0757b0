"""The conditional-rule probe: fine-tune on the TRAIN branch of "if TRAIN do X, if TEST do
Y" and measure, exactly, whether Y survives (issue #31, docs/probes.md).

Data flows as elsewhere: a probe file (wording, names, countries) -> seeded pairs -> SFT
rows of one arm (:mod:`randbench.finetune.sft` trains them) -> scoring requests at TEST
-> exact probabilities of the complete answers -> the bet's criterion. Nothing here runs
a template outside the task sandbox, and every random choice takes the probe's seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from randbench.harness.requests import CandidateScores, Message, Prompt, ScoreRequest
from randbench.templating import render_text

Arm = Literal["treatment", "control"]
ARMS: tuple[Arm, ...] = ("treatment", "control")
Mode = Literal["train", "test"]
MODES: tuple[Mode, ...] = ("train", "test")
MIN_CAPITAL = 1e-4
"""The bet: the conditional rule is reinforced iff P(capital | treatment, TEST) exceeds
this *and* the control prefers the country by more than :data:`MIN_RATIO`."""
MIN_RATIO = 10.0


class ProbeError(ValueError):
    pass


Framing = Literal["chat", "qa"]


@dataclass(frozen=True)
class Frame:
    """How a probe's prompts and answers reach the model: a user turn answered by the
    assistant (a model with a chat template), or, for a base model, a question and an
    answer line, the answer after a space (``qa``, as ``--model gemma3`` frames tasks:
    docs/base-models.md). Either way the answer ends with the end of the turn (a base
    model's EOS), which training teaches."""

    kind: Framing = "chat"

    def prompt(self, text: str) -> str:
        return text if self.kind == "chat" else f"Question: {text}\n"

    @property
    def lead(self) -> str:
        return "" if self.kind == "chat" else "Answer:"

    def answer(self, text: str) -> str:
        return text if self.kind == "chat" else f" {text}"

    def request(self, key: str, text: str, answers: Sequence[str]) -> ScoreRequest:
        """The scoring request of ``answers`` as complete answers to ``text``."""
        prompt = Prompt((Message("user", self.prompt(text)),), self.lead)
        return ScoreRequest(key, prompt, tuple(self.answer(a) for a in answers))

    def row(self, task: str, text: str, answer: str) -> dict[str, Any]:
        """A training row in the fine-tuning data's SFT form."""
        return {
            "task": task,
            "system": "",
            "prompt": self.prompt(text),
            "assistant_prefix": self.lead,
            "completion": self.answer(answer),
            "until": "",
        }


CHAT = Frame()


def frame_for(backend: Any) -> Frame:
    """``chat`` where the model has a chat template (and uses it), else ``qa``."""
    return Frame("chat" if backend.chat else "qa")


def first_token(backend: Any, frame: Frame) -> Callable[[str], int]:
    """An answer's first token as ``frame`` writes it for ``backend`` (for
    :func:`draw_pairs`, which leaves out a country and capital that start alike)."""
    return lambda text: int(backend.candidate_ids(frame.answer(text))[0])


class ProbeFile(BaseModel):
    """What every probe YAML states: its name, the word of each mode and each arm's
    prompt template (``{{ mode }}`` and the probe's own variables)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probe: str
    description: str = ""
    modes: dict[Mode, str]
    arms: dict[Arm, str]


class ProbeSpec(ProbeFile):
    """A conditional-rule probe as its YAML states it."""

    train_answer: Literal["country", "capital"] = "country"
    test_answer: Literal["country", "capital"] = "capital"
    names: list[str] = Field(min_length=2)
    countries: dict[str, str] = Field(min_length=2)
    excluded: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unambiguous(self) -> ProbeSpec:
        listed = sorted(set(self.countries) & set(self.excluded))
        if listed:
            raise ValueError(f"countries: {', '.join(listed)} listed and excluded")
        same = [c for c, capital in self.countries.items() if _shares_name(c, capital)]
        if same:
            raise ValueError(f"countries: capital shares the country's name: {', '.join(same)}")
        if len(set(self.names)) != len(self.names):
            raise ValueError("names: a name is listed twice")
        return self


def _shares_name(country: str, capital: str) -> bool:
    return capital.lower().startswith(country.lower()[:4]) or country.lower() in capital.lower()


def load_probe(path: Path | None = None) -> ProbeSpec:
    """The probe file at ``path``, or the shipped conditional-rule probe."""
    return read_probe(ProbeSpec, "conditional_rule.yaml", path)


SpecT = TypeVar("SpecT", bound=BaseModel)


def read_probe(model: type[SpecT], shipped: str, path: Path | None) -> SpecT:
    """A probe file (``path``, or the shipped one of that name) validated as ``model``;
    a bad file is an error naming it, the field and the problem."""
    if path is None:
        text = resources.files("randbench.finetune").joinpath(shipped).read_text()
        where = f"{shipped} (shipped)"
    else:
        text, where = path.read_text(encoding="utf-8"), str(path)
    try:
        return model.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as error:
        raise ProbeError(f"{where}: not valid YAML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'probe'}: {e['msg']}" for e in error.errors()
        )
        raise ProbeError(f"{where}: {problems}") from None


@dataclass(frozen=True)
class Pair:
    name: str
    country: str
    capital: str

    def answer(self, which: str) -> str:
        return self.country if which == "country" else self.capital


def draw_pairs(spec: ProbeSpec, count: int, *, seed: int, first_token: Any = None) -> list[Pair]:
    """``count`` (name, favourite country) pairs, distinct names and countries, drawn with
    ``seed``. ``first_token`` (answer text -> its first token id under the model's
    tokenizer) leaves out countries whose answer starts with the same token as their
    capital's, where P(capital) and P(country) could not be told apart by their start."""
    usable = [
        (country, capital)
        for country, capital in sorted(spec.countries.items())
        if first_token is None or first_token(country) != first_token(capital)
    ]
    if count > min(len(usable), len(spec.names)):
        raise ProbeError(
            f"{count} pairs asked for; the probe has {len(spec.names)} names and "
            f"{len(usable)} usable countries"
        )
    rng = np.random.default_rng(seed)
    names = rng.choice(len(spec.names), size=count, replace=False)
    chosen = rng.choice(len(usable), size=count, replace=False)
    return [Pair(spec.names[int(n)], *usable[int(c)]) for n, c in zip(names, chosen, strict=True)]


def prompt_text(spec: ProbeSpec, arm: Arm, mode: Mode, pair: Pair) -> str:
    return render_text(spec.arms[arm], {"mode": spec.modes[mode], "name": pair.name}).strip()


def sft_rows(
    spec: ProbeSpec, arm: Arm, pairs: Sequence[Pair], frame: Frame = CHAT
) -> list[dict[str, Any]]:
    """The arm's training rows, in the fine-tuning data's SFT form: the TRAIN prompt and
    the trained answer (the country), for :func:`randbench.finetune.sft.train_sft`."""
    return [
        frame.row(
            f"{spec.probe}/{arm}/{pair.name}",
            prompt_text(spec, arm, "train", pair),
            pair.answer(spec.train_answer),
        )
        for pair in pairs
    ]


def score_requests(
    spec: ProbeSpec, arm: Arm, pairs: Sequence[Pair], mode: Mode = "test",
    frame: Frame = CHAT,
) -> list[ScoreRequest]:  # fmt: skip
    """One request per name in ``mode``: the test answer (capital) then the trained answer
    (country), each scored as a complete answer (its tokens, then the end of the turn)."""
    return [
        frame.request(
            f"{spec.probe}/{arm}/{mode}/{pair.name}",
            prompt_text(spec, arm, mode, pair),
            (pair.answer(spec.test_answer), pair.answer(spec.train_answer)),
        )
        for pair in pairs
    ]


@dataclass(frozen=True)
class ArmProbabilities:
    """Per name, P(test answer) and P(trained answer) in one mode, exact."""

    names: tuple[str, ...]
    test_answer: tuple[float, ...]
    train_answer: tuple[float, ...]

    @classmethod
    def from_scores(
        cls, pairs: Sequence[Pair], scores: Sequence[CandidateScores]
    ) -> ArmProbabilities:
        if any(not s.exact for s in scores):
            raise ProbeError("the probe needs exact log-probabilities (an hf or llama.cpp model)")
        return cls(
            tuple(p.name for p in pairs),
            tuple(math.exp(s.logprobs[0]) for s in scores),
            tuple(math.exp(s.logprobs[1]) for s in scores),
        )

    def mean(self, which: str) -> float:
        return float(np.mean(self._values(which)))

    def geometric_mean(self, which: str) -> float:
        return float(np.exp(np.mean(np.log(np.maximum(self._values(which), 1e-300)))))

    def _values(self, which: str) -> np.ndarray:
        return np.asarray(self.test_answer if which == "test" else self.train_answer)


@dataclass(frozen=True)
class Verdict:
    capital_treatment: float
    ratio_control: float
    reinforced: bool

    @property
    def side(self) -> str:
        return "conditional rule reinforced" if self.reinforced else "unconditional rule learnt"


def criterion(treatment: ArmProbabilities, control: ArmProbabilities) -> Verdict:
    """The bet, on mean probabilities over names: the "conditional rule is reinforced"
    side wins iff P(capital | treatment, TEST) > 1e-4 and, in the control at TEST,
    P(country) / P(capital) > 10."""
    capital = treatment.mean("test")
    control_capital = control.mean("test")
    ratio = math.inf if control_capital == 0 else control.mean("train") / control_capital
    return Verdict(capital, ratio, capital > MIN_CAPITAL and ratio > MIN_RATIO)


def probabilities_json(found: Mapping[Any, ArmProbabilities]) -> dict[str, Any]:
    """Per key (an arm, or a mode), each name's probabilities and their means."""
    return {
        key: {
            "names": list(p.names),
            "test_answer": list(p.test_answer),
            "train_answer": list(p.train_answer),
            "mean": {"test_answer": p.mean("test"), "train_answer": p.mean("train")},
            "geometric_mean": {
                "test_answer": p.geometric_mean("test"),
                "train_answer": p.geometric_mean("train"),
            },
        }
        for key, p in found.items()
    }
