"""The runner end to end on the oracle backend: results, cache, resume, refusals, secrets."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from randbench.cli import app
from randbench.harness.backends import (
    Backend,
    BackendError,
    Capability,
    CapabilityError,
    ModelSpec,
    load_backend,
)
from randbench.harness.backends.base import CompletionSink
from randbench.harness.cache import ResponseCache
from randbench.harness.methods import METHODS
from randbench.harness.requests import Completion, GenerateRequest
from randbench.harness.runner import Runner
from randbench.harness.runs import RunConfig, sampling_params
from randbench.harness.seeds import sample_seed
from randbench.loader import load_tasks
from randbench.selection import select_tasks

TASKS = ["dice_d6", "coin_flip", "weighted_colour", "poisson_rate_3", "coin_flips_20", "uuid4"]


def tasks(names: Sequence[str] = TASKS) -> list:  # type: ignore[type-arg]
    return select_tasks(load_tasks(), list(names))


def oracle(**args: object) -> Backend:
    return load_backend(ModelSpec("oracle", args=dict(args)))


def test_oracle_passes_its_own_tests_end_to_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "--model", "oracle", "--tasks", ",".join(TASKS), "--method", "direct,logprob",
         "--output-path", str(tmp_path), "--cache", str(tmp_path / "c.sqlite")],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("results_oracle_*.json")
    document = json.loads(path.read_text())
    for name in TASKS:
        direct = document["results"][name]["direct"]
        assert direct["validity"] == 1.0, direct["invalid_reasons"]
        assert direct["p_value"] > 0.001, (name, direct["test"], direct["p_value"])
    for name in ("dice_d6", "coin_flip", "weighted_colour"):
        exact = document["results"][name]["logprob"]
        assert exact["values"]["tvd"] == pytest.approx(0.0, abs=1e-12)
        assert exact["values"]["mass_outside_support"] == pytest.approx(0.0, abs=1e-12)
    skipped = {(s["task"], s["method"]) for s in document["skipped"]}
    assert skipped == {
        ("poisson_rate_3", "logprob"),
        ("coin_flips_20", "logprob"),
        ("uuid4", "logprob"),
    }
    config = document["config"]
    assert set(config["task_hashes"]) == set(TASKS)
    assert config["versions"]["randbench"]
    assert "date" in config and config["model"]["backend"] == "oracle"
    (samples,) = tmp_path.glob("samples_oracle_*.jsonl")
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    d6 = [x for x in lines if x["task"] == "dice_d6" and x["method"] == "direct"]
    assert len(d6) == document["results"]["dice_d6"]["direct"]["n"]
    assert len({x["seed"] for x in d6}) == len(d6), "per-sample seeds differ"
    assert "randbench results" in result.output and str(path) in result.output


def test_rerun_hits_the_cache_and_asks_the_model_nothing(tmp_path: Path) -> None:
    chosen = tasks(["dice_d6", "coin_flip"])
    methods = [METHODS.get("direct")(), METHODS.get("logprob")()]
    cache = ResponseCache(tmp_path / "c.sqlite")
    first = Runner(oracle(), cache, RunConfig(batch_size=7)).run(chosen, methods)
    again = Runner(oracle(), cache, RunConfig(batch_size=7)).run(chosen, methods)
    assert sum(r.model_calls for r in first) > 0
    assert sum(r.model_calls for r in again) == 0
    assert [s.completion for r in first for s in r.samples] == [
        s.completion for r in again for s in r.samples
    ]
    other_seed = Runner(oracle(), cache, RunConfig(seed=1)).run(chosen, methods[:1])
    assert sum(r.model_calls for r in other_seed) > 0, "a different seed is a different sample"


def test_cache_key_includes_sampling_settings(tmp_path: Path) -> None:
    chosen = tasks(["dice_d6"])
    direct = [METHODS.get("direct")()]
    cache = ResponseCache(tmp_path / "c.sqlite")
    Runner(oracle(), cache, RunConfig(temperature=1.0)).run(chosen, direct)
    hotter = Runner(oracle(), cache, RunConfig(temperature=1.5)).run(chosen, direct)
    assert hotter[0].model_calls > 0


@pytest.mark.slow
def test_killed_run_resumes_with_no_sample_lost_or_duplicated(tmp_path: Path) -> None:
    cache_path = tmp_path / "c.sqlite"
    command = [
        sys.executable, "-m", "randbench.cli", "run", "--model", "oracle",
        "--model-args", "delay=0.01", "--tasks", "dice_d6", "--samples", "300",
        "--batch-size", "10", "--cache", str(cache_path), "--output-path", str(tmp_path / "out"),
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and stored < 50:
        time.sleep(0.2)
        if cache_path.exists():
            stored = _stored(cache_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    partial = _stored(cache_path)
    assert 0 < partial < 300, "the run should have been killed mid-way"
    assert not list((tmp_path / "out").glob("results_*.json")), "killed before writing results"

    chosen = tasks(["dice_d6"])
    same_model = oracle(delay=0.01)
    resumed = Runner(same_model, ResponseCache(cache_path), RunConfig(samples=300, batch_size=10))
    (run,) = resumed.run(chosen, [METHODS.get("direct")()])
    assert run.model_calls == math.ceil((300 - partial) / 10)
    assert _stored(cache_path) == 300
    fresh = Runner(oracle(), ResponseCache(tmp_path / "fresh.sqlite"), RunConfig(samples=300))
    # the same seeds give the same answers whatever the batching and interruptions
    (reference,) = fresh.run(chosen, [METHODS.get("direct")()])
    assert [s.completion for s in run.samples] == [s.completion for s in reference.samples]


def _stored(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


class GenerateOnly(Backend):
    """A backend that declares only sampling, to check the refusal happens before any work."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.GENERATE})
    calls = 0

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        GenerateOnly.calls += 1
        return [[Completion("1")] * r.n for r in requests]


def test_a_mode_the_backend_cannot_serve_is_refused_before_any_work(tmp_path: Path) -> None:
    runner = Runner(
        GenerateOnly(ModelSpec("generate_only")), ResponseCache(":memory:"), RunConfig()
    )
    methods = [METHODS.get("direct")(), METHODS.get("logprob")()]
    with pytest.raises(CapabilityError, match="method 'logprob' needs a backend that can score"):
        runner.run(tasks(["dice_d6"]), methods)
    assert GenerateOnly.calls == 0


def test_secrets_never_reach_result_files(tmp_path: Path) -> None:
    secret = "sk-test-0123456789abcdef"
    result = CliRunner().invoke(
        app,
        ["run", "--model", "oracle", "--model-args", f"api_key={secret},delay=0", "--tasks",
         "coin_flip", "--output-path", str(tmp_path), "--cache", str(tmp_path / "c.sqlite")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for path in tmp_path.iterdir():
        assert secret.encode() not in path.read_bytes(), f"secret leaked into {path.name}"
    assert secret not in result.output


def test_sampling_settings_precedence_and_seeds() -> None:
    (vs_dice,) = tasks(["vs_dice"])
    assert sampling_params(vs_dice, RunConfig()).temperature == 0.7
    assert sampling_params(vs_dice, RunConfig(temperature=0.2)).temperature == 0.2
    seeds = {sample_seed(0, vs_dice.hash, "direct", i) for i in range(1000)}
    assert len(seeds) == 1000
    assert all(0 <= s < 2**31 for s in seeds)


def test_unknown_model_method_and_task_are_clear_errors() -> None:
    runner = CliRunner()
    bad_model = runner.invoke(app, ["run", "--model", "oracel"])
    assert bad_model.exit_code == 2
    assert "unknown backend 'oracel' (did you mean 'oracle'?)" in bad_model.output
    bad_method = runner.invoke(app, ["run", "--model", "oracle", "--method", "drect"])
    assert bad_method.exit_code == 2
    assert "unknown method 'drect'" in bad_method.output
    bad_task = runner.invoke(app, ["run", "--model", "oracle", "--tasks", "dice_d13"])
    assert bad_task.exit_code == 2
    assert "no task or group matches 'dice_d13'" in bad_task.output


def test_undefined_metrics_are_written_as_null(tmp_path: Path) -> None:
    """A point-mass control in logprob mode has an undefined normalised entropy (NaN)."""
    result = CliRunner().invoke(
        app,
        ["run", "--model", "oracle", "--tasks", "control_loaded_die", "--method", "logprob",
         "--output-path", str(tmp_path), "--cache", str(tmp_path / "c.sqlite")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("results_*.json")
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    values = json.loads(text)["results"]["control_loaded_die"]["logprob"]["values"]
    assert values["entropy_normalised"] is None


def test_logprob_candidates_take_the_form_the_prompt_asks_for() -> None:
    """Forcing Diffuse asks for "{7}": logprob mode scores "{7}", not "7"."""
    (task,) = tasks(["diffuse_number_1_to_10"])
    request = METHODS.get("logprob")().request(task)  # type: ignore[attr-defined]
    assert request.candidates == tuple(f"{{{i}}}" for i in range(1, 11))
    assert request.until is None
    backend = oracle()
    backend.bind([task])
    (scores,) = backend.score([request])
    assert sum(math.exp(lp) for lp in scores.logprobs) == pytest.approx(1.0)


def test_a_model_that_is_no_sampler_stops_early_and_says_so(tmp_path: Path) -> None:
    """The constant model: conclusive after the first batch, recorded in the result file and
    the summary; --no-stop-early and a task that keeps its sample size take every sample."""

    def run(*extra: str) -> dict:  # type: ignore[type-arg]
        out = tmp_path / str(len(list(tmp_path.iterdir())))
        result = CliRunner().invoke(
            app,
            ["run", "--model", "constant", "--tasks", "dice_d6,vs_dice", "--samples", "200",
             "--output-path", str(out), "--cache", str(tmp_path / "c.sqlite"), *extra],
            terminal_width=200,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        (path,) = out.glob("results_*.json")
        return {"output": result.output, **json.loads(path.read_text())}

    stopped = run()
    d6 = stopped["results"]["dice_d6"]["direct"]
    assert d6["n"] == 50
    record = d6["stopped_early"]
    assert record["units"] == 50 and record["planned"] == 200
    assert record["log_evidence"] >= math.log(1 / record["alpha"])
    assert stopped["results"]["vs_dice"]["direct"]["n"] == 200, "vs_dice keeps its sample size"
    assert stopped["results"]["vs_dice"]["direct"]["stopped_early"] is None
    assert "stoppe" in stopped["output"], "the summary table notes the stop (wrapped)"

    full = run("--no-stop-early")
    assert full["results"]["dice_d6"]["direct"]["n"] == 200
    assert full["results"]["dice_d6"]["direct"]["stopped_early"] is None
    later = run("--min-samples", "120", "--batch-size", "40")
    assert later["results"]["dice_d6"]["direct"]["n"] == 120, "at the first look past 120"


def test_early_stopping_reads_the_cache_and_stops_where_a_fresh_run_would(tmp_path: Path) -> None:
    chosen = tasks(["dice_d6"])
    direct = [METHODS.get("direct")()]
    cache = ResponseCache(tmp_path / "c.sqlite")
    constant = load_backend(ModelSpec("constant"))
    (full,) = Runner(constant, cache, RunConfig(samples=300, stop_alpha=None)).run(chosen, direct)
    assert len(full.samples) == 300 and full.stopped is None
    (early,) = Runner(constant, cache, RunConfig(samples=300)).run(chosen, direct)
    assert early.model_calls == 0
    assert early.stopped is not None and len(early.samples) == early.stopped.units == 50
    fresh_cache = ResponseCache(tmp_path / "fresh.sqlite")
    (fresh,) = Runner(constant, fresh_cache, RunConfig(samples=300)).run(chosen, direct)
    assert [s.completion for s in fresh.samples] == [s.completion for s in early.samples]
    assert fresh.model_calls == 1


def test_the_leaderboard_marks_rows_and_tasks_that_stopped_early(tmp_path: Path) -> None:
    from randbench.leaderboard.site import build_site

    results = tmp_path / "results"
    for model in ("constant", "oracle"):
        result = CliRunner().invoke(
            app,
            ["run", "--model", model, "--tasks", "dice_d6,coin_flip", "--samples", "100",
             "--output-path", str(results), "--cache", str(tmp_path / "c.sqlite")],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    report = build_site(results, tmp_path / "site", n_boot=50)
    assert report.rows == 2 and not report.problems
    index = (tmp_path / "site" / "index.html").read_text()
    rows = {chunk.split('"', 1)[0]: chunk for chunk in index.split('<tr data-row="')[1:]}
    marks = {key: "stopped early (2)" in row for key, row in rows.items()}
    assert sorted(marks.values()) == [False, True], marks
    assert all(mark == ("constant" in key) for key, mark in marks.items()), marks
    pages = [p for p in (tmp_path / "site").rglob("*.html") if "constant" in str(p)]
    d6 = [p.read_text() for p in pages if "dice_d6" in p.name]
    assert d6 and "Sampling stopped at 50 of 100 planned units" in d6[0]
    runs = tmp_path / "site" / "runs"
    oracle_pages = [
        p.read_text() for p in runs.rglob("*.html") if p.relative_to(runs).parts[0][:6] == "oracle"
    ]
    assert len(oracle_pages) == 2
    assert not any("Sampling stopped at" in page for page in oracle_pages)


def test_two_runs_in_the_same_second_keep_both_result_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """File names carry the second; runs inside one second get _2, _3 instead of overwriting."""
    from datetime import datetime, timezone

    import randbench.harness.results as results_module

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> FrozenClock:  # type: ignore[override]
            return cls(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    monkeypatch.setattr(results_module, "datetime", FrozenClock)
    chosen = tasks(["coin_flip"])
    direct = [METHODS.get("direct")()]
    paths = []
    for seed in range(3):
        config = RunConfig(seed=seed, samples=10)
        runs = Runner(oracle(), ResponseCache(tmp_path / "c.sqlite"), config).run(chosen, direct)
        paths.append(
            results_module.write_results(tmp_path, {"backend": "oracle"}, ["direct"], config, runs)
        )
    assert [r.name for r, _ in paths] == [
        "results_oracle_2026-01-02T03-04-05Z.json",
        "results_oracle_2026-01-02T03-04-05Z_2.json",
        "results_oracle_2026-01-02T03-04-05Z_3.json",
    ]
    first_seeds = [json.loads(s.read_text().splitlines()[0])["seed"] for _, s in paths]
    assert len(set(first_seeds)) == 3, "each samples file kept its own run"
    runs_seeds = [json.loads(r.read_text())["config"]["run"]["seed"] for r, _ in paths]
    assert runs_seeds == [0, 1, 2]


def test_bench_estimates_the_first_look_of_each_task() -> None:
    from randbench.harness.early_stop import first_look

    by_name = {t.name: t for t in tasks(["dice_d6", "vs_dice", "coin_flips_20"])}
    d6, vs_dice, story = by_name["dice_d6"], by_name["vs_dice"], by_name["coin_flips_20"]
    assert first_look(d6, RunConfig()) == 50
    assert first_look(d6, RunConfig(min_samples=120, batch_size=40)) == 120
    assert first_look(d6, RunConfig(stop_alpha=None)) == d6.samples == 200
    assert first_look(vs_dice, RunConfig()) == 600, "stop_early: false"
    assert first_look(story, RunConfig()) == story.samples == 50


def test_bench_estimates_time_by_the_tokens_each_task_may_write() -> None:
    from randbench.harness.bench import Measurement, estimate_all

    long, short = tasks(["dice_d6"]), tasks(["coin_in_context_t50_n3"])
    config = RunConfig(max_tokens=16, stop_alpha=None)
    # 100 samples in 10 s that wrote 8 of their 16 tokens each: 80 tokens/s.
    measured = Measurement("sampling", 100, 10.0, tokens=800)
    (d6,) = long
    limit = sampling_params(d6, RunConfig()).max_tokens
    assert estimate_all(long, measured, None, config).full == pytest.approx(
        d6.samples * (limit / 2) / 80
    )
    (coin,) = short
    per_coin = estimate_all(short, measured, None, config).full / coin.samples
    assert per_coin == pytest.approx(max(1, sampling_params(coin, RunConfig()).max_tokens / 2) / 80)
    assert per_coin < estimate_all(long, measured, None, config).full / d6.samples
    uncounted = Measurement("sampling", 100, 10.0)
    assert estimate_all(long, uncounted, None, config).full == pytest.approx(d6.samples / 10)


class Recording(Backend):
    """The oracle, recording which tasks each backend call asked; with ``fail_after``, the
    call that would take the total past that many samples hands over what it has, then
    fails (a server that drops mid-call); with ``drop_first_tasks_last``, the first request
    of a call silently lacks its last sample."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.GENERATE})

    def __init__(self, fail_after: int | None = None, drop_first_tasks_last: bool = False) -> None:
        super().__init__(ModelSpec("oracle"))
        self.drop = drop_first_tasks_last
        self.inner = oracle()
        self.calls: list[list[str]] = []
        self.fail_after = fail_after
        self.handed = self.asked = 0

    def identity(self) -> dict[str, object]:
        return self.inner.identity()

    def bind(self, tasks: Sequence[object]) -> None:
        self.inner.bind(tasks)  # type: ignore[arg-type]

    def generate_each(self, requests: Sequence[GenerateRequest], sink: CompletionSink) -> None:
        self.calls.append([r.task for r in requests])
        self.asked += sum(r.n for r in requests)
        for r, completions in enumerate(self.inner.generate(requests)):
            for i, completion in enumerate(completions):
                if self.fail_after is not None and self.handed >= self.fail_after:
                    raise BackendError("connection dropped")
                if self.drop and r == 0 and i == len(completions) - 1:
                    continue
                sink(r, i, completion)
                self.handed += 1


class SlowStart(Recording):
    """A backend whose first call loads a model (here: sleeps ``load`` seconds)."""

    def __init__(self, load: float) -> None:
        super().__init__()
        self.load = load
        self.sizes: list[int] = []

    def generate_each(self, requests: Sequence[GenerateRequest], sink: CompletionSink) -> None:
        if not self.calls:
            time.sleep(self.load)
        self.sizes.append(sum(r.n for r in requests))
        super().generate_each(requests, sink)

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        found: list[list[Completion]] = [[] for _ in requests]
        self.generate_each(requests, lambda r, _, completion: found[r].append(completion))
        return found


def test_bench_times_no_first_call_load_and_estimates_from_tasks_side_by_side() -> None:
    from randbench.harness.bench import estimate_all, run_bench

    chosen = tasks(["dice_d6", "coin_flip", "weighted_colour"])
    (d6,) = [t for t in chosen if t.name == "dice_d6"]
    backend, config = SlowStart(load=1.0), RunConfig(max_tokens=16)
    measured, estimate = run_bench(
        backend, chosen, d6, d6, n=40, naive_n=4, config=config, context_tokens=0
    )
    assert backend.calls[0] == ["dice_d6"] and backend.sizes[0] == 1, "an untimed warm-up"
    alone, side_by_side = measured
    assert alone.units == 40 and side_by_side.units == len(chosen) * config.batch_size
    assert alone.seconds < backend.load and side_by_side.seconds < backend.load
    assert estimate.full == estimate_all(chosen, side_by_side, None, config).full
    assert estimate.full != estimate_all(chosen, alone, None, config).full


def test_tasks_in_flight_share_calls_and_change_no_answer(tmp_path: Path) -> None:
    """Eight tasks' batches in one call: the same answers, the same early stops and the same
    per-task call counts as one task at a time, in fewer backend calls."""
    chosen, direct = tasks(), [METHODS.get("direct")()]

    def run(in_flight: int) -> tuple[list, Recording]:  # type: ignore[type-arg]
        backend = Recording()
        cache = ResponseCache(tmp_path / f"{in_flight}.sqlite")
        config = RunConfig(samples=120, batch_size=40, tasks_in_flight=in_flight)
        return Runner(backend, cache, config).run(chosen, direct), backend

    alone, one = run(1)
    together, eight = run(8)
    assert [r.task.name for r in together] == [r.task.name for r in alone]
    for a, b in zip(alone, together, strict=True):
        assert [s.completion for s in a.samples] == [s.completion for s in b.samples]
        assert a.stopped == b.stopped and a.model_calls == b.model_calls
        assert a.metrics is not None and b.metrics is not None
        assert a.metrics.p_value == b.metrics.p_value
    assert all(len(set(call)) == 1 for call in one.calls)
    assert max(len(set(call)) for call in eight.calls) == len(chosen)
    assert len(eight.calls) < len(one.calls)


def test_a_job_sure_to_take_many_calls_starts_first_and_changes_no_answer(
    tmp_path: Path,
) -> None:
    """vs_dice's 600 samples cannot stop early: 12 batches. Listed last, it still starts in
    the first call, so it runs beside the other tasks rather than alone after them; the
    runs come back in the order asked, with the answers each task gets alone."""
    chosen = tasks(["dice_d6", "coin_flip", "weighted_colour", "vs_dice"])
    assert chosen[-1].name == "vs_dice"
    direct = [METHODS.get("direct")()]
    backend = Recording()
    config = RunConfig(tasks_in_flight=2)
    runs = Runner(backend, ResponseCache(tmp_path / "c.sqlite"), config).run(chosen, direct)
    assert [r.task.name for r in runs] == [t.name for t in chosen]
    assert "vs_dice" in backend.calls[0]
    alone = sum(1 for call in backend.calls if set(call) == {"vs_dice"})
    assert alone < 12 - len(chosen) + 1
    for task, together in zip(chosen, runs, strict=True):
        cache = ResponseCache(tmp_path / f"{task.name}.sqlite")
        (single,) = Runner(Recording(), cache, config).run([task], direct)
        assert [s.completion for s in single.samples] == [s.completion for s in together.samples]


def test_a_call_that_fails_keeps_what_every_task_in_it_finished(tmp_path: Path) -> None:
    chosen, direct = tasks(["dice_d6", "coin_flip", "weighted_colour"]), [METHODS.get("direct")()]
    cache_path = tmp_path / "c.sqlite"
    failing = Recording(fail_after=70)
    config = RunConfig(samples=40, batch_size=40, stop_alpha=None)
    with pytest.raises(BackendError, match="connection dropped"):
        Runner(failing, ResponseCache(cache_path), config).run(chosen, direct)
    assert len(failing.calls) == 1 and len(set(failing.calls[0])) == 3
    assert _stored(cache_path) == 70, "the first task's 40 and the second's first 30"
    resumed = Recording()
    runs = Runner(resumed, ResponseCache(cache_path), config).run(chosen, direct)
    assert resumed.asked == 50, "only the samples the failed call did not hand over"
    assert [len(r.samples) for r in runs] == [40, 40, 40]
    assert _stored(cache_path) == 120
    fresh = Runner(Recording(), ResponseCache(tmp_path / "f.sqlite"), config).run(chosen, direct)
    for a, b in zip(runs, fresh, strict=True):
        assert [s.completion for s in a.samples] == [s.completion for s in b.samples]


def test_a_task_given_too_few_samples_fails_and_the_others_keep_theirs(tmp_path: Path) -> None:
    chosen, direct = tasks(["dice_d6", "coin_flip"]), [METHODS.get("direct")()]
    cache_path = tmp_path / "c.sqlite"
    config = RunConfig(samples=40, batch_size=40, stop_alpha=None)
    short = Recording(drop_first_tasks_last=True)
    first, second = (t.name for t in chosen)
    with pytest.raises(BackendError, match=f"returned 39 of 40 samples for {first}$"):
        Runner(short, ResponseCache(cache_path), config).run(chosen, direct)
    assert _stored(cache_path) == 79, f"{first}'s 39 and all of {second}'s 40"
