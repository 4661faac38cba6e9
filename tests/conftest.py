"""Shared fixtures: a plain colour environment for every test, and quiet, fixed-theme apps.

Only fixtures live here; the helpers the tests share are in tests/helpers.py (``from helpers
import ...``: pytest puts this folder on sys.path because it holds the rootdir's conftest).
"""

from __future__ import annotations

import os

# One BLAS thread per test process, set before NumPy is first imported (helpers imports it). On
# this 2-core machine OpenBLAS's own threads fight the app's worker thread, the other test
# process (pytest -n 2) and anything else running: a 1000x64 SVD took 0.2-0.9 s instead of 6 ms.
# The numbers do not depend on it; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402
from helpers import quiet_app  # noqa: E402


@pytest.fixture(autouse=True)
def _plain_colour_environment(monkeypatch):
    """NO_COLOR or a forced colour system in the caller's shell must not change any picture."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)


@pytest.fixture
def app_factory(tmp_path, monkeypatch):
    """``app_factory(scenario, **options)``: a quiet app that exports into ``tmp_path``."""
    monkeypatch.chdir(tmp_path)

    def make(scenario="king", **options):
        options.setdefault("export_dir", tmp_path)
        return quiet_app(scenario, **options)

    return make
