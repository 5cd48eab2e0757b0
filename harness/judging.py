"""Units of replies -> outcomes -> metrics: the one path from text to a judged task,
shared by ``randbench run`` and ``randbench score`` (generations made elsewhere)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from randbench.dependence import reproducibility, stated_distribution, within_call
from randbench.harness.methods.base import Reading, SamplingMethod
from randbench.harness.runs import RunConfig, SampleRecord, TaskRun
from randbench.metrics import TaskMetrics, evaluate
from randbench.outcomes import Outcome, ParseResult
from randbench.tasks import Task


def judge_units(
    run: TaskRun,
    method: SamplingMethod,
    units: Sequence[tuple[str, ...]],
    seeds: Sequence[int | None],
    config: RunConfig,
) -> None:
    """Read every unit into outcomes and score them: the one path from text to metrics,
    shared by ``randbench run`` and ``randbench score`` (generations made elsewhere)."""
    readings = [method.read(run.task, i, replies) for i, replies in enumerate(units)]
    run.samples = [
        SampleRecord(i, seed, method.display(replies), reading.outcomes, replies, reading)
        for i, (replies, seed, reading) in enumerate(zip(units, seeds, readings, strict=True))
    ]
    outcomes = [o for s in run.samples for o in s.outcomes]
    rng = np.random.default_rng([config.seed, int(run.task.hash[:8], 16)])
    run.metrics = evaluate(run.task.target, outcomes, rng=rng, n_sim=config.n_sim)
    measure_units(run.metrics, run.task, method, readings, rng, config.n_sim)


def judge_groups(run: TaskRun, groups: Sequence[Hashable], config: RunConfig) -> None:
    """Answers that came in order, one group per conversation or run (a scored file's
    grouping field): their serial structure against i.i.d. draws, as within a call."""
    assert run.metrics is not None
    if len(groups) != len(run.samples):
        raise ValueError(f"{len(groups)} group labels for {len(run.samples)} completions")
    calls: dict[Hashable, list[Outcome | None]] = {}
    for group, sample in zip(groups, run.samples, strict=True):
        calls.setdefault(group, []).extend(_value(o) for o in sample.outcomes)
    rng = np.random.default_rng([config.seed, int(run.task.hash[:8], 16), 1])
    longest = max(len(answers) for answers in calls.values())
    run.metrics.dependence = within_call(
        run.task.target, list(calls.values()), longest, rng=rng, n_sim=config.n_sim
    )


def measure_units(
    metrics: TaskMetrics,
    task: Task,
    method: SamplingMethod,
    readings: Sequence[Reading],
    rng: np.random.Generator,
    n_sim: int,
) -> None:
    """What units say beyond their marginal: dependence between the answers of one unit,
    stated distributions, and seeded replicates (each only where the method gives it)."""
    if method.answers(task) > 1:
        calls = [[_value(o) for o in r.outcomes] for r in readings]
        asked = method.answers(task)
        metrics.dependence = within_call(task.target, calls, asked, rng=rng, n_sim=n_sim)
        metrics.dependence.calls_of_other_length = sum(len(c) > asked for c in calls)
    stated = [s for r in readings for s in r.stated if s is not None]
    if any(r.stated for r in readings):
        metrics.verbalized = stated_distribution(task.target, stated)
    pairs = [(_value(r.outcomes[0]), _value(r.replicate)) for r in readings if r.replicate]
    if pairs:
        marginal = [o.value for r in readings for o in r.outcomes if _value(o) is not None]
        metrics.reproducibility = reproducibility(
            task.target, pairs, [v for v in marginal if v is not None]
        )


def _value(result: ParseResult | None) -> Outcome | None:
    return result.value if result is not None and result.valid else None


def judge_completions(
    run: TaskRun,
    method: SamplingMethod,
    completions: Sequence[str],
    seeds: Sequence[int | None],
    config: RunConfig,
) -> None:
    """:func:`judge_units` for single-call units (one completion each)."""
    judge_units(run, method, [(text,) for text in completions], seeds, config)
