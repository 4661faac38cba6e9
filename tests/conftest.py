"""Shared fixtures: a plain colour environment for every test, and quiet, fixed-theme apps.

Only fixtures live here; the helpers the tests share are in tests/helpers.py (``from helpers
import ...``: pytest puts this folder on sys.path because it holds the rootdir's conftest).
"""

from __future__ import annotations

import os

# One BLAS thread per test process, set before NumPy is first imported (helpers imports it). On
# this 2-core machine OpenBLAS's own threads fight the app's worker thread, the other test
# processes (pytest -n 3) and anything else running: a 1000x64 SVD took 0.2-0.9 s instead of 6 ms.
# The numbers do not depend on it; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The training cache (rnntui/cache.py) never touches the real ~/.cache from a test: the whole
# run gets a folder of its own here (subprocesses inherit it), and every test a fresh empty one
# (the fixture below), so each test trains as if for the first time, whatever ran before it.
# A test marked ``warm_cache`` opens every scenario trained instead (as a second start does):
# training on open is then trained once per test process, not once per test.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="rnntui-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)
os.environ.pop("RNNTUI_NO_CACHE", None)
# Runs that helpers.trained_run trains, shared by the whole run: made by the first process (the
# xdist controller, or the only one), inherited by the workers it starts.
if not os.environ.get("RNNTUI_TEST_RUNS"):
    os.environ["RNNTUI_TEST_RUNS"] = tempfile.mkdtemp(prefix="rnntui-test-runs-")
    atexit.register(shutil.rmtree, os.environ["RNNTUI_TEST_RUNS"], ignore_errors=True)

import pytest  # noqa: E402
from helpers import quiet_app, trained_run  # noqa: E402

#: ``RNNTUI_TEST_CPU=FILE``: each test's CPU seconds (its process's threads and the child
#: processes it waited for) are appended to FILE as JSON lines, and the run ends with the
#: tests that took the most. On a shared machine wall times (--durations) swing with the load;
#: CPU seconds say where the suite's time goes.
CPU_LOG = os.environ.get("RNNTUI_TEST_CPU", "")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not CPU_LOG:
        yield
        return
    import json
    import resource
    import time

    def cpu():
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time(), kids.ru_utime + kids.ru_stime, time.perf_counter()

    before = cpu()
    yield
    after = cpu()
    row = {"test": item.nodeid, "cpu": round(after[0] - before[0], 3),
           "children": round(after[1] - before[1], 3), "wall": round(after[2] - before[2], 3),
           # (when it ended and where: how busy the workers were over the run, its tail)
           "end": round(time.time(), 3), "worker": os.environ.get("PYTEST_XDIST_WORKER", "")}
    with open(CPU_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def pytest_configure(config):
    """Byte-compile the project once, before the workers start, as ``pip install`` does for an
    installed package. The editable install does not, and where PYTHONDONTWRITEBYTECODE=1 is
    set (this sandbox sets it) every child process the tests start (the CLI, the classroom, the
    budget probes) compiled every module it imports from source again: ~0.15 s of CPU each.
    The files go to the packages' __pycache__ folders, which git ignores; a changed source is
    compiled again (Python checks each file's time stamp)."""
    if hasattr(config, "workerinput"):
        return
    import compileall
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    for package in ("engine", "rnntui"):
        compileall.compile_dir(root / package, quiet=1, workers=2)
    _rewrite_tests_ahead(config, root / "tests")


def _rewrite_tests_ahead(config, tests) -> None:
    """Rewrite the asserts of every test module once, here, before the workers start, into the
    cached files pytest itself reads (tests/**/__pycache__/*-pytest-*.pyc), in two processes.

    Without them each of the three workers rewrote all 90-odd modules itself while collecting
    (~7.5 of its ~12 s of CPU there): where PYTHONDONTWRITEBYTECODE=1 is set pytest never
    keeps its rewrites, and in a fresh clone the workers all start at once on none. A file
    already rewritten and unchanged (pytest checks its time stamp and size) is not done again.
    This uses pytest's own rewriting functions; with another pytest that lacks them, or with
    --assert=plain, it does nothing and the workers rewrite as before."""
    try:
        from _pytest.assertion import rewrite as ar
        state = config.stash[ar.assertstate_key]
        read, make, write = ar._read_pyc, ar._rewrite_test, ar._write_pyc
        tail, cache_dir = ar.PYC_TAIL, ar.get_cache_dir
    except (ImportError, AttributeError, KeyError):
        return
    todo = []
    for fn in sorted(tests.rglob("*.py")):
        if fn.name == "conftest.py" or fn.name.startswith("test_"):
            pyc = cache_dir(fn) / (fn.name[:-3] + tail)
            if read(fn, pyc) is None:
                todo.append((fn, pyc))
    if not todo:
        return

    def rewrite(part) -> None:
        for fn, pyc in part:
            try:
                pyc.parent.mkdir(exist_ok=True)
                source_stat, code = make(fn, config)
            except (OSError, SyntaxError):
                continue  # left to the worker, which reports it as pytest does
            write(state, code, source_stat, pyc)

    child = os.fork() if len(todo) > 1 else -1
    if child == 0:  # the second process: every other file, then gone at once
        try:
            rewrite(todo[1::2])
        finally:
            os._exit(0)
    rewrite(todo[0::2] if child > 0 else todo)
    if child > 0:
        os.waitpid(child, 0)


def pytest_terminal_summary(terminalreporter, config):
    if not CPU_LOG or hasattr(config, "workerinput") or not os.path.exists(CPU_LOG):
        return
    import json
    with open(CPU_LOG, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    total = sum(r["cpu"] + r["children"] for r in rows)
    terminalreporter.section(f"CPU seconds per test ({CPU_LOG}: {len(rows)} tests, "
                             f"{total:.1f} s in all)")
    for r in sorted(rows, key=lambda r: -(r["cpu"] + r["children"]))[:30]:
        terminalreporter.write_line(f"{r['cpu'] + r['children']:8.2f} cpu "
                                    f"({r['children']:6.2f} children) {r['wall']:8.2f} wall  "
                                    f"{r['test']}")


@pytest.fixture(autouse=True)
def _plain_colour_environment(monkeypatch):
    """NO_COLOR or a forced colour system in the caller's shell must not change any picture."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)


@pytest.fixture(autouse=True)
def _empty_training_cache(request, monkeypatch, tmp_path_factory):
    """A fresh, empty training cache folder for every test (see the top of this file); a warm
    one for tests marked ``warm_cache`` (below)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    # (--no-cache run in this process sets RNNTUI_NO_CACHE for the rest of it: not for the next
    # test, which found its cache off or not depending on which tests its worker ran before)
    monkeypatch.delenv("RNNTUI_NO_CACHE", raising=False)
    if request.node.get_closest_marker("warm_cache") is not None \
            and request.node.get_closest_marker("cold_cache") is None:
        from rnntui import cache
        monkeypatch.setattr(cache, "load", _warm_load(cache.load))


#: Longer runs than this (epochs) are left to training on open even in a ``warm_cache`` test
#: (a test that sets a million epochs means to stop them).
WARM_MAX_EPOCHS = 500


def _warm_load(real_load):
    """``rnntui.cache.load`` as if every run had been trained and cached before the test: on a
    miss the run is trained here (once per test process: helpers.trained_run, the same ``fit``
    that training on open calls), stored in this test's own cache folder and read back by the
    real ``load`` (so each test gets its own copy, as a second start of the app does)."""
    from rnntui import cache

    def load(scenario, epochs=None):
        history = real_load(scenario, epochs)
        if history is not None or not cache.enabled():
            return history
        n = scenario.train.epochs if epochs is None else int(epochs)
        if not 0 < n <= WARM_MAX_EPOCHS or cache.key_for(scenario, n) is None:
            return None
        history = trained_run(scenario, n)
        if history is None or not cache.store(scenario, history, n):  # (refuses runs stopped
            return None  # on request or for memory: training on open meets them as before)
        return real_load(scenario, n)

    return load


@pytest.fixture
def app_factory(tmp_path, monkeypatch):
    """``app_factory(scenario, **options)``: a quiet app that exports into ``tmp_path``."""
    monkeypatch.chdir(tmp_path)

    def make(scenario="king", **options):
        options.setdefault("export_dir", tmp_path)
        return quiet_app(scenario, **options)

    return make
