"""The app driven by keys through Pilot: stepping, phases, epochs, the knob, dialogs, export."""

from __future__ import annotations

import errno
import json
import os
import time

import numpy as np
import pytest
from helpers import (Nav, pane_text, press_and_settle, quiet_app, settle, static_text, status,
                     wait_until)
from textual.widgets import Input, OptionList

from engine import spectral_norm
from rnntui.app import MIN_SIZE
from rnntui.jobs import TraceReady, compute_trace
from rnntui.screens import HelpScreen, MainScreen, PickerScreen, TextInputScreen, TooSmallScreen
from rnntui.view import BACKWARD, FORWARD
from rnntui.widgets import Pane, StepPane

#: Every scenario opens trained, as from a warm training cache (conftest.py), except in the
#: tests of training on open (marked cold_cache).
pytestmark = pytest.mark.warm_cache

#: A bound on how long quitting may take that only a hang exceeds, however busy the machine
#: (the latency itself is a benchmark figure, not a test).
QUIT_BOUND = 30.0


def params_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.arrays(), b.arrays()))


# -- stepping --------------------------------------------------------------------------------


async def test_stepping_stays_in_range_and_forward_then_back_is_identical(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = Nav(app=app)
        T = s.T
        seen = []
        for _ in range(T + 3):
            await pilot.press("right")
            seen.append(s.t)
        assert seen[-1] == T - 1 and all(0 <= t < T for t in seen)
        for _ in range(T + 3):
            await pilot.press("h")
            seen.append(s.t)
        assert s.t == 0 and all(0 <= t < T for t in seen)
        await press_and_settle(pilot, ["l"])
        before = app.export_screenshot()
        panes_before = [pane_text(p) for p in app.main_screen.panes]
        await press_and_settle(pilot, ["right", "left"])
        assert [pane_text(p) for p in app.main_screen.panes] == panes_before
        assert app.export_screenshot() == before
        await press_and_settle(pilot, ["right"])
        assert app.export_screenshot() != before  # the comparison can fail


async def test_start_and_end_keys(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = Nav(app=app)
        for key, want in [("end", s.T - 1), ("home", 0), ("G", s.T - 1), ("g", 0)]:
            await pilot.press(key)
            assert s.t == want, key
        # (0-based with the range since "truth on screen"; it was "t=4 · step 5 of 5")
        assert f"t={s.t} (0–{s.T - 1})" in status(app)


async def test_phase_switch_changes_the_step_pane_and_the_direction(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(120, 40)) as pilot:
        await press_and_settle(pilot, ["right", "right"])
        s = Nav(app=app)
        step = app.main_screen.query_one(StepPane)
        forward_text = pane_text(step)
        assert (s.t, s.phase) == (2, FORWARD)
        await press_and_settle(pilot, ["b"])
        assert s.phase == BACKWARD and s.t == 2
        assert pane_text(step) != forward_text
        assert "backward" in status(app)
        await pilot.press("right")
        assert s.t == 1  # stepping on in the backward pass walks t down
        await pilot.press("left")
        assert s.t == 2
        await pilot.press("home")
        assert s.t == s.T - 1  # the backward pass starts at the last step
        await pilot.press("p")
        assert s.phase == FORWARD
        await pilot.press("home", "right")
        assert s.t == 1


async def test_play_walks_to_the_end_and_stops(app_factory):
    # the timer's ticks are the screen's own _tick, called here one by one (a timer of one tick
    # an hour never fires by itself): the test asserts what a tick does, never how soon it comes
    app = app_factory("king", play_rate=1 / 3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        await pilot.press("space")
        assert app.view.playing and "playing" in status(app) and app.view.t == 0
        for t in range(1, app.view.T):
            screen._tick()
            assert app.view.t == t
        assert not app.view.playing and app.view.t == app.view.T - 1  # stops at the end
        assert screen._play_timer._active.is_set() is False  # and its timer is paused
        await pilot.press("space")  # at the end: play starts again from the start
        assert app.view.playing and app.view.t == 0
        await pilot.press("space")
        assert not app.view.playing


# -- epochs, training, reset -----------------------------------------------------------------


@pytest.mark.cold_cache
async def test_opens_at_epoch_zero_then_training_jumps_to_the_trained_epoch(app_factory):
    app = app_factory("king")
    assert app.view.epoch == 0 and app.view.trained_epochs == 0
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = Nav(app=app)
        want = s.scenario.train.epochs
        assert want > 0
        assert s.trained_epochs == want and s.epoch == want
        assert s.trace_key.epoch == want and not s.needs_trace
        assert f"epoch {want}/{want}" in status(app)
        assert s.history.losses[-1] < s.history.losses[0]


@pytest.mark.cold_cache
async def test_t_trains_and_shows_progress_and_keys_still_work(app_factory):
    from engine import load
    sc = load("king")
    sc.train.epochs = 1_000_000  # far longer than the test: stopped below with t
    app = app_factory(sc, train=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert app.view.trained_epochs == 0
        await pilot.press("t")
        assert app.main_screen.is_training
        await wait_until(pilot, lambda: app.view.training and app.view.training.epoch > 0
                         and "loss" in status(app), "a trained epoch with its loss")
        assert "training " in status(app) and "/1000000 · loss" in status(app)
        await pilot.press("right", "plus")  # keys still work while training
        assert app.view.t == 1 and app.view.knob == 1
        await pilot.press("t")
        await settle(pilot)
        s = Nav(app=app)
        assert not app.main_screen.is_training and "training" not in status(app)
        assert 0 < s.trained_epochs < 1_000_000 and s.epoch == s.trained_epochs
        assert "on request" in (s.history.stopped or "")


@pytest.mark.cold_cache
async def test_t_trains_to_the_end_and_continues(app_factory):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["t"])
        assert app.view.epoch == app.view.trained_epochs == 200
        await press_and_settle(pilot, ["t"])  # continue: the scenario's 200 more
        assert app.view.epoch == app.view.trained_epochs == 400


async def test_epoch_scrub_shows_that_epochs_weights(app_factory):
    from engine import load
    sc = load("king")
    sc.train.epochs = 12
    app = app_factory(sc)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = Nav(app=app)
        last = s.epoch
        await press_and_settle(pilot, ["left_square_bracket"] * 3)
        assert s.epoch == s.history.epochs[-4] < last
        assert params_equal(s.params, s.history.params_at(s.epoch))
        assert not params_equal(s.params, s.history.params_at(last))
        assert params_equal(s.trace.params, s.history.params_at(s.epoch))
        assert f"epoch {s.epoch}/{last}" in status(app)
        for _ in range(len(s.history.epochs) + 2):
            await pilot.press("left_square_bracket")
        await settle(pilot)
        assert s.epoch == 0
        assert params_equal(s.trace.params, s.history.params_at(0))
        await press_and_settle(pilot, ["right_square_bracket"])
        assert s.epoch == s.history.epochs[1]
        assert params_equal(s.trace.params, s.history.params_at(s.epoch))


async def test_reset_goes_back_to_the_initial_weights(app_factory):
    from engine import initial_params
    app = app_factory("king")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press_and_settle(pilot, ["r"])  # with trained epochs to lose, r asks first
        s = Nav(app=app)
        assert s.epoch == s.trained_epochs == 200
        assert any("Press r again" in str(n.message) for n in app._notifications)
        await press_and_settle(pilot, ["r"])
        assert s.epoch == 0 and s.trained_epochs == 0
        # the question is answered: not left up beside the answer
        said = [str(n.message) for n in app._notifications]
        assert said == ["Back to the initial weights (epoch 0)."], said
        assert params_equal(s.trace.params, initial_params(s.scenario))


@pytest.mark.cold_cache
async def test_reset_during_training_drops_the_run(app_factory):
    from engine import load
    sc = load("king")
    sc.train.epochs = 1_000_000
    app = app_factory(sc)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.main_screen.is_training, "training on open")
        await pilot.press("r")
        await settle(pilot)
        assert not app.main_screen.is_training
        assert app.view.trained_epochs == 0 and app.view.epoch == 0


@pytest.mark.cold_cache
def test_quit_mid_training_is_prompt_with_exit_code_zero(app_factory):
    import asyncio

    from engine import load
    sc = load("sine")
    sc.train.epochs = 1_000_000  # about half an hour of training

    async def run() -> float:
        app = app_factory(sc)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.main_screen.is_training, "training on open")
            started = time.monotonic()
            await pilot.press("q")
        return app, started

    app, started = asyncio.run(run())
    assert time.monotonic() - started < QUIT_BOUND  # it did not wait for the half hour
    assert app.return_code == 0


# -- the W_h knob ----------------------------------------------------------------------------


@pytest.mark.parametrize("keys,clicks", [(["plus"], 1), (["equals_sign"] * 4, 4),
                                         (["minus"] * 3, -3), (["plus", "minus"], 0)])
async def test_knob_scales_the_spectral_norm_exactly(app_factory, keys, clicks):
    app = app_factory("king")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = Nav(app=app)
        base = spectral_norm(s.base_params.W_h)
        await press_and_settle(pilot, keys)
        assert s.wh_scale == 2.0 ** (clicks / 4)
        assert s.trace.spectral_norm == pytest.approx(s.wh_scale * base, rel=1e-12)
        assert s.trace_key.knob == clicks
        await press_and_settle(pilot, ["0"])
        assert s.wh_scale == 1.0
        assert s.trace.spectral_norm == pytest.approx(base, rel=1e-12)


async def test_big_traces_are_computed_in_a_worker_and_stale_ones_dropped(app_factory):
    app = app_factory("sine", train=False, big_trace=0)  # every trace is "big"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = Nav(app=app)
        assert s.trace is not None  # but the first is computed at once, for the first frame
        base = spectral_norm(s.base_params.W_h)
        started = []
        jobs = app.main_screen.jobs
        jobs._trace_worker = (lambda f: lambda *a: (started.append(a[1]), f(*a))[1])(
            jobs._trace_worker)
        for _ in range(6):  # faster than the worker: most of these results go stale
            await pilot.press("plus")
        assert started and started[-1].knob == 6
        await settle(pilot)
        assert not s.needs_trace and s.trace_key.knob == 6
        assert s.trace.spectral_norm == pytest.approx(2 ** 1.5 * base, rel=1e-12)
        assert "computing" not in status(app)


async def test_a_stale_trace_is_not_installed(app_factory):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = Nav(app=app)
        old_key, old_trace = compute_trace(app.view)
        await press_and_settle(pilot, ["plus"])
        app.main_screen.post_message(TraceReady(app.view.scenario, old_key, old_trace))
        await settle(pilot)
        assert s.trace_key.knob == 1 and s.trace is not old_trace


async def test_a_slow_first_trace_sends_later_ones_to_a_worker(app_factory):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        jobs = app.main_screen.jobs
        # nothing computed ahead: on a loaded machine the first trace can itself be slow, and
        # then the knob's neighbour is made ahead in a worker and kept (a press onto it computes
        # nothing, which is not what this test is about)
        jobs.ahead_on = False
        jobs._cancel_ahead()
        jobs.kept.clear()
        jobs.trace_seconds = 1.0  # as if the last trace took a second
        calls = []
        jobs._trace_worker = (lambda f: lambda *a: (calls.append(a), f(*a))[1])(
            jobs._trace_worker)
        await press_and_settle(pilot, ["plus"])
        assert calls and app.view.trace_key.knob == 1


async def test_a_failing_trace_is_reported_and_the_old_one_kept(app_factory, monkeypatch):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        s = Nav(app=app)
        old = s.trace

        def broken(view, key=None, should_stop=None):
            raise FloatingPointError("overflow in matmul")

        monkeypatch.setattr("rnntui.jobs.compute_trace", broken)
        await press_and_settle(pilot, ["plus"])
        assert s.trace is old
        assert any("overflow in matmul" in str(n.message) for n in app._notifications)
        app.main_screen.jobs.big_trace = 0  # the same through a worker
        await press_and_settle(pilot, ["plus"])
        assert s.trace is old and "computing" in status(app)
        monkeypatch.undo()
        await press_and_settle(pilot, ["minus"])
        assert s.trace_key.knob == 1 and not s.needs_trace


# -- dialogs ---------------------------------------------------------------------------------


async def test_help_opens_lists_every_key_and_closes(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(100, 40)) as pilot:
        await press_and_settle(pilot, ["question_mark"])
        assert isinstance(app.screen, HelpScreen)
        text = static_text(app.screen.query_one("#help-keys")) + \
            static_text(app.screen.query_one("#help-panes"))
        for binding in MainScreen.BINDINGS:
            assert binding.tooltip.split()[0] in text
        assert "Hidden state" in text or "Hidden" in text
        await press_and_settle(pilot, ["right"])  # the panes do not move under the dialog
        assert app.view.t == 0
        await press_and_settle(pilot, ["escape"])
        assert app.screen is app.main_screen
        await press_and_settle(pilot, ["question_mark", "question_mark"])
        assert app.screen is app.main_screen


async def test_picker_opens_a_builtin_and_closes(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(100, 32)) as pilot:
        await press_and_settle(pilot, ["o"])
        assert isinstance(app.screen, PickerScreen)
        options = app.screen.query_one(OptionList)
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert {"king", "cat", "hello", "sine", "echo", "long"} <= set(names)
        await press_and_settle(pilot, ["escape"])
        assert app.screen is app.main_screen and app.view.scenario.name == "king"
        await press_and_settle(pilot, ["o"])
        options = app.screen.query_one(OptionList)
        options.highlighted = names.index("echo")
        await press_and_settle(pilot, ["enter"])
        assert app.screen is app.main_screen
        assert app.view.scenario.name == "echo" and app.view.trace is not None
        assert app.view.epoch == app.view.scenario.train.epochs > 0  # trained on open
        assert "echo" in status(app)


@pytest.mark.parametrize("size, about_lines", [((60, 20), 2), ((80, 24), 6), ((120, 40), 12)])
async def test_the_picker_lists_one_line_per_scenario_and_cuts_words_with_an_ellipsis(
        app_factory, size, about_lines):
    """At 60x20 the list once showed one scenario (its description wrapped over the rows) and
    the description under it stopped mid-sentence: now several, one line each."""
    app = app_factory("king", train=False)
    async with app.run_test(size=size) as pilot:
        await press_and_settle(pilot, ["o"])
        options = app.screen.query_one(OptionList)
        rows = [options.render_line(y).text.rstrip() for y in range(options.size.height)]
        rows = [row for row in rows if row]  # (a tall list has room to spare)
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert [row.split()[0] for row in rows] == names[:len(rows)] and len(rows) >= 4, rows
        assert rows[0].split()[1] == "(open)"  # (the scenario open, named before a long text)
        # each line whole, or cut at a space before " …": no word shown in part ("the wo…")
        for row, whole in zip(rows, (label.plain for label in app.screen._labels)):
            assert row == whole or (row.endswith(" …") and (whole + " ").startswith(row[:-1])), row
        about = app.screen.query_one("#picker-about")
        shown = [line.rstrip() for line in static_text(about).splitlines()]
        assert len(shown) <= about_lines and about.size.height == len(shown)
        whole = " ".join(app.screen._about_text.split())
        assert " ".join(shown) == whole or shown[-1].endswith("…"), shown
        assert shown[-1].rstrip("…") and whole.startswith(" ".join(shown).rstrip("…"))
        if size == (120, 40):  # room for each built-in's whole description
            for i in range(options.option_count):
                options.highlighted = i
                await settle(pilot)
                shown = " ".join(static_text(about).split())
                assert shown == " ".join(app.screen._about_text.split()) and shown, i


async def test_picker_opens_a_file_by_path(app_factory, tmp_path):
    from importlib.resources import files
    text = (files("engine.scenarios") / "cat.toml").read_text()
    path = tmp_path / "mine.toml"
    path.write_text(text.replace('name = "cat"', 'name = "mine"'))
    app = app_factory("king", train=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await press_and_settle(pilot, ["o", "tab"])
        app.screen.query_one(Input).value = str(path)
        await press_and_settle(pilot, ["enter"])
        assert app.view.scenario.name == "mine"


@pytest.mark.parametrize("content", ["[model]\nhidden_size = -3\n", None, "not = [valid toml\n"])
async def test_bad_scenario_file_keeps_the_app_and_the_old_scenario(app_factory, tmp_path,
                                                                   content):
    path = tmp_path / "bad.toml"
    if content is not None:
        path.write_text(content)
    app = app_factory("king")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        before = app.view
        await press_and_settle(pilot, ["o", "tab"])
        field = app.screen.query_one(Input)
        field.value = str(path)
        await press_and_settle(pilot, ["enter"])
        assert isinstance(app.screen, PickerScreen)  # still open, to fix the path
        error = static_text(app.screen.query_one("#picker-error"))
        assert "bad.toml" in error
        await press_and_settle(pilot, ["escape"])
        assert app.screen is app.main_screen
        assert app.view is before and app.view.scenario.name == "king"
        assert app.view.epoch == 200


async def test_typed_input_is_stepped_through_and_unknown_words_are_shown(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(100, 32)) as pilot:
        await press_and_settle(pilot, ["i"])
        assert isinstance(app.screen, TextInputScreen)
        await pilot.press(*"the zebra sits")
        await press_and_settle(pilot, ["enter"])
        assert isinstance(app.screen, TextInputScreen)
        assert "zebra" in static_text(app.screen.query_one("#input-error"))
        app.screen.query_one(Input).value = "the dog sits on mat"
        await press_and_settle(pilot, ["enter"])
        s = Nav(app=app)
        assert app.screen is app.main_screen
        assert s.sequence.labels == ["the", "dog", "sits", "on", "mat"]
        assert s.trace.sequence is s.sequence and s.t == 0
        await press_and_settle(pilot, ["end"])
        assert s.t == 4
        await press_and_settle(pilot, ["i", "enter"])  # empty: back to the scenario's own
        assert s.sequence is s.scenario.sequence


async def test_typed_input_is_refused_for_other_kinds(app_factory):
    app = app_factory("sine", train=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await press_and_settle(pilot, ["i"])
        assert app.screen is app.main_screen
        said = [str(n.message) for n in app._notifications]
        assert any("works for text, tagging and encoder-decoder scenarios; 'sine' is a series "
                   "scenario" in m for m in said), said


async def test_a_pane_maximises_and_restores(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["tab"])
        focused = app.main_screen.focused
        assert isinstance(focused, Pane)
        small = focused.size
        await press_and_settle(pilot, ["m"])
        assert app.main_screen.maximized is focused
        assert focused.size.width > small.width and focused.size.height > small.height
        await press_and_settle(pilot, ["right"])  # keys still work while maximised
        assert app.view.t == 1
        await press_and_settle(pilot, ["m"])
        assert app.main_screen.maximized is None
        await press_and_settle(pilot, ["m", "escape"])
        assert app.main_screen.maximized is None and focused.size == small


# -- too small -------------------------------------------------------------------------------


async def test_too_small_message_comes_and_goes(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(50, 15)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        message = static_text(app.screen.query_one("#too-small-message"))
        w, h = MIN_SIZE
        assert f"need {w}x{h}, have 50x15" in message
        await pilot.resize_terminal(55, 30)
        await settle(pilot)
        assert "have 55x30" in static_text(app.screen.query_one("#too-small-message"))
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert app.screen is app.main_screen
        # (the Batch pane shows only for padded batches, in the Sequence pane's place, and the
        # Attention pane only for encoder-decoders)
        shown = [p for p in app.main_screen.panes if p.display]
        assert [p.id for p in app.main_screen.panes if not p.display] == ["batch", "attention"]
        assert all(p.outer_size.width > 10 and p.outer_size.height >= 3 for p in shown)


async def test_too_small_over_a_dialog_restores_the_dialog(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["right", "question_mark"])
        await pilot.resize_terminal(40, 10)
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await press_and_settle(pilot, ["escape"])
        assert app.screen is app.main_screen and app.view.t == 1


# -- export ----------------------------------------------------------------------------------


async def test_export_writes_svg_and_json_and_never_overwrites(app_factory, tmp_path):
    app = app_factory("king")
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["right", "right", "right", "e"])
        svg, js = tmp_path / "rnntui-king-e200-t3.svg", tmp_path / "rnntui-king-e200-t3.json"
        assert svg.read_text().startswith("<svg")
        data = json.loads(js.read_text())
        assert data["epoch"] == 200 and len(data["steps"]) == 5
        assert any("rnntui-king-e200-t3.svg" in str(n.message) and str(tmp_path) in
                   str(n.message) for n in app._notifications)
        svg.write_text("mine")
        await press_and_settle(pilot, ["e"])
        assert svg.read_text() == "mine"  # untouched
        assert (tmp_path / "rnntui-king-e200-t3-1.svg").read_text().startswith("<svg")
        assert json.loads((tmp_path / "rnntui-king-e200-t3-1.json").read_text())["epoch"] == 200
        await press_and_settle(pilot, ["e"])
        assert (tmp_path / "rnntui-king-e200-t3-2.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("failing", ["replace", "write"])
async def test_export_failure_shows_a_message_and_keeps_old_files(app_factory, tmp_path,
                                                                  monkeypatch, failing):
    old = tmp_path / "rnntui-king-e200-t0.svg"
    old.write_text("old picture")
    before = sorted(p.name for p in tmp_path.iterdir())
    app = app_factory("king")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        if failing == "replace":
            def replace(src, dst):
                raise OSError(errno.ENOSPC, "No space left on device")
            monkeypatch.setattr(os, "replace", replace)
        else:
            real_fdopen = os.fdopen

            def fdopen(fd, *args, **kwargs):
                f = real_fdopen(fd, *args, **kwargs)

                def write(data):
                    raise OSError(errno.EROFS, "Read-only file system")
                f.write = write
                return f
            monkeypatch.setattr(os, "fdopen", fdopen)
        await press_and_settle(pilot, ["e"])
        messages = [str(n.message) for n in app._notifications]
        assert any("Could not save" in m and ("No space" in m or "Read-only" in m)
                   for m in messages)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert old.read_text() == "old picture"


async def test_export_without_the_json_module_still_saves_the_svg(app_factory, tmp_path,
                                                                 monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "rnntui.tracejson", None)  # import now fails
    app = app_factory("king")
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["e"])
        assert (tmp_path / "rnntui-king-e200-t0.svg").exists()
        assert not (tmp_path / "rnntui-king-e200-t0.json").exists()
        assert any("no JSON" in str(n.message) for n in app._notifications)


# -- keys ------------------------------------------------------------------------------------


def test_every_key_has_an_id_a_description_and_a_help_line():
    ids = [b.id for b in MainScreen.BINDINGS]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(b.description and b.tooltip for b in MainScreen.BINDINGS)
    keys = [k for b in MainScreen.BINDINGS for k in b.key.split(",")]
    assert len(set(keys)) == len(keys)
    for wanted in ["right", "left", "l", "h", "home", "end", "g", "G", "space", "b", "p", "t",
                   "left_square_bracket", "right_square_bracket", "r", "plus", "minus",
                   "equals_sign", "0", "o", "i", "e", "m", "question_mark", "q"]:
        assert wanted in keys


async def test_the_status_line_says_where_we_are(app_factory):
    app = app_factory("king")
    async with app.run_test(size=(120, 40)) as pilot:
        await press_and_settle(pilot, ["right", "plus", "plus", "plus", "plus"])
        text = status(app)
        # ("(0–4)": 0-based with the range since "truth on screen"; it was "step 2 of 5")
        for part in ["king", "text", "epoch 200/200", "t=1", "(0–4)", "forward",
                     "W_h ×2"]:
            assert part in text


# -- colour, headless rendering, running -----------------------------------------------------


def test_no_color_keeps_the_terminals_own_colours(monkeypatch):
    from textual.filter import Monochrome, NoColor

    monkeypatch.setenv("NO_COLOR", "1")
    app = quiet_app("king", train=False)
    kinds = [type(f) for f in app._filters]
    assert NoColor in kinds and Monochrome not in kinds  # greyscale made ANSI text invisible


def test_theme_is_ansi_by_default_and_can_be_chosen(monkeypatch):
    from rnntui.app import DEFAULT_THEME, make_app
    assert make_app("king").theme == DEFAULT_THEME == "ansi-dark"
    assert make_app("king", theme="textual-dark").theme == "textual-dark"
    monkeypatch.setenv("TEXTUAL_THEME", "nord")
    assert make_app("king").theme == "nord"
    monkeypatch.setenv("TEXTUAL_THEME", "no-such-theme")
    assert make_app("king").theme == DEFAULT_THEME


def test_render_svg_is_deterministic_and_shows_the_keys_effect():
    from rnntui.screenshot import render_svg
    one = render_svg("king", size=(80, 24), press=["right", "b"])
    assert one.startswith("<svg") and "rnntui:&#160;king" in one  # the window title
    assert one == render_svg("king", size=(80, 24), press=["right", "b"])
    assert one != render_svg("king", size=(80, 24), press=["right"])


def test_run_app_reports_a_bad_scenario_with_exit_code_2(capsys, tmp_path):
    from rnntui.cli import main
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nhidden_size = 0\n")
    assert main([str(bad)]) == 2
    assert "bad.toml" in capsys.readouterr().err


async def test_compare_on_an_encoder_decoder_is_attention_and_none(app_factory):
    """C on reverse: the same model with additive attention and without, side by side, each
    column titled, one cursor moving both (trained once, then from the training cache)."""
    from engine.cells import get_cell
    from rnntui.screens.compare import CompareScreen
    app = app_factory("reverse", at="t=6")
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["C"])
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await press_and_settle(pilot, ["right"])
        assert [v.t for v in screen.views] == [7, 7]  # decoder step 1 in both
        assert [v.scenario.model.attention for v in screen.views] == ["additive", "none"]
        left, right = (screen.query_one(f"#cmp-attention-{i}") for i in range(2))
        assert left.border_title.startswith("additive attention · ")
        assert right.border_title.startswith("no attention · ")
        S = screen.views[0].trace.S
        # reversing: output 1 looks most at source S - 2
        assert f"(source {S - 2})" in " ".join(pane_text(left).split())
        sc = screen.views[1].scenario
        size = get_cell(sc.model.cell).state_size(sc.model.hidden_size)
        text = " ".join(pane_text(right).split())
        assert f"{size} numbers for all {S} source tokens" in text
        assert "Decoder step 1 writes" in text
        cell = screen.views[0].cell
        await press_and_settle(pilot, ["escape"])  # both runs kept for A on the main screen
        assert app.screen is app.main_screen and set(app.main_screen._trained) >= {
            f"{cell}:additive", f"{cell}:none"}


@pytest.mark.cold_cache
async def test_training_on_open_shows_the_first_loss_once_known_not_nan(app_factory,
                                                                        monkeypatch):
    """Training on open starts while the initial weights' loss is computed: its curve began
    with NaN, and an encoder-decoder's slow first epoch read "loss nan" and "the loss is not
    finite here". Here the run never gets past epoch 0 (its worker is not started)."""
    from rnntui.jobs import Jobs
    from rnntui.view import Training

    def train(self, view, epochs=None):  # the run's state at its start, and nothing more
        return Training(view.trained_epochs, epochs or view.scenario.train.epochs,
                        tuple(view.history.losses))
    monkeypatch.setattr(Jobs, "train", train)
    app = app_factory("translate")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.view.training is not None
                         and not app.view.loss_pending, "the initial loss computed")
        await pilot.pause()
        first = app.view.history.losses[0]
        assert np.isfinite(first) and app.view.training.losses == (first,)
        text = pane_text(app.main_screen.query_one("#loss"))
        assert "nan" not in text and "not finite" not in text, text
        from rnntui.widgets._draw import fmt_abs
        assert f"loss {fmt_abs(first)}" in text, text  # (3.905: the pane's own form)


async def test_right_at_the_end_of_a_pass_says_so_once(app_factory):
    """→ at the end of the backward pass (after b at t = 0) did nothing and said nothing."""
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["b", "right"])
        assert app.view.phase == BACKWARD and app.view.t == 0
        said = [str(n.message) for n in app._notifications]
        assert said == ["The backward pass ends at t=0: ← walks back, b returns to the "
                        "forward pass."], said
        await press_and_settle(pilot, ["right"])  # (a key repeat: not said again)
        assert len(app._notifications) == 1
        await press_and_settle(pilot, ["b", "end", "right"])
        assert app.view.phase == FORWARD and app.view.t == app.view.T - 1
        assert str(list(app._notifications)[-1].message) == \
            f"The forward pass ends at t={app.view.T - 1}: b runs it backward from here."
