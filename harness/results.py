"""Run -> one result JSON (config, versions, git hash, task hashes, metrics) and a samples
JSONL beside it, modelled on lm-eval's ``results_<iso>.json`` / ``samples_*.jsonl``.

The leaderboard reads only these files. Nothing secret is written: the model's
identity comes from :meth:`Backend.identity`, which drops key-like arguments.
"""

from __future__ import annotations

import json
import math
import platform
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from randbench import __version__, in_context
from randbench.harness.runs import RunConfig, SampleRecord, StopRecord, TaskRun
from randbench.loader import library_split_hash
from randbench.metrics import METRICS_VERSION
from randbench.outcomes import Outcome, ParseResult
from randbench.result_schema import (
    Entry,
    FamilySummary,
    ModelInfo,
    OutcomeLine,
    ReferenceDistance,
    ResultDocument,
    RunConfigInfo,
    RunSettings,
    SampleLine,
    SamplingInfo,
    ScoreLine,
    Skipped,
    StoppedEarly,
    TaskInfo,
    document_json,
    line_record,
)

RECORDED_PACKAGES = (
    "numpy",
    "scipy",
    "pydantic",
    "jinja2",
    "torch",
    "transformers",
    "llama-cpp-python",
    "peft",
    "trl",
    "datasets",
)


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "randbench": __version__}
    for name in RECORDED_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def git_hash() -> str | None:
    """The commit of the randbench source tree, when it runs from a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


LINE_BREAKS_INSIDE = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
"""Characters that str.splitlines() and many JSONL readers take for line ends, but that
json.dumps(ensure_ascii=False) leaves raw inside strings; a model's answer may hold them."""


def jsonl_line(value: Any) -> str:
    """One JSON Lines record: the line break ends it and nothing inside can be taken for one
    (Gemma 3 wrote U+2028 in an answer, which split its record in two for such readers)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    for raw, escaped in LINE_BREAKS_INSIDE.items():
        text = text.replace(raw, escaped)
    return text + "\n"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def result_document(
    model: ModelInfo | dict[str, Any],
    methods: Sequence[str],
    config: RunConfig,
    runs: Sequence[TaskRun],
) -> ResultDocument:
    """The result file of ``runs`` as the typed document every reader reads."""
    results: dict[str, dict[str, Entry]] = {}
    skipped = []
    rows: dict[str, list[in_context.InContextRow]] = {}
    for run in runs:
        if run.skipped is not None:
            skipped.append(Skipped(task=run.task.name, method=run.method, reason=run.skipped))
            continue
        results.setdefault(run.task.name, {})[run.method] = entry(run)
        found = in_context.row(run.task, model_distribution(run))
        if found is not None:
            rows.setdefault(run.method, []).append(found)
    summaries = {m: in_context.summarise(r) for m, r in rows.items()}
    return ResultDocument(
        randbench_version=__version__,
        config=RunConfigInfo(
            model=ModelInfo.model_validate(model),
            methods=list(methods),
            run=RunSettings.model_validate(asdict(config)),
            date=datetime.now(timezone.utc).replace(microsecond=0),
            git_hash=git_hash(),
            versions=package_versions(),
            task_hashes={run.task.name: run.task.hash for run in runs},
            metrics_version=METRICS_VERSION,
            split_hash=library_split_hash(),
        ),
        results=results,
        skipped=skipped,
        in_context={
            m: {k: FamilySummary.model_validate(v) for k, v in s.items()}
            for m, s in summaries.items()
        },
    )


def entry(run: TaskRun) -> Entry:
    """One task x method: the metrics, what the task was, and how its sampling went."""
    assert run.metrics is not None
    task = run.task
    answered = model_distribution(run)
    references = in_context.reference_tvds(task, answered) if task.references and answered else {}
    return Entry(
        **dict(run.metrics),
        task=TaskInfo(
            category=task.category,
            groups=list(task.groups),
            split=task.split,
            novelty=task.novelty,
            target=task.target_spec,
            answer=task.answer_spec,
            prompt=task.prompt,
            system=task.system,
            assistant_prefix=task.assistant_prefix,
            completion=task.completion,
            params=task.params,
        ),
        sampling=None if run.sampling is None else SamplingInfo(**asdict(run.sampling)),
        stopped_early=None if run.stopped is None else _stopped(run.stopped),
        note=run.scores.note or None if run.scores is not None else None,
        logprob_details=dict(run.scores.details) if run.scores is not None else {},
        references={name: ReferenceDistance(tvd=tvd) for name, tvd in references.items()},
    )


def _stopped(record: StopRecord) -> StoppedEarly:
    """JSON has no infinity: evidence from an answer a perfect sampler never gives is null."""
    evidence = record.log_evidence if math.isfinite(record.log_evidence) else None
    return StoppedEarly(**{**asdict(record), "log_evidence": evidence})


def model_distribution(run: TaskRun) -> dict[str, float]:
    """The model's answer distribution: exact in logprob mode, else valid answers' shares."""
    if run.metrics is not None and run.metrics.distribution:
        return dict(run.metrics.distribution)
    return in_context.frequencies(answered_values(run))


def answered_values(run: TaskRun) -> Iterator[Outcome]:
    """Every answer read as an outcome, those of target probability 0 included."""
    for sample in run.samples:
        yield from (o.value for o in sample.outcomes if o.value is not None)


def _outcome(result: ParseResult) -> OutcomeLine:
    return OutcomeLine(value=result.value, invalid_reason=result.invalid_reason)


def sample_line(run: TaskRun, sample: SampleRecord) -> SampleLine:
    """One unit: its text and outcomes; a unit of several calls lists each call's reply
    (``calls``), a verbalized unit what it stated, a seeded unit its replicate."""
    reading = sample.reading
    stated = reading.stated if reading is not None and reading.stated else None
    return SampleLine(
        task=run.task.name,
        method=run.method,
        index=sample.index,
        seed=sample.seed,
        completion=sample.completion,
        outcomes=[_outcome(o) for o in sample.outcomes],
        calls=list(sample.replies) if len(sample.replies) > 1 else None,
        stated=None if stated is None else [None if s is None else list(s) for s in stated],
        replicate=None if reading is None or reading.replicate is None
        else _outcome(reading.replicate),
    )  # fmt: skip


def sample_lines(runs: Sequence[TaskRun]) -> list[SampleLine | ScoreLine]:
    lines: list[SampleLine | ScoreLine] = []
    for run in runs:
        lines.extend(sample_line(run, sample) for sample in run.samples)
        if run.scores is not None:
            logprobs = [None if lp == float("-inf") else lp for lp in run.scores.logprobs]
            lines.append(
                ScoreLine(
                    task=run.task.name, method=run.method, logprobs=logprobs, exact=run.scores.exact
                )
            )
    return lines


def _claim_names(output_dir: Path, stem: str) -> tuple[Path, Path]:
    """Result and samples paths no earlier run holds: two runs of one model in the same
    second (the stamp's resolution) get ``_2``, ``_3``... instead of overwriting each other.
    The result file is created exclusively, so concurrent runs cannot claim the same name."""
    for attempt in range(1, 10_000):
        suffix = "" if attempt == 1 else f"_{attempt}"
        result_path = output_dir / f"results_{stem}{suffix}.json"
        samples_path = output_dir / f"samples_{stem}{suffix}.jsonl"
        if samples_path.exists():
            continue
        try:
            result_path.touch(exist_ok=False)
        except FileExistsError:
            continue
        return result_path, samples_path
    raise FileExistsError(f"{output_dir}: no free result file name for {stem}")


def write_results(
    output_dir: Path,
    model: ModelInfo | dict[str, Any],
    methods: Sequence[str],
    config: RunConfig,
    runs: Sequence[TaskRun],
) -> tuple[Path, Path]:
    """Write ``results_<model>_<time>.json`` and ``samples_<model>_<time>.jsonl``."""
    return write_document(output_dir, result_document(model, methods, config, runs), runs)


def write_document(
    output_dir: Path, document: ResultDocument, runs: Sequence[TaskRun]
) -> tuple[Path, Path]:
    """Write a result document and the samples of its ``runs`` under fresh names."""
    model = document.config.model
    stamp = document.config.date.isoformat().replace(":", "-").replace("+00-00", "Z")
    name = slug(f"{model.backend}_{model.name}" if model.name else model.backend)
    output_dir.mkdir(parents=True, exist_ok=True)
    result_path, samples_path = _claim_names(output_dir, f"{name}_{stamp}")
    result_path.write_text(document_json(document), encoding="utf-8")
    with samples_path.open("w", encoding="utf-8") as out:
        for line in sample_lines(runs):
            out.write(jsonl_line(line_record(line)))
    return result_path, samples_path
