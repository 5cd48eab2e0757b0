"""``randbench tasks generate``: ask a model for new tasks, keep the valid and new ones.

proposals (a model, under a JSON-schema grammar) -> the declarative checks
(:mod:`randbench.generation.proposal`) -> the YAML randbench renders, loaded by the same
loader and sandbox as a contributed task -> the oracle at the task's own seed -> the
diversity filter (name, target signature, prompt embedding against the library and the
tasks accepted so far) -> ``OUT/CATEGORY/NAME.yaml`` with provenance, a rejects file with
every rejected proposal and its reason, and a report.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from randbench.answers import read_answer
from randbench.generation.proposal import (
    KIND_FIELDS,
    KINDS,
    Kind,
    Proposal,
    ProposalError,
    check_prompt_states_target,
    complete_prompt,
    parse_proposal,
    target_signature,
    target_spec,
    task_yaml,
)
from randbench.loader import TaskFile, load_file
from randbench.metrics import evaluate
from randbench.tasks import Task

REASONS = ("schema", "target", "prompt", "template", "oracle", "duplicate")
ORACLE_ALPHA = 0.001
"""The oracle's draws must not fail the task's own goodness-of-fit test at this level."""
ORACLE_SAMPLES = 200


@dataclass(frozen=True)
class Thresholds:
    prompt_similarity: float = 0.75
    """Cosine similarity of prompt embeddings (MiniLM) at or above which a task is a
    near-duplicate: paraphrases of a library prompt score 0.78-0.90, a new subject in the
    same sentence form about 0.56 (tests/generation)."""


SUBJECTS = (
    "fruit", "planets", "gemstones", "musical instruments", "sports", "birds", "trees",
    "flowers", "vegetables", "board game moves", "weather", "ice cream flavours", "metals",
    "chess pieces", "compass directions", "seasons", "school subjects", "dog breeds",
    "ocean creatures", "vehicles", "pasta shapes", "dance styles", "tools", "spices",
    "mountains", "rivers", "zodiac signs", "Greek letters", "elements", "coins of a country",
    "lottery draws", "raffle tickets", "dinner choices", "team captains", "dungeon loot",
    "tarot cards", "street names", "pizza toppings", "shapes", "emotions", "insects",
    "pages of a book", "floors of a building", "seats in a row", "minutes of an hour",
    "temperatures", "jersey numbers", "prize wheels", "biased dice", "weighted raffles",
)  # fmt: skip
"""Subjects a request names, one drawn per proposal with the run's seed: a small model
asked only for "a new task" copies its examples; asked for one about a subject it has
not been shown, it writes one (the same device as topic seeding in synthetic-data work)."""

KIND_WORDS = {
    "uniform_choice": "a uniform choice among named options",
    "weighted_choice": "a choice among named options with stated, unequal probabilities",
    "uniform_int": "a uniform whole number in a stated range",
}


def few_shot_prompt(examples: Sequence[Task], kind: Kind, subject: str) -> str:
    """The request a generator answers: the form, library tasks written in it, and the
    kind and subject of the one new task asked for."""
    shown = [json.dumps(example_form(t)) for t in examples]
    return (
        "You write tasks for a benchmark that tests whether language models can be random. "
        "A task is a prompt asking for one random choice, and the exact distribution the "
        "answer should follow. The prompt must name every possible answer (or the range), "
        "and state every probability when they are not equal. Fill in this JSON form: "
        "name (snake_case), category (basic, games or distributions), prompt, kind, and "
        "choices, weights (in the order of the choices) or low and high.\n"
        "Examples:\n" + "\n".join(shown) + f"\nWrite one new task about {subject}: "
        f"{KIND_WORDS[kind]} (kind {kind}), unlike the examples, as JSON."
    )


def example_form(task: Task) -> dict[str, Any]:
    """A library task in the proposal form (only declarative targets are shown), with the
    fields of its kind only, as the kind's schema asks for them."""
    ((family, params),) = task.target_spec.items()
    form: dict[str, Any] = {"name": task.name, "category": task.category, "prompt": task.prompt,
                            "choices": [], "weights": [], "low": 0, "high": 0}  # fmt: skip
    if family == "uniform_int":
        form.update(kind="uniform_int", low=params["low"], high=params["high"])
    elif family == "uniform_choice":
        form.update(kind="uniform_choice", choices=list(params["choices"]))
    else:
        form.update(kind="weighted_choice", choices=list(params["weights"]),
                    weights=list(params["weights"].values()))  # fmt: skip
    keep = ("name", "category", "prompt", "kind", *KIND_FIELDS[form["kind"]])
    return {key: form[key] for key in keep}


def declarative(task: Task) -> bool:
    """A library task a proposal could have written (the examples come from these)."""
    ((family, params),) = task.target_spec.items()
    return (
        task.category in ("basic", "games", "distributions")
        and next(iter(task.answer_spec)) in ("choice", "integer")
        and (family in ("uniform_int", "uniform_choice")
             or (family == "categorical" and isinstance((params or {}).get("weights"), dict)))
    )  # fmt: skip


@dataclass
class Judged:
    raw: str
    seed: int
    reason: str | None = None
    detail: str = ""
    proposal: Proposal | None = None
    completed: bool = False
    """randbench appended the sentence stating the distribution (``--complete-prompts``)."""
    task: Task | None = None
    path: Path | None = None


@dataclass
class Library:
    """What a new task must differ from: the library's tasks, then each accepted one."""

    names: set[str]
    signatures: set[tuple[Any, ...]]
    prompts: list[str]
    embeddings: np.ndarray
    encode: Callable[[Sequence[str]], np.ndarray]

    @classmethod
    def of(cls, tasks: Sequence[Task], encode: Callable[[Sequence[str]], np.ndarray]) -> Library:
        signatures = {s for t in tasks if (s := target_signature(t.target_spec)) is not None}
        prompts = [t.prompt for t in tasks]
        return cls({t.name for t in tasks}, signatures, prompts, encode(prompts), encode)

    def duplicate(self, proposal: Proposal, thresholds: Thresholds) -> str | None:
        if proposal.name in self.names:
            return f"the name {proposal.name} is taken"
        if target_signature(target_spec(proposal)) in self.signatures:
            return "the same support and probabilities as a task already there"
        similarity = self.embeddings @ self.encode([proposal.prompt])[0]
        if len(similarity) and similarity.max() >= thresholds.prompt_similarity:
            closest = self.prompts[int(similarity.argmax())]
            return f"prompt {similarity.max():.3f} similar to {closest!r}"
        return None

    def add(self, proposal: Proposal) -> None:
        self.names.add(proposal.name)
        signature = target_signature(target_spec(proposal))
        if signature is not None:
            self.signatures.add(signature)
        self.prompts.append(proposal.prompt)
        self.embeddings = np.vstack([self.embeddings, self.encode([proposal.prompt])])


def judge(
    raw: str, seed: int, library: Library, thresholds: Thresholds, out: Path,
    provenance: dict[str, Any], *, complete: bool = False,
) -> Judged:  # fmt: skip
    """One proposal through every check; accepted, it is written under ``out``. With
    ``complete``, a prompt that leaves out part of its declared distribution gets the
    sentence that states it (:func:`complete_prompt`) before the checks."""
    judged = Judged(raw, seed)
    try:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ProposalError("schema", f"not JSON: {error}") from None
        proposal = parse_proposal(data)
        target_spec(proposal)
        if complete:
            written = proposal
            proposal = complete_prompt(proposal)
            judged.completed = proposal is not written
        judged.proposal = proposal
        check_prompt_states_target(proposal)
        extra = {"prompt_completed_by": "randbench"} if judged.completed else {}
        text = task_yaml(proposal, {**provenance, "seed": seed, **extra})
        task = load_yaml(text, proposal)
        check_oracle(task, seed)
        why = library.duplicate(proposal, thresholds)
        if why:
            raise ProposalError("duplicate", why)
    except ProposalError as rejected:
        judged.reason, judged.detail = rejected.reason, rejected.detail
        return judged
    path = out / proposal.category / f"{proposal.name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    library.add(proposal)
    judged.task, judged.path = task, path
    return judged


def load_yaml(text: str, proposal: Proposal) -> Task:
    """The rendered YAML through the task loader and its sandbox, as a contributed file."""
    with tempfile.TemporaryDirectory(prefix="randbench-generated-") as folder:
        path = Path(folder) / proposal.category / f"{proposal.name}.yaml"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        tasks, problems = load_file(TaskFile(path, proposal.category))
    if problems or len(tasks) != 1:
        raise ProposalError("template", "; ".join(p.message for p in problems) or "no task")
    return tasks[0]


def check_oracle(task: Task, seed: int) -> None:
    """A perfect sampler, writing its answers as the parser's canonical text, must be read
    back in full and pass the task's own goodness-of-fit test."""
    rng = np.random.default_rng(seed)
    values = task.target.sample(rng, ORACLE_SAMPLES)
    outcomes = [read_answer(task.parser, task.target, task.parser.format(v, task.target))
                for v in values]  # fmt: skip
    invalid = [o.invalid_reason for o in outcomes if not o.valid]
    if invalid:
        raise ProposalError("oracle", f"{len(invalid)} perfect answers unreadable: {invalid[0]}")
    metrics = evaluate(task.target, outcomes, rng=rng)
    if metrics.p_value is not None and metrics.p_value < ORACLE_ALPHA:
        raise ProposalError("oracle", f"a perfect sampler fails its test (p={metrics.p_value:.2g})")


@dataclass
class Report:
    model: str
    seed: int
    judged: list[Judged] = field(default_factory=list)
    spread: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> list[Judged]:
        return [j for j in self.judged if j.reason is None]

    def counts(self) -> dict[str, int]:
        reasons = Counter(j.reason for j in self.judged if j.reason)
        valid = len(self.judged) - sum(reasons[r] for r in ("schema", "target", "prompt",
                                                             "template", "oracle"))  # fmt: skip
        return {"proposals": len(self.judged), "valid": valid,
                "unique": valid - reasons["duplicate"], "accepted": len(self.accepted),
                "accepted with a completed prompt": sum(j.completed for j in self.accepted),
                **{f"rejected: {r}": reasons[r] for r in REASONS}}  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "seed": self.seed, "counts": self.counts(),
                "spread": self.spread,
                "accepted": [str(j.path) for j in self.accepted]}  # fmt: skip


def spread(tasks: Sequence[Task], encode: Callable[[Sequence[str]], np.ndarray]) -> dict[str, Any]:
    """How varied a set of tasks is: mean pairwise embedding distance of the prompts,
    categories, and support sizes."""
    if not tasks:
        return {"tasks": 0}
    rows = encode([t.prompt for t in tasks])
    similarity = rows @ rows.T
    pairs = similarity[np.triu_indices(len(tasks), k=1)]
    sizes = [len(t.target.support() or []) for t in tasks]
    return {
        "tasks": len(tasks),
        "mean_pairwise_distance": float(np.mean(1 - pairs)) if len(pairs) else None,
        "categories": dict(Counter(t.category for t in tasks)),
        "support_sizes": {"median": float(np.median(sizes)), "min": min(sizes), "max": max(sizes)},
    }


def generate_tasks(
    propose: Callable[[str, int, Kind], str], model: str, examples: Sequence[Task],
    library_tasks: Sequence[Task], n: int, out: Path, *, seed: int = 0,
    thresholds: Thresholds | None = None,
    encode: Callable[[Sequence[str]], np.ndarray] | None = None, shots: int = 4,
    complete_prompts: bool = False,
) -> Report:  # fmt: skip
    """``n`` proposals from ``propose(prompt, seed, kind)``, each shown ``shots`` examples
    and asked for a kind and a subject, all drawn with the run's seed; accepted tasks go
    to ``out``, rejected ones to ``out/rejects.jsonl``, the counts and spread to
    ``out/report.json``."""
    if encode is None:
        from randbench.embedder import default_embedder

        encode = default_embedder().encode
    thresholds = thresholds or Thresholds()
    examples = [t for t in examples if declarative(t)]
    if not examples:
        raise ValueError("no example task a proposal could have written (see declarative())")
    if out.exists() and any(out.iterdir()):
        if not (out / "report.json").is_file():
            raise ValueError(f"{out}: not empty and not a previous `tasks generate` output")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    library = Library.of(library_tasks, encode)
    rng = np.random.default_rng(seed)
    report = Report(model, seed)
    with (out / "rejects.jsonl").open("w", encoding="utf-8") as rejects:
        for i in range(n):
            picked = rng.choice(len(examples), size=min(shots, len(examples)), replace=False)
            shown = [examples[int(k)] for k in picked]
            kind: Kind = KINDS[int(rng.integers(len(KINDS)))]
            subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
            prompt = few_shot_prompt(shown, kind, subject)
            provenance = {"model": model, "run_seed": seed, "proposal": i, "kind": kind,
                          "subject": subject, "prompt_sha": _sha(prompt)}  # fmt: skip
            judged = judge(propose(prompt, seed + i, kind), seed + i, library, thresholds, out,
                           provenance, complete=complete_prompts)  # fmt: skip
            report.judged.append(judged)
            if judged.reason:
                rejects.write(json.dumps({"proposal": i, "seed": judged.seed,
                                          "reason": judged.reason, "detail": judged.detail,
                                          "raw": judged.raw}) + "\n")  # fmt: skip
    accepted = [j.task for j in report.accepted if j.task is not None]
    hand_written = [t for t in library_tasks if declarative(t)]
    report.spread = {"generated": spread(accepted, encode), "library": spread(hand_written, encode)}
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=1) + "\n")
    return report


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


__all__ = ["Report", "Thresholds", "generate_tasks", "judge"]
