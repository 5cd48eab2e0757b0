"""Generations made elsewhere (published raw samples, another harness's logs) -> the same
parsers, statistics and result JSON as ``randbench run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEXT_KEYS = ("completion", "response", "text", "answer", "output")


class SamplesFileError(ValueError):
    pass


def read_completions(
    path: Path, task: str, method: str | None, group_by: str | None = None
) -> tuple[list[str], list[str] | None]:
    """Completions from a JSONL file, in its order: one JSON string per line, or an object
    with the text under one of ``TEXT_KEYS``; lines naming another task (or method) are
    skipped. With ``group_by``, each completion's value of that field too (a conversation or
    run id: the answers of one group were written one after another)."""
    completions: list[str] = []
    groups: list[str] = []
    # JSON Lines end at "\n" only: splitlines() would also split at U+2028 inside a string.
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError as error:
            raise SamplesFileError(f"{path}:{number}: not JSON: {error.msg}") from None
        if isinstance(record, str):
            if group_by is not None:
                raise SamplesFileError(
                    f"{path}:{number}: a bare string has no field {group_by!r} to group by"
                )
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
        if group_by is not None:
            if group_by not in record:
                raise SamplesFileError(f"{path}:{number}: no field {group_by!r} to group by")
            groups.append(str(record[group_by]))
        completions.append(text)
    if not completions:
        raise SamplesFileError(f"{path}: no completion for task {task!r}")
    return completions, (groups if group_by is not None else None)
