"""The elicitation methods: prompts and parsing on crafted text, and each method end to end
through the runner on the oracle backend (which answers in the form a method asks for),
with resume after a kill for a multi-turn method and an enumerating backend as the known
case of dependent answers."""

from __future__ import annotations

import functools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from randbench.harness.backends import Backend, Capability, ModelSpec, load_backend
from randbench.harness.cache import ResponseCache
from randbench.harness.methods import METHODS, SamplingMethod
from randbench.harness.methods.seeded import prompt_seed
from randbench.harness.requests import Completion, GenerateRequest
from randbench.harness.results import write_results
from randbench.harness.runner import Runner
from randbench.harness.runs import RunConfig, TaskRun
from randbench.leaderboard.load import load_run
from randbench.loader import load_tasks
from randbench.selection import select_tasks
from randbench.tasks import Task

NEW_METHODS = ["sequence", "multi_turn", "vs_standard", "vs_cot", "vs_multi", "ssot", "seeded"]
GARBAGE = [
    "",
    "[",
    "]]][[[",
    '{"responses": [',
    '{"responses": [{"text": 3}]}',
    '{"responses": "no"}',
    "<answer>",
    "<answer></answer>",
    "[" * 500 + "1",
    '[{"text": null, "probability": "x%"}]',
    "\x00\ud7ff" * 50,
    '[{"text": "3", "probability": 1e999}]',
    "<think>[1,2,3,4,5]</think> nothing",
]


@functools.cache
def library() -> tuple[Task, ...]:
    """The task library, loaded once for this module (0.3-0.4 s a load)."""
    return tuple(load_tasks())


def task(name: str) -> Task:
    (found,) = select_tasks(list(library()), [name])
    return found


def method(name: str) -> SamplingMethod:
    made = METHODS.get(name)()
    assert isinstance(made, SamplingMethod)
    return made


def values(outcomes: Sequence[Any]) -> list[Any]:
    return [o.value if o.valid else o.invalid_reason for o in outcomes]


# ---------------------------------------------------------------- prompts and parsing


def test_sequence_prompt_and_reading() -> None:
    d6, sequence = task("dice_d6"), method("sequence")
    prompt = sequence.prompt(d6)
    system, user = prompt.messages
    assert system.role == "system" and "Generate 5 different responses" in system.content
    assert "{k}" not in system.content
    assert user.content == d6.prompt
    read = sequence.read(d6, 0, ("[3, 5, 1, 6, 2]",)).outcomes
    assert values(read) == [3, 5, 1, 6, 2]
    read = sequence.read(d6, 0, ('Sure! ["3", "nine", 9]',)).outcomes
    assert values(read) == [
        3,
        "no integer in the answer",
        "outside the target's support: 9",
        "missing answer",
        "missing answer",
    ]
    too_many = sequence.read(d6, 0, ("[1, 2, 3, 4, 5, 6, 1]",)).outcomes
    assert values(too_many) == [1, 2, 3, 4, 5, 6, 1], "a longer list keeps every answer"
    assert values(sequence.read(d6, 0, ("four",)).outcomes) == ["no list in the answer"] * 5
    # SmolLM2 wrote this for weighted_colour: a list, without the quotes it was asked for
    colours = task("weighted_colour")
    bare = sequence.read(colours, 0, ("[blue, red, green, white, skyblue]\n\nTry it.",))
    assert values(bare.outcomes) == [
        "blue",
        "red",
        "green",
        "no option in the answer: expected one of 'red', 'green', 'blue'",
        "no option in the answer: expected one of 'red', 'green', 'blue'",
    ]


def test_multi_turn_builds_one_conversation() -> None:
    d6, multi = task("dice_d6"), method("multi_turn")
    first = multi.next_prompt(d6, 0, ())
    assert first is not None and [m.role for m in first.messages] == ["user"]
    third = multi.next_prompt(d6, 0, ("4", "two"))
    assert third is not None
    assert [m.role for m in third.messages] == ["user", "assistant", "user", "assistant", "user"]
    assert [m.content for m in third.messages][1:4:2] == ["4", "two"]
    assert "alternative response" in third.messages[-1].content
    assert multi.next_prompt(d6, 0, ("1",) * 5) is None, "five turns, then the unit is complete"
    assert values(multi.read(d6, 0, ("4", "two", "6", "7", "3")).outcomes) == [
        4,
        "no integer in the answer",
        6,
        "outside the target's support: 7",
        3,
    ]


def test_vs_standard_records_samples_and_stated_probabilities() -> None:
    d6, vs = task("dice_d6"), method("vs_standard")
    (system, user) = vs.prompt(d6).messages
    assert "probability" in system.content and "relative to the full distribution" in system.content
    assert user.content == d6.prompt
    reply = json.dumps(
        {
            "responses": [
                {"text": "3", "probability": 0.2},
                {"text": "5", "probability": "20%"},
                {"text": "8", "probability": 0.1},
                {"text": "1", "probability": 0.3},
                {"text": "6", "probability": 0.2},
            ]
        }
    )
    reading = vs.read(d6, 0, (f"```json\n{reply}\n```",))
    assert values(reading.outcomes) == [3, 5, "outside the target's support: 8", 1, 6]
    assert reading.stated == (((3, 0.2), (5, 0.2), (8, 0.1), (1, 0.3), (6, 0.2)),)
    no_probability = vs.read(d6, 0, ('[{"text": "2"}, {"text": "4", "probability": 0.5}]',))
    assert values(no_probability.outcomes)[:2] == [2, 4], "a sample without probability counts"
    assert no_probability.stated == (None,), "but the call states no distribution"
    tagged = "<response><text>4</text><probability>0.25</probability></response>"
    assert values(vs.read(d6, 0, (tagged,)).outcomes)[0] == 4


def test_vs_cot_reads_the_list_after_the_reasoning() -> None:
    d6, cot = task("dice_d6"), method("vs_cot")
    assert "reasoning" in cot.prompt(d6).messages[0].content
    reply = (
        '{"reasoning": "A fair die gives each face 1/6, so [any] face will do.", '
        '"responses": [{"text": "2", "probability": 0.17}, {"text": "5", "probability": 0.17}]}'
    )
    reading = cot.read(d6, 0, (reply,))
    assert values(reading.outcomes) == [2, 5, "missing answer", "missing answer", "missing answer"]
    assert reading.stated == (((2, 0.17), (5, 0.17)),)


def test_vs_multi_asks_for_more_in_the_same_conversation() -> None:
    d6, multi = task("dice_d6"), method("vs_multi")
    assert multi.answers(d6) == 10
    second = multi.next_prompt(d6, 3, ('[{"text": "1", "probability": 0.2}]',))
    assert second is not None
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "user"]
    assert (
        second.messages[-1].content
        == "Generate 5 alternative responses to the original input prompt."
    )
    assert multi.next_prompt(d6, 3, ("a", "b")) is None
    reading = multi.read(d6, 3, ('[{"text": "1", "probability": 0.2}]', "nothing"))
    assert len(reading.outcomes) == 10 and values(reading.outcomes)[0] == 1
    assert reading.stated == (((1, 0.2),), None)


def test_ssot_reads_the_last_answer_tag() -> None:
    d6, ssot = task("dice_d6"), method("ssot")
    assert "<answer>" in ssot.prompt(d6).messages[0].content
    reply = (
        "<random_string>a8Zq</random_string><thinking><answer>2</answer>?</thinking>"
        "<answer>5</answer>"
    )
    assert values(ssot.read(d6, 0, (reply,)).outcomes) == [5]
    assert values(ssot.read(d6, 0, ("The answer is 5",)).outcomes) == ["no <answer> tag"]
    truncated = "<random_string>x</random_string><answer>4"
    assert values(ssot.read(d6, 0, (truncated,)).outcomes) == ["no <answer> tag"]


def test_seeded_prompts_carry_distinct_seeds_and_some_are_asked_twice() -> None:
    d6, seeded = task("dice_d6"), method("seeded")
    seeds = [prompt_seed(u) for u in range(5000)]
    assert len(set(seeds)) == len(seeds) and all(100_000 <= s < 1_000_000 for s in seeds)
    first = seeded.next_prompt(d6, 4, ())
    assert first is not None and str(prompt_seed(4)) in first.messages[-1].content
    assert d6.prompt in first.messages[-1].content
    assert seeded.next_prompt(d6, 4, ("3",)) == first, "unit 4 asks the same prompt again"
    assert seeded.next_prompt(d6, 5, ("3",)) is None, "unit 5 is asked once"
    reading = seeded.read(d6, 4, ("3", "six"))
    assert values(reading.outcomes) == [3]
    assert reading.replicate is not None and not reading.replicate.valid


@pytest.mark.parametrize("name", NEW_METHODS)
def test_reading_never_raises_and_always_gives_k_answers(name: str) -> None:
    chosen = method(name)
    for task_name in ("dice_d6", "coin_flip", "coin_flips_20", "normal_50_10", "lottery_6_of_49"):
        t = task(task_name)
        k = chosen.answers(t)
        for text in GARBAGE:
            replies = (text,) * (2 if name in ("multi_turn", "vs_multi", "seeded") else 1)
            reading = chosen.read(t, 0, replies)
            assert len(reading.outcomes) == k, (name, task_name, text[:20])
            for outcome in reading.outcomes:
                assert outcome.valid or outcome.invalid_reason


def test_methods_that_rewrap_the_prompt_skip_prefilled_and_list_answer_tasks(
    tmp_path: Path,
) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "three_rolls.yaml").write_text(
        "task: three_rolls\nprompt: Roll a die three times; answer as a JSON list.\n"
        "answer: json_list\ntarget: {uniform_int: {low: 1, high: 6}}\n"
    )
    (listed,) = select_tasks(load_tasks([tmp_path]), ["three_rolls"])
    prefilled = task("coinflips_bayesian_coin")
    for name in NEW_METHODS:
        assert "pre-fills" in (method(name).not_applicable(prefilled) or ""), name
        assert "already several answers" in (method(name).not_applicable(listed) or ""), name
    assert method("direct").not_applicable(prefilled) is None


def test_bad_method_settings_in_a_task_are_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad_k.yaml").write_text(
        "task: bad_k\nprompt: Roll a die.\nanswer: integer\n"
        "target: {uniform_int: {low: 1, high: 6}}\nmethods: {sequence: {k: 0, colour: red}}\n"
    )
    (bad,) = select_tasks(load_tasks([tmp_path]), ["bad_k"])
    runner = Runner(oracle(), ResponseCache(":memory:"), RunConfig(samples=5))
    with pytest.raises(ValueError, match=r"task bad_k: methods.sequence: k: .*colour"):
        runner.run([bad], [method("sequence")])


# ---------------------------------------------------------------- end to end on the oracle


def oracle(**args: object) -> Backend:
    return load_backend(ModelSpec("oracle", args=dict(args)))


def run_methods(
    tmp_path: Path, names: Sequence[str], tasks: Sequence[str], samples: int, backend: Backend
) -> tuple[list[TaskRun], dict[str, Any]]:
    chosen = select_tasks(load_tasks(), list(tasks))
    methods = [METHODS.get(n)() for n in names]
    config = RunConfig(samples=samples, n_sim=500)
    runs = Runner(backend, ResponseCache(tmp_path / "c.sqlite"), config).run(chosen, methods)
    result, _ = write_results(tmp_path / "out", backend.identity(), names, config, runs)
    loaded = load_run(result)  # the leaderboard accepts the file: one outcome per answer
    assert loaded.tasks
    return runs, json.loads(result.read_text())


def test_every_method_end_to_end_on_the_oracle(tmp_path: Path) -> None:
    tasks = ["dice_d6", "weighted_colour", "poisson_rate_3"]
    runs, document = run_methods(tmp_path, NEW_METHODS, tasks, 60, oracle())
    for name in tasks:
        for m in NEW_METHODS:
            entry = document["results"][name][m]
            assert entry["n"] == 60, (name, m)
            assert entry["validity"] == 1.0, (name, m, entry["invalid_reasons"])
            assert entry["p_value"] > 0.001, (name, m, entry["p_value"])
            multi = m in ("sequence", "multi_turn", "vs_standard", "vs_cot", "vs_multi")
            assert (entry["dependence"] is not None) == multi, (name, m)
            if multi:
                assert entry["dependence"]["enumerates"] is False, (name, m)
                assert entry["dependence"]["p_more_distinct"] > 0.001
    for name in ("dice_d6", "weighted_colour"):  # the oracle states the target's own pmf
        for m in ("vs_standard", "vs_cot", "vs_multi"):
            stated = document["results"][name][m]["verbalized"]
            assert stated["tvd"] == pytest.approx(0.0, abs=1e-12), (name, m)
            assert stated["stated_total_on_support"] == pytest.approx(1.0)
    seeded = document["results"]["dice_d6"]["seeded"]["reproducibility"]
    assert seeded["pairs"] == 15 and seeded["chance_agreement_target"] == pytest.approx(1 / 6)
    calls = {r.method: r.model_calls for r in runs if r.task.name == "dice_d6"}
    # one request per round: the five turns of twelve conversations are five rounds
    assert calls["multi_turn"] == 5 and calls["sequence"] == 1 and calls["vs_multi"] == 2


def test_samples_file_lists_each_call_and_what_was_stated(tmp_path: Path) -> None:
    run_methods(tmp_path, ["multi_turn", "vs_standard", "seeded"], ["dice_d6"], 20, oracle())
    (samples,) = (tmp_path / "out").glob("samples_*.jsonl")
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    multi = [x for x in lines if x["method"] == "multi_turn"]
    assert len(multi) == 4 and all(len(x["calls"]) == 5 == len(x["outcomes"]) for x in multi)
    stated = [x for x in lines if x["method"] == "vs_standard"]
    assert all(len(x["stated"][0]) == 5 for x in stated)
    seeded = [x for x in lines if x["method"] == "seeded"]
    assert sum("replicate" in x for x in seeded) == 5 and len(seeded) == 20


class Enumerator(Backend):
    """Lists distinct faces in every call, in a random order: a perfectly uniform marginal
    with no sampling in it (what Verbalized Sampling's lists of five do on a die)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.GENERATE})

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        out = []
        for request in requests:
            texts = []
            for seed in request.seeds:
                faces = np.random.default_rng(seed).permutation(6)[:5] + 1
                texts.append(Completion(json.dumps([int(f) for f in faces])))
            out.append(texts)
        return out


def test_enumerated_lists_are_flagged_while_iid_lists_are_not(tmp_path: Path) -> None:
    _, listed = run_methods(
        tmp_path / "e", ["sequence"], ["dice_d6"], 300, Enumerator(ModelSpec("enumerator"))
    )
    _, drawn = run_methods(tmp_path / "o", ["sequence"], ["dice_d6"], 300, oracle())
    enumerated = listed["results"]["dice_d6"]["sequence"]
    iid = drawn["results"]["dice_d6"]["sequence"]
    assert enumerated["p_value"] > 0.05, "the marginal alone looks like a fair die"
    assert enumerated["dependence"]["distinct_rate"] == 1.0
    expected = 6 * (1 - (5 / 6) ** 5) / 5  # E[distinct faces in 5 rolls] / 5, exactly
    assert enumerated["dependence"]["expected_distinct_rate"] == pytest.approx(expected)
    assert enumerated["dependence"]["enumerates"] is True
    assert enumerated["dependence"]["repeat_rate"] == 0.0
    assert iid["dependence"]["enumerates"] is False
    low, high = iid["dependence"]["distinct_rate_null"]
    assert low <= iid["dependence"]["distinct_rate"] <= high


# ---------------------------------------------------------------- resume


@pytest.mark.slow
def test_killed_multi_turn_run_resumes_with_no_conversation_lost_or_duplicated(
    tmp_path: Path,
) -> None:
    cache_path = tmp_path / "c.sqlite"
    command = [
        sys.executable, "-m", "randbench.cli", "run", "--model", "oracle",
        "--model-args", "delay=0.01", "--tasks", "dice_d6", "--method", "multi_turn",
        "--samples", "400", "--batch-size", "4", "--cache", str(cache_path),
        "--output-path", str(tmp_path / "out"),
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and stored(cache_path) < 10:
        time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    partial = stored(cache_path)
    assert 0 < partial < 80, "the run should have been killed mid-way"
    with sqlite3.connect(cache_path) as db:
        rows = [json.loads(r) for (r,) in db.execute("SELECT response FROM samples")]
    assert all(isinstance(r, list) and len(r) == 5 for r in rows), "only whole conversations"

    chosen = select_tasks(load_tasks(), ["dice_d6"])
    resumed = Runner(
        oracle(delay=0.01), ResponseCache(cache_path), RunConfig(samples=400, batch_size=4)
    )
    (run,) = resumed.run(chosen, [method("multi_turn")])
    assert run.model_calls == 5 * -(-(80 - partial) // 4), "five rounds per batch of four"
    assert stored(cache_path) == 80 and len(run.samples) == 80
    fresh = Runner(oracle(), ResponseCache(tmp_path / "fresh.sqlite"), RunConfig(samples=400))
    (reference,) = fresh.run(chosen, [method("multi_turn")])
    assert [s.replies for s in run.samples] == [s.replies for s in reference.samples]


def stored(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def test_the_leaderboard_marks_dependent_and_enumerating_rows(tmp_path: Path) -> None:
    from randbench.leaderboard.site import build_site

    results = tmp_path / "results"
    lister = Enumerator(ModelSpec("enumerator"))
    run_methods(tmp_path / "e", ["sequence"], ["dice_d6", "coin_flip"], 100, lister)
    run_methods(tmp_path / "o", ["direct", "sequence"], ["dice_d6", "coin_flip"], 100, oracle())
    results.mkdir()
    for path in (tmp_path / "e" / "out").iterdir():
        path.rename(results / path.name)
    for path in (tmp_path / "o" / "out").iterdir():
        path.rename(results / path.name)
    report = build_site(results, tmp_path / "site", n_boot=50)
    assert report.rows == 3 and not report.problems
    index = (tmp_path / "site" / "index.html").read_text()
    rows = {chunk.split('"', 1)[0]: chunk for chunk in index.split('<tr data-row="')[1:]}
    marks = {
        key.split("--")[-1] + ("@enumerator" if "enumerator" in key else "@oracle"): (
            "several per call" in row,
            "enumerates (1)" in row,
        )
        for key, row in rows.items()
    }
    assert marks == {
        "direct@oracle": (False, False),
        "sequence@oracle": (True, False),
        "sequence@enumerator": (True, True),  # dice_d6 enumerates; a coin has two faces
    }, marks
    pages = list((tmp_path / "site").rglob("*.html"))
    enumerated = [p for p in pages if "enumerator" in str(p) and "dice_d6" in p.name]
    assert enumerated, [p.name for p in pages]
    page = enumerated[0].read_text()
    assert "Several answers per call" in page and 'class="badge enumerates"' in page


class SeedFollower(Backend):
    """Answers a seeded prompt with a face chosen by the seed written in it (and samples the
    rest): the known case of perfectly reproducible seeded answers."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.GENERATE})

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        out = []
        for request in requests:
            written = int(request.prompt.messages[-1].content.rsplit(":", 1)[1])
            out.append([Completion(str(1 + written % 6)) for _ in request.seeds])
        return out


def test_seed_reproducibility_known_cases(tmp_path: Path) -> None:
    _, follows = run_methods(
        tmp_path / "f", ["seeded"], ["dice_d6"], 40, SeedFollower(ModelSpec("follower"))
    )
    _, ignores = run_methods(tmp_path / "o", ["seeded"], ["dice_d6"], 40, oracle())
    same = follows["results"]["dice_d6"]["seeded"]["reproducibility"]
    assert same["pairs"] == 10 and same["agreement"] == 1.0
    chance = ignores["results"]["dice_d6"]["seeded"]["reproducibility"]
    assert chance["pairs"] == 10 and chance["agreement"] < 0.7  # P(>= 7 of 10 at 1/6) < 1e-4
    assert chance["chance_agreement_target"] == pytest.approx(1 / 6)
