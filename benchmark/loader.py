"""Task YAML files -> concrete :class:`Task` objects, or every problem found, each located.

A broken task is an error, never silently skipped: loading collects every
problem of every file (file, line, field path, what was expected) and
:func:`load_tasks` refuses to go on while any remain.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from randbench.context import CONTEXT_VARIABLES, context_variables
from randbench.parsers import PARSERS, Parser
from randbench.plugins import (
    PluginError,
    build_plugin,
    canonical_spec,
    describe_validation_error,
)
from randbench.schema import ContextSpec, GenerationDefaults, ScoredAnswer, TaskSpec
from randbench.targets import TARGETS, Target
from randbench.tasks import Task, split_hash
from randbench.templating import TemplateRenderError, render_text, render_tree

TASK_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class TaskProblem:
    """One thing wrong with one task file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class TaskLoadError(Exception):
    """Raised when any task file has a problem; carries all of them."""

    def __init__(self, problems: Sequence[TaskProblem]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in task files:\n{listing}")


@dataclass(frozen=True)
class TaskFile:
    path: Path
    category: str


def builtin_task_root() -> Path:
    """The task library shipped inside the package (``task_yaml/`` in the source tree)."""
    return Path(str(files("randbench.task_yaml")))


def discover(paths: Iterable[Path]) -> list[TaskFile]:
    """Task files under each path; the category is the first folder below the root."""
    found: list[TaskFile] = []
    for root in paths:
        if root.is_file():
            found.append(TaskFile(root, root.parent.name))
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"no task file or folder at {root}")
        for path in sorted(p for p in root.rglob("*") if p.suffix in TASK_SUFFIXES):
            relative = path.relative_to(root)
            category = relative.parts[0] if len(relative.parts) > 1 else root.name
            found.append(TaskFile(path, category))
    return found


def library_split_hash() -> str:
    """The held-out split version of the built-in library (:func:`randbench.tasks.split_hash`)."""
    return split_hash(load_tasks())


def load_tasks(include_paths: Sequence[Path] = (), *, builtin: bool = True) -> list[Task]:
    """Every task of the built-in library and of ``include_paths``; raises on any problem."""
    roots = ([builtin_task_root()] if builtin else []) + list(include_paths)
    tasks, problems = load_files(discover(roots))
    if problems:
        raise TaskLoadError(problems)
    return tasks


def load_files(task_files: Sequence[TaskFile]) -> tuple[list[Task], list[TaskProblem]]:
    """Load all files, then report task names that more than one file defines."""
    tasks: list[Task] = []
    problems: list[TaskProblem] = []
    for task_file in task_files:
        file_tasks, file_problems = load_file(task_file)
        tasks.extend(file_tasks)
        problems.extend(file_problems)
    problems.extend(duplicate_name_problems(tasks))
    return tasks, problems


def duplicate_name_problems(tasks: Sequence[Task]) -> list[TaskProblem]:
    by_name: dict[str, list[Task]] = {}
    for task in tasks:
        by_name.setdefault(task.name, []).append(task)
    problems: dict[TaskProblem, None] = {}
    for name, same in by_name.items():
        if len(same) < 2:
            continue
        places = sorted({str(t.path) for t in same})
        for place in places:
            others = ", ".join(p for p in places if p != place) or "this same file"
            message = f"duplicate task name {name!r}; also in {others}"
            problems[TaskProblem(place, None, "task", message)] = None
    return list(problems)


def load_file(task_file: TaskFile) -> tuple[list[Task], list[TaskProblem]]:
    """One file's concrete tasks, or its problems (never both partially: a file is all or none)."""
    path = task_file.path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [], [TaskProblem(str(path), None, "", f"cannot read the file: {error}")]
    key = (str(path), task_file.category, text)
    if key not in _LOADED:
        if len(_LOADED) >= MAX_REMEMBERED_FILES:
            _LOADED.clear()
        _LOADED[key] = _load_text(task_file, text)
    tasks, problems = _LOADED[key]
    return list(tasks), list(problems)


MAX_REMEMBERED_FILES = 4096
_LOADED: dict[tuple[str, str, str], tuple[list[Task], list[TaskProblem]]] = {}
"""Each file's tasks by its path, category and text: a process that loads the library
again (a notebook's second evaluate, the test suite) parses only files whose text changed.
Tasks are frozen, so sharing them is safe."""


def _load_text(task_file: TaskFile, text: str) -> tuple[list[Task], list[TaskProblem]]:
    path = task_file.path
    locate = _Locator(str(path), text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        return [], [TaskProblem(str(path), line, "", f"not valid YAML: {problem}")]
    problems = locate.duplicate_keys()
    if not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "an empty file"
        return [], [
            *problems,
            locate.problem((), f"expected a mapping of task fields, got {found}"),
        ]
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as error:
        problems += [_schema_problem(locate, e) for e in error.errors()]
        partial = _valid_part(data, error)
        if partial is None:
            return [], problems
        spec = partial
    tasks, expansion_problems = _expand(spec, task_file, locate)
    problems += expansion_problems
    problems.sort(key=lambda p: p.line or 0)
    return ([], problems) if problems else (tasks, [])


def _valid_part(data: dict[str, Any], error: ValidationError) -> TaskSpec | None:
    """The fields that did validate, so that the rest of the file is still checked.

    Returns None when the parameters or the context block are broken: every template would
    then report undefined variables that are not the author's mistake.
    """
    broken = {e["loc"][0] for e in error.errors() if e["loc"]}
    if "params" in broken or "context" in broken:
        return None
    fields: dict[str, Any] = {}
    for name, info in TaskSpec.model_fields.items():
        alone = _alone(name, data[name]) if name in data and name not in broken else None
        if alone is not None:
            fields[name] = alone.__dict__[name]
        elif not info.is_required():
            fields[name] = info.get_default(call_default_factory=True)
        else:
            fields[name] = None
    return TaskSpec.model_construct(**fields)


def _alone(name: str, value: Any) -> TaskSpec | None:
    """The spec with ``value`` as its only real field, or None when the field is valid only
    beside others (``split: heldout`` needs ``novelty``: that rule reports it)."""
    try:
        return TaskSpec.model_validate({**_PLACEHOLDERS, name: value})
    except ValidationError:
        return None


_PLACEHOLDERS: dict[str, Any] = {
    "task": "x",
    "prompt": "x",
    "answer": "text",
    "target": {"x": None},
}


def _schema_problem(locate: _Locator, error: Any) -> TaskProblem:
    loc = tuple(error["loc"])
    nested: dict[str, type[BaseModel]] = {
        "context": ContextSpec,
        "generation": GenerationDefaults,
        "scored_answer": ScoredAnswer,
    }
    model = nested.get(str(loc[0]), TaskSpec) if loc and len(loc) > 1 else TaskSpec
    fields = model.model_fields
    return locate.problem(loc, describe_validation_error(error, fields))


def _expand(
    spec: TaskSpec, task_file: TaskFile, locate: _Locator
) -> tuple[list[Task], list[TaskProblem]]:
    tasks: list[Task] = []
    problems: list[TaskProblem] = []
    clash = sorted(set(spec.params) & set(CONTEXT_VARIABLES)) if spec.context else []
    if clash:
        message = f"{', '.join(clash)}: defined by the context block; rename the parameter"
        return [], [locate.problem(("params",), message)]
    contexts = context_variables(spec.context, spec.task) if spec.context else [{}]
    for variables in ({**p, **c} for p in _combinations(spec.params) for c in contexts):
        before = len(problems)
        task = _concrete(spec, variables, task_file, locate, problems)
        if task is not None and len(problems) == before:
            tasks.append(task)
    return ([], problems) if problems else (tasks, [])


def _combinations(params: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    names = list(params)
    for values in itertools.product(*(params[n] for n in names)):
        yield dict(zip(names, values, strict=True))


def _concrete(
    spec: TaskSpec,
    variables: dict[str, Any],
    task_file: TaskFile,
    locate: _Locator,
    problems: list[TaskProblem],
) -> Task | None:
    suffix = f" (with {_show(variables)})" if variables else ""

    def rendered(field: str, render: Any, template: Any) -> Any:
        """``render(template)``; None when absent or broken (then the problem is recorded)."""
        if template is None:
            return None
        try:
            return render(template, variables)
        except TemplateRenderError as error:
            problems.append(locate.problem((field,), f"{error}{suffix}"))
            return None

    def text(field: str, template: str | None) -> str | None:
        result: str | None = rendered(field, render_text, template)
        return result

    name, description = text("task", spec.task), text("description", spec.description)
    prompt, system = text("prompt", spec.prompt), text("system", spec.system)
    prefix = text("assistant_prefix", spec.assistant_prefix)
    target_spec = rendered("target", render_tree, spec.target)
    answer_spec = rendered("answer", render_tree, spec.answer)
    target = _build(TARGETS, "target", target_spec, locate, problems, suffix)
    reference_specs = {
        name: rendered("references", render_tree, ref) for name, ref in spec.references.items()
    }
    references = {
        name: _build(TARGETS, f"references.{name}", ref, locate, problems, suffix)
        for name, ref in reference_specs.items()
    }
    parser = _build(PARSERS, "answer", answer_spec, locate, problems, suffix)
    if target is not None and parser is not None:
        misfit = parser.check_fits(target)
        if misfit:
            problems.append(locate.problem(("answer",), f"{misfit}{suffix}"))
    if name is not None and not _is_task_name(name):
        problems.append(
            locate.problem(
                ("task",),
                f"task name {name!r} must be lowercase letters, digits and underscores{suffix}",
            )
        )
    if (
        name is None
        or prompt is None
        or description is None
        or target is None
        or parser is None
        or target_spec is None
        or answer_spec is None
        or any(r is None for r in references.values())
    ):
        return None
    return Task(
        name=name,
        category=task_file.category,
        groups=tuple(dict.fromkeys([task_file.category, *spec.group])),
        description=description,
        prompt=prompt,
        system=system,
        assistant_prefix=prefix,
        answer_spec=canonical_spec(answer_spec),
        target_spec=canonical_spec(target_spec),
        parser=parser,
        target=target,
        samples=spec.samples,
        split=spec.split,
        novelty=spec.novelty,
        generation=spec.generation,
        source=spec.source,
        version=spec.version,
        params=variables,
        path=task_file.path,
        scored_answer=spec.scored_answer,
        methods=spec.methods,
        stop_early=spec.stop_early,
        completion=spec.completion,
        references=references,
        reference_specs={n: canonical_spec(r) for n, r in reference_specs.items()},
    )


def _build(
    registry: Any,
    field: str,
    spec: Any,
    locate: _Locator,
    problems: list[TaskProblem],
    suffix: str,
) -> Any:
    if spec is None:
        return None
    try:
        built: Target | Parser = build_plugin(registry, spec)
        return built
    except PluginError as error:
        for sub_field, message in error.problems:
            loc = (*field.split("."), *sub_field.split(".")) if sub_field else (field,)
            problems.append(locate.problem(loc, f"{message}{suffix}"))
        return None


def _is_task_name(name: str) -> bool:
    return bool(name) and all(c.islower() or c.isdigit() or c == "_" for c in name)


def _show(variables: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in variables.items())


class _Locator:
    """Maps a field path to its line in the YAML source, for error messages."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        try:
            self.root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self.root = None

    def problem(self, loc: tuple[Any, ...], message: str) -> TaskProblem:
        field = ".".join(str(part) for part in loc)
        return TaskProblem(self.file, self.line(loc), field, message)

    def line(self, loc: tuple[Any, ...]) -> int | None:
        node, line = self.root, None
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node, line = child[1], child[0]
        if line is None and self.root is not None:
            return None
        return line

    def duplicate_keys(self) -> list[TaskProblem]:
        """PyYAML keeps the last of two equal keys silently; a task author must hear of it."""
        problems: list[TaskProblem] = []
        stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(self.root, ())] if self.root else []
        while stack:
            node, path = stack.pop()
            if isinstance(node, yaml.MappingNode):
                seen: set[str] = set()
                for key, value in node.value:
                    name = str(key.value)
                    if name in seen:
                        field = ".".join((*path, name))
                        problems.append(
                            TaskProblem(
                                self.file,
                                key.start_mark.line + 1,
                                field,
                                "duplicate key (YAML would keep only the last one)",
                            )
                        )
                    seen.add(name)
                    stack.append((value, (*path, name)))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend((item, (*path, str(i))) for i, item in enumerate(node.value))
        return problems


def _child(node: yaml.Node | None, part: Any) -> tuple[int, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(part):
                return key.start_mark.line + 1, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item = node.value[part]
        return item.start_mark.line + 1, item
    return None
