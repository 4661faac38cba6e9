"""``--at``: the screen opened at a position equals the screen reached by pressing keys, for every
built-in; a bad position on the command line is one line on stderr and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import pane_texts, press_and_settle, quiet_app, settle, status
from textual.widgets import Input

from engine.scenario import builtin_names, load
from rnntui.position import Position
from rnntui.view import BACKWARD

#: Every scenario opens trained, as from a warm training cache (conftest.py: trained once per
#: test process, not once per test).
pytestmark = pytest.mark.warm_cache

SIZE = (100, 32)
#: An earlier kept epoch, two steps on, the backward pass, W_h up three clicks.
KEYS = ["left_square_bracket", "left_square_bracket", "right", "right", "b", "plus", "plus",
        "plus"]


def typed_text(name: str) -> str | None:
    sc = load(name)
    if sc.kind != "text":
        return None
    return " ".join([w for w in sc.vocab if w.strip() and w.isprintable()][:3])


async def screen_text(app, pilot) -> dict[str, str]:
    await settle(pilot)
    return {**pane_texts(app), "status": status(app)}


@pytest.mark.parametrize("name", builtin_names())
async def test_the_screen_at_a_position_is_the_screen_reached_by_keys(name):
    app = quiet_app(name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = typed_text(name)
        if text is not None:
            await press_and_settle(pilot, ["i"])
            app.screen.query_one(Input).value = text
            await press_and_settle(pilot, ["enter"])
            assert app.view.typed == text
        await press_and_settle(pilot, KEYS)
        view = app.view
        assert view.phase == BACKWARD and view.knob == 3
        assert view.epoch < view.trained_epochs or view.trained_epochs == 0  # (cat: untrained)
        at = str(view.position)
        by_keys = await screen_text(app, pilot)
    assert Position.parse(at) == view.position
    opened = quiet_app(name, at=at)
    async with opened.run_test(size=SIZE) as pilot:
        at_s = await screen_text(opened, pilot)
        assert str(opened.view.position) == at
    assert at_s == by_keys, at


RNNTUI = Path(sys.executable).with_name("rnntui")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    cmd = [str(RNNTUI)] if RNNTUI.exists() else [sys.executable, "-c",
                                                 "import sys; from rnntui.cli import main; "
                                                 "sys.exit(main())"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("at, names", [("bogus", "'bogus'"), ("epoch=50,t=-1", "t=-1"),
                                       ("phase=sideways", "'sideways'")])
def test_a_bad_position_on_the_command_line_is_one_line_and_exit_2(at, names):
    done = run_cli("king", "--at", at)
    assert done.returncode == 2, done
    lines = done.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("rnntui: --at: ") and names in lines[0], \
        done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize("command", [["king"], ["screenshot", "king", "-o", "x.svg"]])
def test_finding5_an_epoch_past_the_limit_is_refused_not_trained(command, tmp_path,
                                                                monkeypatch):
    """Issue 25: `--at epoch=999999999` trained for weeks; it is one line and exit 2."""
    monkeypatch.chdir(tmp_path)
    done = run_cli(*command, "--at", "epoch=999999999")
    assert done.returncode == 2, done
    assert done.stderr.strip() == ("rnntui: --at: epoch=999999999: past the limit of 100000 "
                                   "epochs a scenario may train"), done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "x.svg").exists()
