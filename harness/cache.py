"""The response cache: one SQLite row per sample, so a killed run resumes exactly.

The key is everything that makes a sample what it is — model and its
arguments, task hash, method, sampling settings, seed and sample index — so
two samples are never confused (lm-eval's repeats share one key) and a rerun
of the same configuration asks the model nothing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    key TEXT PRIMARY KEY,
    run_key TEXT NOT NULL,
    sample_index INTEGER NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now'))
);
CREATE INDEX IF NOT EXISTS samples_by_run ON samples (run_key, sample_index);
"""


def stable_hash(value: Any) -> str:
    """SHA-256 of canonical JSON (sorted keys), for keys built from nested settings."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RunKey:
    """Everything but the sample index that identifies a sample."""

    model: Mapping[str, Any]
    task_hash: str
    method: str
    sampling: Mapping[str, Any]
    seed: int

    def digest(self) -> str:
        return stable_hash(
            {
                "model": self.model,
                "task": self.task_hash,
                "method": self.method,
                "sampling": self.sampling,
                "seed": self.seed,
            }
        )


class ResponseCache:
    """Sample responses (JSON-able) by run key and sample index, committed as they arrive."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def get_many(self, run: str, indices: Iterable[int]) -> dict[int, Any]:
        wanted = list(indices)
        found: dict[int, Any] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT sample_index, response FROM samples "
                f"WHERE run_key = ? AND sample_index IN ({marks})",
                (run, *chunk),
            )
            found.update((i, json.loads(r)) for i, r in rows)
        return found

    def put_many(self, run: str, responses: Mapping[int, Any]) -> None:
        """Store responses in one transaction; an index already stored keeps its first value."""
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO samples (key, run_key, sample_index, response) "
                "VALUES (?, ?, ?, ?)",
                [(f"{run}:{i}", run, i, json.dumps(r)) for i, r in responses.items()],
            )

    def close(self) -> None:
        self._db.close()


def encode_unit(replies: tuple[str, ...]) -> str | list[str]:
    """A unit as the cache stores it: a single call's text as it always was, else a list."""
    return replies[0] if len(replies) == 1 else list(replies)


def decode_unit(stored: object) -> tuple[str, ...]:
    if isinstance(stored, str):
        return (stored,)
    if isinstance(stored, list) and all(isinstance(t, str) for t in stored):
        return tuple(stored)
    raise ValueError(f"cache entry is not a unit of replies: {stored!r:.80}")
