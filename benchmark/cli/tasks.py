"""``randbench tasks list | show | validate | docs``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from randbench.catalogue import catalogue_markdown
from randbench.loader import (
    TaskFile,
    TaskLoadError,
    builtin_task_root,
    discover,
    load_files,
    load_tasks,
)
from randbench.plugins import spec_name
from randbench.selection import UnknownTaskError, select_tasks
from randbench.targets import Analysis
from randbench.tasks import Task

tasks_app = typer.Typer(help="List, show, validate and generate tasks.", no_args_is_help=True)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

IncludePath = Annotated[
    list[Path] | None,
    typer.Option(help="Also load the task YAMLs under this folder (repeatable)."),
]


def _load(include_path: list[Path] | None) -> list[Task]:
    try:
        return load_tasks(include_path or [])
    except (TaskLoadError, FileNotFoundError) as error:
        errors.print(f"[red]error:[/red] {error}", markup=True)
        raise typer.Exit(2) from None


@tasks_app.command("list")
def list_tasks(
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only tasks of this group.")
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Only tasks of this split: train or heldout.")
    ] = None,
    include_path: IncludePath = None,
) -> None:
    """List tasks with their target, answer parser, sample count and split."""
    tasks = _load(include_path)
    if group:
        tasks = _select(tasks, group)
    if split:
        tasks = [t for t in tasks if t.split == split]
    table = Table(title=f"{len(tasks)} tasks", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("category/task", no_wrap=True, min_width=30)
    table.add_column("target", overflow="ellipsis", no_wrap=True)
    table.add_column("answer", no_wrap=True, min_width=11)
    table.add_column("samples", no_wrap=True, min_width=7, justify="right")
    table.add_column("split", no_wrap=True, min_width=7)
    for task in tasks:
        table.add_row(
            task.qualified_name,
            _short(task.target.describe(), 32),
            spec_name(task.answer_spec),
            str(task.samples),
            task.split,
        )
    console.print(table)


@tasks_app.command("show")
def show_task(
    name: Annotated[str, typer.Argument(help="Task name, category/name, group or glob.")],
    include_path: IncludePath = None,
) -> None:
    """Show a task: its rendered prompt, target summary and support."""
    for task in _select(_load(include_path), [name]):
        _show(task)


@tasks_app.command("validate")
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Task files or folders (default: the built-in library)."),
    ] = None,
) -> None:
    """Check task YAMLs and report every problem in every file; exit 1 if there is any."""
    roots = paths or [builtin_task_root()]
    try:
        task_files = discover(roots)
    except FileNotFoundError as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    checked = {f.path.resolve() for f in task_files}
    library = _library_files_not_replaced_by(task_files)
    tasks, problems = load_files(task_files + library)
    shown = [p for p in problems if Path(p.file).resolve() in checked]
    for problem in shown:
        console.print(str(problem), soft_wrap=True)
    ok = [t for t in tasks if t.path is not None and t.path.resolve() in checked]
    bad_files = len({p.file for p in shown})
    summary = (
        f"{len(task_files)} files, {len(ok)} tasks: {len(shown)} problem(s) in {bad_files} file(s)"
    )
    console.print(summary)
    if shown:
        raise typer.Exit(1)


def _library_files_not_replaced_by(task_files: list[TaskFile]) -> list[TaskFile]:
    """The built-in library, less the files being validated (a checkout's copy replaces its own).

    Validating a new file also checks its task names against the whole library.
    """
    replaced = {(f.category, f.path.name) for f in task_files}
    checked = {f.path.resolve() for f in task_files}
    return [
        f
        for f in discover([builtin_task_root()])
        if f.path.resolve() not in checked and (f.category, f.path.name) not in replaced
    ]


@tasks_app.command("docs")
def docs(
    output: Annotated[Path, typer.Option("--output", "-o", help="Markdown file.")] = Path(
        "docs/tasks.md"
    ),
) -> None:
    """Write the task catalogue (docs/tasks.md) from the YAMLs."""
    output.write_text(catalogue_markdown(_load(None)), encoding="utf-8")
    console.print(f"wrote {output}")


def _select(tasks: list[Task], patterns: list[str]) -> list[Task]:
    try:
        return select_tasks(tasks, patterns)
    except UnknownTaskError as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None


def _show(task: Task) -> None:
    console.rule(f"[bold]{task.qualified_name}[/bold]")
    rows = [
        ("description", task.description),
        ("groups", ", ".join(task.groups)),
        ("split", task.split),
        ("samples", str(task.samples)),
        ("answer", str(task.answer_spec)),
        ("target", task.target.describe()),
        ("hash", task.hash),
        ("file", str(task.path)),
    ]
    if task.source:
        rows.append(("source", task.source))
    if task.generation.model_dump(exclude_none=True):
        rows.append(("generation", str(task.generation.model_dump(exclude_none=True))))
    for key, value in rows:
        console.print(f"[bold]{key}:[/bold] {escape(value)}")
    for label, text in (("system", task.system), ("prompt", task.prompt)):
        if text:
            console.print(f"[bold]{label}:[/bold]\n{escape(text)}")
    if task.assistant_prefix:
        console.print(f"[bold]assistant prefix:[/bold] {escape(task.assistant_prefix)!r}")
    if task.completion:
        console.print("[bold]completion:[/bold] plain text, sent without a chat template")
    summary = task.target.summary().model_dump(exclude_none=True)
    console.print(
        "[bold]target summary:[/bold] " + ", ".join(f"{k}={v:.6g}" for k, v in summary.items())
    )
    _show_support(task)


def _show_support(task: Task, limit: int = 30) -> None:
    support = task.target.support()
    if support is None:
        _show_examples(task)
        return
    probs = task.target.probabilities()
    table = Table(
        "answer",
        "candidate text",
        "probability",
        title=f"support ({len(support)} outcomes)",
        title_justify="left",
    )
    for value, p in list(zip(support, probs, strict=True))[:limit]:
        candidate = task.parser.format(value, task.target)
        table.add_row(escape(str(value)), escape(repr(candidate)), f"{p:.4f}")
    console.print(table)
    if len(support) > limit:
        console.print(f"... {len(support) - limit} more")


def _show_examples(task: Task) -> None:
    if task.target.analysis is Analysis.OPEN_ENDED:
        console.print("[bold]support:[/bold] open-ended (no target distribution)")
        return
    examples = task.target.sample(np.random.default_rng(0), 5)
    shown = ", ".join(repr(task.parser.format(v, task.target)) for v in examples)
    console.print(f"[bold]support:[/bold] too large to list; exact samples: {escape(shown)}")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@tasks_app.command("generate")
def generate(
    model: Annotated[
        str, typer.Option(help="smollm2, gemma3 (embedded), llamacpp:PATH.gguf or openai:MODEL.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the accepted task YAMLs (replaced).")],
    from_groups: Annotated[
        str, typer.Option("--from", help="Library tasks shown as examples: names, groups, globs.")
    ] = "basic,games,distributions",
    n: Annotated[int, typer.Option(min=1, help="Proposals to ask for.")] = 20,
    seed: Annotated[int, typer.Option()] = 0,
    prompt_similarity: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Cosine similarity of a near-duplicate.")
    ] = 0.75,
    temperature: Annotated[float, typer.Option(min=0.0)] = 1.0,
    complete_prompts: Annotated[
        bool,
        typer.Option(
            help="State the declared choices/range/weights in the prompt where "
            "the model left them out, instead of rejecting it."
        ),
    ] = False,
) -> None:
    """A model writes new tasks under a JSON-schema grammar; randbench renders, validates
    and de-duplicates them (docs/generated-tasks.md). Accepted tasks load with
    --include-path OUT; every rejected proposal is in OUT/rejects.jsonl with its reason."""
    from randbench.generation.pipeline import Thresholds, declarative, generate_tasks
    from randbench.generation.proposers import proposer
    from randbench.selection import split_patterns

    library = _load(None)
    try:
        examples = [t for t in select_tasks(library, split_patterns(from_groups)) if declarative(t)]
        propose = proposer(model, temperature=temperature)
    except (UnknownTaskError, ValueError, FileNotFoundError) as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    if not examples:
        errors.print(f"error: --from {from_groups!r} has no task a proposal could write")
        raise typer.Exit(2)
    try:
        report = generate_tasks(
            propose, model, examples, library, n, out, seed=seed,
            thresholds=Thresholds(prompt_similarity=prompt_similarity),
            complete_prompts=complete_prompts,
        )  # fmt: skip
    except ValueError as error:
        errors.print(f"error: {error}")
        raise typer.Exit(2) from None
    table = Table(box=box.SIMPLE)
    table.add_column("proposals")
    table.add_column("count", justify="right")
    for label, count in report.counts().items():
        table.add_row(label, str(count))
    console.print(table)
    for side, found in report.spread.items():
        console.print(f"{side}: {json.dumps(found)}")
    console.print(f"accepted tasks: {out} (load with --include-path {out}); report: "
                  f"{out / 'report.json'}; rejects: {out / 'rejects.jsonl'}")  # fmt: skip
