"""``logprob_prefilled``: the exact distribution after a pre-filled lead-in, each outcome
scored in every form a model writes it in, on the reference backends and the real SmolLM2."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.cache import ResponseCache
from randbench.harness.methods import METHODS
from randbench.harness.methods.logprob_prefilled import (
    DEFAULT_LEAD,
    LogprobPrefilled,
    answer_forms,
)
from randbench.harness.requests import CandidateScores
from randbench.harness.runner import Runner
from randbench.harness.runs import RunConfig
from randbench.loader import load_tasks
from randbench.selection import select_tasks
from randbench.tasks import Task


def task(name: str) -> Task:
    (chosen,) = select_tasks(load_tasks(), [name])
    return chosen


def run(model: str, names: list[str], tmp_path: Path, **args: object) -> dict[str, object]:
    tasks = select_tasks(load_tasks(), names)
    backend = load_backend(ModelSpec(model, args=dict(args)))
    runner = Runner(backend, ResponseCache(tmp_path / "cache.sqlite"), RunConfig(seed=0))
    runs = runner.run(tasks, [METHODS.get("logprob_prefilled")(), METHODS.get("logprob")()])
    return {f"{r.task.name}/{r.method}": r for r in runs}


def test_forms_are_the_answer_behind_a_space_capitalised_and_with_a_full_stop() -> None:
    assert answer_forms("4") == (" 4", " 4.")
    assert answer_forms("heads") == (" heads", " heads.", " Heads", " Heads.")
    assert answer_forms("Monday") == (" Monday", " Monday.")


def test_an_outcome_holds_the_probability_of_all_its_forms() -> None:
    coin = task("coin_flip")
    method = LogprobPrefilled()
    request = method.request(coin)
    assert request.prompt.assistant_prefix == DEFAULT_LEAD
    assert request.candidates == (*answer_forms("heads"), *answer_forms("tails"))
    shares = (0.1, 0.2, 0.05, 0.05, 0.3, 0.0, 0.1, 0.1)
    folded = method.fold(coin, CandidateScores(tuple(math.log(p) if p else -math.inf
                                                     for p in shares)))  # fmt: skip
    assert [math.exp(lp) for lp in folded.logprobs] == pytest.approx([0.4, 0.5])
    metrics = method.metrics(coin, folded)
    assert metrics.values["mass_on_support"] == pytest.approx(0.9)
    assert metrics.distribution == pytest.approx({"heads": 4 / 9, "tails": 5 / 9})
    assert "'Answer:'" in (metrics.scope or "")


def test_tasks_that_write_their_own_answer_start_are_left_to_logprob() -> None:
    method = LogprobPrefilled()
    assert "pre-fills" in (method.not_applicable(task("coin_in_context_t0_n5")) or "")
    assert "states how its answer is written" in (
        method.not_applicable(task("diffuse_number_1_to_10")) or ""
    )
    assert method.not_applicable(task("dice_d6")) is None


def test_the_oracle_scores_a_perfect_distribution_after_the_lead(tmp_path: Path) -> None:
    runs = run("oracle", ["dice_d6", "card_suit"], tmp_path)
    for name in ("dice_d6", "card_suit"):
        metrics = runs[f"{name}/logprob_prefilled"].metrics  # type: ignore[attr-defined]
        assert metrics.values["mass_on_support"] == pytest.approx(1.0)
        assert metrics.values["tvd"] == pytest.approx(0.0, abs=1e-12)


def test_on_smollm2_the_lead_scores_far_more_of_what_the_model_writes(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    from randbench.harness.models import ModelNotFoundError, smollm2_gguf

    try:
        smollm2_gguf()
    except ModelNotFoundError as missing:
        pytest.skip(str(missing))
    runs = run("smollm2", ["dice_d6", "random_number_1_to_10"], tmp_path, n_threads=1)
    for name in ("dice_d6", "random_number_1_to_10"):
        bare = runs[f"{name}/logprob"].metrics.values["mass_on_support"]  # type: ignore[attr-defined]
        led = runs[f"{name}/logprob_prefilled"].metrics.values["mass_on_support"]  # type: ignore[attr-defined]
        assert led > 10 * bare, (name, bare, led)
