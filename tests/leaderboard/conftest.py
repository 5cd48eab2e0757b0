"""Real result files from real runs (oracle, constant, and samples with injected HTML scored by
``randbench score``), a site built from them by the real CLI, and Debian's Chromium.

The browser is Debian's ``/usr/bin/chromium`` driven by playwright (``scripts/setup.sh``
installs it); playwright never downloads a browser here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Route, sync_playwright
from typer.testing import CliRunner

from randbench.cli import app
from randbench.loader import load_tasks

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
TASKS = [
    "dice_d6",
    "coin_flip",
    "weighted_colour",
    "random_number_1_to_100",
    "normal_50_10",
    "poisson_rate_3",
    "shuffle_letters",
    "choose_2_of_5_colours",
    "password_lower_digits_8",
    "coin_flips_20",
    "control_two_plus_two",
]
INJECTIONS = [
    "<script>window.__pwned = 1</script>",
    "</script><script>window.__pwned = 2</script>",
    '"><img src=x onerror="window.__pwned = 3">',
    "javascript:window.__pwned = 4",
    "<!-- 4 --><svg onload=window.__pwned=5>",
]
INJECTED_MODEL = "<script>window.__pwned = 6</script>"
INJECTED_ANSWER = '"><img src=x onerror=window.__pwned=7>'

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Result files from real runs: the oracle and two constant baselines (one whose model
    argument is HTML), and samples full of HTML and script scored by ``randbench score``."""
    folder = tmp_path_factory.mktemp("results")
    cache = str(tmp_path_factory.mktemp("cache") / "cache.sqlite")
    common = ["--tasks", ",".join(TASKS), "--method", "direct,logprob", "--cache", cache]
    # Result file names carry the backend and the second: one folder per run keeps the two
    # constant runs apart (the leaderboard reads subfolders too).
    invoke("run", "--model", "oracle", "--samples", "200", *common, "--output-path", str(folder))
    invoke("run", "--model", "constant", "--samples", "50", *common,
           "--output-path", str(folder / "constant"))  # fmt: skip
    invoke(
        "run", "--model", "constant", "--model-args", f"answer={INJECTED_ANSWER}",
        "--samples", "20", *common, "--output-path", str(folder / "injected"),
    )  # fmt: skip
    completions = folder / "injected.jsonl"
    lines = [*INJECTIONS, "3", "4", "6"] * 4
    completions.write_text("".join(json.dumps(c) + "\n" for c in lines), encoding="utf-8")
    invoke(
        "score", str(completions), "--task", "dice_d6", "--model-name", INJECTED_MODEL,
        "--output-path", str(folder),
    )  # fmt: skip
    completions.unlink()
    return folder


@pytest.fixture(scope="session")
def site(results_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    invoke("leaderboard", "build", str(results_dir), "-o", str(out), "--bootstrap", "200")
    return out


@pytest.fixture(scope="session")
def real_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site of the committed results/ (the real runs the README publishes) over the
    train split of every category but the 659 Bayesian evidence tasks, whose per-task plots
    took 90% of a three-minute build, and the held-out tasks the published checkpoints were
    measured on (not all 216: their plots would double the build); the in-context page still
    shows the Bayesian curves (from each file's summaries) and the Poisson tasks it reads
    from the samples. Only slow tests use it."""
    if not any((ROOT / "results").glob("results_*.json")):
        pytest.fail("results/ holds no result files: the committed runs are missing")
    out = tmp_path_factory.mktemp("real-site") / "site"
    invoke("leaderboard", "build", str(ROOT / "results"), "-o", str(out), "--tasks", real_tasks(),
           "--bootstrap", "200")  # fmt: skip
    return out


REAL_CATEGORIES = ("basic", "games", "contextual", "combinatorial", "distributions",
                   "sequences", "replication", "open_ended")  # fmt: skip
HELD_OUT_SHOWN = ("random_number_1_to_50", "dice_d12", "dice_d20", "dice_sum_3d6",
                      "geometric_p50", "shuffle_four_animals", "poisson_marks_*")  # fmt: skip


def real_tasks() -> str:
    trained = [t.name for t in load_tasks() if t.category in REAL_CATEGORIES and t.split == "train"]
    return ",".join([*trained, *HELD_OUT_SHOWN])


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run scripts/setup.sh as root "
            "(it installs Debian's chromium; playwright never downloads a browser)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


class Tab:
    """A page in a fresh browser context that records console errors, page errors, dialogs
    and every request, and lets no request leave file:// (a non-file request fails)."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("dialog", self._dialog)

    def _route(self, route: Route) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"console {message.type}: {message.text}")

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, site: Path, path: str) -> Page:
        """Open ``path`` (with an optional ``#fragment``) of the site from file://."""
        file, _, fragment = path.partition("#")
        self.page.goto((site / file).as_uri() + (f"#{fragment}" if fragment else ""))
        self.page.wait_for_selector("html[data-ready='true']", state="attached")
        return self.page

    def check_clean(self) -> None:
        """No console error, no page error, no dialog, and no request beyond file://."""
        assert self.errors == []
        assert self.dialogs == []
        outside = [u for u in self.requests if not u.startswith("file://")]
        assert outside == [], outside
        assert self.page.evaluate("window.__pwned") is None


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    opened = Tab(browser)
    yield opened
    opened.context.close()


def write_as(result: Any, folder: Path, backend: str) -> None:
    """A run's result files, recorded as another model's: rows whose answers are known (the
    oracle's near 100, the constant's 0) but that are not the references."""
    from randbench.api import Evaluation
    from randbench.result_schema import ModelInfo

    config = result.document.config.model_copy(update={"model": ModelInfo(backend=backend)})
    document = result.document.model_copy(update={"config": config})
    Evaluation(document, result.runs).write(folder)


@pytest.fixture(scope="session")
def contestants_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The oracle (the reference) and two models measured on all its tasks: one that samples
    the target (``model_a``, an oracle run) and one that always answers the same
    (``model_b``, a constant run)."""
    import randbench

    folder = tmp_path_factory.mktemp("contestants")
    tasks = ",".join(TASKS[:4])
    randbench.evaluate("oracle", tasks=tasks, methods="direct,logprob", samples=100).write(folder)
    write_as(randbench.evaluate("oracle", tasks=tasks, samples=100, seed=1), folder, "model_a")
    write_as(randbench.evaluate("constant", tasks=tasks, samples=30), folder, "model_b")
    return folder
