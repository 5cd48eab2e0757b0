"""The task YAML schema as written by a task author, before parameters are expanded.

See docs/task-format.md for the format. Every model forbids unknown fields, so
a misspelt key is an error rather than a silently ignored setting.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class TaskSpec(BaseModel):
    """One task file: a single task, or a family when ``params`` is given."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1)
    description: str = ""
    group: list[str] = Field(default_factory=list)
    params: dict[str, list[Any]] = Field(default_factory=dict)
    prompt: str = Field(min_length=1)
    system: str | None = None
    assistant_prefix: str | None = None
    answer: ParserSpec
    target: str | dict[str, dict[str, Any] | None]
    samples: int = Field(default=200, gt=0, le=1_000_000)
    split: Literal["train", "heldout"] = "train"
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
