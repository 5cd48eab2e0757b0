"""What a run is: its options (:class:`RunConfig`), the sampling each task gets, and what
each task x method gave (:class:`TaskRun`: samples, scores, metrics, why it stopped)."""

from __future__ import annotations

from dataclasses import dataclass, field

from randbench.harness.methods.base import Method, Reading, SamplingMethod
from randbench.harness.requests import CandidateScores, SamplingParams
from randbench.metrics import TaskMetrics
from randbench.outcomes import ParseResult
from randbench.tasks import Task

DEFAULT_SAMPLING = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=64)
DEFAULT_STOP_ALPHA = 0.001


@dataclass(frozen=True)
class RunConfig:
    seed: int = 0
    samples: int | None = None
    """Samples per task for every task (default: each task's own ``samples``)."""
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    batch_size: int = 50
    """Samples per backend call; each finished batch is committed to the cache."""
    n_sim: int = 2000
    stop_alpha: float | None = DEFAULT_STOP_ALPHA
    """Stop sampling a task once the anytime-valid evidence that the model is no perfect
    sampler reaches 1/stop_alpha (:mod:`randbench.stopping`); None samples every task fully."""
    min_samples: int = 50
    """Answers a task gets before it may stop early."""
    tasks_in_flight: int = 8
    """Tasks whose next batch goes to the backend in one call (a local backend decodes
    their samples side by side; an API backend has more requests to keep in flight)."""


@dataclass(frozen=True)
class SampleRecord:
    """One unit: its first call's seed, its replies (one per call) and what they say."""

    index: int
    seed: int | None
    completion: str
    outcomes: tuple[ParseResult, ...]
    replies: tuple[str, ...] = ()
    reading: Reading | None = None


@dataclass
class TaskRun:
    task: Task
    method: str
    sampling: SamplingParams | None = None
    metrics: TaskMetrics | None = None
    skipped: str | None = None
    samples: list[SampleRecord] = field(default_factory=list)
    scores: CandidateScores | None = None
    model_calls: int = 0
    stopped: StopRecord | None = None


@dataclass(frozen=True)
class StopRecord:
    """Why sampling a task ended before its planned units."""

    units: int
    planned: int
    log_evidence: float
    alpha: float
    cells: str


def sampling_params(task: Task, config: RunConfig) -> SamplingParams:
    """The command line wins over the task's own settings, which win over the defaults."""
    task_gen = task.generation

    def pick(cli: float | None, task_value: float | None, default: float) -> float:
        return cli if cli is not None else task_value if task_value is not None else default

    return SamplingParams(
        temperature=pick(config.temperature, task_gen.temperature, DEFAULT_SAMPLING.temperature),
        top_p=pick(config.top_p, task_gen.top_p, DEFAULT_SAMPLING.top_p),
        max_tokens=int(pick(config.max_tokens, task_gen.max_tokens, DEFAULT_SAMPLING.max_tokens)),
    )


def work_units(task: Task, method: Method, config: RunConfig) -> int:
    """Progress units: the units of a sampling method, one for a scoring method."""
    if isinstance(method, SamplingMethod):
        return method.units(task, config.samples or task.samples)
    return 1
