"""A user's install, not the editable one every other test runs on: the sdist built from a copy
of the source tree, the wheel built from that sdist (as ``python -m build`` does), the wheel with
its ``web`` extra installed in a fresh venv, and the installed command run outside the source
tree. An editable install hid a hand-kept package list that missed ``engine.cells``.

One worker builds and installs once (module fixture, one xdist group); the time goes mostly to
pip waiting on the package index, so the other worker keeps running the rest of the suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("install")

ROOT = Path(__file__).resolve().parents[2]
#: What the copy of the source tree leaves out: what a clean clone does not have.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", "*.egg-info",
                                    "build", "dist", ".pytest_cache", ".hypothesis")


def _run(cmd, *, cwd, env=None, timeout=600):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The sdist and the wheel: ``(sdist path, wheel path)``."""
    top = tmp_path_factory.mktemp("install")
    src = top / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    out = top / "dist"
    r = _run([sys.executable, "-m", "build", "--outdir", out, src], cwd=top)
    assert "Building wheel from sdist" in r.stderr  # the wheel needs nothing the sdist lacks
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory):
    """A fresh venv (not the test one's packages) with the wheel and its web extra installed;
    returns its bin folder. pip is this Python's, pointed at the venv (--python)."""
    where = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", "--without-pip", where], cwd=where.parent)
    py = where / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-compile", "--quiet",
          f"{dist[1]}[web]"], cwd=where.parent)
    return where / "bin"


@pytest.fixture(scope="module")
def cli(venv, tmp_path_factory):
    """``cli(*args)``: the installed ``rnntui`` run in an empty folder with a home of its own."""
    home = tmp_path_factory.mktemp("home")
    # (and bytecode written: pip installed none (--no-compile), so the first run compiles what
    # it imports and the dozen runs after it read that, as in a user's venv)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"),
               XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               COLUMNS="80")

    def run(*args, exe="rnntui"):
        return _run([venv / exe, *args], cwd=home, env=env, timeout=300).stdout

    run.home = home
    return run


def test_the_wheel_holds_rnntui_and_engine_with_every_module_and_data_file(dist):
    names = zipfile.ZipFile(dist[1]).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"rnntui", "engine", f"{dist[1].name.split('-py')[0]}.dist-info"}
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    # every tracked file of the packages is in it, the top-level scenarios/ as engine.scenarios
    tracked = subprocess.run(["git", "ls-files", "engine", "rnntui", "scenarios"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert len(tracked) > 50
    want = {("engine/" + f) if f.startswith("scenarios/") else f for f in tracked}
    assert want - set(names) == set()
    assert "engine/cells/__init__.py" in names  # the package the hand-kept list missed


def test_the_sdist_holds_no_tests_or_caches(dist):
    names = tarfile.open(dist[0]).getnames()
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if "/tests/" in n or "/benchmarks/" in n]


def test_the_installed_command_runs_outside_the_source_tree(cli, venv, dist):
    # the modules come from the venv, not from the source tree
    where = cli("-c", "import engine, rnntui; print(engine.__file__, rnntui.__file__)",
                exe="python")
    assert str(ROOT) not in where and str(venv.parent) in where
    # the web extra is there and serve finds its page template
    cli("-c", "from rnntui.classroom import serve; assert (serve.TEMPLATES / "
        "'app_index.html').is_file()", exe="python")
    names = zipfile.ZipFile(dist[1]).namelist()

    assert re.fullmatch(r"rnntui \S+\n", cli("--version"))
    builtins = sorted(Path(n).stem for n in names  # (labs/ holds the built-in labs)
                      if n.startswith("engine/scenarios/") and n.endswith(".toml")
                      and n.count("/") == 2)
    listed = [ln.split()[0] for ln in cli("list").splitlines() if ln and not ln[0].isspace()]
    assert sorted(listed) == builtins

    site = Path(where.split()[0]).parent
    out = cli("check", site / "scenarios" / "king.toml",
              site.parent / "rnntui" / "lessons" / "course" / "01_recurrence.toml")
    assert out.count(": ok") == 2

    lessons = [n for n in names if n.startswith("rnntui/lessons/course/")]
    assert len(lessons) >= 9
    rows = [ln for ln in cli("learn").splitlines() if re.match(r"\s*\S+\s+\d+\s", ln)]
    assert len(rows) == len(lessons)

    # every cell the CLI offers, read from its own --help
    cells = re.search(r"--cell \{([^}]*)\}", cli("trace", "--help")).group(1).split(",")
    assert len(cells) >= 3
    for cell in cells:
        out = cli("trace", "king", "--epochs", "2", "--cell", cell)
        assert re.search(r"^ *0 +the ", out, re.M), out

    assert cli("generate", "king", "--epochs", "2", "--length", "5").strip()
    assert 'kind = "adding"' in cli("lab", "adding", "--scenario", "length=10")  # labs/
    assert "usage: rnntui serve" in cli("serve", "--help")
    assert "usage: rnntui present" in cli("present", "--help")
    cli("screenshot", "king", "-o", "king.svg", "--size", "80x24")
    assert "</svg>" in (cli.home / "king.svg").read_text()
