"""The task YAML schema as written by a task author, before parameters are expanded.

See docs/task-format.md for the format. Every model forbids unknown fields, so
a misspelt key is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ParserSpec = str | dict[str, dict[str, Any] | None]
"""``integer`` or ``{integer: {option: value}}``."""


class GenerationDefaults(BaseModel):
    """Sampling settings a task asks for (a replication fixes its paper's temperature)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(default=None, ge=0.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, gt=0)


class ScoredAnswer(BaseModel):
    """How logprob mode writes each candidate answer it scores.

    By default a candidate is the parser's canonical text followed by the end of the
    assistant's turn, so P("1") does not contain P("10"). A prompt that asks for a
    wrapper ("Output the number between curly braces") scores ``prefix + answer +
    suffix``; ``until`` replaces the end of turn with a delimiter the answer must be
    followed by (e.g. ``"\\n"`` for a completion-style prompt).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = ""
    suffix: str = ""
    until: str | None = Field(default=None, min_length=1)

    def write(self, answer: str) -> str:
        return f"{self.prefix}{answer}{self.suffix}"

    @property
    def is_default(self) -> bool:
        return self == ScoredAnswer()


DEFAULT_LENGTHS: tuple[int, ...] = (0, 1, 3, 5, 10, 20, 100)
MAX_CONTEXT_LENGTH = 1000


class ContextSpec(BaseModel):
    """Observed evidence the loader generates: one task per (theta, length) pair.

    For each value of ``theta`` (the probability of the first outcome when there are two
    outcomes, or one weight per outcome) the loader draws one i.i.d. sequence of the
    longest length, seeded from the task name template, ``seed`` and the theta index,
    and gives each length its prefix: the evidence at N=3 is the start of the evidence
    at N=100. Nothing here runs code; see docs/task-format.md for the variables it makes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcomes: list[str | int] = Field(min_length=2)
    theta: list[float | list[float]] = Field(min_length=1)
    lengths: list[int] = Field(default_factory=lambda: list(DEFAULT_LENGTHS), min_length=1)
    separator: str = ", then "
    seed: int = Field(default=0, ge=0)

    @field_validator("outcomes")
    @classmethod
    def _distinct_outcomes(cls, value: list[str | int]) -> list[str | int]:
        if any(isinstance(v, bool) for v in value):
            raise ValueError("an outcome is a YAML boolean: quote it")
        if len(set(map(str, value))) != len(value):
            raise ValueError(f"outcomes must be distinct, got {value}")
        return value

    @field_validator("lengths")
    @classmethod
    def _lengths_in_range(cls, value: list[int]) -> list[int]:
        bad = [n for n in value if not 0 <= n <= MAX_CONTEXT_LENGTH]
        if bad:
            raise ValueError(f"lengths must lie in 0..{MAX_CONTEXT_LENGTH}, got {bad}")
        if len(set(value)) != len(value):
            raise ValueError(f"lengths must be distinct, got {value}")
        return value

    @model_validator(mode="after")
    def _theta_fits_outcomes(self) -> ContextSpec:
        for i, theta in enumerate(self.theta):
            weights = theta_weights(theta, len(self.outcomes))
            if weights is None:
                raise ValueError(
                    f"theta[{i}] = {theta!r}: give the probability of the first outcome "
                    f"(two outcomes only) or {len(self.outcomes)} weights summing to 1"
                )
        return self


def theta_weights(theta: float | list[float], k: int) -> list[float] | None:
    """The outcome probabilities a theta value stands for, or None when it is not one."""
    weights = (
        [float(theta), round(1.0 - float(theta), 12)] if isinstance(theta, int | float) else theta
    )
    if isinstance(theta, int | float) and k != 2:
        return None
    if len(weights) != k or any(not 0.0 <= w <= 1.0 for w in weights):
        return None
    return [float(w) for w in weights] if abs(math.fsum(weights) - 1.0) <= 1e-6 else None


class TaskSpec(BaseModel):
    """One task file: a single task, or a family when ``params`` is given."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1)
    description: str = ""
    group: list[str] = Field(default_factory=list)
    params: dict[str, list[Any]] = Field(default_factory=dict)
    context: ContextSpec | None = None
    """Generated in-context evidence: one task per (theta, length) and per params value."""
    prompt: str = Field(min_length=1)
    system: str | None = None
    assistant_prefix: str | None = None
    completion: bool = False
    """The prompt is plain text the model continues (the base-model sentence form): it is
    sent without a chat template, so it takes no ``system`` and no ``assistant_prefix``."""
    answer: ParserSpec
    target: str | dict[str, dict[str, Any] | None]
    references: dict[str, str | dict[str, dict[str, Any] | None]] = Field(default_factory=dict)
    """Further distributions the model's answers are compared with by TVD (e.g. the
    posterior predictive of an in-context task whose target is the true theta)."""
    samples: int = Field(default=200, gt=0, le=1_000_000)
    split: Literal["train", "heldout", "generated"] = "train"
    """``generated``: written by ``randbench tasks generate`` (docs/generated-tasks.md);
    trainable like ``train``, kept apart so that an experiment can choose."""
    novelty: Literal["parameter", "family", "category"] | None = None
    """How a held-out task is new to fine-tuning (docs/finetune.md, "The held-out split"):
    a new ``parameter`` of a trained family, a new ``family`` of a trained category, or a
    task of a ``category`` none of whose tasks is trained. Required when held out."""
    generation: GenerationDefaults = GenerationDefaults()
    scored_answer: ScoredAnswer = ScoredAnswer()
    methods: dict[str, dict[str, Any]] = Field(default_factory=dict)
    stop_early: bool = True
    """False keeps the full ``samples`` whatever the evidence (tasks that reproduce a study
    at its sample size); see randbench.stopping."""
    """Settings for elicitation methods by method name (a replication's exact wording and k);
    checked by each method when it runs the task."""
    source: str | None = None
    version: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _completion_is_the_whole_text(self) -> TaskSpec:
        if self.completion and (self.system is not None or self.assistant_prefix is not None):
            raise ValueError(
                "completion: true sends the prompt as plain text for the model to continue; "
                "it takes no system and no assistant_prefix (write the whole text in prompt)"
            )
        return self

    @model_validator(mode="after")
    def _held_out_tasks_say_how_they_are_new(self) -> TaskSpec:
        if self.split == "heldout" and self.novelty is None:
            raise ValueError(
                "split: heldout needs novelty: parameter, family or category "
                "(how the task is new to fine-tuning; docs/finetune.md)"
            )
        if self.split != "heldout" and self.novelty is not None:
            raise ValueError(f"novelty describes a held-out task; a {self.split} task takes none")
        return self

    @field_validator("group", mode="before")
    @classmethod
    def _one_group_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("target", "answer", mode="before")
    @classmethod
    def _a_name_or_one_mapping(cls, value: Any) -> Any:
        """One clear message instead of pydantic's one-per-union-member."""
        if not isinstance(value, str | dict):
            raise ValueError(
                f"expected a name or {{name: {{option: value}}}}, got {type(value).__name__}"
            )
        return value

    @field_validator("params")
    @classmethod
    def _params_are_named_value_lists(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, values in value.items():
            if not name.isidentifier():
                raise ValueError(f"parameter name {name!r} is not an identifier")
            if not values:
                raise ValueError(f"parameter {name!r} has no values")
        return value

    @field_validator("references")
    @classmethod
    def _references_are_named_targets(
        cls, value: dict[str, str | dict[str, dict[str, Any] | None]]
    ) -> dict[str, str | dict[str, dict[str, Any] | None]]:
        for name, spec in value.items():
            if not name.isidentifier():
                raise ValueError(f"reference name {name!r} is not an identifier")
            if isinstance(spec, dict) and len(spec) != 1:
                raise ValueError(f"reference {name!r}: give exactly one target name")
        return value

    @field_validator("target")
    @classmethod
    def _exactly_one_target(
        cls, value: str | dict[str, dict[str, Any] | None]
    ) -> str | dict[str, dict[str, Any] | None]:
        if isinstance(value, dict) and len(value) != 1:
            raise ValueError(
                f"give exactly one target name with its parameters, got {len(value)}: "
                f"{', '.join(map(str, value)) or 'none'}"
            )
        return value

    @field_validator("answer")
    @classmethod
    def _one_parser(cls, value: ParserSpec) -> ParserSpec:
        if isinstance(value, dict) and len(value) != 1:
            raise ValueError(
                f"give one parser name, optionally with options, got {len(value)}: "
                f"{', '.join(map(str, value)) or 'none'}"
            )
        return value


FIELD_NAMES: tuple[str, ...] = tuple(TaskSpec.model_fields)
