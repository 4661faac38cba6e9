"""Shared fixtures: a plain colour environment for every test, and quiet, fixed-theme apps.

Only fixtures live here; the helpers the tests share are in tests/helpers.py (``from helpers
import ...``: pytest puts this folder on sys.path because it holds the rootdir's conftest).
"""

from __future__ import annotations

import pytest
from helpers import quiet_app


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
