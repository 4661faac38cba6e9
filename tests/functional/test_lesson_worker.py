"""Issue 25, finding 13: a lesson's costly quantities are computed off the UI thread, kept per
trace, and fill in once they (or the trace's Jacobian norms) are in."""

from __future__ import annotations

import threading

from helpers import quiet_app, settle, wait_until

from rnntui.lessons import load_lesson
from rnntui.lessons.quantities import Facts

#: A square wave (its inputs repeat) long enough that its trace comes in parts, the Jacobian
#: norms from a worker (T x H = 48,000 cells, over rnntui.jobs.BIG_TRACE).
SCENARIO = '''
[scenario]
name = "long square"
kind = "series"
[model]
hidden_size = 16
[data]
function = "square"
points = 3001
[train]
epochs = 0
'''

LESSON = '''
[lesson]
title = "Long"
summary = "Costly numbers."
minutes = 2
scenario = "long.toml"

[[step]]
t = 2000
narration = "max {max_jacobian:.6e}, again {repeat_distance:.6e}, reach {reach_first:.6e}."
[step.task]
do = "Press →."
keys = ["right"]
condition = "reach_first >= 0 and t == 2001"
then = "reach {reach_first:.6e} at t = {t}"
'''


async def test_finding13_costly_quantities_come_from_a_worker_and_fill_in(tmp_path,
                                                                          monkeypatch):
    import engine.influence as influence
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "long.toml").write_text(SCENARIO)
    (tmp_path / "lesson.toml").write_text(LESSON)
    lesson = load_lesson(tmp_path / "lesson.toml")
    on_ui: list[bool] = []
    real = influence.reach

    def reach(*args, **kwargs):  # where the walk back over 2,000 steps runs
        on_ui.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)
    monkeypatch.setattr(influence, "reach", reach)
    step = lesson.steps[0]
    app = quiet_app(step.scenario, at=step.position, draw_ahead=False)
    app.main_screen.lessons.open(lesson, 0)
    async with app.run_test(size=(80, 24)) as pilot:
        session = app.main_screen.lessons
        strip = app.main_screen.lesson_strip
        await wait_until(pilot, lambda: session.run.arrived and strip.card is not None
                         and "…" not in strip.card.narration, "the words filled in")
        view = app.view
        assert view.trace.jacobians_done and view.t == 2000
        facts = Facts(view)  # the same numbers, computed here at once
        want = (f"max {facts('max_jacobian'):.6e}, again {facts('repeat_distance'):.6e}, "
                f"reach {facts('reach_first'):.6e}.")
        assert strip.card.narration == want
        await pilot.press("right")
        await wait_until(pilot, lambda: session.run.done and strip.card.then
                         and "…" not in strip.card.then, "the task done, its words filled")
        await settle(pilot)
        assert strip.card.then == f"reach {Facts(app.view)('reach_first'):.6e} at t = 2001"
    assert on_ui.count(False) >= 2 and on_ui.count(True) == 2  # (the two Facts above)
