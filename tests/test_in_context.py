"""In-context evidence: generated contexts, the posterior predictive target, and the
per-N summaries written to result files."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from randbench.answers import read_answer
from randbench.cli import app
from randbench.context import context_variables, draw_sequence
from randbench.harness.methods import METHODS
from randbench.harness.results import result_document
from randbench.harness.runs import RunConfig, SampleRecord, TaskRun
from randbench.in_context import InContextRow, halving_length, summarise, tvd
from randbench.loader import TaskFile, load_file, load_tasks
from randbench.metrics import evaluate
from randbench.outcomes import ParseResult
from randbench.schema import ContextSpec
from randbench.targets import TARGETS

COIN = """\
task: coin_t{{ theta_pct }}_n{{ n }}_{{ style }}
params: {style: [a, b]}
context:
  outcomes: [heads, tails]
  theta: [0.0, 0.3, 1.0]
  lengths: [0, 2, 50]
  seed: 3
prompt: "I tossed a coin and it landed on {{ observed }}"
answer: choice
target: {categorical: {weights: "{{ weights }}"}}
references:
  posterior: {posterior_predictive: {outcomes: [heads, tails], counts: "{{ counts }}"}}
"""


def posterior(**fields: object) -> np.ndarray:
    target = TARGETS.get("posterior_predictive").model_validate(fields)
    return np.asarray(target.probabilities())


def test_beta_bernoulli_posterior_predictive_is_the_posterior_mean() -> None:
    # Beta(1,1) after 7 heads and 3 tails: (1+7)/(2+10) = 2/3.
    assert posterior(outcomes=["heads", "tails"], counts=[7, 3]) == pytest.approx([8 / 12, 4 / 12])
    # Beta(2,5) prior: (2+7)/(7+10).
    assert posterior(outcomes=["h", "t"], counts=[7, 3], prior=[2, 5])[0] == pytest.approx(9 / 17)


def test_dirichlet_categorical_posterior_predictive() -> None:
    p = posterior(outcomes=[1, 2, 3], counts=[0, 4, 1], prior=0.5)
    assert p == pytest.approx([0.5 / 6.5, 4.5 / 6.5, 1.5 / 6.5])


def test_discounted_posterior_weighs_recent_observations_more() -> None:
    # gamma = 1/2 over (h, t, t): weights 1/4, 1/2, 1 -> heads 1/4, tails 3/2.
    p = posterior(outcomes=["h", "t"], sequence=["h", "t", "t"], discount=0.5)
    expected = Fraction(5, 4) / (Fraction(5, 4) + Fraction(5, 2))
    assert p[0] == pytest.approx(float(expected))
    undiscounted = posterior(outcomes=["h", "t"], sequence=["h", "t", "t"])
    assert undiscounted == pytest.approx(posterior(outcomes=["h", "t"], counts=[1, 2]))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"outcomes": ["h", "t"]}, "give either counts or sequence"),
        ({"outcomes": ["h", "t"], "counts": [1]}, "counts must be 2"),
        ({"outcomes": ["h", "t"], "counts": [1, 1], "prior": 0}, "prior must be"),
        ({"outcomes": ["h", "t"], "counts": [1, 1], "discount": 0.5}, "discount needs sequence"),
        ({"outcomes": ["h", "t"], "sequence": ["x"]}, "not outcomes"),
    ],
)
def test_posterior_predictive_refuses_inconsistent_fields(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        TARGETS.get("posterior_predictive").model_validate(fields)


def test_context_is_reproducible_and_shorter_evidence_is_a_prefix() -> None:
    spec = ContextSpec(outcomes=["h", "t"], theta=[0.3, 0.8], lengths=[0, 5, 200])
    first, again = context_variables(spec, "x"), context_variables(spec, "x")
    assert first == again
    other_seed = context_variables(spec.model_copy(update={"seed": 1}), "x")
    assert [v["sequence"] for v in other_seed] != [v["sequence"] for v in first]
    by_theta = [first[0:3], first[3:6]]
    for rows in by_theta:
        assert [r["n"] for r in rows] == [0, 5, 200]
        assert rows[2]["sequence"][:5] == rows[1]["sequence"] and rows[0]["sequence"] == []
        for r in rows:
            assert r["counts"] == [r["sequence"].count("h"), r["sequence"].count("t")]
            assert r["observed"] == ", then ".join(r["sequence"])
    # 200 draws: the share of heads lies within 4 standard errors of theta.
    for rows, theta in zip(by_theta, (0.3, 0.8), strict=True):
        share = rows[2]["counts"][0] / 200
        assert abs(share - theta) < 4 * (theta * (1 - theta) / 200) ** 0.5


def test_draws_follow_a_categorical() -> None:
    draws = draw_sequence([1, 2, 3], [0.0, 0.25, 0.75], 4000, seed=11)
    assert 1 not in draws
    assert draws.count(3) / 4000 == pytest.approx(0.75, abs=0.03)


def test_a_context_family_expands_over_params_theta_and_lengths(tmp_path: Path) -> None:
    path = tmp_path / "bayesian" / "coin.yaml"
    path.parent.mkdir()
    path.write_text(COIN, encoding="utf-8")
    tasks, problems = load_file(TaskFile(path, "bayesian"))
    assert problems == []
    assert len(tasks) == 2 * 3 * 3
    by_name = {t.name: t for t in tasks}
    always_heads = by_name["coin_t100_n50_a"]
    assert always_heads.prompt == "I tossed a coin and it landed on " + ", then ".join(
        ["heads"] * 50
    )
    assert always_heads.target.probabilities() == pytest.approx([1.0, 0.0])
    assert always_heads.references["posterior"].probabilities() == pytest.approx([51 / 52, 1 / 52])
    # Both paraphrases see the same evidence; the hash covers the references.
    assert by_name["coin_t30_n2_a"].prompt == by_name["coin_t30_n2_b"].prompt
    assert "references" in by_name["coin_t30_n2_a"].measurement()
    reloaded, _ = load_file(TaskFile(path, "bayesian"))
    assert [t.hash for t in reloaded] == [t.hash for t in tasks]


def test_summary_averages_over_theta_at_each_length() -> None:
    rows = [
        InContextRow("coin", 0, 10, {"target": 0.4, "posterior": 0.4}, 0.5),
        InContextRow("coin", 0, 90, {"target": 0.4, "posterior": 0.4}, 0.5),
        InContextRow("coin", 5, 10, {"target": 0.3, "posterior": 0.1}, 0.4),
        InContextRow("coin", 5, 90, {"target": 0.1, "posterior": 0.1}, 0.8),
        InContextRow("coin", 20, 10, {"target": 0.0, "posterior": 0.05}, 0.1),
    ]
    (family,) = summarise(rows).values()
    assert family["by_n"][1] == {"n": 5, "tasks": 2, "tvd_posterior": 0.1, "tvd_target": 0.2}
    assert family["halving_n"] == 5
    assert family["posterior_gain"] is None
    with_prior = [
        InContextRow("c", n, 50, {"target": 0.1, "prior": 0.3, "posterior": p}, 0.5)
        for n, p in [(0, 0.0), (3, 0.2), (10, 0.0)]
    ]
    assert summarise(with_prior)["c"]["posterior_gain"] == pytest.approx(0.2)
    assert family["by_theta"][0] == {"theta_pct": 10, "tasks": 3, "p_first": pytest.approx(1 / 3)}
    assert halving_length([{"n": 0, "tvd_target": 0.4}, {"n": 3, "tvd_target": 0.3}]) is None


def test_tvd_counts_mass_on_either_side() -> None:
    assert tvd({"a": 1.0}, {"b": 1.0}) == 1.0
    assert tvd({"a": 0.5, "b": 0.5}, {"a": 0.7, "b": 0.3}) == pytest.approx(0.2)


def test_oracle_run_records_tvd_to_theta_and_to_the_posterior(tmp_path: Path) -> None:
    """The oracle answers exactly theta: TVD 0 to the target; to the posterior, the closed
    form |theta - (1 + heads) / (2 + n)| averaged over theta at each N."""
    names = [t.name for t in load_tasks() if t.name.startswith("coin_in_context_t")]
    result = CliRunner().invoke(
        app,
        ["run", "--model", "oracle", "--tasks", ",".join(names), "--method", "logprob",
         "--output-path", str(tmp_path), "--cache", str(tmp_path / "c.sqlite")],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("results_oracle_*.json")
    document = json.loads(path.read_text())
    assert document["config"]["model"]["backend"] == "oracle"
    by_n = document["in_context"]["logprob"]["coin_in_context"]["by_n"]
    assert [r["n"] for r in by_n] == [0, 1, 3, 5, 10, 20, 100]
    for row in by_n:
        entries = [
            e["logprob"]
            for e in document["results"].values()
            if e["logprob"]["task"]["params"]["n"] == row["n"]
        ]
        expected = [
            abs(
                e["task"]["params"]["theta"]
                - (1 + e["task"]["params"]["counts"][0]) / (2 + row["n"])
            )
            for e in entries
        ]
        assert row["tasks"] == 11
        assert row["tvd_target"] == pytest.approx(0.0, abs=1e-12)
        assert row["tvd_posterior"] == pytest.approx(np.mean(expected))
        assert row["tvd_prior"] == pytest.approx(np.mean([abs(t / 10 - 0.5) for t in range(11)]))
    assert by_n[-1]["tvd_posterior"] < by_n[0]["tvd_posterior"]


def test_sampled_answers_are_compared_by_their_shares() -> None:
    """Direct mode: the valid answers' shares stand for the model's distribution."""
    (task,) = [t for t in load_tasks() if t.name == "coin_in_context_t70_n3"]
    answers = ["heads"] * 3 + ["tails"] + [None]
    outcomes = [
        ParseResult(value=a) if a else ParseResult(invalid_reason="no option") for a in answers
    ]
    run = TaskRun(task, "direct")
    run.samples = [
        SampleRecord(i, i, str(a), (o,))
        for i, (a, o) in enumerate(zip(answers, outcomes, strict=True))
    ]
    run.metrics = evaluate(task.target, outcomes, rng=np.random.default_rng(0), n_sim=50)
    document = result_document({"backend": "test"}, ["direct"], RunConfig(), [run])
    entry = document.results[task.name]["direct"]
    heads = task.params["counts"][0]
    posterior_heads = (1 + heads) / (2 + 3)
    assert entry.references["posterior"].tvd == pytest.approx(abs(0.75 - posterior_heads))
    assert entry.references["prior"].tvd == pytest.approx(0.25)
    (row,) = document.in_context["direct"]["coin_in_context"].by_n
    assert row.model_dump() == {
        "n": 3, "tasks": 1, "tvd_posterior": pytest.approx(abs(0.75 - posterior_heads)),
        "tvd_prior": pytest.approx(0.25), "tvd_target": pytest.approx(0.05),
    }  # fmt: skip


@pytest.mark.parametrize(("words", "rate"), [(2, 0.1), (29, 0.5), (101, 2.0)])
def test_poisson_insertions_mark_each_gap_with_one_minus_exp_minus_rate(
    words: int, rate: float
) -> None:
    target = TARGETS.get("poisson_insertions").model_validate({"words": words, "rate": rate})
    p_gap = 1 - np.exp(-rate)
    probs = np.asarray(target.probabilities())
    assert probs.sum() == pytest.approx(1.0)
    assert probs[0] == pytest.approx((1 - p_gap) ** (words - 1))
    assert probs[-1] == pytest.approx(p_gap ** (words - 1))
    assert target.summary().mean == pytest.approx((words - 1) * p_gap)


def test_count_parser_counts_marks_and_logprob_mode_skips_it() -> None:
    (task,) = [t for t in load_tasks() if t.name == "poisson_marks_explicit_rate_50"]
    assert task.parser.parse("The * old fisherman * pushed", task.target).value == 2
    assert task.parser.parse(" * ", task.target).invalid_reason == "no words in the answer"
    assert "measures the answer" in (METHODS.get("logprob")().not_applicable(task) or "")


def test_in_context_poisson_example_shows_the_drawn_marks_and_the_target_rate() -> None:
    tasks = [t for t in load_tasks() if t.name.startswith("poisson_marks_in_context_")]
    assert sorted(round(t.target.rate, 12) for t in tasks) == [0.1, 0.25, 0.5, 1.0, 2.0]
    for task in tasks:
        example = task.prompt.split("\n\n")[1]
        marks = task.params["counts"][1]
        assert example.count("*") == marks
        assert example.replace(" * ", " ") == task.params["example"]
    dense = max(tasks, key=lambda t: t.target.rate)
    assert dense.params["counts"][1] > 27 / 2  # rate 2: 86% of the 27 gaps on average


def test_answers_a_coin_cannot_give_are_valid_misses() -> None:
    """theta = 0: "heads" is an outcome the task lists with weight 0: a valid answer and a
    miss (issue #29), counted by the statistics and by the in-context TVDs."""
    (task,) = [t for t in load_tasks() if t.name == "coin_in_context_t0_n3"]
    replies = ["heads,", "heads", "tails, then", "tails"]
    outcomes = [read_answer(task.parser, task.target, r) for r in replies]
    assert all(o.valid for o in outcomes)
    run = TaskRun(task, "direct")
    run.samples = [
        SampleRecord(i, i, r, (o,), (r,))
        for i, (r, o) in enumerate(zip(replies, outcomes, strict=True))
    ]
    run.metrics = evaluate(task.target, outcomes, rng=np.random.default_rng(0), n_sim=50)
    assert run.metrics.validity == 1.0 and run.metrics.analysis == "point_mass"
    assert run.metrics.values["miss_rate"] == 0.5 and run.metrics.p_value is None
    document = result_document({"backend": "test"}, ["direct"], RunConfig(), [run])
    (row,) = document.in_context["direct"]["coin_in_context"].by_n
    assert row.tvd_target == pytest.approx(0.5)
    assert document.in_context["direct"]["coin_in_context"].by_theta[0].p_first == 0.5


def test_an_infinite_statistic_survives_the_result_file_and_the_leaderboard(
    tmp_path: Path,
) -> None:
    """A miss on an outcome of weight 0 makes chi-square's statistic and KL infinite; the
    result file writes "Infinity" and the leaderboard reads it back (the first files written
    with issue #29's statistics held null there, which the leaderboard refused)."""
    from randbench.harness.results import write_results
    from randbench.leaderboard.load import load_results

    task = next(
        t for t in load_tasks()
        if t.target.support() is not None and t.target.judged_as().value == "categorical"
        and 0 in t.target.probabilities() and not t.completion
    )  # fmt: skip
    support, probs = task.target.support(), task.target.probabilities()
    assert support is not None
    zero = support[int(np.flatnonzero(probs == 0)[0])]
    liked = support[int(np.argmax(probs))]
    outcomes = [ParseResult.ok(liked)] * 9 + [ParseResult.ok(zero)]
    run = TaskRun(task, "direct")
    run.samples = [
        SampleRecord(i, i, str(o.value), (o,), (str(o.value),)) for i, o in enumerate(outcomes)
    ]
    run.metrics = evaluate(task.target, outcomes, rng=np.random.default_rng(0), n_sim=50)
    assert run.metrics.tests["chi_square"].statistic == math.inf
    write_results(
        tmp_path, {"backend": "oracle", "name": "", "args": {}}, ["direct"], RunConfig(), [run]
    )
    (entry,) = [d.entry for d in load_results(tmp_path).runs[0].tasks.values()]
    assert entry.tests["chi_square"].statistic == math.inf and entry.p_value == 0.0
    assert entry.values["kl_empirical_target"] == math.inf


def test_an_answer_holding_unicode_line_separators_keeps_its_one_jsonl_record(
    tmp_path: Path,
) -> None:
    """Gemma 3 wrote U+2028 in an answer; the samples file held it raw, and the leaderboard,
    splitting lines as str.splitlines() does, saw a broken record and refused the file."""
    from randbench.harness.results import write_results
    from randbench.leaderboard.load import load_results

    (task,) = [t for t in load_tasks() if t.name == "coin_flip"]
    replies = ["heads\u2028tails", "tails\x85", "heads\u2029"]
    outcomes = [read_answer(task.parser, task.target, r) for r in replies]
    run = TaskRun(task, "direct")
    run.samples = [
        SampleRecord(i, i, r, (o,), (r,))
        for i, (r, o) in enumerate(zip(replies, outcomes, strict=True))
    ]
    run.metrics = evaluate(task.target, outcomes, rng=np.random.default_rng(0), n_sim=50)
    model = {"backend": "oracle", "name": "", "args": {}}
    _, samples = write_results(tmp_path, model, ["direct"], RunConfig(), [run])
    text = samples.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 3, "no record is split, whichever way lines are read"
    assert [json.loads(line)["completion"] for line in text.splitlines()] == replies
    (data,) = load_results(tmp_path).runs[0].tasks.values()
    assert [s.completion for s in data.samples] == replies


def test_baseline_curves_are_the_closed_forms_of_each_predictor() -> None:
    """The posterior predictive scores |theta - (1 + heads) / (2 + N)| against theta, the
    empirical frequency |theta - heads / N| (N > 0), averaged over theta at each N."""
    from randbench.in_context import baseline_curves

    coins = [t for t in load_tasks() if t.path is not None and t.path.stem == "coin_in_context"]
    curves = baseline_curves(coins)["coin_in_context"]
    for n, found in curves.items():
        tasks = [t for t in coins if t.params["n"] == n]
        heads = [t.params["counts"][0] for t in tasks]
        thetas = [t.params["theta"] for t in tasks]
        posterior = [abs(th - (1 + h) / (2 + n)) for th, h in zip(thetas, heads, strict=True)]
        assert found["posterior predictive"] == pytest.approx(np.mean(posterior))
        if n:
            empirical = [abs(th - h / n) for th, h in zip(thetas, heads, strict=True)]
            assert found["empirical frequency"] == pytest.approx(np.mean(empirical))
        else:
            assert "empirical frequency" not in found
