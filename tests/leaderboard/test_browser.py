"""The site in a real browser: Debian's Chromium driven by playwright, from file:// with every
request beyond file:// refused and recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page

from .conftest import INJECTED_ANSWER, INJECTED_MODEL, INJECTIONS, ROOT, Tab


def column(page: Page, key: str) -> list[str]:
    """The visible text of one column, in the order the rows are shown (the model column:
    the model's name, without its badges)."""
    link = " > a" if key == "model" else ""
    cells = page.locator(f'#board tbody tr:not([hidden]) td[data-col="{key}"]{link}')
    return [t.strip() for t in cells.all_inner_texts()]


def from_the_nav(tab: Tab, site: Path, link: str, page_name: str) -> Page:
    """Open the index, follow a link of the header's nav, and wait for the page's script."""
    tab.open(site, "index.html").locator("header nav a", has_text=link).click()
    page = tab.page
    page.wait_for_selector("html[data-ready='true']", state="attached")
    assert page.url.endswith(f"/{page_name}")
    return page


def numbers(texts: list[str]) -> list[float]:
    return [float(t) for t in texts if t not in ("—", "")]


def test_index_loads_clean_and_offline(site: Path, tab: Tab, tmp_path: Path) -> None:
    page = tab.open(site, "index.html")
    assert page.locator("#board tbody tr[data-row]").count() == 7
    groups = page.locator("#board tbody").all()
    assert [g.get_attribute("data-group") for g in groups] == ["sampled", "exact"]
    for group in groups:
        assert "Ranked among themselves" in group.locator("tr.group-head th").inner_text()
    assert page.locator("#status").inner_text() == "7 of 7 rows"
    image = page.locator("figure.plot img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    shot = tmp_path / "index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    tab.check_clean()
    assert all(url.startswith("file://") for url in tab.requests)
    assert any(url.endswith("static/site.js") for url in tab.requests)


def test_references_and_partial_rows_are_marked_and_not_ranked(site: Path, tab: Tab) -> None:
    """The oracle and the constant answers are reference lines ("ref", a badge), not ranked;
    the scored samples, one task of ten scored, are a partial row, listed unranked (issue #35);
    sampled rows come before exact ones."""
    page = tab.open(site, "index.html")
    models, ranks = column(page, "model"), column(page, "rank")
    exact = ["exact over the scored answers" in m for m in column(page, "method")]
    assert exact == [False] * 4 + [True] * 3, "the sampled table, then the exact one"
    assert models[3].startswith("scored:"), "references first in their table, then the rest"
    for model, rank in zip(models, ranks, strict=True):
        assert rank == ("—" if model.startswith("scored:") else "ref"), (model, rank)
    cells = page.locator('#board tbody td[data-col="model"]')
    badges = [cells.nth(i).inner_text() for i in range(cells.count())]
    assert sum("reference" in b for b in badges) == 6
    (partial,) = [b for b in badges if "partial" in b]
    assert "partial: 1 of 10 tasks" in partial  # the control is not scored
    overall = dict(zip(models, column(page, "overall"), strict=False))
    assert float(overall["oracle"]) > 95
    assert float(overall["constant"]) == 0.0
    scored_row = page.locator("#board tbody tr", has_text="scored:")
    assert "not measured" in scored_row.locator('td[data-col="cat-basic"]').inner_text()
    tab.check_clean()


def in_group(page: Page, group: str, key: str) -> list[str]:
    """One column of one table body (sampled or exact rows): rows sort within their group."""
    cells = page.locator(
        f'#board tbody[data-group="{group}"] tr:not([hidden]) td[data-col="{key}"]'
    )
    return [t.strip() for t in cells.all_inner_texts()]


def test_sorting(site: Path, tab: Tab) -> None:
    page = tab.open(site, "index.html")
    page.locator('th[data-sort="overall"] button').click()
    scores = {g: numbers(in_group(page, g, "overall")) for g in ("sampled", "exact")}
    for group in scores.values():
        assert len(group) >= 3 and group == sorted(group, reverse=True)
    assert page.locator('th[data-sort="overall"]').get_attribute("aria-sort") == "descending"
    page.locator('th[data-sort="overall"] button').click()
    for name, group in scores.items():
        assert numbers(in_group(page, name, "overall")) == sorted(group)
    page.locator('th[data-sort="model"] button').click()
    models = [m.split(" ")[0] for m in in_group(page, "sampled", "model")]
    assert models == sorted(models, key=str.lower) or models == sorted(models)
    page.locator('th[data-sort="validity"] button').click()
    validity = [float(v.rstrip("%")) for v in in_group(page, "exact", "validity")]
    assert validity == sorted(validity, reverse=True)
    assert "sort=validity%3Adesc" in page.url
    tab.check_clean()


def test_filtering(site: Path, tab: Tab) -> None:
    page = tab.open(site, "index.html")
    page.locator("#filter").fill("constant direct")
    assert set(column(page, "method")) == {"direct"}
    assert all(m.startswith("constant") for m in column(page, "model"))
    assert page.locator("#status").inner_text() == "2 of 7 rows"
    page.locator("#filter").fill("no such model")
    assert column(page, "model") == []
    page.locator("#filter").fill("")
    assert len(column(page, "model")) == 7
    tab.check_clean()


def test_category_and_column_toggles(site: Path, tab: Tab) -> None:
    page = tab.open(site, "index.html")
    oracle_row = page.locator("#board tbody tr[data-row]").first
    everything = oracle_row.locator('td[data-col="overall"]').inner_text()
    games = oracle_row.locator('td[data-col="cat-games"]').inner_text()
    for box in page.locator("#cat-toggles input").all():
        if box.get_attribute("data-cat") != "games":
            box.uncheck()
    # The overall score is now the games score alone, and the other categories are hidden.
    assert oracle_row.locator('td[data-col="overall"]').inner_text() == games
    assert page.locator('th[data-col="cat-basic"]').is_hidden()
    assert page.locator('th[data-col="cat-games"]').is_visible()
    assert "cats=games" in page.url
    page.locator('#col-toggles input[data-toggle="date"]').uncheck()
    assert page.locator('th[data-col="date"]').is_hidden()
    assert page.locator('td[data-col="date"]').first.is_hidden()
    for box in page.locator("#cat-toggles input").all():
        box.check()
    assert oracle_row.locator('td[data-col="overall"]').inner_text() == everything
    tab.check_clean()


def test_a_permalink_restores_the_view(site: Path, tab: Tab) -> None:
    page = tab.open(site, "index.html#sort=overall%3Aasc&q=oracle&cats=games%2Cbasic&hide=date")
    assert page.locator("#filter").input_value() == "oracle"
    assert set(column(page, "model")) == {"oracle"}
    assert page.locator('th[data-sort="overall"]').get_attribute("aria-sort") == "ascending"
    assert page.locator('#cat-toggles input[data-cat="games"]').is_checked()
    assert not page.locator('#cat-toggles input[data-cat="sequences"]').is_checked()
    assert page.locator('th[data-col="cat-sequences"]').is_hidden()
    assert page.locator('th[data-col="date"]').is_hidden()
    assert not page.locator('#col-toggles input[data-toggle="date"]').is_checked()
    # The view just made by hand gives the same link.
    again = tab.open(site, "index.html")
    again.locator("#filter").fill("oracle")
    for box in again.locator("#cat-toggles input").all():
        if box.get_attribute("data-cat") not in ("games", "basic"):
            box.uncheck()
    again.locator('#col-toggles input[data-toggle="date"]').uncheck()
    again.locator('th[data-sort="overall"] button').click()
    again.locator('th[data-sort="overall"] button').click()
    link = again.locator("#permalink").get_attribute("href")
    assert link == "#sort=overall%3Aasc&q=oracle&cats=basic%2Cgames&hide=date"
    tab.check_clean()


def test_drill_down_pages_show_their_plot(site: Path, tab: Tab) -> None:
    page = tab.open(site, "index.html")
    page.locator("#board tbody tr", has_text="oracle").first.locator("a").first.click()
    page.wait_for_selector("html[data-ready='true']", state="attached")
    assert "/models/oracle-" in page.url
    page.locator('table.tasks td.score a[href$="/direct/dice_d6.html"]').click()
    page.wait_for_selector("html[data-ready='true']", state="attached")
    assert page.url.endswith("/direct/dice_d6.html")
    image = page.locator("figure.plot img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 300")
    assert page.locator("pre.prompt").first.inner_text().startswith("Roll a fair 6-sided die")
    assert page.locator("#sample-status").inner_text() == "200 of 200 samples"
    assert page.locator("#sample-rows tr").count() == 50
    page.locator("#sample-filter").fill("6")
    shown = page.locator("#sample-rows td.completion").all_inner_texts()
    assert shown and all("6" in text for text in shown)
    for path in ("compare/dice_d6.html", "tasks.html", "methodology.html"):
        other = tab.open(site, path)
        for img in other.locator("img").all():
            assert img.evaluate("img => img.complete && img.naturalWidth > 0"), path
    tab.check_clean()


def test_injected_samples_render_as_text(site: Path, tab: Tab, tmp_path: Path) -> None:
    (scored,) = (site / "runs").glob("scored-*")
    page = tab.open(site, str((scored / "direct" / "dice_d6.html").relative_to(site)))
    completions = page.locator("#sample-rows td.completion").all_inner_texts()
    for raw in INJECTIONS:
        assert raw in completions
    assert page.locator("#samples img, #samples script, #samples svg").count() == 0
    assert page.locator("#samples a").count() == 0  # a javascript: text is never a link
    assert INJECTED_MODEL in page.locator(".sub").inner_text()
    page.screenshot(path=str(tmp_path / "injected.png"), full_page=True)
    index = tab.open(site, "index.html")
    labels = column(index, "model")
    assert f"scored:{INJECTED_MODEL}" in labels
    assert f"constant (answer={INJECTED_ANSWER})" in labels
    assert index.locator("#board img, #board script").count() == 0
    index.locator("#filter").fill("<script>")
    assert column(index, "model") == [f"scored:{INJECTED_MODEL}"]
    tab.check_clean()


@pytest.mark.slow
def test_the_published_site(real_site: Path, tab: Tab, tmp_path: Path) -> None:
    """The site of the committed results: the embedded models ranked, the oracle and the
    constant answer as reference lines, and a full-page screenshot to look at."""
    page = tab.open(real_site, "index.html")
    rows = list(zip(column(page, "model"), column(page, "method"), column(page, "overall"),
                    column(page, "rank"), strict=True))  # fmt: skip
    # Labels are backend[:name] [(args)], methods may carry badges: key by backend and method.
    scores = {(m.split(":")[0].split(" ")[0], k.split()[0]): float(s) for m, k, s, _ in rows}
    ranked = {(m.split(":")[0], k.split()[0]) for m, k, _, r in rows if r not in ("ref", "—")}
    assert ranked == {(b, k) for b in ("smollm2", "gemma3") for k in ("direct", "logprob")}
    assert {r for m, _, _, r in rows if m in ("oracle", "constant")} == {"ref"}
    assert scores[("constant", "direct")] == 0.0 == scores[("constant", "logprob")]
    assert 0 < scores[("smollm2", "direct")] < scores[("oracle", "direct")]
    stopped = [k for m, k, _, _ in rows if m.startswith("smollm2") and k.startswith("direct")]
    assert stopped and "stopped early" in stopped[0], "the SmolLM2 run stopped tasks early"
    assert 0 < scores[("smollm2", "logprob")] < scores[("oracle", "logprob")]
    shot = Path(__file__).parent / "output"
    shot.mkdir(exist_ok=True)
    page.screenshot(path=str(shot / "index.png"), full_page=True)
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    smol = tab.open(real_site, str(next(real_site.glob("runs/smollm2-*/direct/dice_d6.html"))
                                   .relative_to(real_site)))  # fmt: skip
    smol.screenshot(path=str(shot / "smollm2-dice_d6.png"), full_page=True)
    assert smol.locator("figure.plot img").evaluate("img => img.naturalWidth > 300")
    tab.check_clean()


@pytest.mark.slow
def test_rows_with_several_answers_per_call_are_marked(real_site: Path, tab: Tab) -> None:
    """Methods that ask for several answers per call (the committed SmolLM2 runs of sequence,
    multi_turn and verbalized sampling) carry a visible mark; single-answer methods do not."""
    page = tab.open(real_site, "index.html")
    several = ("sequence", "multi_turn", "vs_standard", "vs_cot", "vs_multi")
    for text in column(page, "method"):
        method = text.split()[0]
        assert ("several per call" in text) == (method in several), text
    badge = page.locator('td[data-col="method"] .badge.dependent').first
    assert badge.is_visible()
    assert "not independent draws" in (badge.get_attribute("title") or "")
    run = next(real_site.glob("runs/smollm2-*/multi_turn/dice_d6.html")).relative_to(real_site)
    detail = tab.open(real_site, str(run))
    assert detail.locator("#dependence h2").first.inner_text() == "Several answers per call"
    tab.check_clean()


def _committed_distances(model_name: str, method: str) -> dict[str, float]:
    """TVD per task (1 - accuracy for a sampled control) of the committed runs of one hf
    model and method, read from their JSON (files in name order, so the newest file of a
    task wins, as on the site)."""
    found: dict[str, float] = {}
    for path in sorted((ROOT / "results").glob("results_hf_*.json")):
        document = json.loads(path.read_text())
        model = document["config"]["model"]
        if model["backend"] != "hf" or model["name"] != model_name:
            continue
        for name, methods in document["results"].items():
            values = methods.get(method, {}).get("values", {})
            if values.get("tvd") is not None:
                found[name] = values["tvd"]
            elif values.get("accuracy") is not None:
                found[name] = 1 - values["accuracy"]
    assert found, f"no committed hf {method} result for {model_name}"
    return found


@pytest.mark.slow
def test_the_fine_tuning_page_sets_each_checkpoint_beside_its_base(
    real_site: Path, tab: Tab
) -> None:
    """The committed SmolLM2 checkpoints against hf:smollm2, task by task, with the split:
    the page's numbers are the result files' numbers."""
    page = tab.open(real_site, "finetune.html")
    sections = page.locator("section.checkpoint")
    assert sections.count() >= 4  # two checkpoints, each measured by logprob and direct
    methods, every_split = set(), set()
    for i in range(sections.count()):
        section = sections.nth(i)
        title = section.locator("h2").inner_text()
        name, method = title.split()[0].removeprefix("hf:"), title.split()[-1]
        methods.add(method)
        base, tuned = _committed_distances("smollm2", method), _committed_distances(name, method)
        splits = set()
        for row in section.locator("table.changes tbody tr").all():
            cells = [c.strip() for c in row.locator("td").all_inner_texts()]
            task, split = cells[0], cells[1]
            splits.add(split)
            assert cells[3] == f"{base[task]:.3g}" and cells[4] == f"{tuned[task]:.3g}", task
        assert "train" in splits and "heldout (parameter)" in splits, title
        every_split |= splits
        levels = section.locator("table.summary tbody tr[data-group]")
        assert levels.count() == 6, "trained, three held-out levels, untrained, controls"
        parameter = section.locator('tr[data-group="parameter"]').inner_text()
        assert "underpowered:" in parameter and "of 72 tasks" in parameter
        assert not section.locator("p.split-note").count(), "retrained on today's split"
    assert methods == {"logprob", "direct"}
    assert "heldout (category)" in every_split, "shuffle_four_animals, measured exactly"
    tab.check_clean()


@pytest.mark.slow
def test_the_fine_tuning_objectives_stand_side_by_side(real_site: Path, tab: Tab) -> None:
    """Issue #32: SFT, distribution matching and GRPO with its curriculum on and off, trained
    on the same 16 tasks at the same budget, ranked on the held-out split; each cell has its
    interval and n, and the ranking follows the cells."""
    page = tab.open(real_site, "finetune.html")
    tables = page.locator("section.objectives").filter(has_text="measured by logprob")
    ours = [t for t in tables.all() if "16 tasks" in t.locator("h2").inner_text()]
    assert len(ours) == 1, [t.locator("h2").inner_text() for t in tables.all()]
    rows = ours[0].locator("tbody tr").all()
    objectives = [r.locator("td").nth(1).inner_text() for r in rows]
    assert set(objectives) == {"sft", "distmatch", "grpo (curriculum on)", "grpo (curriculum off)"}
    assert {r.locator("td").nth(3).inner_text() for r in rows} == {"192"}
    heldout = [r.locator('td[data-group="all-heldout"]').inner_text() for r in rows]
    assert all("[" in cell and "n=" in cell for cell in heldout), heldout
    changes = [float(cell.split()[0]) for cell in heldout]
    assert changes == sorted(changes), "best on the held-out tasks first"
    tab.check_clean()


@pytest.mark.slow
def test_the_in_context_page_of_the_published_site(real_site: Path, tab: Tab) -> None:
    """Reached from the index; every plot loads and has a table of its numbers beside it;
    SmolLM2's curves hold both the logprob and the direct rows."""
    page = from_the_nav(tab, real_site, "In-context", "in_context.html")
    images = page.locator("section.in-context figure.plot img")
    assert images.count() >= 5
    for i in range(images.count()):
        image = images.nth(i)
        assert image.evaluate("img => img.complete && img.naturalWidth > 300")
        assert len(image.get_attribute("alt") or "") > 40
        following = image.locator("xpath=ancestor::figure/following-sibling::div[1]//table")
        assert following.locator("tbody tr").count() >= 1
    coin = page.locator("table.in-context-table").first
    header = coin.locator("thead th").all_inner_texts()
    assert {"logprob: to target", "direct: to target", "logprob: to posterior"} <= set(header)
    # 11 thetas and 10 Poisson rows per model: SmolLM2, Gemma 3, the oracle, the constant.
    compliance = page.locator("table.compliance-table tbody tr").count()
    poisson = page.locator("table.poisson-table tbody tr").count()
    assert compliance % 11 == 0 and compliance >= 22, compliance
    assert poisson % 10 == 0 and poisson >= 20, poisson
    tab.check_clean()


@pytest.mark.slow
def test_the_findings_page_of_the_published_site(real_site: Path, tab: Tab) -> None:
    """Reached from the index; every row's cited numbers are the committed files' own, and
    its cells show them."""
    page = from_the_nav(tab, real_site, "Findings", "findings.html")
    for key in ("mode-collapse", "no-model-passes"):  # the real site leaves out the Bayesian tasks
        assert page.locator(f"section#{key} table tbody tr").count() >= 1, key
    checked = 0
    for row in page.locator("tr[data-cited]").all():
        cells = row.locator("td").all_inner_texts()
        for cited in json.loads(row.get_attribute("data-cited") or "[]"):
            node = json.loads(next((ROOT / "results").rglob(cited["source"])).read_text())
            for part in cited["path"].split("."):
                node = node[int(part)] if isinstance(node, list) else node[part]
            assert node == cited["value"], cited
            checked += 1
        if row.locator("xpath=ancestor::section[@id='mode-collapse']").count():
            share = json.loads(row.get_attribute("data-cited") or "[]")[0]["value"]
            assert cells[4] == f"{100 * share:.1f}%", cells
    assert checked > 50
    tab.check_clean()


@pytest.mark.slow
def test_the_comparison_page_of_the_published_site(real_site: Path, tab: Tab) -> None:
    """Reached from the index: SmolLM2 against Gemma 3, sampled and exact apart, each
    difference inside its interval."""
    page = from_the_nav(tab, real_site, "Compare", "compare_models.html")
    for kind in ("sampled", "exact"):
        rows = page.locator(f"section#{kind} table tbody tr")
        assert rows.count() >= 1, kind
        texts = " ".join(rows.all_inner_texts())
        assert "smollm2" in texts and "gemma3" in texts, kind
        for row in rows.all():
            low, point, high = (float(row.get_attribute(k) or "nan")
                                for k in ("data-low", "data-point", "data-high"))  # fmt: skip
            assert low <= point <= high
    tab.check_clean()


@pytest.mark.slow
def test_the_probes_page_shows_every_committed_probe_with_its_curves(
    real_site: Path, tab: Tab
) -> None:
    """Reached from the nav: a section per committed probe file, its plot loaded, and its
    table's before and after values the file's own (first and last curve points)."""
    page = from_the_nav(tab, real_site, "Probes", "probes.html")
    committed = sorted((ROOT / "results").rglob("probe_*.json"))
    assert len(committed) >= 2
    for path in committed:
        document = json.loads(path.read_text())
        section = page.locator(f"section.probe#{path.stem}")
        assert section.count() == 1, path.name
        image = section.locator("figure img")
        assert image.evaluate("img => img.complete && img.naturalWidth > 300"), path.name
        first_row = section.locator("table.probe-table tbody tr").first
        cells = [c.strip() for c in first_row.locator("td").all_inner_texts()]
        run = next(r for r in document["runs"] if r["arm"] == "treatment" and r["seed"] == 0)
        key = ("test", "mean", "test_answer") if "pairs" in document else ("test", "tvd_to_uniform")
        first, last = run["curve"][0], run["curve"][-1]
        for part in key:
            first, last = first[part], last[part]
        assert cells[:2] == ["0", "treatment"] and cells[2] == f"{first:.3g} → {last:.3g}"
        assert "randbench probe" in section.inner_text()
    tab.check_clean()
