"""randbench as a library: :func:`evaluate` and :func:`score`, which ``randbench run`` and
``randbench score`` only wrap (parse options, call, print, write).

Both return an :class:`Evaluation`: the typed result document (the object the result file
is made of, :mod:`randbench.result_schema`) and the task runs behind it. Nothing is written
unless asked (``output_path``, or :meth:`Evaluation.write`)::

    import randbench

    result = randbench.evaluate("oracle", tasks="dice_d6,coin_flip", samples=200)
    for task, methods in result.document.results.items():
        print(task, methods["direct"].values["tvd"], methods["direct"].p_value)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from randbench.harness.backends import Backend, ModelSpec, load_backend
from randbench.harness.cache import ResponseCache
from randbench.harness.judging import judge_completions, judge_groups
from randbench.harness.methods import METHODS, SamplingMethod
from randbench.harness.methods.base import Method
from randbench.harness.results import result_document, write_document
from randbench.harness.runner import Runner
from randbench.harness.runs import DEFAULT_STOP_ALPHA, RunConfig, TaskRun, work_units
from randbench.loader import load_tasks
from randbench.result_schema import ModelInfo, ResultDocument
from randbench.selection import select_tasks, split_patterns
from randbench.tasks import Task


@dataclass
class Evaluation:
    """One run's result: ``document`` is what its result file holds, ``runs`` what each task
    x method measured (with every sample), ``paths`` the files once written."""

    document: ResultDocument
    runs: list[TaskRun]
    paths: tuple[Path, Path] | None = None

    def write(self, output_path: Path | str) -> tuple[Path, Path]:
        """Write ``results_<model>_<time>.json`` and its samples file under ``output_path``."""
        self.paths = write_document(Path(output_path), self.document, self.runs)
        return self.paths


@dataclass
class Plan:
    """What :func:`evaluate` will run, before the model is asked anything."""

    tasks: list[Task]
    methods: list[Method]
    backend: Backend
    config: RunConfig

    def work(self) -> int:
        """The steps of work it takes (a progress bar's length): each sampled unit, and one
        per scored task; a task that stops early skips its remaining units."""
        return sum(work_units(t, m, self.config) for t in self.tasks for m in self.methods)


def plan(
    model: str,
    tasks: str | Sequence[str] = "all",
    methods: str | Sequence[str] = ("direct",),
    *,
    model_args: str = "",
    no_chat_template: bool = False,
    samples: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    batch_size: int = 50,
    include_path: Iterable[Path] = (),
    concurrency: int = 1,
    stop_early: bool = True,
    stop_alpha: float = DEFAULT_STOP_ALPHA,
    min_samples: int = 50,
    tasks_in_flight: int = 8,
) -> Plan:
    """Load the tasks, methods and model :func:`evaluate` would run. Raises the library's
    errors (an unknown task, method or model; a malformed task YAML) before any work."""
    chosen = select_tasks(load_tasks(list(include_path)), _names(tasks))
    if limit is not None:
        chosen = chosen[:limit]
    elicitation = [METHODS.get(name)() for name in _names(methods)]
    spec = ModelSpec.parse(model, model_args)
    backend = load_backend(spec.without_chat_template() if no_chat_template else spec)
    backend.concurrency = concurrency
    config = RunConfig(
        seed=seed, samples=samples, temperature=temperature, top_p=top_p,
        max_tokens=max_tokens, batch_size=batch_size,
        stop_alpha=stop_alpha if stop_early else None, min_samples=min_samples,
        tasks_in_flight=tasks_in_flight,
    )  # fmt: skip
    return Plan(chosen, elicitation, backend, config)


def evaluate(
    model: str,
    tasks: str | Sequence[str] = "all",
    methods: str | Sequence[str] = ("direct",),
    *,
    cache: Path | str | None = None,
    output_path: Path | str | None = None,
    progress: Callable[[int], None] | None = None,
    **options: object,
) -> Evaluation:
    """Ask ``model`` every selected task with every method, judge the answers, and return
    the result; ``options`` are :func:`plan`'s (samples, seed, model_args, ...).

    ``cache`` is the SQLite response cache that lets a killed run resume (default: none,
    kept in memory); ``progress`` is called with each step of work done; with
    ``output_path`` the result files are written there.
    """
    return run_plan(plan(model, tasks, methods, **options), cache, output_path, progress)  # type: ignore[arg-type]


def run_plan(
    chosen: Plan,
    cache: Path | str | None = None,
    output_path: Path | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Evaluation:
    """Run a :class:`Plan`. Raises ``CapabilityError`` (randbench.harness.backends) before
    any work when the model cannot serve a method, ``ValueError`` when a method refuses the
    tasks, ``BackendError`` when the model fails (the cache keeps every finished sample)."""
    responses = ResponseCache(":memory:" if cache is None else cache)
    try:
        runner = Runner(chosen.backend, responses, chosen.config)
        if progress is not None:
            runner.advance = progress
        runs = runner.run(chosen.tasks, chosen.methods)
    finally:
        responses.close()
    names = [m.name for m in chosen.methods]
    document = result_document(chosen.backend.identity(), names, chosen.config, runs)
    evaluation = Evaluation(document, runs)
    if output_path is not None:
        evaluation.write(output_path)
    return evaluation


def score(
    completions: Sequence[str],
    task: str,
    *,
    method: str = "direct",
    model_name: str = "",
    seed: int = 0,
    include_path: Iterable[Path] = (),
    output_path: Path | str | None = None,
    groups: Sequence[Hashable] | None = None,
) -> Evaluation:
    """Judge completions made elsewhere (one answer per completion, as ``method`` asks
    for them) with the task's parser and statistics. ``groups`` names the conversation or
    run of each completion: the answers of a group, in order, are tested against i.i.d.
    draws for serial structure (``dependence``), as the answers of one call are."""
    (chosen,) = select_tasks(load_tasks(list(include_path)), [task])
    elicitation = METHODS.get(method)()
    if not isinstance(elicitation, SamplingMethod):
        raise ValueError(f"method {method!r} does not produce completions to score")
    config = RunConfig(seed=seed)
    run = TaskRun(chosen, method)
    judge_completions(run, elicitation, completions, [None] * len(completions), config)
    if groups is not None:
        judge_groups(run, groups, config)
    model = ModelInfo(backend="scored", name=model_name)
    evaluation = Evaluation(result_document(model, [method], config, [run]), [run])
    if output_path is not None:
        evaluation.write(output_path)
    return evaluation


def _names(value: str | Sequence[str]) -> list[str]:
    return split_patterns(value) if isinstance(value, str) else list(value)
