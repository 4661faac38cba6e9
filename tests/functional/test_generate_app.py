"""Key w in the app: the writing runs in a worker ("writing…", Esc stops it, q quits), and what
was written or forecast has a position: --at makes it again and an export records it."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from helpers import press_and_settle, settle, status, wait_until
from textual.widgets import Input, Static

import rnntui.screens.generate as generate_screen
from engine.analysis import Cancelled
from rnntui.position import Generation, Position
from rnntui.screens.generate import GenerateScreen
from rnntui.screens.main import MainScreen

#: Every scenario opens trained, as from a warm training cache (conftest.py: trained once per
#: test process, not once per test).
pytestmark = pytest.mark.warm_cache


def _trained(app) -> bool:
    v = app.main_screen.view
    return v.training is None and v.trained_epochs == v.scenario.train.epochs


def _error_text(app) -> str:
    return str(app.screen.query_one("#gen-error", Static).content)


def _blocking_writer(monkeypatch):
    """Replace the writing with one that waits until it is told to stop (and says so): the
    test sees the "writing…" state for as long as it likes, without any timing."""
    started, stopped = threading.Event(), threading.Event()

    def writer(view, spec, should_stop=None):
        started.set()
        while not should_stop():
            threading.Event().wait(0.005)
        stopped.set()
        raise Cancelled()
    monkeypatch.setattr(generate_screen, "generated", writer)
    return started, stopped


async def test_writing_runs_in_a_worker_and_esc_stops_it(app_factory, monkeypatch):
    started, stopped = _blocking_writer(monkeypatch)
    app = app_factory("rhymes", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = app.main_screen.view
        await press_and_settle(pilot, ["w"])
        await pilot.press("enter")
        await wait_until(pilot, started.is_set, "the worker starts writing")
        dialog = app.screen
        assert isinstance(dialog, GenerateScreen) and dialog.writing
        assert "writing…" in _error_text(app)
        assert all(f.disabled for f in dialog.query(Input).results(Input))
        await pilot.press("escape")
        await wait_until(pilot, stopped.is_set, "the worker sees the stop")
        await settle(pilot)
        assert app.screen is dialog and not dialog.writing  # stopped, the dialog stays
        assert "Stopped: nothing was written" in _error_text(app)
        assert not any(f.disabled for f in dialog.query(Input).results(Input))
        await press_and_settle(pilot, ["escape"])
        assert isinstance(app.screen, MainScreen) and app.main_screen.view is before


async def test_q_while_writing_quits(app_factory, monkeypatch):
    started, stopped = _blocking_writer(monkeypatch)
    app = app_factory("rhymes", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press_and_settle(pilot, ["w"])
        await pilot.press("enter")
        await wait_until(pilot, started.is_set, "the worker starts writing")
        await pilot.press("q")
        await wait_until(pilot, stopped.is_set, "the worker sees the quit")
    assert app.return_code == 0


async def test_written_text_has_a_position_that_at_makes_again_and_export_records(
        app_factory, tmp_path):
    app = app_factory("rhymes")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: _trained(app), "training on open")
        await press_and_settle(pilot, ["n", "right", "right", "right", "w"])
        app.screen.query_one("#gen-length", Input).value = "30"
        app.screen.query_one("#gen-temperature", Input).value = "0.8"
        app.screen.query_one("#gen-seed", Input).value = "7"
        app.screen.query_one("#gen-length", Input).focus()
        await press_and_settle(pilot, ["enter"])
        view = app.main_screen.view
        prime = "".join(view.scenario.test_sequences[1].tokens[:4])
        text = str(view.position)
        assert Position.parse(text).gen == Generation(30, 0.8, 7, prime)
        assert "gen=30,temp=0.8,seed=7,prime=" in text
        assert "text=" not in text and "window=" not in text
        await press_and_settle(pilot, ["right", "e"])
        exported = json.loads(next(tmp_path.glob("*.json")).read_text(encoding="utf-8"))
        assert exported["position"] == str(app.main_screen.view.position)
        written = app.main_screen.view
    again = app_factory("rhymes", at=Position.parse(exported["position"]))
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: _trained(again), "training on open")
        await settle(pilot)
        view = again.main_screen.view
        assert view.sequence.tokens == written.sequence.tokens
        assert view.t == written.t and str(view.position) == exported["position"]
        assert np.array_equal(view.trace.out, written.trace.out)


async def test_a_forecast_position_makes_the_same_forecast(app_factory):
    app = app_factory("weather", at="t=12,gen=20,from=8")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: _trained(app), "training on open")
        await settle(pilot)
        view = app.main_screen.view
        assert len(view.sequence) == 9 + 19 and view.t == 12
        from engine.generate import forecast
        ahead = forecast(view.scenario, view.params, view.scenario.sequence.inputs[:9, 0], 20)
        assert np.allclose(view.trace.out[8:, 0], ahead, rtol=0, atol=1e-12)
        assert "gen=20,from=8" in str(view.position) and "t=12" in status(app)


async def test_a_window_position_opens_that_window(app_factory):
    app = app_factory("rhymes", at="window=train:7,t=3")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: _trained(app), "training on open")
        await settle(pilot)
        view = app.main_screen.view
        assert view.sequence is view.scenario.train_sequences[6] and view.t == 3
        assert "train 7/125" in status(app)
        assert str(view.position).endswith("t=3,window=train:7")


def test_a_position_naming_a_sequence_the_scenario_cannot_have_is_one_line(capsys, tmp_path):
    from rnntui.cli import main
    cases = [("rhymes", "window=val:99", "rhymes has 14 validation windows (1–14)"),
             ("rhymes", "window=train:126", "125 train windows"),
             ("king", "window=val:2", "has no windows"),
             ("rhymes", "gen=5,from=3", "a forecast needs a series"),
             ("weather", 'gen=5,temp=0,prime="a"', "text is written by text scenarios"),
             ("rhymes", 'gen=5,temp=0,prime="\u2603"', "prime=: the prime's character"),
             ("weather", "gen=5,from=5000", "from=5000: the sequence has steps 0–1093")]
    for name, at, words in cases:
        for args in ([name, "--at", at],
                     ["screenshot", name, "--at", at, "-o", str(tmp_path / "x.svg")]):
            assert main(args) == 2, args
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and words in err, (args, err)
    assert not (tmp_path / "x.svg").exists()
