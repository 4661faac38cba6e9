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


@pytest.mark.parametrize("at", [
    'scenario=king,epoch=50,t=2,phase=backward,wh=+2,text="the dog sits on"',
    "scenario=king,cell=gru,epoch=100,seq=1,wh=-3",
    'scenario=king,epoch=200,gen=5,temp=0,seed=0,prime="the king"',
    "scenario=rhymes,window=train:2,t=5",
])
async def test_trace_at_prints_what_the_app_saves_there(at, capsys):
    """``rnntui trace --at P --json`` is, number for number, the JSON key e saves in the app
    opened at P (the same trace, weights, sequence and position), and the table says where."""
    import json

    from rnntui.cli import main
    from rnntui.export import export_files
    app = quiet_app(Position.parse(at).scenario, at=at, draw_ahead=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        saved = json.loads(export_files(app.view, "")[1][".json"])
    assert main(["trace", "--at", at, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == saved
    assert Position.parse(saved["position"]) == app.view.position
    assert main(["trace", "--at", at]) == 0
    table = capsys.readouterr().out
    assert table.startswith(f"at {saved['position']}\n") and "loss L = " in table


@pytest.mark.parametrize("args, said", [
    (["--at", 'cells="rnn,lstm"'], "--at: cells= is compare mode"),
    (["--at", "epoch=5", "--epochs", "3"], "--epochs with --at: give it in the position"),
    (["--at", "epoch=5", "--cell", "gru", "--epochs", "3"],
     "--epochs and --cell with --at: give them in the position"),
    (["--at", "window=val:2"], "--at: window=val:2: 'king' is not a text read from a file"),
    (["--at", "epoch=999999999"], "--at: epoch=999999999: past the limit"),
])
def test_trace_at_refuses_in_one_line(args, said, capsys):
    from rnntui.cli import main
    assert main(["trace", "king", *args]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith(f"rnntui: {said}") and out.err.count("\n") == 1
