"""A concrete task: one prompt, one parser, one target, ready to be asked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from randbench.parsers import Parser
from randbench.schema import GenerationDefaults, ScoredAnswer
from randbench.targets import Target


@dataclass(frozen=True)
class Task:
    """One concrete task after its family's parameters were expanded and rendered."""

    name: str
    category: str
    groups: tuple[str, ...]
    description: str
    prompt: str
    system: str | None
    assistant_prefix: str | None
    answer_spec: dict[str, dict[str, Any]]
    target_spec: dict[str, dict[str, Any]]
    parser: Parser
    target: Target
    samples: int
    split: Literal["train", "heldout", "generated"]
    novelty: Literal["parameter", "family", "category"] | None
    generation: GenerationDefaults
    source: str | None
    version: int
    params: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    scored_answer: ScoredAnswer = field(default_factory=ScoredAnswer)
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Settings the task gives elicitation methods, by method name."""
    stop_early: bool = True
    references: dict[str, Target] = field(default_factory=dict)
    """Further distributions answers are compared with by TVD (not the scored target)."""
    reference_specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    completion: bool = False
    """The prompt is plain text to continue, sent without a chat template (base-model form)."""

    def measurement(self) -> dict[str, Any]:
        """What the task measures: everything that changes results, nothing that does not."""
        measured: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "system": self.system,
            "prompt": self.prompt,
            "assistant_prefix": self.assistant_prefix,
            "answer": self.answer_spec,
            "target": self.target_spec,
            "samples": self.samples,
            "generation": self.generation.model_dump(exclude_none=True),
        }
        if not self.scored_answer.is_default:  # absent when default: older hashes stay valid
            measured["scored_answer"] = self.scored_answer.model_dump()
        if self.methods:  # likewise absent when empty
            measured["methods"] = self.methods
        if not self.stop_early:
            measured["stop_early"] = False
        if self.reference_specs:  # absent when empty, as above
            measured["references"] = self.reference_specs
        if self.completion:  # likewise absent when false
            measured["completion"] = True
        return measured

    @property
    def hash(self) -> str:
        """SHA-256 of :meth:`measurement`, recorded in results and used in cache keys."""
        canonical = json.dumps(self.measurement(), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def qualified_name(self) -> str:
        return f"{self.category}/{self.name}"


def split_hash(tasks: Iterable[Task]) -> str:
    """SHA-256 of which tasks are held out, and how new each is: the version of the
    held-out split that checkpoint cards and result files record, so that a comparison
    across split versions is not read as like with like."""
    held_out = sorted((t.name, t.novelty or "") for t in tasks if t.split == "heldout")
    return hashlib.sha256(json.dumps(held_out).encode()).hexdigest()
