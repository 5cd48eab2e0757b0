"""Generated tasks (issue #33): each rejection reason on a constructed proposal, the
duplicate filter on paraphrases, a generated task through `tasks validate` and the
oracle, and a grammar-constrained proposal from SmolLM2 that parses."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from randbench.cli import app
from randbench.generation.pipeline import (
    Library,
    Thresholds,
    check_oracle,
    generate_tasks,
    judge,
)
from randbench.generation.proposal import ProposalError
from randbench.loader import load_tasks

LIBRARY = load_tasks()
GEM = {
    "name": "pick_a_gemstone", "category": "basic", "kind": "uniform_choice",
    "prompt": "Pick a gemstone at random: ruby, emerald or sapphire. Reply with only the gem.",
    "choices": ["ruby", "emerald", "sapphire"], "weights": [], "low": 0, "high": 0,
}  # fmt: skip


def hashed(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors that differ for any two different texts (no semantics: the exact
    duplicate checks run alone)."""
    rows = np.array([np.random.default_rng(zlib.crc32(t.encode())).normal(size=32)
                     for t in texts]).reshape(len(texts), 32)  # fmt: skip
    return rows / np.linalg.norm(rows, axis=1, keepdims=True) if len(texts) else rows


def judged(tmp_path: Path, **change: Any) -> tuple[str | None, str]:
    library = Library.of(LIBRARY, hashed)
    found = judge(json.dumps({**GEM, **change}), 0, library, Thresholds(), tmp_path,
                  {"model": "test"})  # fmt: skip
    return found.reason, found.detail


@pytest.mark.parametrize(
    ("change", "reason", "detail"),
    [
        ({}, None, ""),
        ({"kind": "coin"}, "schema", "kind: Input should be"),
        ({"name": "Bad Name"}, "schema", "name: String should match pattern"),
        ({"choices": ["ruby"]}, "target", "two or more distinct"),
        ({"kind": "weighted_choice", "weights": [0.5, 0.3, 0.1]}, "target", "weights sum to 0.9"),
        ({"kind": "weighted_choice", "weights": [0.5, 0.5]}, "target", "2 weights for 3 choices"),
        ({"kind": "uniform_int", "low": 9, "high": 3}, "target", "low 9 is not below high 3"),
        ({"choices": ["ruby", "emerald", "opal"]}, "prompt", "does not name the choice(s) opal"),
        ({"kind": "weighted_choice", "weights": [0.5, 0.3, 0.2]}, "prompt", "weight(s) 0.5, 0.3"),
        ({"kind": "uniform_int", "low": 1, "high": 12}, "prompt", "range end(s) 1, 12"),
        ({"kind": "uniform_int", "low": 1, "high": 12, "prompt": "A number from 1 to 12.5, "
          "please: any one, picked at random."}, "prompt", "range end(s) 12"),
        ({"kind": "uniform_int", "low": 3, "high": 17, "name": "odd_range",
          "prompt": "Pick a whole number from 3 to 17."}, None, ""),
        ({"prompt": GEM["prompt"] + " {{ 1 + }}"}, "template", "template error"),
        ({"name": "dice_d6"}, "duplicate", "the name dice_d6 is taken"),
        ({"name": "weekday_again", "prompt": "Name a random day: Monday, Tuesday, Wednesday, "
          "Thursday, Friday, Saturday or Sunday.", "choices": ["Monday", "Tuesday", "Wednesday",
          "Thursday", "Friday", "Saturday", "Sunday"]}, "duplicate", "same support"),
    ],
)  # fmt: skip
def test_each_rejection_reason_on_a_constructed_proposal(
    tmp_path: Path, change: dict[str, Any], reason: str | None, detail: str
) -> None:
    got, why = judged(tmp_path, **change)
    assert got == reason and detail in why, why


def test_a_stated_weighted_proposal_is_accepted_with_its_declared_target(tmp_path: Path) -> None:
    prompt = ("Pick a gemstone: ruby with probability 50%, emerald 30% and sapphire 20%. "
              "Reply with only the gem.")  # fmt: skip
    reason, why = judged(tmp_path, kind="weighted_choice", weights=[50, 30, 20], prompt=prompt)
    assert reason is None, why
    (path,) = tmp_path.rglob("pick_a_gemstone.yaml")
    text = path.read_text()
    assert "# model: test" in text and "split: generated" in text
    (task,) = load_tasks([path], builtin=False)
    assert dict(zip(task.target.support() or [], task.target.probabilities(), strict=True)) == {
        "ruby": 0.5, "emerald": 0.3, "sapphire": 0.2}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "stated"),
    [
        ({"choices": ["ruby", "emerald", "opal"]}, "Answer with one of: ruby, emerald, opal."),
        ({"kind": "weighted_choice", "weights": [50, 30, 20]},
         "The chances are: ruby 50%, emerald 30%, sapphire 20%."),
        ({"kind": "uniform_int", "low": 3, "high": 17}, "Answer with a whole number from 3 to 17."),
    ],
)  # fmt: skip
def test_a_completed_prompt_states_what_the_model_left_out(
    tmp_path: Path, change: dict[str, Any], stated: str
) -> None:
    """--complete-prompts: the rejection for the prompt becomes an appended sentence, which
    the same prompt check then passes; a prompt that states everything is left alone."""
    library = Library.of(LIBRARY, hashed)
    found = judge(json.dumps({**GEM, **change}), 0, library, Thresholds(), tmp_path,
                  {"model": "test"}, complete=True)  # fmt: skip
    assert found.reason is None and found.completed, found.detail
    assert found.proposal is not None and stated in found.proposal.prompt
    assert "prompt_completed_by: randbench" in (found.path or Path()).read_text()
    whole = judge(json.dumps({**GEM, "name": "gems_whole"}), 0, Library.of(LIBRARY, hashed),
                  Thresholds(), tmp_path, {"model": "test"}, complete=True)  # fmt: skip
    assert whole.reason is None and not whole.completed
    assert whole.proposal is not None and whole.proposal.prompt == GEM["prompt"]


def test_the_oracle_check_rejects_a_task_whose_answers_cannot_be_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert judged(tmp_path)[0] is None
    (task,) = load_tasks([tmp_path], builtin=False)
    check_oracle(task, 0)
    monkeypatch.setattr(type(task.parser), "format", lambda self, value, target: "no idea")
    with pytest.raises(ProposalError, match="oracle: 200 perfect answers unreadable"):
        check_oracle(task, 0)


@pytest.mark.slow
def test_paraphrases_of_a_library_prompt_are_near_duplicates_and_new_prompts_are_not() -> None:
    from randbench.embedder import default_embedder

    library = Library.of(LIBRARY, default_embedder().encode)
    from randbench.generation.proposal import parse_proposal

    for prompt in (
        "Choose a random day of the week. Answer with just the name of the day.",
        "Tell me one day of the week, picked at random; only its name please.",
    ):
        paraphrase = {**GEM, "name": "weekday_pick", "prompt": prompt,
                      "choices": ["Monday", "Friday"]}  # fmt: skip
        why = library.duplicate(parse_proposal(paraphrase), Thresholds())
        assert why is not None and "similar to 'Pick a random day of the week" in why
    assert library.duplicate(parse_proposal(GEM), Thresholds()) is None


def test_a_generated_folder_validates_loads_and_reports(tmp_path: Path) -> None:
    proposals = iter([json.dumps(GEM), "not json", json.dumps({**GEM, "name": "gems_again"})])
    report = generate_tasks(lambda text, seed, kind: next(proposals), "test", LIBRARY[:40], LIBRARY,
                            3, tmp_path / "gen", encode=hashed)  # fmt: skip
    counts = report.counts()
    assert counts["proposals"] == 3 and counts["accepted"] == 1
    assert counts["rejected: schema"] == 1 and counts["rejected: duplicate"] == 1
    rejects = [json.loads(line) for line in (tmp_path / "gen" / "rejects.jsonl").open()]
    assert [r["reason"] for r in rejects] == ["schema", "duplicate"]
    assert rejects[0]["raw"] == "not json"
    written = json.loads((tmp_path / "gen" / "report.json").read_text())
    assert written["counts"] == counts and written["spread"]["generated"]["tasks"] == 1
    result = CliRunner().invoke(app, ["tasks", "validate", str(tmp_path / "gen")])
    assert result.exit_code == 0 and "1 tasks: 0 problem(s)" in result.output, result.output
    result = CliRunner().invoke(app, ["tasks", "list", "--include-path", str(tmp_path / "gen")])
    assert "pick_a_gemstone" in result.output
    with pytest.raises(ValueError, match="not a previous `tasks generate` output"):
        generate_tasks(lambda text, seed, kind: "", "test", LIBRARY[:40], LIBRARY, 1, tmp_path,
                       encode=hashed)  # fmt: skip


@pytest.mark.slow
def test_smollm2_under_the_grammar_writes_a_proposal_that_parses() -> None:
    from randbench.generation.pipeline import declarative, few_shot_prompt
    from randbench.generation.proposal import KIND_FIELDS
    from randbench.generation.proposers import proposer

    propose = proposer("smollm2")
    examples = [t for t in LIBRARY if declarative(t)][:3]
    for kind, fields in KIND_FIELDS.items():
        data = json.loads(propose(few_shot_prompt(examples, kind, "birds"), 0, kind))
        assert set(data) == {"name", "category", "prompt", "kind", *fields}
        assert data["kind"] == kind
        for field in ("choices", "weights"):
            assert field not in fields or len(data[field]) >= 2, data


def test_a_generated_task_trains_and_the_checkpoint_names_it(tmp_path: Path) -> None:
    """Generated tasks are training data (only the held-out split is never trained on), and
    a checkpoint's identity says which of its tasks were generated (issue #33 item 6)."""
    from randbench.finetune.data import DataSettings, build_data
    from randbench.harness.adapters import checkpoint_identity

    assert judged(tmp_path)[0] is None
    (generated,) = load_tasks([tmp_path], builtin=False)
    hand = next(t for t in LIBRARY if t.name == "dice_d6")
    built = build_data([hand, generated], DataSettings(completions=2, paraphrases=1), ["sft"])
    sft = built.manifest["kinds"]["sft"]
    assert sft["splits"] == {"dice_d6": "train", "pick_a_gemstone": "generated"}
    card = {"base": "smollm2", "data": {"tasks": sft["tasks"], "splits": sft["splits"]}}
    identity = checkpoint_identity(card)
    assert identity["train_tasks"] == ["dice_d6", "pick_a_gemstone"]
    assert identity["generated_tasks"] == ["pick_a_gemstone"]
