"""The findings (``randbench report``, docs/findings.md, the site's findings page): every
number is the one in the result file it cites, the intervals are recomputed from those
numbers, and docs/findings.md is what the committed results give today."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from randbench.leaderboard.findings import (
    Findings,
    build_findings,
    cited_numbers,
    findings_markdown,
    mean_interval,
    pct,
)
from randbench.leaderboard.load import load_results
from randbench.leaderboard.probes import probe_files, read_probe_files
from randbench.leaderboard.staleness import current_library
from randbench.stats.uncertainty import wilson_interval

pytestmark = pytest.mark.slow  # reads every committed result file (54 MB)

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"


@pytest.fixture(scope="module")
def findings() -> Findings:
    return build_findings(
        load_results(RESULTS), current_library(), read_probe_files(probe_files(RESULTS))
    )


@cache
def _document(name: str) -> Any:
    (path,) = RESULTS.rglob(name)
    return json.loads(path.read_text(encoding="utf-8"))


def value_at(name: str, path: str) -> Any:
    """The value at a dotted JSON path (task names hold no dots; a list index is a
    number) of a committed file."""
    node = _document(name)
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_every_cited_number_is_the_files_own(findings: Findings) -> None:
    cited = list(cited_numbers(findings))
    assert len(cited) > 100
    for number in cited:
        assert value_at(number.source, number.path) == number.value, number


def test_mode_shares_and_their_intervals_come_from_the_cited_counts(findings: Findings) -> None:
    (modes,) = [f for f in findings.findings if f.key == "mode-collapse"]
    sampled = [line for line in modes.lines if line.cells[3] != "exact"]
    assert sampled, "the committed direct rows answer the mode-collapse question"
    for line in sampled:
        share, n_valid, n = (c.value for c in line.figures)
        assert line.cells[2] == pct(share)
        assert line.cells[4] == f"{n_valid} of {n}"
        ci = wilson_interval(round(share * n_valid), int(n_valid))
        assert line.cells[3] == f"{pct(ci.low)} – {pct(ci.high)}"
    smol = [line for line in modes.lines
            if line.model.startswith("smollm2") and line.method == "direct"]  # fmt: skip
    assert {line.cells[0] for line in smol} == {
        "dice_d6", "coin_flip", "random_number_1_to_10", "random_number_1_to_100",
    }  # fmt: skip


def test_in_context_means_agree_with_each_files_own_summary(findings: Findings) -> None:
    """The means over the tasks' cited TVDs equal the summary the run wrote
    (``in_context.<method>.<family>.by_n``), and the change has a bootstrap interval."""
    (found,) = [f for f in findings.findings if f.key == "in-context"]
    assert found.lines and found.statements
    for line in found.lines:
        targets = [c for c in line.figures if c.path.endswith((".values.tvd", ".miss_rate"))]
        for n in (1, 100):
            at_n = [c for c in targets if c.path.split(".")[1].endswith(f"_n{n}")]
            mean = sum(c.value for c in at_n) / len(at_n)
            family = line.cells[0]
            summary = value_at(at_n[0].source, f"in_context.{line.method}.{family}")
            (row,) = [r for r in summary["by_n"] if r["n"] == n]
            assert mean == pytest.approx(row["tvd_target"]), (line.model, family, n)
        low, high = mean_interval([c.value for c in targets])
        assert low <= sum(c.value for c in targets) / len(targets) <= high


def test_a_statement_that_numbers_do_not_settle_says_so(findings: Findings) -> None:
    statements = [s for f in findings.findings for s in f.statements]
    assert any("inconclusive" in s for s in statements)
    assert any("collapsed: the whole interval" in s for s in statements)


def test_every_published_row_is_current(findings: Findings) -> None:
    stale = [(line.model, line.method) for f in findings.findings for line in f.lines if line.stale]
    assert not stale, "published results come from the current code and task library"


def test_a_stale_row_is_marked_and_states_nothing(tmp_path: Path) -> None:
    """A checkpoint's result whose held-out dice_d12 has since changed: the held-out line
    it is in is marked stale, and no statement rests on it."""
    for pattern in ("*hf_smollm2_2026-12-08T02-31-50Z*", "*smollm2-sft_2026-12-08T02-43-06Z*"):
        for path in RESULTS.glob(pattern):
            (tmp_path / path.name).write_bytes(path.read_bytes())
    (tuned,) = tmp_path.glob("results_hf_checkpoints_*.json")
    document = json.loads(tuned.read_text())
    document["config"]["task_hashes"]["dice_d12"] = "0" * 64
    tuned.write_text(json.dumps(document))
    found = build_findings(load_results(tmp_path), current_library())
    lines = [line for f in found.findings for line in f.lines if "sft" in line.model]
    stale = [line for line in lines if line.stale]
    assert [line.cells[0] for line in stale] == ["Held out: new parameter of a trained family"]
    statements = [s for f in found.findings for s in f.statements]
    for line in stale:
        group = line.cells[0][:1].lower() + line.cells[0][1:]
        assert not any(s.startswith(f"{line.model} ({line.method}), {group}:") for s in statements)


def test_published_figures_stand_beside_ours(findings: Findings) -> None:
    published = {p.source for f in findings.findings for p in f.published}
    assert any("Verbalized Sampling" in s for s in published)
    assert any("Coin Flips" in s for s in published)


def test_docs_findings_is_generated_from_the_committed_results(findings: Findings) -> None:
    committed = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert committed == findings_markdown(findings), (
        "docs/findings.md is stale: run `randbench report results/ -o docs/findings.md`"
    )


def test_the_lead_in_scores_more_of_smollm2_in_every_category_and_docs_quote_it(
    findings: Findings,
) -> None:
    (found,) = [f for f in findings.findings if f.key == "scored-mass"]
    lines = {
        (line.method, line.cells[0]): line
        for line in found.lines
        if line.model.startswith("smollm2:")
    }
    docs = (ROOT / "docs" / "methods.md").read_text()
    categories = [c for method, c in lines if method == "logprob_prefilled" and c != "all"]
    assert {"basic", "games", "combinatorial"} <= set(categories)
    for category in categories:
        plain, led = lines[("logprob", category)], lines[("logprob_prefilled", category)]
        assert led.numbers["mass"] > plain.numbers["mass"], category
        quoted = f"| {plain.cells[2]} | **{led.cells[2]}** |"
        assert quoted in docs or category in {"replication"}, (category, quoted)
