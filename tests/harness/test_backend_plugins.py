"""A backend from another distribution: installed from a folder built here, found through
the ``randbench.backends`` entry-point group, and run by name like a built-in one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # pip builds and installs a distribution; three subprocess runs

PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "randbench-fives"
version = "0.1"

[project.entry-points."randbench.backends"]
fives = "randbench_fives:FivesBackend"
broken = "randbench_fives_missing:Nothing"
"""
MODULE = '''
from randbench.harness.backends import Backend, Capability
from randbench.harness.requests import Completion


class FivesBackend(Backend):
    """Answers 5 to everything."""

    capabilities = frozenset({Capability.GENERATE})

    def generate(self, requests):
        return [[Completion("5")] * r.n for r in requests]
'''


@pytest.fixture(scope="module")
def site_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The distribution built and installed (pip, no network) into a folder of its own."""
    source = tmp_path_factory.mktemp("dist")
    (source / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (source / "randbench_fives.py").write_text(MODULE, encoding="utf-8")
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return target


def _randbench(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "randbench.cli", *args], env=env, capture_output=True, text=True
    )


def test_an_installed_backend_runs_by_name(site_packages: Path, tmp_path: Path) -> None:
    done = _randbench(
        site_packages, "run", "--model", "fives", "--tasks", "dice_d6", "--samples", "30",
        "--output-path", str(tmp_path), "--cache", str(tmp_path / "cache.sqlite"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result,) = tmp_path.glob("results_fives_*.json")
    entry = json.loads(result.read_text())["results"]["dice_d6"]["direct"]
    assert entry["n"] == 30 and entry["values"]["tvd"] == pytest.approx(5 / 6)


def test_an_unknown_backend_lists_the_installed_ones_and_a_broken_one_is_named(
    site_packages: Path,
) -> None:
    """The broken entry point is reported with its name and what failed, only when the
    lookup reaches it; randbench's own backends never load plug-ins."""
    refused = _randbench(site_packages, "run", "--model", "nothing", "--tasks", "dice_d6")
    assert refused.returncode == 2
    assert "broken" in refused.stderr and "randbench_fives_missing" in refused.stderr
    own = _randbench(site_packages, "run", "--model", "oracle", "--tasks", "dice_d6",
                     "--samples", "20", "--output-path", str(site_packages.parent / "o"),
                     "--cache", ":memory:")  # fmt: skip
    assert own.returncode == 0, own.stderr
