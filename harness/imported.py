"""Generations made elsewhere (published raw samples, another harness's logs) -> the same
parsers, statistics and result JSON as ``randbench run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEXT_KEYS = ("completion", "response", "text", "answer", "output")


class SamplesFileError(ValueError):
    pass


def read_completions(path: Path, task: str, method: str | None) -> list[str]:
    """Completions from a JSONL file: one JSON string per line, or an object with the text
    under one of ``TEXT_KEYS``; lines naming another task (or method) are skipped."""
    completions = []
    # JSON Lines end at "\n" only: splitlines() would also split at U+2028 inside a string.
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError as error:
            raise SamplesFileError(f"{path}:{number}: not JSON: {error.msg}") from None
        if isinstance(record, str):
            completions.append(record)
            continue
        if not isinstance(record, dict):
            raise SamplesFileError(f"{path}:{number}: expected a string or an object")
        if record.get("task", task) != task or (method and record.get("method", method) != method):
            continue
        if "logprobs" in record and not any(k in record for k in TEXT_KEYS):
            continue
        text = next((record[k] for k in TEXT_KEYS if k in record), None)
        if not isinstance(text, str):
            raise SamplesFileError(
                f"{path}:{number}: no text; expected one of the fields {', '.join(TEXT_KEYS)}"
            )
        completions.append(text)
    if not completions:
        raise SamplesFileError(f"{path}: no completion for task {task!r}")
    return completions
