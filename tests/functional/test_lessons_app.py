"""Every built-in lesson, walked through the real app from its first step to its last.

Each task is done with the keys its words name (the file lists them; the test checks the words
name each one), its condition must be false before and true after; each question is answered
(a wrong pick first where there is one, then the right one must not change it); the strip's
words are filled from the engine. Progress goes to a temporary data folder.
"""

from __future__ import annotations

import pytest
from helpers import (StandIn, lab_text, pane_text, quiet_app, settle, static_text,
                     wait_until)

from rnntui.lessons import builtin_lessons
from rnntui.lessons.quantities import Facts
from rnntui.lessons.text import placeholders
from rnntui.lessons.truth import TEXT_FIGURES, unseen

#: Every scenario opens trained, as from a warm training cache (conftest.py: trained once per
#: test process, not once per test), except where training on open is the point (cold_cache).
pytestmark = pytest.mark.warm_cache


LESSONS = builtin_lessons()
#: How a task's words write a key.
SHOWN = {"right": "→", "left": "←", "plus": "+", "minus": "-", "escape": "Esc",
         "enter": "Enter", "space": " "}


def shown(key: str) -> str:
    return SHOWN.get(key, key)


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    # a step on the lab screen: its runs from a stand-in, no worker processes
    monkeypatch.setattr("rnntui.lessons.session.make_sweep", lambda lab: StandIn(lab))


def lesson_app(lesson, size=(80, 24)):
    first = lesson.steps[0]
    app = quiet_app(first.scenario, at=first.position, draw_ahead=False)
    app.main_screen.lessons.open(lesson, 0)
    return app


#: The sizes every step's numbers are checked at: the usual terminal and the documented minimum.
SIZES = ((80, 24), (60, 20))


def screen_of(app) -> str:
    """What the panes above the strip show now: the maximised pane alone, else every pane with
    room on screen, each with its title (on the lab screen: its status, head and run)."""
    if app.lab is not None and app.screen is app.lab:
        return lab_text(app)
    screen = app.main_screen
    shown = [screen.maximized] if screen.maximized is not None else [
        p for p in screen.panes if p.region.area > 0]
    return "\n".join(f"{p.border_title}\n{pane_text(p)}" for p in shown)


def text_figures(step, facts) -> tuple[str, ...]:
    """The texts' own figures a step quotes, as its words write them (they stand alone)."""
    from rnntui.lessons.quantities import fmt_value
    texts = [step.narration] + ([step.task.do, step.task.then] if step.task else []) + (
        [step.question.prompt, step.question.why, *step.question.choices] if step.question
        else [])
    return tuple(fmt_value(facts(n), spec) for t in texts for n, spec in placeholders(t)
                 if n in TEXT_FIGURES)


def task_in_view(app) -> list[str]:
    """What of a task to do or a question to answer is not in view in the strip: its
    ``☐ Task:`` line, its prompt and every choice, whole, above the key footer."""
    screen = app.screen if app.screen is app.lab else app.main_screen
    strip = screen.lesson_strip
    card = strip.card
    pinned = screen.query_one("#lesson-pinned")
    wants = []
    if card.do is not None and not card.done:
        wants = ["☐ Task: " + card.do.split()[0]]
    elif card.prompt is not None and card.picked is None:
        wants = [f"{i} {c.split()[0]}" for i, c in enumerate(card.choices, 1)]
    if not wants:
        return []
    region = pinned.region
    text = " ".join(pane_text(pinned).split()) if pinned.display else ""
    if not pinned.display or region.bottom > strip.region.bottom or region.height < \
            len(pane_text(pinned).rstrip("\n").split("\n")):
        return [f"the task or question is cut: {region} in {strip.region}"]
    return [f"{w!r} not in view in {text!r}" for w in wants if w not in text]


async def numbers_on_screen(pilot, app, where: str, words: str, allowed=()) -> list[str]:
    """Each decimal number of ``words`` not on the panes, at each of SIZES, as ``'lesson step 3
    at 60x20: 0.0078'``. The size the app is at is checked first and the app is left at the
    other one, so a walk resizes once per check, not there and back, and does its tasks and
    answers at both sizes in turn (the resizes were a third of the walks' time)."""
    out = []
    for size in sorted(SIZES, key=lambda size: size != tuple(app.size)):
        if app.size != size:
            await pilot.resize_terminal(*size)
            await wait_until(pilot, lambda: tuple(app.size) == size, f"resized to {size}")
            await settle(pilot)
        missing = unseen(words, screen_of(app), allowed)
        if missing:
            out.append(f"{where} at {size[0]}x{size[1]}: {', '.join(missing)} not on screen "
                       f"in {words!r}")
        out += [f"{where} at {size[0]}x{size[1]}: {m}" for m in task_in_view(app)]
    return out


async def arrive(pilot, session, index: int) -> None:
    await wait_until(pilot, lambda: session.index == index and session.run.arrived,
                     f"step {index + 1} opened")
    await settle(pilot)


async def open_list(pilot) -> None:
    """Key L, and wait for the lesson list."""
    await pilot.press("L")
    await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "LessonListScreen",
                     "the list opened")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.name)
async def test_walk_every_step_with_the_keys_it_names(lesson):
    app = lesson_app(lesson)
    untrue: list[str] = []  # every number of the words that the screen does not show
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        for i, step in enumerate(lesson.steps):
            await arrive(pilot, session, i)
            if step.lab is not None:  # the strip under the lab's chart, once its runs are in
                await wait_until(pilot, lambda: app.screen is app.lab and len(app.lab.records)
                                 == app.lab.total, f"step {i + 1}: the lab's runs")
                await settle(pilot)
            strip = (app.lab if step.lab is not None else app.main_screen).lesson_strip
            card = strip.card
            where = f"{lesson.name} step {i + 1}"
            figures = () if step.lab else text_figures(step, Facts(app.view, session._extra()))
            words = "\n".join([card.narration, card.do or "", card.prompt or "",
                               *card.choices, session.run.words.get("why") or ""])
            untrue += await numbers_on_screen(pilot, app, where, words, figures)
            assert card is not None and card.index == i and card.count == len(lesson)
            assert "…" not in card.narration and "n/a" not in card.narration, card.narration
            if step.lab is not None:
                assert app.screen is app.lab and app.main_screen.lesson_strip.card is None
            else:  # the main screen at the step's state
                view = app.view
                assert view.t == step.t and view.phase == step.phase and view.knob == step.knob
                assert view.cell == (step.cell or view.scenario.model.origin.cell
                                     if view.scenario.model.origin else view.cell)
                if step.attention is not None:
                    assert view.scenario.model.attention == step.attention, i
                if step.point:
                    pane = app.main_screen.query_one(f"#{step.point}")
                    assert pane.has_class("-pointed") and "look here" in str(pane.border_subtitle)
            if step.task is not None:
                task = step.task
                assert task.keys, f"step {i + 1}: a task lists its keys"
                for key in task.keys:
                    assert shown(key) in card.do, (key, card.do)
                assert not task.condition.holds(Facts(app.view, session._extra())), \
                    f"step {i + 1}: {task.condition.text} holds before the task"
                assert not session.run.done
                for key in task.keys:
                    await pilot.press(key)
                    await settle(pilot)
                await wait_until(pilot, lambda: session.run.done, f"step {i + 1}: "
                                 f"{task.condition.text}")
                await settle(pilot)
                card = strip.card
                assert card.done and card.then, card
                assert "n/a" not in card.then and "…" not in card.then, card.then
                untrue += await numbers_on_screen(pilot, app, f"{where} after the task",
                                                  card.then, figures)
            if step.question is not None:
                q = step.question
                assert strip.card.why is None  # nothing revealed before the pick
                wrong = next(n for n in range(1, len(q.choices) + 1) if n != q.answer)
                await pilot.press(str(wrong))
                await settle(pilot)
                card = strip.card
                assert card.picked == wrong and card.answer == q.answer and card.why
                await pilot.press(str(q.answer))  # the first pick stands
                await settle(pilot)
                assert strip.card.picked == wrong
            await pilot.press("full_stop")
        await settle(pilot)
        assert session.lesson is None and not session.active
        assert session.progress.entry(lesson.name)["finished"]
        assert app.main_screen.maximized is None  # the lesson's emphasis went with it
        assert not any(p.has_class("-pointed") for p in app.main_screen.panes)
    assert not untrue, "\n".join(untrue)


async def test_leaving_keeps_the_state_and_coming_back_resumes():
    lesson = LESSONS[0]
    app = lesson_app(lesson)
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        strip = app.main_screen.lesson_strip
        await arrive(pilot, session, 0)
        await pilot.press("full_stop")
        await arrive(pilot, session, 1)
        await pilot.press("L")  # leave: the strip goes, the screen stays
        await settle(pilot)
        assert not session.active and not strip.has_class("-shown")
        assert not strip.display or strip.region.height == 0
        await pilot.press("right", "right", "right")  # exploring freely
        await settle(pilot)
        assert app.view.t == 3
        await pilot.press("full_stop")  # the lesson's keys rest while it is left
        await settle(pilot)
        assert session.index == 1 and app.view.t == 3
        await open_list(pilot)  # the list, with the left lesson highlighted
        await pilot.press("enter")
        await arrive(pilot, session, 1)  # resumed at the same step, its state again
        assert session.active and strip.card.index == 1 and app.view.t == lesson.steps[1].t


async def test_escape_on_the_strip_leaves(tmp_path):
    app = lesson_app(LESSONS[0])
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        await arrive(pilot, session, 0)
        app.main_screen.query_one("#lesson-scroll").focus()
        await pilot.press("escape")
        await settle(pilot)
        assert not session.active and session.lesson is LESSONS[0]


async def test_a_lesson_picked_from_the_list_opens_its_scenario():
    app = quiet_app("king", draw_ahead=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_list(pilot)
        await pilot.press("down", "enter")  # lesson 2, on cat
        session = app.main_screen.lessons
        await arrive(pilot, session, 0)
        assert session.lesson.name == "memory" and app.view.scenario.name == "cat"
        await pilot.press("2")
        await settle(pilot)
        assert session.run.picked == 2 and "✓ Right." in str(
            app.main_screen.query_one("#lesson-body").render())


async def test_at_60x20_the_list_is_one_line_a_lesson_and_the_summary_follows_the_cursor():
    """With each summary under its title, 60x20 showed two lessons of thirteen; now one line
    each, and the highlighted one's length and summary under the list. Back at 80x24, the
    summaries are in the list again."""
    from textual.widgets import OptionList
    app = quiet_app("king", train=False)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        await open_list(pilot)
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        rows = [options.render_line(y).text.strip() for y in range(options.size.height)]
        assert len(rows) >= 4 and [row.split(" ", 2)[1] for row in rows] == [
            f"{n}." for n in range(1, len(rows) + 1)], rows
        for row, lesson in zip(rows, LESSONS):  # whole, or cut at a space before " …"
            whole = f"{lesson.number}. {lesson.title}"
            title = row.split(" ", 1)[1]
            assert title == whole or (title.endswith(" …") and (whole + " ").startswith(
                title[:-1])), row
        about = app.screen.query_one("#lessons-about")
        for i in (0, 2):
            options.highlighted = i
            await settle(pilot)
            lesson = LESSONS[i]
            said = " ".join(static_text(about).split())
            whole = f"({lesson.minutes} min, {len(lesson)} steps) {' '.join(lesson.summary.split())}"
            assert said == whole or (said.endswith(" …") and whole.startswith(said[:-2])), said
        marks = app.screen.query_one("#lessons-marks")
        # the legend of the marks fits its one line (it wrapped at 60x20) and says what they are
        assert marks.size.height == 1 and static_text(marks).strip() == \
            "Marks: ✓ finished  3/7 steps  · not started"
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert not about.display and options.get_option_at_index(0).prompt.row_count == 2
        assert marks.size.height == 1 and "3/7 steps reached" in static_text(marks)


async def test_the_lesson_keys_say_so_when_no_lesson_is_open():
    app = quiet_app("cat", draw_ahead=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        t = app.view.t
        for key in ("full_stop", "comma", "1", "4"):
            await pilot.press(key)
        await settle(pilot)
        assert app.view.t == t and app.main_screen.lessons.lesson is None


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (120, 40)])
async def test_the_strip_fits_and_the_panes_keep_room(size):
    app = lesson_app(LESSONS[4], size)  # the longest words: vanishing gradients
    async with app.run_test(size=size) as pilot:
        session = app.main_screen.lessons
        await arrive(pilot, session, 0)
        strip = app.main_screen.lesson_strip
        assert strip.region.height == (9 if size[1] >= 36 else 5)
        assert strip.region.bottom <= size[1] - 1  # the key footer stays under it
        screen = app.main_screen
        if size[1] < 24:  # the step quotes numbers: its pane is maximised to show them whole
            assert screen.maximized is screen.query_one("#gradients")
        else:
            assert screen.maximized is None
            for pane in screen.panes:  # the grid's panes keep three lines or more
                if pane.PLACE == "grid" and pane.draws(app.view.trace):
                    assert pane.region.height >= 5 and pane.region.width >= 18, (pane.id,
                                                                                 pane.region)
        head = app.main_screen.query_one("#lesson-head")
        text = head.render()
        assert "step 1/6" in str(text) and head.region.width <= size[0]
        other = (80, 24) if size[1] < 24 else (60, 20)  # and the other way when resized
        await pilot.resize_terminal(*other)
        await wait_until(pilot, lambda: (screen.maximized is None) == (other[1] >= 24),
                         f"the pane maximised as {other} wants")


@pytest.mark.cold_cache
async def test_a_teachers_lesson_file_with_its_own_scenario_and_a_later_epoch(tmp_path):
    """A scenario path relative to the lesson file, an epoch past the scenario's own training
    (trained on up to), and a cell switch, all reached before the words are filled."""
    import shutil
    from pathlib import Path

    from rnntui.lessons import load_lesson
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "sc").mkdir()
    shutil.copy(root / "scenarios" / "king.toml", tmp_path / "sc" / "myking.toml")
    f = tmp_path / "mine.toml"
    f.write_text('''
[lesson]
title = "Mine"
summary = "A copy of king, trained further."
minutes = 2
scenario = "sc/myking.toml"

[[step]]
epoch = 230
t = 3
narration = "Epoch {epoch}: 'throne' gets {p_target:.3f}."

[[step]]
cell = "gru"
epoch = "untrained"
t = 1
narration = "The GRU, untrained: {top_word} at {p_top:.3f}."
''')
    lesson = load_lesson(f)
    app = lesson_app(lesson)
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        await arrive(pilot, session, 0)
        assert app.view.epoch == 230 and app.view.trained_epochs == 230
        assert app.view.source == str(tmp_path / "sc" / "myking.toml")
        assert app.main_screen.lesson_strip.card.narration.startswith("Epoch 230: 'throne'")
        await pilot.press("full_stop")
        await arrive(pilot, session, 1)
        assert app.view.cell == "gru" and app.view.epoch == 0 and app.view.t == 1
        assert "…" not in app.main_screen.lesson_strip.card.narration


async def test_going_back_shows_a_done_task_as_done():
    lesson = LESSONS[0]
    app = lesson_app(lesson)
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        await arrive(pilot, session, 0)
        await pilot.press("full_stop")
        await arrive(pilot, session, 1)
        await pilot.press("right", "right")
        await wait_until(pilot, lambda: session.run.done, "the task done")
        then = app.main_screen.lesson_strip.card.then
        await pilot.press("full_stop")
        await arrive(pilot, session, 2)
        await pilot.press("comma")
        await arrive(pilot, session, 1)
        card = app.main_screen.lesson_strip.card
        assert card.done and card.then == then and app.view.t == lesson.steps[1].t


async def test_every_other_key_still_works_inside_a_lesson():
    app = lesson_app(LESSONS[3])  # king, trained
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        await arrive(pilot, session, 0)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "help")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen, "help closed")
        for key, check in (("left_square_bracket", lambda v: v.epoch < v.trained_epochs),
                           ("0", lambda v: v.knob == 0), ("plus", lambda v: v.knob == 1),
                           ("home", lambda v: v.t == 0), ("v", lambda v: v.grads == "loss"),
                           ("n", lambda v: v.example == 0)):
            await pilot.press(key)
            await settle(pilot)
            assert check(app.view), key
        assert session.active and app.main_screen.lesson_strip.card.index == 0
        await pilot.press("d")  # the scenario's description, and back
        await wait_until(pilot, lambda: type(app.screen).__name__ == "AboutScreen", "about")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen, "about closed")
        assert session.active


async def test_the_list_highlights_the_first_lesson_not_finished():
    """Item 10 of issue 20: with lesson 1 finished and no lesson open, L highlights lesson 2."""
    from textual.widgets import OptionList

    from rnntui.lessons.progress import Progress
    progress = Progress()
    progress.record(LESSONS[0].name, step=len(LESSONS[0]) - 1, finished=True)
    assert progress.save()
    app = quiet_app("cat", draw_ahead=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_list(pilot)
        options = app.screen.query_one(OptionList)
        await wait_until(pilot, lambda: options.highlighted is not None, "a lesson highlighted")
        assert options.get_option_at_index(options.highlighted).id == LESSONS[1].name


@pytest.mark.parametrize("size", [(60, 20), (80, 24)])
async def test_the_footer_keeps_help_and_quit(size):
    """Item 9 of issue 20: at 60x20 the footer leaves out other keys, never '? help' and
    'q quit'; at 80x24 it shows them all."""
    app = quiet_app("cat", draw_ahead=False)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)

        def bottom_row() -> str:  # the screen's last row, as drawn
            return app.screen._compositor.render_strips()[-1].text
        await wait_until(pilot, lambda: "? help" in bottom_row() and "q quit" in bottom_row(),
                         "help and quit shown")
        assert bottom_row().rstrip().endswith("? help q quit")
        if size[0] >= 80:
            for words in ("o open", "c cell", "t train", "b pass", "space play"):
                assert words in bottom_row()


async def test_k_shows_the_legend_of_the_focused_pane():
    """Issue 20: at 80x24 no pane has room for a legend line; k shows the focused one's."""
    app = quiet_app("cat", draw_ahead=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.main_screen.query_one("#gradients").focus()
        await pilot.press("k")
        await wait_until(pilot, lambda: any("min (bottom)" in n.message and "Gradients" in n.title
                                            for n in app._notifications), "the legend shown")


async def test_opening_a_lesson_clears_the_notice_that_would_cover_its_strip():
    """Item 10 of issue 20: 'Lesson finished' no longer hides the next lesson's first words."""
    lesson = LESSONS[0]
    app = lesson_app(lesson)
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        await arrive(pilot, session, 0)
        session.go(len(lesson) - 1)
        await arrive(pilot, session, len(lesson) - 1)
        await pilot.press("full_stop")  # finished: a notice says so
        await wait_until(pilot, lambda: any("finished" in n.message for n in app._notifications),
                         "the lesson finished")
        session.open(LESSONS[1], 0)
        await arrive(pilot, session, 0)
        assert not list(app._notifications)


#: The legend lines at 120x40: the same for every scenario, but the Output pane's (its signs
#: differ by output) and the Step pane's (the vector size it counts).
LEGEND_LINES = {
    "hidden": "+█▒░ −●•·: sign, big to small",
    "gradients": "log bars: min (bottom) to max (top)",
    "retention": "x₀: first input's change, left",
    "loss": "L=: loss of the sequence on screen",
}


@pytest.mark.parametrize("scenario, output, step", [
    ("cat", "★ most probable · ◀ target", None),  # (its 3 units shown whole: no ‖v‖ to explain)
    ("sine", "ŷ: the prediction at t", "‖v‖ (16): length of 16 entries"),
])
async def test_each_pane_has_a_legend_line_at_120x40(scenario, output, step):
    """Issue 20: at 120x40 every grid pane gives its last row to what its signs mean, in the
    signs that scenario's panes draw (a series' Output pane has no ★ or ◀ target), and no
    legend for a sign the pane does not draw."""
    expected = {**LEGEND_LINES, "output": output, "step": step}
    if scenario == "sine":  # (its first input is 0: "first input changes nothing", no x₀: ×)
        expected["retention"] = None
    app = quiet_app(scenario, draw_ahead=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for pane in app.main_screen.panes:
            if pane.PLACE == "grid" and pane.display:
                text = pane_text(pane)
                last = text.rstrip("\n").split("\n")[-1].strip()
                if expected[pane.id] is None:  # no legend for a sign not drawn
                    assert last != LEGEND_LINES.get(pane.id) and "length of" not in last, \
                        (pane.id, text)
                else:
                    assert last == expected[pane.id], (pane.id, last)
