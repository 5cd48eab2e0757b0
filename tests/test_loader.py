"""Loading valid task files: families, groups, rendering, hashes, include paths, selection."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from randbench.loader import TaskFile, TaskLoadError, discover, load_file, load_tasks
from randbench.selection import UnknownTaskError, select_tasks

FAMILY = """\
task: dice_d{{ sides }}_{{ style }}
description: Roll a fair {{ sides }}-sided die.
group: dice
params:
  sides: [4, 6]
  style: [plain, polite]
prompt: "{% if style == 'polite' %}Please r{% else %}R{% endif %}oll a d{{ sides }}."
answer: integer
target: {uniform_int: {low: 1, high: "{{ sides }}"}}
samples: 300
split: heldout
novelty: parameter
generation: {temperature: 0.7}
"""


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_family_expands_to_cartesian_product(tmp_path: Path) -> None:
    path = write(tmp_path, "games/dice.yaml", FAMILY)
    tasks, problems = load_file(TaskFile(path, "games"))
    assert problems == []
    assert [t.name for t in tasks] == [
        "dice_d4_plain",
        "dice_d4_polite",
        "dice_d6_plain",
        "dice_d6_polite",
    ]
    d6 = tasks[3]
    assert d6.prompt == "Please roll a d6."
    assert d6.description == "Roll a fair 6-sided die."
    assert d6.target.support() == [1, 2, 3, 4, 5, 6]
    assert d6.target_spec == {"uniform_int": {"low": 1, "high": 6}}
    assert d6.groups == ("games", "dice")
    assert (d6.samples, d6.split, d6.generation.temperature) == (300, "heldout", 0.7)
    assert d6.params == {"sides": 6, "style": "polite"}
    assert d6.qualified_name == "games/dice_d6_polite"


def test_hash_is_stable_and_tracks_what_is_measured(tmp_path: Path) -> None:
    first = load_file(TaskFile(write(tmp_path, "a/t.yaml", FAMILY), "a"))[0]
    again = load_file(TaskFile(write(tmp_path, "b/t.yaml", FAMILY), "b"))[0]
    assert [t.hash for t in first] == [t.hash for t in again]
    assert len({t.hash for t in first}) == len(first)
    reworded = FAMILY.replace("Roll a fair", "Throw a fair")
    assert load_file(TaskFile(write(tmp_path, "c/t.yaml", reworded), "c"))[0][0].hash == (
        first[0].hash
    ), "the description does not change what is measured"
    more = FAMILY.replace("samples: 300", "samples: 301")
    assert load_file(TaskFile(write(tmp_path, "d/t.yaml", more), "d"))[0][0].hash != first[0].hash


def test_include_path_adds_user_tasks_and_reports_clashes(tmp_path: Path) -> None:
    write(tmp_path, "mine/dice.yaml", FAMILY)
    builtin = load_tasks()
    combined = load_tasks([tmp_path])
    assert len(combined) == len(builtin) + 4
    assert {t.category for t in combined if t.name.startswith("dice_d4_")} == {"mine"}
    write(tmp_path, "other/dice.yaml", FAMILY)
    with pytest.raises(TaskLoadError, match="duplicate task name 'dice_d4_plain'"):
        load_tasks([tmp_path])


def test_category_of_files_directly_under_a_root(tmp_path: Path) -> None:
    write(tmp_path, "dice.yaml", FAMILY)
    assert {f.category for f in discover([tmp_path])} == {tmp_path.name}


def test_missing_include_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no task file or folder"):
        load_tasks([tmp_path / "nope"])


def test_selection_by_name_group_category_and_glob(tmp_path: Path) -> None:
    tasks = load_file(TaskFile(write(tmp_path, "games/dice.yaml", FAMILY), "games"))[0]
    names = lambda chosen: [t.name for t in chosen]  # noqa: E731
    assert names(select_tasks(tasks, ["dice_d4_plain"])) == ["dice_d4_plain"]
    assert names(select_tasks(tasks, ["games/dice_d6_plain"])) == ["dice_d6_plain"]
    assert len(select_tasks(tasks, ["dice"])) == 4
    assert len(select_tasks(tasks, ["all"])) == 4
    assert names(select_tasks(tasks, ["*_polite", "dice_d4_polite"])) == [
        "dice_d4_polite",
        "dice_d6_polite",
    ]
    with pytest.raises(UnknownTaskError, match="did you mean dice_d4_plain"):
        select_tasks(tasks, ["dice_d4_plian"])


def test_selection_by_split(tmp_path: Path) -> None:
    tasks = load_file(TaskFile(write(tmp_path, "games/dice.yaml", FAMILY), "games"))[0]
    held = [tasks[0], *(dataclasses.replace(t, split="train", novelty=None) for t in tasks[1:])]
    assert [t.name for t in select_tasks(held, ["split:heldout"])] == [tasks[0].name]
    assert len(select_tasks(held, ["split:train"])) == 3
    with pytest.raises(UnknownTaskError, match="split:test"):
        select_tasks(held, ["split:test"])


def test_spellings_of_one_spec_hash_alike(tmp_path: Path) -> None:
    short = "task: t\nprompt: p\nanswer: integer\ntarget: {uniform_int: {low: 1, high: 6}}\n"
    long = short.replace("answer: integer", "answer: {integer: {}}")
    first = load_file(TaskFile(write(tmp_path, "a/t.yaml", short), "a"))[0][0]
    second = load_file(TaskFile(write(tmp_path, "b/t.yaml", long), "b"))[0][0]
    assert first.hash == second.hash
    assert first.answer_spec == {"integer": {}}


def test_scored_answer_is_read_checked_and_hashed(tmp_path: Path) -> None:
    plain = load_file(TaskFile(write(tmp_path, "a/t.yaml", FAMILY), "a"))[0][0]
    braces = FAMILY + 'scored_answer: {prefix: "{", suffix: "}", until: "\\n"}\n'
    wrapped = load_file(TaskFile(write(tmp_path, "b/t.yaml", braces), "b"))[0][0]
    assert plain.scored_answer.is_default and plain.scored_answer.write("3") == "3"
    assert wrapped.scored_answer.write("3") == "{3}" and wrapped.scored_answer.until == "\n"
    assert "scored_answer" not in plain.measurement(), "older task hashes stay valid"
    assert wrapped.hash != plain.hash

    typo = write(tmp_path, "c/t.yaml", FAMILY + 'scored_answer: {prefx: "{"}\n')
    _, problems = load_file(TaskFile(typo, "c"))
    (problem,) = problems
    assert "scored_answer.prefx" in str(problem) and "prefix" in str(problem)


def test_a_file_changed_between_loads_is_read_again(tmp_path: Path) -> None:
    """``load_tasks`` remembers each file's tasks by its text: a second load of unchanged
    files gives the same tasks, and a file rewritten in place (same size, same second)
    gives its new tasks, never the remembered ones; a file made malformed is refused."""
    path = write(tmp_path, "games/dice.yaml", FAMILY)
    first = load_tasks([tmp_path], builtin=False)
    assert load_tasks([tmp_path], builtin=False) == first
    path.write_text(FAMILY.replace("samples: 300", "samples: 301"), encoding="utf-8")
    assert {t.samples for t in load_tasks([tmp_path], builtin=False)} == {301}
    path.write_text(FAMILY.replace("answer: integer", "answer: integr"), encoding="utf-8")
    with pytest.raises(TaskLoadError, match="integr"):
        load_tasks([tmp_path], builtin=False)
