"""Read result files: ``results_*.json`` and the ``samples_*.jsonl`` beside each one.

Everything in these files is untrusted input. Each file is validated against
:mod:`randbench.result_schema`, the schema the harness writes; every problem is
reported with the file (and line, for JSONL) and the field path, and a bad file
is never silently dropped: :func:`load_results` raises :class:`ResultFileError`,
or with ``skip_invalid`` returns the problems so that the build can report them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from randbench.outcomes import Outcome
from randbench.plugins import PluginError, build_plugin
from randbench.result_schema import (
    Entry,
    ModelInfo,
    ResultDocument,
    SampleLine,
    SchemaVersionError,
    ScoreLine,
    read_document,
)
from randbench.targets import TARGETS, Target

RESULT_GLOB = "results_*.json"


class ResultFileError(ValueError):
    """One or more result files are malformed; ``problems`` are ``file: where: what`` lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class TaskData:
    """One task x method of a run: its metrics, its target, and what the model said."""

    name: str
    method: str
    entry: Entry
    target: Target
    samples: list[SampleLine] = field(default_factory=list)
    logprobs: list[float | None] | None = None


@dataclass
class RunFile:
    """A result file and its samples file, checked against each other."""

    path: Path
    samples_path: Path
    document: ResultDocument
    tasks: dict[tuple[str, str], TaskData]

    @property
    def model(self) -> ModelInfo:
        return self.document.config.model


@dataclass
class Loaded:
    runs: list[RunFile]
    problems: list[str]


def outcome_value(raw: Any) -> Outcome:
    """A JSON outcome back to the harness's value: JSON arrays were tuples."""
    if isinstance(raw, list):
        return tuple(outcome_value(v) for v in raw)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(f"not an outcome value: {raw!r:.60}")
    return raw


def load_results(results_dir: Path, *, skip_invalid: bool = False) -> Loaded:
    """Every run under ``results_dir`` (subfolders too); malformed files raise, or with
    ``skip_invalid`` are left out and reported in :attr:`Loaded.problems`."""
    if not results_dir.is_dir():
        raise ResultFileError([f"{results_dir}: not a folder of result files"])
    runs, problems = [], []
    for path in sorted(results_dir.rglob(RESULT_GLOB)):
        try:
            runs.append(load_run(path))
        except ResultFileError as error:
            problems.extend(error.problems)
    if problems and not skip_invalid:
        raise ResultFileError(problems)
    return Loaded(runs, problems)


def keep_tasks(loaded: Loaded, names: Collection[str]) -> Loaded:
    """Only the entries of the named tasks: a board of a selection of the library. A file
    none of whose tasks is kept is left out (not reported as superseded)."""
    runs = [
        replace(r, tasks={k: v for k, v in r.tasks.items() if k[0] in names}) for r in loaded.runs
    ]
    return Loaded([r for r in runs if r.tasks], loaded.problems)


def load_run(path: Path) -> RunFile:
    """One result file and its samples; raises :class:`ResultFileError` listing every problem."""
    document = _read_document(path)
    samples_path = path.with_name("samples_" + path.name.removeprefix("results_")).with_suffix(
        ".jsonl"
    )
    if not samples_path.is_file():
        raise ResultFileError([f"{path}: no samples file beside it (expected {samples_path.name})"])
    tasks, problems = _task_data(path, document)
    problems += _attach_samples(samples_path, tasks)
    problems += _check_counts(path, samples_path, tasks)
    if problems:
        raise ResultFileError(problems)
    return RunFile(path, samples_path, document, tasks)


def _read_document(path: Path) -> ResultDocument:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ResultFileError([f"{path}: not UTF-8 text ({error.reason})"]) from None
    except json.JSONDecodeError as error:
        raise ResultFileError(
            [f"{path}:{error.lineno}:{error.colno}: not JSON: {error.msg}"]
        ) from None
    try:
        return read_document(raw)
    except SchemaVersionError as error:
        raise ResultFileError([f"{path}: {error}"]) from None
    except ValidationError as error:
        raise ResultFileError(_validation_problems(str(path), error)) from None


def _validation_problems(where: str, error: ValidationError) -> list[str]:
    problems = []
    for e in error.errors():
        loc = ".".join(str(part) for part in e["loc"]) or "(top level)"
        problems.append(f"{where}: {loc}: {e['msg']}")
    return problems


def _task_data(
    path: Path, document: ResultDocument
) -> tuple[dict[tuple[str, str], TaskData], list[str]]:
    tasks: dict[tuple[str, str], TaskData] = {}
    problems = []
    for name, methods in document.results.items():
        for method, entry in methods.items():
            try:
                spec = json_keys_restored(entry.task.target)
                target = build_plugin(TARGETS, spec)
            except PluginError as error:
                problems.append(f"{path}: results.{name}.{method}.task.target: {error}")
                continue
            tasks[(name, method)] = TaskData(name, method, entry, target)
    return tasks, problems


_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


def json_keys_restored(value: Any) -> Any:
    """A target spec as the harness had it before JSON: JSON object keys are strings, so a
    mapping whose keys are all integers in decimal had integer keys (the weights of a loaded
    die: ``{1: 0.5, 2: 0.1, ...}``, whose answers are the integers, not the texts)."""
    if isinstance(value, list):
        return [json_keys_restored(v) for v in value]
    if not isinstance(value, dict):
        return value
    restored = {k: json_keys_restored(v) for k, v in value.items()}
    if restored and all(isinstance(k, str) and _INTEGER.fullmatch(k) for k in restored):
        return {int(k): v for k, v in restored.items()}
    return restored


def _attach_samples(samples_path: Path, tasks: dict[tuple[str, str], TaskData]) -> list[str]:
    problems: list[str] = []
    try:
        # JSON Lines end at "\n" only: splitlines() would also split at U+2028 inside a string.
        lines = samples_path.read_text(encoding="utf-8").split("\n")
        if lines and not lines[-1]:
            lines.pop()
    except UnicodeDecodeError as error:
        return [f"{samples_path}: not UTF-8 text ({error.reason})"]
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        problem = _attach_line(f"{samples_path}:{number}", text, tasks)
        if problem:
            problems.append(problem)
        if len(problems) >= MAX_PROBLEMS_PER_FILE:
            problems.append(f"{samples_path}: more problems not shown")
            break
    return problems


MAX_PROBLEMS_PER_FILE = 20


def _attach_line(where: str, text: str, tasks: dict[tuple[str, str], TaskData]) -> str | None:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        return f"{where}: not JSON: {error.msg}"
    if not isinstance(raw, dict):
        return f"{where}: expected a JSON object, got {type(raw).__name__}"
    model: type[SampleLine] | type[ScoreLine] = ScoreLine if "logprobs" in raw else SampleLine
    try:
        line = model.model_validate(raw)
    except ValidationError as error:
        return "; ".join(_validation_problems(where, error))
    data = tasks.get((line.task, line.method))
    if data is None:
        return f"{where}: task {line.task!r} with method {line.method!r} is not in the result file"
    if isinstance(line, ScoreLine):
        data.logprobs = line.logprobs
        return None
    for outcome in line.outcomes:
        if outcome.invalid_reason is None:
            problem = _check_value(where, data.target, outcome.value)
            if problem:
                return problem
    data.samples.append(line)
    return None


def _check_value(where: str, target: Target, raw: Any) -> str | None:
    try:
        value = outcome_value(raw)
    except ValueError as error:
        return f"{where}: {error}"
    if not target.contains(value):
        return f"{where}: valid outcome {raw!r:.60} is outside the task's target"
    return None


def _check_counts(
    path: Path, samples_path: Path, tasks: dict[tuple[str, str], TaskData]
) -> list[str]:
    problems = []
    for (name, method), data in tasks.items():
        entry = data.entry
        if entry.is_exact:
            support = data.target.support()
            if data.logprobs is None:
                problems.append(f"{samples_path}: no logprobs line for {name} ({method})")
            elif support is None or len(support) != len(data.logprobs):
                size = "no enumerable support" if support is None else f"{len(support)} outcomes"
                problems.append(
                    f"{samples_path}: {name} ({method}): {len(data.logprobs)} logprobs, "
                    f"but the target has {size}"
                )
            continue
        outcomes = sum(len(s.outcomes) for s in data.samples)
        if outcomes != entry.n:
            problems.append(
                f"{path}: results.{name}.{method}.n is {entry.n}, "
                f"but {samples_path.name} has {outcomes} outcomes for it"
            )
    return problems


@dataclass
class RowSource:
    """What one row (model x method) shows: for each task, the newest file that ran it."""

    tasks: dict[str, TaskData] = field(default_factory=dict)
    files: dict[str, RunFile] = field(default_factory=dict)
    """Task name -> the file its entry comes from."""

    @property
    def runs(self) -> list[RunFile]:
        """The files this row uses, newest first."""
        unique = {id(r): r for r in self.files.values()}.values()
        return sorted(unique, key=_age, reverse=True)

    @property
    def newest(self) -> RunFile:
        return self.runs[0]


def _age(run: RunFile) -> tuple[datetime, str]:
    return (run.document.config.date, run.path.name)


def latest_runs(runs: Iterable[RunFile]) -> tuple[dict[tuple[str, str], RowSource], list[Path]]:
    """The files behind each row (model key, method), and the files no row uses.

    One row is one model x method, and holds every task any file ran for it: when several
    files hold the same task (a rerun beside an older one), the newest by date wins (ties go
    to the later file name). A run of a few tasks therefore adds to the row, or replaces those
    tasks, and never hides the row's other tasks; a file none of whose tasks is shown is
    reported as superseded.
    """
    sources: dict[tuple[str, str], RowSource] = {}
    ordered = sorted(runs, key=_age)
    for run in reversed(ordered):
        for (name, method), data in sorted(run.tasks.items()):
            source = sources.setdefault((run.model.key(), method), RowSource())
            if name not in source.tasks:
                source.tasks[name] = data
                source.files[name] = run
    used = {id(r) for s in sources.values() for r in s.files.values()}
    return sources, [r.path for r in ordered if id(r) not in used]
