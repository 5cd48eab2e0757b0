"""A non-editable install (a built wheel) must ship every task and the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from randbench.loader import load_tasks

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    "pyproject.toml",
    "README.md",
    "benchmark",
    "harness",
    "leaderboard",
    "finetune",
    "task_yaml",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the sources, so the checkout gains no build/ files."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
    )
    (built,) = out.glob("randbench-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; dependencies come from this venv's site-packages.

    The dependencies' folder is added by a .pth line, which does not run this venv's
    editable-install hook, so ``randbench`` can only come from the wheel.
    """
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
    )
    return env


def run_in(env: Path, *args: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(args, cwd=env, env=clean, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_wheel_contains_every_task_yaml(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    prefix = "randbench/task_yaml/"
    yamls = [n for n in names if n.startswith(prefix) and n.endswith(".yaml")]
    shipped = {n.removeprefix(prefix) for n in yamls}
    in_tree = {str(p.relative_to(ROOT / "task_yaml")) for p in (ROOT / "task_yaml").rglob("*.yaml")}
    assert shipped == in_tree
    assert "randbench/py.typed" in names


@pytest.mark.slow
def test_wheel_contains_the_data_files_the_code_reads(wheel: Path) -> None:
    """The open-ended references and calibration pairs, and the fine-tuning module's
    held-out text: read through importlib.resources, so they must ship in the wheel."""
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    data = {f"randbench/data/{p.name}" for p in (ROOT / "benchmark" / "data").glob("*.yaml")}
    assert data and data <= names
    assert "randbench/finetune/heldout_text.txt" in names


@pytest.mark.slow
def test_wheel_contains_the_leaderboard_templates_and_assets(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    folder = ROOT / "leaderboard"
    for sub in ("templates", "static"):
        for path in (folder / sub).iterdir():
            assert f"randbench/leaderboard/{sub}/{path.name}" in names


@pytest.mark.slow
def test_installed_wheel_finds_every_task(installed: Path) -> None:
    python = str(installed / "bin" / "python")
    code = (
        "import randbench, randbench.loader as l; "
        "print(randbench.__file__); print(len(l.load_tasks()))"
    )
    location, count = run_in(installed, python, "-c", code).split()
    assert str(installed) in location, "randbench was imported from the source tree, not the wheel"
    assert int(count) == len(load_tasks())
    assert int(count) > 0


@pytest.mark.slow
def test_installed_console_script_validates_the_library(installed: Path) -> None:
    out = run_in(installed, str(installed / "bin" / "randbench"), "tasks", "validate")
    assert "0 problem(s)" in out


@pytest.mark.slow
def test_installed_wheel_builds_a_site(installed: Path) -> None:
    """Templates and static files load from the installed package, not the source tree."""
    script = str(installed / "bin" / "randbench")
    run_in(installed, script, "run", "--model", "oracle", "--tasks", "dice_d6,coin_flip",
           "--method", "direct,logprob", "--samples", "30", "--output-path", "res",
           "--cache", "cache.sqlite")  # fmt: skip
    out = run_in(installed, script, "leaderboard", "build", "res", "-o", "site",
                 "--bootstrap", "100")  # fmt: skip
    assert "2 rows" in out
    assert (installed / "site" / "static" / "site.js").is_file()
    assert '<table id="board"' in (installed / "site" / "index.html").read_text()
