"""Issue 9 (every screen tells the truth), the running app's part, driven through Pilot: keys
queued behind q, training watched live, the per-loss view's keys, focus, help, descriptions,
training sequences, epochs, reset, and every pane's text whole at 60x20, 80x24 and 120x40.

Tests wait for the state they assert (``settle``, ``wait_until``), never for time."""

from __future__ import annotations

import re

import pytest
from helpers import (pane_text, pane_texts, press_and_settle, settle, static_text, status,
                     trained_history, wait_until)
from textual import events
from textual.widgets import OptionList, Static

from engine.scenario import builtin_names, load, loads
from rnntui.screens import HelpScreen
from rnntui.widgets import GradientPane, HiddenPane, LossPane, StepPane

CUT_NUMBER = re.compile(r"[0-9.e=]…|…[0-9]")


def burst(app, *keys: str) -> None:
    """Send ``keys`` to the app in one go, as one write over a laggy link: no pause between
    them, so the first has not been handled when the others arrive."""
    for key in keys:
        char = {"question_mark": "?"}.get(key, key if len(key) == 1 else None)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


async def show_trained(pilot, app, name: str) -> None:
    """Show ``name`` trained as it says (trained once per test process and shared: the same
    History training on open would make), and wait until the screen shows it."""
    await settle(pilot)
    app.main_screen.view = app.view.with_history(trained_history(name))
    await settle(pilot)
    assert app.view.epoch == app.view.trained_epochs == load(name).train.epochs


def exported(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".svg", ".json"))


def texts_of(screen) -> str:
    """Every Static's text on a screen, joined."""
    return "\n".join(static_text(w) for w in screen.query(Static))


# ---------------------------------------------------------------------------------------------
# 1. Keys queued behind q


@pytest.mark.parametrize("after", ["i", "o", "e", "question_mark"])
@pytest.mark.parametrize("how", ["press", "burst"])
async def test_item1_keys_queued_behind_q_do_nothing_and_exit_0(app_factory, tmp_path, how,
                                                                 after):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        if how == "press":
            await pilot.press("q", after)
        else:
            burst(app, "q", after, after)
            await pilot.pause()
    assert app.return_code == 0
    assert app._exception is None
    assert exported(tmp_path) == []


async def test_item1_keys_queued_behind_q_before_the_first_frame(app_factory, tmp_path):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        burst(app, "q", "e", "i", "o", "question_mark")
        await pilot.pause()
    assert app.return_code == 0 and app._exception is None
    assert exported(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# 1. The first training, watched


LONG_TRAINING = '''
[scenario]
name = "slow"
kind = "text"
description = "A tiny model trained for far longer than any test waits."

[model]
hidden_size = 4
activation = "tanh"
output = "softmax"
seed = 0

[train]
epochs = 100000
learning_rate = 0.05

[data]
unit = "word"
text = ["a b c a b", "b a c"]
'''


async def training_under_way(pilot, app) -> str:
    """Wait until the first training has run an epoch and the Loss pane shows it; its text."""
    await wait_until(pilot, lambda: app.view.training is not None
                     and app.view.training.epoch > 0, "training under way")
    pane = app.main_screen.query_one(LossPane)
    await wait_until(pilot, lambda: "training " in pane_text(pane), "the Loss pane shows the run")
    return pane_text(pane)


async def test_item2_the_first_training_is_shown_live_and_t_stops_it(app_factory):
    app = app_factory(loads(LONG_TRAINING))  # trains on open: the first training
    async with app.run_test(size=(120, 40)) as pilot:
        loss = await training_under_way(pilot, app)
        head = loss.split("\n")[0]
        assert "untrained" not in loss
        assert head.startswith("training ") and "/100000" in head, head
        # the curve grows: a later frame shows more epochs
        first = app.view.training.epoch
        await wait_until(pilot, lambda: app.view.training is not None
                         and app.view.training.epoch > first + 1, "more epochs")
        # maximised, the pane has room to say what t does now
        pane = app.main_screen.query_one(LossPane)
        pane.focus()
        await pilot.press("m")
        await wait_until(pilot, lambda: "t stops" in pane_text(pane), "the maximised pane "
                         "says what t does")
        assert "keeping what was learned" in pane_text(pane)
        await pilot.press("m")
        await pilot.press("t")  # stop, keeping what was learned
        await settle(pilot)
        v = app.view
        assert v.training is None
        assert 0 < v.trained_epochs < 100000 and v.epoch == v.trained_epochs
        assert "on request" in (v.history.stopped or "")
        loss = pane_text(pane)
        assert "untrained" not in loss and f"{v.epoch}/{v.epoch}" in loss.split("\n")[0]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_item2_while_training_the_pane_says_what_t_does_at_common_sizes(app_factory,
                                                                               size):
    app = app_factory(loads(LONG_TRAINING))
    async with app.run_test(size=size) as pilot:
        loss = await training_under_way(pilot, app)
        assert "t stops" in loss.split("\n")[0], loss


# ---------------------------------------------------------------------------------------------
# 2. The per-loss view's keys


async def test_item5_v_switches_the_gradients_view_and_x_pins_tau(app_factory):
    app = app_factory("long", train=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_trained(pilot, app, "long")
        grads = app.main_screen.query_one(GradientPane)
        assert "dL/dh" in pane_text(grads) and app.view.grads == "total"
        await press_and_settle(pilot, ["right"] * 9)
        assert app.view.t == 9 and app.view.label(9) == "chased"
        await press_and_settle(pilot, ["v"])
        assert app.view.grads == "loss" and app.view.target is None
        text = pane_text(grads)
        assert "∂Lτ/∂h" in text or "∂L_τ/∂h" in text
        assert re.search(r"τ=9→t=0: \S+× (vanishing|fading)", text), text
        await press_and_settle(pilot, ["x"])
        assert app.view.target == 9 and "tau=9" in str(app.view.position)
        await press_and_settle(pilot, ["left", "left"])
        assert app.view.t == 7 and app.view.tau == 9  # τ stays pinned
        assert "τ=9→" in pane_text(grads)
        await press_and_settle(pilot, ["x"])
        assert app.view.target is None and "tau=" not in str(app.view.position)
        await press_and_settle(pilot, ["v"])
        assert app.view.grads == "total"


# ---------------------------------------------------------------------------------------------
# 3. Whole numbers on the running app's screen


#: The Step pane's content size at each screen size (the layout the panes are drawn for).
STEP_CONTENT = {(60, 20): (16, 5), (80, 24): (22, 7), (120, 40): (36, 14)}


async def resized(pilot, app, size) -> None:
    """Resize the terminal and wait until the panes are laid out for it and redrawn."""
    await pilot.resize_terminal(*size)
    step = app.main_screen.query_one(StepPane)
    await wait_until(pilot, lambda: tuple(step.content_size) == STEP_CONTENT[size],
                     f"the layout for {size}")
    await settle(pilot)


async def test_item8_the_running_screen_never_cuts_a_number(app_factory):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for name in ("king", "hello", "sine", "echo"):
            if name != app.view.scenario.name:
                app.main_screen.use_scenario(load(name), name)
            await show_trained(pilot, app, name)
            for keys in ([], ["right", "right", "b"]):  # t=0 forward, t=2 backward
                await press_and_settle(pilot, keys)
                for size in STEP_CONTENT:
                    await resized(pilot, app, size)
                    screen = [status(app), *pane_texts(app).values()]
                    bad = [line for text in screen for line in text.split("\n")
                           if CUT_NUMBER.search(line)]
                    assert not bad, (name, size, app.view.t, app.view.phase, bad)
            await press_and_settle(pilot, ["b", "home"])


async def test_item8_the_maximised_retention_pane_has_no_ellipsis_by_a_digit(app_factory):
    app = app_factory("king", train=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_trained(pilot, app, "king")
        pane = app.main_screen.query_one("#retention")
        pane.focus()
        await press_and_settle(pilot, ["m"])
        assert app.main_screen.maximized is pane
        bad = [line for line in pane_text(pane).split("\n") if CUT_NUMBER.search(line)]
        assert not bad, bad


# ---------------------------------------------------------------------------------------------
# 3. Focus visible without colour; the first m maximises a pane worth it


async def test_item12_focus_is_marked_in_the_title_and_m_maximises_the_step_pane(app_factory):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        assert screen.focused is screen.query_one("#sequence")
        assert str(screen.query_one("#sequence").border_title).startswith("◆")
        assert not any(str(p.border_title).startswith("◆") for p in screen.panes
                       if p.id != "sequence")
        await press_and_settle(pilot, ["m"])
        step = screen.query_one(StepPane)
        assert screen.maximized is step and screen.focused is step
        assert str(step.border_title).startswith("◆")
        await press_and_settle(pilot, ["m", "tab"])
        assert screen.maximized is None
        marked = [p.id for p in screen.panes if str(p.border_title).startswith("◆")]
        assert marked == [screen.focused.id]


# ---------------------------------------------------------------------------------------------
# 3. Every glyph explained in help; what each size shows


async def test_item13_help_explains_every_sign_and_what_each_size_shows(app_factory):
    app = app_factory("king", train=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help is open")
        await pilot.pause()
        text = texts_of(app.screen)
        for sign in ("◆", "★", "◀", "␣", "‖", "≤", "τ", "ρ", "+█▒░", "−●•·"):
            assert sign in text, sign
        assert "6/12 means 6 of 12 units" in " ".join(text.split())  # (a table wraps it)
        assert "80x24" in text and "36 rows" in text  # what the sequence pane shows by size
        assert "saturate" in text and "watch gradients explode" not in text
        assert "counted from 0" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen, "help closed")


# ---------------------------------------------------------------------------------------------
# 4. The whole description, in the app and in the picker


async def test_item14_d_shows_the_whole_description(app_factory):
    app = app_factory("long", train=False)
    sc = load("long")
    last = " ".join(sc.description.strip().split())[-60:]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await wait_until(pilot, lambda: app.screen is not app.main_screen, "description open")
        await pilot.pause()
        text = " ".join(texts_of(app.screen).split())
        assert last in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen, "closed")


async def test_item14_the_picker_lists_builtins_with_descriptions(app_factory):
    from engine.scenario import builtin_descriptions
    app = app_factory("king", train=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: app.screen.query(OptionList), "the picker is open")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        listed = [str(options.get_option_at_index(i).prompt)
                  for i in range(options.option_count)]
        for (name, first), line in zip(builtin_descriptions(), listed):
            assert line.startswith(name) and first
            shown = line[len(name):].strip().removeprefix("(open) ")
            # whole, or cut at a space before " …" where the list is narrower than the line
            assert shown == first or (shown.endswith(" …") and (first + " ").startswith(
                shown[:-1])), line
        assert len(listed) == len(builtin_names())
        # the highlighted one's whole description beneath
        await pilot.press("down")
        await pilot.pause()
        name = builtin_names()[1]
        rest = " ".join(load(name).description.strip().split("\n\n")[-1].split())
        about = " ".join(static_text(app.screen.query_one("#picker-about")).split())
        assert rest[-40:] in about


# ---------------------------------------------------------------------------------------------
# 4. Each promise visible: long's training sentences by n


async def test_item15_n_steps_to_the_training_sentence_where_runs_follows_cat(app_factory):
    app = app_factory("long", train=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_trained(pilot, app, "long")
        await press_and_settle(pilot, ["n"])
        v = app.view
        assert v.example == 0
        assert [v.label(t) for t in range(v.T)] == ["the", "cat", "runs", "away"]
        await press_and_settle(pilot, ["right"])
        out = pane_text(app.main_screen.query_one("#output"))
        row = next(line for line in out.split("\n")[1:] if line[2:].split()[:1] == ["runs"])
        assert float(row.split("◀")[0].split()[-1]) > 0.7
        await press_and_settle(pilot, ["N"])  # back to the scenario's own sentence
        assert app.view.example is None and app.view.T == 12


async def test_item15_sine_maximised_hidden_pane_shows_the_loop(app_factory):
    app = app_factory("sine", train=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_trained(pilot, app, "sine")
        hidden = app.main_screen.query_one(HiddenPane)
        hidden.focus()
        await press_and_settle(pilot, ["end", "m"])
        assert app.main_screen.maximized is hidden
        assert "main directions" in pane_text(hidden)


# ---------------------------------------------------------------------------------------------
# 4. Training watchable: epochs by 10 and to the ends; reset asks first


async def test_item16_epoch_keys_jump_by_ten_and_to_the_ends(app_factory):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_trained(pilot, app, "king")
        v = app.view
        E = v.trained_epochs
        kept = v.history.epochs
        assert v.epoch == E and E > 0
        await press_and_settle(pilot, ["less_than_sign"])
        assert app.view.epoch == 0
        await press_and_settle(pilot, ["right_curly_bracket"])
        assert app.view.epoch == kept[10]
        await press_and_settle(pilot, ["right_curly_bracket", "right_square_bracket"])
        assert app.view.epoch == kept[21]
        await press_and_settle(pilot, ["left_curly_bracket"])
        assert app.view.epoch == kept[11]
        await press_and_settle(pilot, ["greater_than_sign"])
        assert app.view.epoch == E
        assert f"epoch {E}/{E}" in status(app)


async def test_item16_reset_asks_first_and_another_key_cancels(app_factory):
    app = app_factory("king", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_trained(pilot, app, "king")
        E = app.view.trained_epochs
        await press_and_settle(pilot, ["r"])
        assert app.view.trained_epochs == E and app.view.epoch == E  # asked, kept
        await press_and_settle(pilot, ["right", "r"])  # another key in between: asks again
        assert app.view.trained_epochs == E
        await press_and_settle(pilot, ["r"])
        assert app.view.trained_epochs == 0 and app.view.epoch == 0
        await press_and_settle(pilot, ["r"])  # nothing trained to lose: at once
        assert app.view.trained_epochs == 0
