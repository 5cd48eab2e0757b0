"""The result files' schema: one set of pydantic models that the harness writes
(:mod:`randbench.harness.results`) and every reader reads (the leaderboard, ``randbench
report``, a user's notebook). Nothing else declares these fields.

A run writes two files: ``results_<model>_<time>.json``, a :class:`ResultDocument`, and
``samples_<model>_<time>.jsonl``, one :class:`SampleLine` per unit of answers and one
:class:`ScoreLine` per exact (logprob) task. ``docs/result-schema.json`` is this module's
JSON Schema (``randbench schema``), for tools that read results without randbench.

Versions: every document carries ``schema_version``. A file of an older version is read
through :data:`MIGRATIONS` (documented there, one step per version); a file of a newer
version than this randbench knows is refused, naming both versions. Fields a reader does
not know are ignored, so that a file with an added optional field still reads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from randbench.metrics import TaskMetrics

SCHEMA_VERSION = 2
"""The version :mod:`randbench.harness.results` writes."""

RUNTIME_ARGS = frozenset({"n_threads"})
"""Model arguments that change how fast a model runs, not what it answers: they are not
part of a model's identity (a run with ``n_threads=1`` beside one with all cores is one model)."""


class SchemaVersionError(ValueError):
    """A result file of a version this randbench cannot read."""


class _Record(BaseModel):
    """Fields a reader does not know are ignored (a newer file may add optional ones)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ModelInfo(_Record):
    """The model as its backend identifies it (``Backend.identity``, key-like arguments
    dropped). A backend may add fields of its own (a plugin's too): they are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    backend: str
    name: str = ""
    args: dict[str, Any] = {}
    checkpoint: dict[str, Any] | None = None
    """A fine-tuned checkpoint's base model, method and training tasks (randbench finetune)."""
    sha256: str | None = None
    """llama.cpp backends: the SHA-256 of the GGUF file that ran."""
    weights: str | None = None
    """llama.cpp backends: ``float32`` when a dequantised copy of the GGUF ran."""
    model_hash: str | None = None
    """hf: a fingerprint of the loaded weights."""
    chat_template: bool | None = None
    """hf: whether prompts went through the tokenizer's chat template."""
    chat_template_sha: str | None = None
    """hf: the first 16 hex digits of the chat template's SHA-256."""

    @property
    def identity_args(self) -> dict[str, Any]:
        """The arguments that can change answers (all but :data:`RUNTIME_ARGS`)."""
        return {k: v for k, v in self.args.items() if k not in RUNTIME_ARGS}

    def label(self) -> str:
        """``backend:name (k=v, ...)``, as a person would write the model."""
        text = f"{self.backend}:{self.name}" if self.name else self.backend
        if self.identity_args:
            shown = sorted(self.identity_args.items())
            text += " (" + ", ".join(f"{k}={v}" for k, v in shown) + ")"
        return text

    def key(self) -> str:
        """Identity of the model across result files: backend, name and the arguments that
        can change answers (a file hash is not part of it: a rebuilt GGUF of the same
        weights stays one row)."""
        identity = {"backend": self.backend, "name": self.name, "args": self.identity_args}
        return json.dumps(identity, sort_keys=True, default=str)


class RunSettings(_Record):
    """The run's options (randbench.harness.runs.RunConfig); None where an older file
    did not record one."""

    seed: int = 0
    samples: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    batch_size: int | None = None
    n_sim: int | None = None
    stop_alpha: float | None = None
    min_samples: int | None = None
    tasks_in_flight: int | None = None


class RunConfigInfo(_Record):
    model: ModelInfo
    methods: list[str]
    run: RunSettings = RunSettings()
    date: datetime
    git_hash: str | None = None
    versions: dict[str, str] = {}
    task_hashes: dict[str, str] = {}
    metrics_version: int = 1
    """The statistics' version that judged the run (randbench.metrics.METRICS_VERSION);
    files written before it was recorded are version 1."""
    split_hash: str | None = None
    """The held-out split of the library that ran it (randbench.tasks.split_hash); None in
    files written before the split was versioned."""

    @field_validator("date")
    @classmethod
    def _aware(cls, date: datetime) -> datetime:
        if date.tzinfo is None:
            raise ValueError("the date has no time zone")
        return date


class TaskInfo(_Record):
    """What the task was, so that a result reads without the library that ran it."""

    category: str
    groups: list[str] = []
    split: str = "train"
    novelty: str | None = None
    """A held-out task: how it is new to fine-tuning (parameter, family or category)."""
    target: dict[str, dict[str, Any]]
    answer: dict[str, dict[str, Any]]
    prompt: str
    system: str | None = None
    assistant_prefix: str | None = None
    completion: bool = False
    params: dict[str, Any] = {}


class SamplingInfo(_Record):
    temperature: float
    top_p: float
    max_tokens: int


class StoppedEarly(_Record):
    """The run stopped sampling this task before its planned units (randbench.stopping)."""

    units: int
    planned: int
    log_evidence: float | None = None
    """None when infinite (an answer impossible for a perfect sampler)."""
    alpha: float
    cells: str = ""


class ReferenceDistance(_Record):
    tvd: float


class Entry(TaskMetrics):
    """One task x method of a result file: the harness's metrics plus what the task was."""

    model_config = ConfigDict(extra="ignore")

    task: TaskInfo
    sampling: SamplingInfo | None = None
    note: str | None = None
    stopped_early: StoppedEarly | None = None
    logprob_details: dict[str, float] = Field(default_factory=dict)
    """Logprob mode: the backend's own figures on how it scored (randbench.harness.requests)."""
    references: dict[str, ReferenceDistance] = Field(default_factory=dict)
    """In-context tasks: the answers' TVD to each reference distribution (posterior, prior...)."""

    @field_validator("values")
    @classmethod
    def _undefined_is_none(cls, values: dict[str, float | None]) -> dict[str, float | None]:
        """An undefined figure (NaN: the normalised entropy of one outcome) is None, as the
        file writes it, so that a document equals the document read back from its file."""
        return {k: None if v is not None and math.isnan(v) else v for k, v in values.items()}

    @property
    def is_exact(self) -> bool:
        """Logprob-style entries (a distribution read from the model) rather than samples."""
        return self.exact is not None


class Skipped(_Record):
    task: str
    method: str
    reason: str


class MeanAtN(_Record):
    """Mean TVDs over a family's tasks at one evidence length: ``tvd_target`` and one
    ``tvd_<reference>`` per reference (posterior, prior, discounted, ...)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    n: int
    tasks: int
    tvd_target: float

    @property
    def tvds(self) -> dict[str, float]:
        """``target`` and each reference name -> mean TVD (extra fields checked as numbers)."""
        extra = {k.removeprefix("tvd_"): v for k, v in (self.model_extra or {}).items()}
        found = {"target": self.tvd_target}
        for name, value in sorted(extra.items()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[name] = float(value)
        return found


class MeanAtTheta(_Record):
    theta_pct: int
    tasks: int
    p_first: float


class FamilySummary(_Record):
    """One task file's in-context summary for one method (randbench.in_context.summarise)."""

    by_n: list[MeanAtN]
    halving_n: int | None = None
    posterior_gain: float | None = None
    by_theta: list[MeanAtTheta] = []


class ResultDocument(_Record):
    """A ``results_*.json`` file."""

    schema_version: int = SCHEMA_VERSION
    randbench_version: str
    config: RunConfigInfo
    results: dict[str, dict[str, Entry]]
    """Task name -> method -> entry."""
    skipped: list[Skipped] = []
    in_context: dict[str, dict[str, FamilySummary]] = {}
    """Method -> task file stem -> summary, for tasks with generated evidence."""


class OutcomeLine(_Record):
    value: Any = None
    """The outcome as JSON has it: a tuple (a permutation, a sequence) is a list."""
    invalid_reason: str | None = None

    @field_validator("value")
    @classmethod
    def _as_json(cls, value: Any) -> Any:
        return json_form(value)


def json_form(value: Any) -> Any:
    """An outcome as JSON holds it: tuples (permutations, sequences) as lists."""
    return [json_form(v) for v in value] if isinstance(value, tuple | list) else value


class SampleLine(_Record):
    """One unit of a sampled task: its text and the outcomes read from it."""

    task: str
    method: str
    index: int
    seed: int | None = None
    completion: str
    outcomes: list[OutcomeLine]
    calls: list[str] | None = None
    """A unit of several calls (multi-turn): each call's reply."""
    stated: list[list[tuple[Any, float]] | None] | None = None
    """Verbalized sampling: the (answer, probability) pairs each answer stated."""
    replicate: OutcomeLine | None = None
    """Seeded prompts: the answer to the same seed asked again."""

    @field_validator("stated")
    @classmethod
    def _stated_as_json(
        cls, stated: list[list[tuple[Any, float]] | None] | None
    ) -> list[list[tuple[Any, float]] | None] | None:
        if stated is None:
            return None
        return [None if s is None else [(json_form(v), p) for v, p in s] for s in stated]


class ScoreLine(_Record):
    """An exact task: log P of each outcome of the target's support, in its order."""

    task: str
    method: str
    logprobs: list[float | None]
    exact: bool = True


def _from_version_1(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (files before 2026-12-07, which carry no ``schema_version``) has the shape
    of version 2; only the version field is new."""
    return {**raw, "schema_version": 2}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_version_1}
"""Version -> the step that brings a raw document of that version to the next one."""


def read_document(raw: Any) -> ResultDocument:
    """A parsed ``results_*.json`` as a :class:`ResultDocument`, migrated from an older
    version; raises :class:`SchemaVersionError` for a version it cannot read and pydantic's
    ``ValidationError`` (with each field's path) for a malformed document."""
    if isinstance(raw, dict):
        raw = migrate(raw)
    return ResultDocument.model_validate(raw)


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SchemaVersionError(f"schema_version {version!r} is not a version number")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"schema_version {version} is newer than this randbench reads "
            f"({SCHEMA_VERSION}): upgrade randbench to read it"
        )
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version += 1
    return raw


def document_json(document: ResultDocument) -> str:
    """The file's text: an infinite figure as ``"Infinity"`` (read back as a float), an
    undefined one (NaN) as null, two-space indents."""
    raw = json.loads(document.model_dump_json(exclude_none=False))
    return json.dumps(_undefined_as_null(raw), indent=2, allow_nan=False) + "\n"


OPTIONAL_LINE_FIELDS = frozenset({"calls", "stated", "replicate"})


def line_record(line: SampleLine | ScoreLine) -> dict[str, Any]:
    """A samples line as its JSON object; the fields only some methods write are left out
    where absent, a non-finite number is null."""
    record = line.model_dump(mode="json")
    return {k: v for k, v in record.items() if v is not None or k not in OPTIONAL_LINE_FIELDS}


def _undefined_as_null(value: Any) -> Any:
    if value == "NaN":
        return None
    if isinstance(value, dict):
        return {k: _undefined_as_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_undefined_as_null(v) for v in value]
    return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a result document and of a samples line (docs/result-schema.json)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"randbench result files, schema version {SCHEMA_VERSION}",
        "description": (__doc__ or "").strip(),
        "$defs": {
            "ResultDocument": ResultDocument.model_json_schema(mode="serialization"),
            "SampleLine": SampleLine.model_json_schema(mode="serialization"),
            "ScoreLine": ScoreLine.model_json_schema(mode="serialization"),
        },
    }


__all__ = [
    "MIGRATIONS",
    "RUNTIME_ARGS",
    "SCHEMA_VERSION",
    "Entry",
    "FamilySummary",
    "ModelInfo",
    "ResultDocument",
    "RunConfigInfo",
    "SampleLine",
    "SchemaVersionError",
    "ScoreLine",
    "Skipped",
    "TaskInfo",
    "document_json",
    "json_schema",
    "line_record",
    "migrate",
    "read_document",
]
