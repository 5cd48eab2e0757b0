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
from randbench.harness.runner import RunConfig, SampleRecord, TaskRun
from randbench.metrics import METRICS_VERSION
from randbench.outcomes import Outcome, ParseResult

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


def json_safe(value: Any) -> Any:
    """Non-finite floats (an undefined normalised entropy, an infinite KL) become null:
    strict JSON has no NaN or Infinity, and the leaderboard reads these files as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


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


def undefined_as_null(value: Any) -> Any:
    """``"NaN"`` (an undefined figure, such as the normalised entropy of one outcome) as
    null; ``"Infinity"`` stays, a value the reader takes back as a float."""
    if value == "NaN":
        return None
    if isinstance(value, dict):
        return {k: undefined_as_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [undefined_as_null(v) for v in value]
    return value


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def result_document(
    model: dict[str, Any], methods: Sequence[str], config: RunConfig, runs: Sequence[TaskRun]
) -> dict[str, Any]:
    results: dict[str, dict[str, Any]] = {}
    skipped = []
    rows: dict[str, list[in_context.InContextRow]] = {}
    for run in runs:
        if run.skipped is not None:
            skipped.append({"task": run.task.name, "method": run.method, "reason": run.skipped})
            continue
        assert run.metrics is not None
        # model_dump_json honours the metrics' ser_json_inf_nan ("Infinity" for an infinite
        # KL or test statistic; model_dump(mode="json") would write null); an undefined
        # value (NaN) is written null.
        entry = undefined_as_null(json.loads(run.metrics.model_dump_json()))
        entry["task"] = {
            "category": run.task.category,
            "groups": list(run.task.groups),
            "split": run.task.split,
            "target": run.task.target_spec,
            "answer": run.task.answer_spec,
            "prompt": run.task.prompt,
            "system": run.task.system,
            "assistant_prefix": run.task.assistant_prefix,
            **({"completion": True} if run.task.completion else {}),
        }
        if run.sampling is not None:
            entry["sampling"] = asdict(run.sampling)
        if run.stopped is not None:
            entry["stopped_early"] = asdict(run.stopped)
        if run.scores is not None and run.scores.note:
            entry["note"] = run.scores.note
        if run.scores is not None and run.scores.details:
            entry["logprob_details"] = dict(run.scores.details)
        if run.task.params:
            entry["task"]["params"] = run.task.params
        answered = model_distribution(run)
        if run.task.references and answered:
            entry["references"] = {
                name: {"tvd": value}
                for name, value in in_context.reference_tvds(run.task, answered).items()
            }
        found = in_context.row(run.task, answered)
        if found is not None:
            rows.setdefault(run.method, []).append(found)
        results.setdefault(run.task.name, {})[run.method] = entry
    return {
        "randbench_version": __version__,
        "config": {
            "model": model,
            "methods": list(methods),
            "run": asdict(config),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "git_hash": git_hash(),
            "versions": package_versions(),
            "task_hashes": {run.task.name: run.task.hash for run in runs},
            "metrics_version": METRICS_VERSION,
        },
        "results": results,
        "skipped": skipped,
        **({"in_context": {m: in_context.summarise(r) for m, r in rows.items()}} if rows else {}),
    }


def model_distribution(run: TaskRun) -> dict[str, float]:
    """The model's answer distribution: exact in logprob mode, else valid answers' shares."""
    if run.metrics is not None and run.metrics.distribution:
        return dict(run.metrics.distribution)
    return in_context.frequencies(answered_values(run))


def answered_values(run: TaskRun) -> Iterator[Outcome]:
    """Every answer read as an outcome, those of target probability 0 included."""
    for sample in run.samples:
        yield from (o.value for o in sample.outcomes if o.value is not None)


def _outcome(result: ParseResult) -> dict[str, Any]:
    return {"value": result.value, "invalid_reason": result.invalid_reason}


def sample_line(run: TaskRun, sample: SampleRecord) -> dict[str, Any]:
    """One unit: its text and outcomes; a unit of several calls lists each call's reply
    (``calls``), a verbalized unit what it stated, a seeded unit its replicate."""
    line: dict[str, Any] = {
        "task": run.task.name,
        "method": run.method,
        "index": sample.index,
        "seed": sample.seed,
        "completion": sample.completion,
        "outcomes": [_outcome(o) for o in sample.outcomes],
    }
    if len(sample.replies) > 1:
        line["calls"] = list(sample.replies)
    reading = sample.reading
    if reading is not None and reading.stated:
        line["stated"] = [
            None if s is None else [[value, p] for value, p in s] for s in reading.stated
        ]
    if reading is not None and reading.replicate is not None:
        line["replicate"] = _outcome(reading.replicate)
    return line


def sample_lines(runs: Sequence[TaskRun]) -> list[dict[str, Any]]:
    lines = []
    for run in runs:
        for sample in run.samples:
            lines.append(sample_line(run, sample))
        if run.scores is not None:
            lines.append(
                {
                    "task": run.task.name,
                    "method": run.method,
                    "logprobs": [None if lp == float("-inf") else lp for lp in run.scores.logprobs],
                    "exact": run.scores.exact,
                }
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
    model: dict[str, Any],
    methods: Sequence[str],
    config: RunConfig,
    runs: Sequence[TaskRun],
) -> tuple[Path, Path]:
    """Write ``results_<model>_<time>.json`` and ``samples_<model>_<time>.jsonl``."""
    document = json_safe(result_document(model, methods, config, runs))
    stamp = document["config"]["date"].replace(":", "-").replace("+00-00", "Z")
    name = slug(f"{model['backend']}_{model['name']}" if model.get("name") else model["backend"])
    output_dir.mkdir(parents=True, exist_ok=True)
    result_path, samples_path = _claim_names(output_dir, f"{name}_{stamp}")
    result_path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    with samples_path.open("w", encoding="utf-8") as out:
        for line in sample_lines(runs):
            out.write(jsonl_line(json_safe(line)))
    return result_path, samples_path
