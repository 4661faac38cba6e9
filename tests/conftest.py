"""Shared fixtures: a plain colour environment for every test, and quiet, fixed-theme apps."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

#: Snapshots and Pilot tests use this theme whatever the app's default becomes.
TEST_THEME = "ansi-dark"


@pytest.fixture(autouse=True)
def _plain_colour_environment(monkeypatch):
    """NO_COLOR or a forced colour system in the caller's shell must not change any picture."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)


def quiet_app(scenario="king", **options):
    """An app with no blinking cursor, no animation, a fixed theme and a private export folder."""
    from rnntui.app import make_app
    options.setdefault("cursor_blink", False)
    options.setdefault("theme", TEST_THEME)
    app = make_app(scenario, **options)
    app.animation_level = "none"
    return app


@pytest.fixture
def app_factory(tmp_path, monkeypatch):
    """``app_factory(scenario, **options)``: a quiet app that exports into ``tmp_path``."""
    monkeypatch.chdir(tmp_path)

    def make(scenario="king", **options):
        options.setdefault("export_dir", tmp_path)
        return quiet_app(scenario, **options)

    return make


def render_text(renderable, width: int) -> str:
    """What a Rich renderable looks like as plain text at ``width`` columns."""
    console = Console(width=max(width, 1), file=io.StringIO(), color_system=None,
                      legacy_windows=False, force_terminal=False)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def pane_text(pane) -> str:
    """The text a pane shows now (its drawing at its current content size)."""
    return render_text(pane.render(), pane.content_size.width)


def static_text(widget) -> str:
    """The plain text of a Static (whatever it was given: a str, Text, or a Rich table)."""
    content = widget.content
    if isinstance(content, str):
        return content
    return render_text(content, max(widget.content_size.width, 40))
