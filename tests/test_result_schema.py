"""One schema for the result files: what the harness writes is what every reader reads,
the committed files read and write back unchanged, old versions migrate, and a file
missing a field is refused with the field's path."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import randbench
from randbench.harness.results import sample_lines
from randbench.leaderboard.load import ResultFileError, load_run
from randbench.result_schema import (
    SCHEMA_VERSION,
    ResultDocument,
    SchemaVersionError,
    document_json,
    json_schema,
    line_record,
    read_document,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "results").glob("results_*.json"))


@pytest.fixture(scope="module")
def oracle_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ResultDocument, Path, list[Any]]:
    """A real oracle run of several kinds of task and method, through the Python API."""
    result = randbench.evaluate(
        "oracle",
        tasks="dice_d6,coin_in_context_t0_n3,normal_50_10,shuffle_letters,weighted_colour",
        methods=("direct", "logprob", "multi_turn", "vs_standard"),
        samples=40,
    )
    path, _ = result.write(tmp_path_factory.mktemp("schema"))
    return result.document, path, sample_lines(result.runs)


def test_written_then_read_gives_equal_objects(
    oracle_run: tuple[ResultDocument, Path, list[Any]],
) -> None:
    document, path, lines = oracle_run
    read = load_run(path)
    assert read.document == document
    assert read.document.schema_version == SCHEMA_VERSION
    for line in lines:
        assert type(line).model_validate(json.loads(json.dumps(line_record(line)))) == line
    exact = read.tasks[("dice_d6", "logprob")]
    assert exact.logprobs is not None and len(exact.logprobs) == 6
    several = [s for s in read.tasks[("dice_d6", "multi_turn")].samples if s.calls]
    assert several and all(len(s.calls or []) > 1 for s in several)
    stated = [s for s in read.tasks[("dice_d6", "vs_standard")].samples if s.stated]
    assert stated, "verbalized sampling lines carry what each answer stated"


DOCUMENTED_DEFAULTS = {"schema_version": SCHEMA_VERSION, "metrics_version": 1}
"""Fields older files lack, read as these values (randbench.result_schema says why)."""


def _same(old: Any, new: Any, where: str) -> None:
    """``new`` (written back) holds ``old`` (the committed file): equal values, and any
    field the old file lacks is at its default (null, empty, false)."""
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        for key, value in old.items():
            assert key in new, f"{where}.{key} was dropped"
            _same(value, new[key], f"{where}.{key}")
        for key in new.keys() - old.keys():
            default = DOCUMENTED_DEFAULTS.get(key)
            assert new[key] in (None, {}, [], False, default), f"{where}.{key} was added"
    elif isinstance(old, list):
        assert isinstance(new, list) and len(old) == len(new), where
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(old, float) and isinstance(new, float) and math.isnan(old):
        assert math.isnan(new), where
    elif where.endswith(".date"):
        assert datetime.fromisoformat(old) == datetime.fromisoformat(new), where
    else:
        assert old == new and type(old) is type(new), f"{where}: {old!r} became {new!r}"


@pytest.mark.slow
@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_every_committed_file_reads_and_writes_back_unchanged(path: Path) -> None:
    """The schema declares every field the harness ever wrote: nothing is lost or altered
    by reading a published file and writing it again."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    document = read_document(raw)
    _same(raw, json.loads(document_json(document)), path.name)


def test_a_file_missing_a_required_field_is_refused_with_its_path(
    oracle_run: tuple[ResultDocument, Path, list[Any]], tmp_path: Path
) -> None:
    _, path, _ = oracle_run
    raw = json.loads(path.read_text(encoding="utf-8"))
    del raw["config"]["model"]["backend"]
    del raw["results"]["dice_d6"]["direct"]["n"]
    broken = tmp_path / path.name
    broken.write_text(json.dumps(raw), encoding="utf-8")
    samples = path.with_name("samples_" + path.name.removeprefix("results_")).with_suffix(".jsonl")
    (tmp_path / samples.name).write_bytes(samples.read_bytes())
    with pytest.raises(ResultFileError) as refused:
        load_run(broken)
    text = str(refused.value)
    assert "config.model.backend: Field required" in text
    assert "results.dice_d6.direct.n: Field required" in text


def test_versions_older_migrate_and_newer_are_refused_naming_both(
    oracle_run: tuple[ResultDocument, Path, list[Any]],
) -> None:
    document, path, _ = oracle_run
    raw = json.loads(path.read_text(encoding="utf-8"))
    unversioned = {k: v for k, v in raw.items() if k != "schema_version"}
    assert read_document(unversioned) == document  # version 1: the files before the field
    with pytest.raises(
        SchemaVersionError, match=f"{SCHEMA_VERSION + 1} is newer.*reads .{SCHEMA_VERSION}"
    ):
        read_document({**raw, "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaVersionError, match="not a version number"):
        read_document({**raw, "schema_version": "2"})


def test_the_published_json_schema_is_the_schema_of_this_code() -> None:
    """docs/result-schema.json is what ``randbench schema`` prints (regenerate it with
    ``randbench schema > docs/result-schema.json``)."""
    published = json.loads((ROOT / "docs" / "result-schema.json").read_text(encoding="utf-8"))
    assert published == json.loads(json.dumps(json_schema()))
    fields = published["$defs"]["ResultDocument"]["properties"]
    assert {"schema_version", "config", "results", "skipped", "in_context"} <= fields.keys()
