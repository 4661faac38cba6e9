"""A lesson's step on the lab screen (lesson 10, "How far back can it remember?"): its strip
under the chart, its keys, its numbers (the lab's medians) filled in once the runs they need
are in and written as the lab screen writes them; a stand-in sweep gives the runs at once
(no worker processes), a held one lets a test see the step before they are in."""

from __future__ import annotations

import threading

import pytest
from helpers import StandIn, lab_text, quiet_app, settle, wait_until

from rnntui.lessons import builtin_lessons, loads_lesson
from rnntui.lessons.truth import unseen

pytestmark = pytest.mark.warm_cache

@pytest.fixture(autouse=True)
def _stand_in(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr("rnntui.lessons.session.make_sweep", lambda lab: StandIn(lab))


LESSON = next(lesson for lesson in builtin_lessons() if lesson.name == "memory_lab")


async def test_the_memory_lab_lesson_walks_from_the_lab_to_its_runs():
    app = quiet_app(LESSON.steps[-2].scenario, draw_ahead=False)
    app.main_screen.lessons.open(LESSON, 0)
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        await wait_until(pilot, lambda: app.lab is not None and app.screen is app.lab,
                         "the lab screen")
        await wait_until(pilot, lambda: len(app.lab.records) == 12, "the stand-in's runs")
        await settle(pilot)
        strip = app.lab.lesson_strip
        assert strip.card is not None and strip.card.index == 0 and strip.card.prompt
        assert app.main_screen.lesson_strip.card is None  # one strip: the lab screen's
        await pilot.press("2")
        await settle(pilot)
        assert strip.card.picked == 2 and strip.card.answer == 2 and strip.card.why
        await pilot.press("full_stop")
        await settle(pilot)
        assert session.index == 1 and app.screen is app.lab
        card = strip.card
        assert "median is 0.816 of it" in card.narration
        assert app.lab.selected == (20, "rnn", 0)
        assert not unseen(card.narration, lab_text(app))
        await pilot.press("full_stop")
        await settle(pilot)
        assert session.index == 2 and app.lab.selected == (20, "lstm", 0)
        assert "0.0154 of the baseline" in strip.card.narration
        assert not unseen(strip.card.narration, lab_text(app))
        await pilot.press("full_stop")  # to the vanilla run, on the main screen
        await wait_until(pilot, lambda: session.index == 3 and session.run.arrived,
                         "step 4 opened")
        await settle(pilot)
        assert app.screen is app.main_screen and strip.card is None
        view = app.view
        assert view.source == "lab=memory length=20 cell=rnn seed=0" and view.t == 19
        assert app.main_screen.lesson_strip.card.index == 3
        await pilot.press("comma")  # back to the lab
        await settle(pilot)
        assert app.screen is app.lab and session.index == 2 and strip.card.index == 2


async def test_a_lab_steps_numbers_wait_for_the_runs(monkeypatch):
    hold = threading.Event()
    monkeypatch.setattr("rnntui.lessons.session.make_sweep", lambda lab: StandIn(lab, hold))
    app = quiet_app(LESSON.steps[-2].scenario, draw_ahead=False)
    app.main_screen.lessons.open(LESSON, 1)
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        await wait_until(pilot, lambda: app.lab is not None and session.run.arrived,
                         "the step, at once")
        await settle(pilot)
        card = app.lab.lesson_strip.card
        assert "median is … of it" in card.narration and not app.lab.records
        hold.set()
        await wait_until(pilot, lambda: "median is 0.816 of it" in app.lab.lesson_strip.card.narration,
                         "the median, once its runs are in")


def test_a_lab_step_is_checked():
    base = LESSON.source
    text = open(base, encoding="utf-8").read()
    with pytest.raises(Exception, match=r"has no t: it shows the lab's curves"):
        loads_lesson(text.replace('title = "read the curve"\n', 'title = "x"\nt = 3\n'), base)
    with pytest.raises(Exception, match=r"\{median_rnn\} is a number of the lab screen"):
        loads_lesson(text.replace("reaches the first state (the last line)",
                                  "reaches {median_rnn}"), base)
    with pytest.raises(Exception, match=r"runs no gru cell"):
        loads_lesson(text.replace("{median_lstm:.3g}", "{median_gru:.3g}"), base)


async def test_the_arrows_select_runs_under_a_lesson():
    app = quiet_app(LESSON.steps[-2].scenario, draw_ahead=False)
    app.main_screen.lessons.open(LESSON, 1)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.lab is not None and app.screen is app.lab
                         and len(app.lab.records) == 12, "the lab screen")
        await settle(pilot)
        assert app.lab.focused is app.lab.query_one("#lesson-scroll")  # (the strip's)
        await pilot.press("down")
        await settle(pilot)
        assert app.lab.selected == (20, "lstm", 0)
