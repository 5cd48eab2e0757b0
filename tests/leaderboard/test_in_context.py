"""The in-context page: TVD-versus-N curves, stated-bias compliance and Poisson rates, from
real oracle runs; and rows that gather a model's tasks from several result files."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from randbench.cli import app
from randbench.leaderboard.in_context import Family, ModelView
from randbench.leaderboard.load import latest_runs, load_results
from randbench.loader import load_tasks
from randbench.result_schema import FamilySummary, MeanAtN, MeanAtTheta

COIN = [t.name for t in load_tasks() if t.name.startswith("coin_in_context_t")]
STATED = [t.name for t in load_tasks() if t.name.startswith("coin_stated_bias_t")]
FAMILY_HTML = "<img src=x onerror=window.__pwned=8>"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two oracle runs of one model and method: in-context coins and the stated-bias sweep
    (logprob and direct), then the Poisson tasks alone with a runtime-only argument."""
    folder = tmp_path_factory.mktemp("in-context-results")
    cache = str(folder / "cache.sqlite")
    tasks = [*COIN, *STATED, "dice_d6", "die_in_context_t1_n3"]
    invoke("run", "--model", "oracle", "--tasks", ",".join(tasks),
           "--method", "direct,logprob", "--samples", "400", "--no-stop-early",
           "--cache", cache, "--output-path", str(folder / "first"))  # fmt: skip
    invoke("run", "--model", "oracle", "--model-args", "n_threads=1", "--tasks", "poisson_process",
           "--method", "direct", "--samples", "300", "--cache", cache,
           "--output-path", str(folder / "second"))  # fmt: skip
    (second,) = (folder / "second").glob("results_*.json")
    document = json.loads(second.read_text())
    document["config"]["date"] = "2099-01-01T00:00:00+00:00"  # surely the newer file
    second.write_text(json.dumps(document))
    return folder


@pytest.fixture(scope="module")
def page(runs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("site") / "site"
    invoke("leaderboard", "build", str(runs), "-o", str(out), "--bootstrap", "100")
    assert 'href="in_context.html"' in (out / "index.html").read_text()
    return (out / "in_context.html").read_text()


@pytest.mark.slow
def test_a_run_of_a_few_tasks_adds_to_the_row_instead_of_hiding_it(runs: Path) -> None:
    sources, superseded = latest_runs(load_results(runs).runs)
    direct = [s for (key, method), s in sources.items() if method == "direct"]
    assert len(direct) == 1, "n_threads does not make another model"
    (source,) = direct
    names = set(source.tasks)
    assert {"dice_d6", "coin_in_context_t30_n3", "poisson_marks_explicit_rate_50"} <= names
    # A loaded die's weights have integer keys, which JSON writes as strings: its sampled
    # answers (integers) are still inside the target read back from the file.
    die = source.tasks["die_in_context_t1_n3"]
    assert die.target.support() == [1, 2, 3, 4, 5, 6] and len(die.samples) == 400
    assert [r.path.parent.name for r in source.runs] == ["second", "first"]
    assert source.files["dice_d6"].path.parent.name == "first"
    assert superseded == []
    (run,) = [r for r in source.runs if r.path.parent.name == "second"]
    assert run.model.args == {"n_threads": 1} and run.model.label() == "oracle"


def table(html: str, css_class: str) -> list[list[str]]:
    found = re.search(rf'<table class="data {css_class}">(.*?)</table>', html, re.S)
    assert found, css_class
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows]


@pytest.mark.slow
def test_tvd_curves_match_the_oracles_closed_form(runs: Path, page: str) -> None:
    """The oracle gives exactly theta in logprob mode: TVD 0 to theta; to the posterior,
    the mean over theta of |theta - (1 + heads) / (2 + N)|, as the result file says."""
    (first,) = (runs / "first").glob("results_*.json")
    by_n = json.loads(first.read_text())["in_context"]["logprob"]["coin_in_context"]["by_n"]
    rows = table(page, "in-context-table")
    header, body = rows[0], rows[1 : 1 + len(by_n)]
    assert [r[0] for r in body] == ["0", "1", "3", "5", "10", "20", "100"]
    column = {name: i for i, name in enumerate(header)}
    for cells, expected in zip(body, by_n, strict=True):
        assert float(cells[column["logprob: to target"]]) == pytest.approx(0.0, abs=1e-9)
        posterior = float(cells[column["logprob: to posterior"]])
        assert posterior == pytest.approx(expected["tvd_posterior"], abs=5e-4)
        # The oracle is theta: its distance to the posterior is the posterior's to theta.
        baseline = float(cells[column["posterior predictive (baseline): to theta"]])
        assert baseline == pytest.approx(posterior, abs=5e-4)
        # Sampling: 400 answers per task, so within a few binomial standard errors of 0.
        assert float(cells[column["direct: to target"]]) < 0.06
    assert float(body[-1][column["logprob: to posterior"]]) < float(
        body[1][column["logprob: to posterior"]]
    )
    assert "coin_in_context.svg" in page and 'alt="Mean TVD over theta' in page
    empirical = column["empirical frequency (baseline): to theta"]
    assert body[0][empirical] == "—" and float(body[-1][empirical]) < float(body[1][empirical])


@pytest.mark.slow
def test_stated_bias_compliance_of_the_oracle_is_the_diagonal(page: str) -> None:
    rows = table(page, "compliance-table")
    assert [r[0] for r in rows[1:]] == [str(t) for t in range(0, 101, 10)]
    logprob = rows[0].index("coin_stated_bias · logprob")
    for cells in rows[1:]:
        assert float(cells[logprob]) == pytest.approx(int(cells[0]) / 100, abs=1e-9)
    assert "stated-bias.svg" in page


@pytest.mark.slow
def test_poisson_rate_against_lambda(page: str) -> None:
    rows = table(page, "poisson-table")[1:]
    assert len(rows) == 10
    for method, form, rate, target, model, answers in rows:
        assert float(target) == pytest.approx(1 - math.exp(-float(rate)), abs=5e-4)
        # 300 answers of 27 gaps each: the share of marked gaps within 0.03 of the target.
        assert abs(float(model) - float(target)) < 0.03, (form, rate)
        assert "direct" in method and answers == "300"
    assert {r[1] for r in rows} == {"explicit lambda", "in-context example"}
    assert "poisson.svg" in page


@pytest.mark.slow
def test_family_names_from_result_files_are_escaped(
    runs: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (first,) = (runs / "first").glob("results_*.json")
    document = json.loads(first.read_text())
    summaries = document["in_context"]["logprob"]
    summaries[FAMILY_HTML] = summaries.pop("coin_in_context")
    copy = tmp_path_factory.mktemp("injected")
    (copy / first.name).write_text(json.dumps(document))
    samples = first.with_name(first.name.replace("results_", "samples_")).with_suffix(".jsonl")
    (copy / samples.name).write_bytes(samples.read_bytes())
    out = copy / "site"
    invoke("leaderboard", "build", str(copy), "-o", str(out), "--bootstrap", "100")
    html = (out / "in_context.html").read_text()
    assert FAMILY_HTML not in html
    assert "&lt;img src=x onerror=window.__pwned=8&gt;" in html
    plots = [p.relative_to(out) for p in (out / "plots" / "in_context").rglob("*.svg")]
    assert all(re.fullmatch(r"[a-z0-9_./-]+", str(p)) for p in plots), plots


def test_compliance_rows_follow_theta_when_a_method_lacks_one() -> None:
    """A sampling row may have no answer at some theta: each cell is looked up by theta."""
    at_zero = [MeanAtN(n=0, tasks=3, tvd_target=0.2)]
    full = FamilySummary(by_n=at_zero, by_theta=[
        MeanAtTheta(theta_pct=t, tasks=1, p_first=t / 100) for t in (0, 50, 100)])  # fmt: skip
    gap = FamilySummary(by_n=at_zero, by_theta=[
        MeanAtTheta(theta_pct=t, tasks=1, p_first=0.3) for t in (0, 100)])  # fmt: skip
    sparse = Family("stated", "direct", gap)
    view = ModelView("m", "m", [sparse, Family("stated", "logprob", full)], {})
    assert view.stated_thetas == [0, 50, 100]
    assert sparse.p_first(50) is None and sparse.p_first(100) == 0.3
    assert view.compliance_families == view.families and view.curve_families == []
    one_length = FamilySummary(by_n=[MeanAtN(n=27, tasks=5, tvd_target=0.9)], by_theta=[
        MeanAtTheta(theta_pct=t, tasks=1, p_first=0.1) for t in (14, 37, 61)])  # fmt: skip
    poisson = Family("poisson_marks_in_context", "direct", one_length)
    assert not poisson.evidence_curve and not poisson.stated_bias
