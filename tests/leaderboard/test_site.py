"""The built site as files: its pages, byte-for-byte determinism, escaping of untrusted text,
links that stay inside the site, and the downloads."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from randbench.cli import app
from randbench.leaderboard.embed import script_json

from .conftest import INJECTED_ANSWER, INJECTED_MODEL, INJECTIONS, TASKS


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_page_is_there(site: Path) -> None:
    for page in ("index.html", "methodology.html", "tasks.html"):
        assert (site / page).is_file()
    models = sorted((site / "models").glob("*.html"))
    assert len(models) == 4  # oracle, constant, constant with an answer, scored samples
    for name in TASKS:
        assert (site / "compare" / f"{name}.html").is_file()
    oracle = next((site / "runs").glob("oracle-*"))
    assert {p.stem for p in (oracle / "direct").glob("*.html")} == set(TASKS)
    skipped = {"normal_50_10", "poisson_rate_3", "password_lower_digits_8", "coin_flips_20"}
    assert {p.stem for p in (oracle / "logprob").glob("*.html")} == set(TASKS) - skipped
    for page in (oracle / "direct").glob("*.html"):
        svg = site / "plots" / page.relative_to(site).with_suffix(".svg")
        assert svg.is_file() and svg.read_text().lstrip().startswith("<?xml"), svg


@pytest.mark.slow
def test_same_results_give_a_byte_identical_site(results_dir: Path, tmp_path: Path) -> None:
    """Built twice, with the plots drawn in this process and then by two workers."""
    runner = CliRunner()
    outputs = []
    for name, jobs in (("a", "1"), ("b", "2")):
        built = runner.invoke(
            app, ["leaderboard", "build", str(results_dir), "-o", str(tmp_path / name),
                  "--bootstrap", "150", "--jobs", jobs], terminal_width=300,
        )  # fmt: skip
        assert built.exit_code == 0, built.output
        outputs.append(built.output)
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*")
             if p.is_file()}  # fmt: skip
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*")
              if p.is_file()}  # fmt: skip
    assert first.keys() == second.keys()
    different = [str(p) for p in first if first[p] != second[p]]
    assert different == []
    # The build reports what it wrote, and where to open it.
    pages = sum(1 for p in first if p.suffix == ".html")
    assert f"7 rows, {pages} pages, {len(first)} files" in outputs[0]
    assert (tmp_path / "a" / "index.html").resolve().as_uri() in outputs[0]


def test_svg_plots_carry_no_date_or_random_ids(site: Path) -> None:
    for svg in list((site / "plots").rglob("*.svg"))[:40]:
        text = svg.read_text()
        assert "<dc:date>" not in text
        assert "<script" not in text.lower()


@pytest.mark.parametrize(
    "value",
    [
        "</script><script>alert(1)</script>",
        "<!-- <script>",
        "a & b > c",
        "line\u2028separator\u2029",
        "</SCRIPT >",
    ],
)
def test_embedded_json_cannot_leave_its_script_element(value: str) -> None:
    embedded = str(script_json({"text": value, "list": [value], value: 1}))
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert "\u2028" not in embedded and "\u2029" not in embedded
    assert json.loads(embedded) == {"text": value, "list": [value], value: 1}


def test_non_finite_numbers_become_null() -> None:
    embedded = str(script_json({"nan": float("nan"), "inf": float("inf"), "ok": 0.5}))
    assert json.loads(embedded) == {"nan": None, "inf": None, "ok": 0.5}


class Elements(HTMLParser):
    """Every element with its attributes, and the text inside script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


SAFE_LINK = re.compile(r"^(\.\./)*[a-z0-9_./-]+\.(html|svg|css|js|csv|json)(#[a-z0-9_-]*)?$|^#")


def test_untrusted_text_is_never_markup_and_links_stay_in_the_site(site: Path) -> None:
    for page in html_files(site):
        parsed = Elements()
        parsed.feed(page.read_text(encoding="utf-8"))
        tags = {tag for tag, _ in parsed.elements}
        assert "img" not in tags or all(
            attrs.get("src", "").endswith(".svg") for tag, attrs in parsed.elements if tag == "img"
        ), page
        assert "svg" not in tags and "iframe" not in tags, page
        for tag, attrs in parsed.elements:
            assert not any(name.startswith("on") for name in attrs), (page, tag, attrs)
            for name in ("href", "src"):
                if attrs.get(name) is not None:
                    assert SAFE_LINK.match(attrs[name] or ""), (page, tag, attrs)
            if tag == "script":
                assert attrs.get("type") == "application/json" or attrs.get("src"), page
        for script in parsed.scripts:
            json.loads(script)  # every inline script is data


def test_injected_text_is_shown_escaped(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__pwned = 6&lt;/script&gt;" in index
    assert INJECTED_MODEL not in index
    answer_row = INJECTED_ANSWER.replace('"', "&#34;").replace("<", "&lt;").replace(">", "&gt;")
    assert answer_row in index
    (scored,) = (site / "runs").glob("scored-*")
    page = (scored / "direct" / "dice_d6.html").read_text(encoding="utf-8")
    for raw in INJECTIONS:
        if "<" in raw:  # "javascript:..." has no markup: it is in the page, as text only
            assert raw not in page
    pattern = r'<script type="application/json" id="samples-data">(.*?)</script>'
    data = re.search(pattern, page, re.S)
    assert data is not None
    completions = {sample[2] for sample in json.loads(data.group(1))}
    assert set(INJECTIONS) <= completions


def test_downloads_hold_the_table(site: Path) -> None:
    table = pd.read_csv(site / "data" / "leaderboard.csv")
    records = json.loads((site / "data" / "leaderboard.json").read_text())
    assert len(table) == len(records) == 7  # 3 models x direct/logprob + the scored samples
    assert len(table) == (site / "index.html").read_text().count("<tr data-row=")
    oracle = table[(table["model"] == "oracle") & (table["method"] == "direct")].iloc[0]
    assert pd.isna(oracle["rank"]) and oracle["overall_low"] <= 100 <= oracle["overall_high"]
    constant = table[(table["model"] == "constant") & (table["method"] == "direct")].iloc[0]
    assert constant["overall"] == 0
    assert set(table.columns) >= {
        "rank", "model", "method", "overall", "overall_low", "overall_high", "validity",
        "samples", "sampling", "date", "category_games", "controls_accuracy",
    }  # fmt: skip
    tasks = pd.read_csv(site / "data" / "tasks.csv")
    assert set(tasks["task"]) == set(TASKS)
    assert not any(str(v).startswith(("=", "+", "@")) for v in table["model"])


def test_a_board_of_selected_tasks_holds_only_them(results_dir: Path, tmp_path: Path) -> None:
    """``--tasks`` keeps the selected tasks' results (by name, glob or group) and no other;
    a pattern that matches no task of the library is refused with its name."""
    runner = CliRunner()
    built = runner.invoke(
        app, ["leaderboard", "build", str(results_dir), "-o", str(tmp_path / "s"),
              "--bootstrap", "100", "--tasks", "dice_d6,coin_*"], terminal_width=200,
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    tasks = pd.read_csv(tmp_path / "s" / "data" / "tasks.csv")
    assert set(tasks["task"]) == {"dice_d6", "coin_flip", "coin_flips_20"}
    assert "superseded" not in built.output
    oracle = next((tmp_path / "s" / "runs").glob("oracle-*"))
    assert {p.stem for p in (oracle / "direct").glob("*.html")} == set(tasks["task"])
    refused = runner.invoke(
        app, ["leaderboard", "build", str(results_dir), "-o", str(tmp_path / "t"),
              "--tasks", "no_such_task"], terminal_width=200,
    )  # fmt: skip
    assert refused.exit_code == 2 and "no_such_task" in refused.output
    assert not (tmp_path / "t").exists()
