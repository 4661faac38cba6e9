"""The lab screen at 80x24 and 120x40: the built-in adding lab with its 18 runs landed (the
per-seed metrics measured by `rnntui lab adding`, docs/lab.md), the vanilla RNN's run at the
longest length selected."""

from __future__ import annotations

import pytest
from helpers import TEST_THEME, settle, wait_until

from engine.lab import load_lab

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
#: (length, cell's place in the lab, seed) -> the share measured.
MEASURED = {
    (10, 0, 0): 0.1693, (10, 0, 1): 0.2131, (10, 1, 0): 0.0015, (10, 1, 1): 0.0058,
    (10, 2, 0): 0.0083, (10, 2, 1): 0.0041, (25, 0, 0): 0.957, (25, 0, 1): 1.0254,
    (25, 1, 0): 0.0136, (25, 1, 1): 0.0169, (25, 2, 0): 0.0049, (25, 2, 1): 0.0079,
    (50, 0, 0): 1.1435, (50, 0, 1): 1.3141, (50, 1, 0): 0.0101, (50, 1, 1): 0.0449,
    (50, 2, 0): 0.0077, (50, 2, 1): 0.0074,
}


class Landed:
    """A sweep whose runs are all in the cache: they land at once."""

    def __init__(self, records):
        self.records = records

    def run(self, done):
        for i, r in enumerate(self.records, 1):
            done(r, i, len(self.records), True)
        return self.records

    def stop(self):
        pass


def lab_app():
    from rnntui import labrun
    from rnntui.app import make_app
    from rnntui.screens.lab import LabScreen
    lab = load_lab("adding", check_runs=False)
    records = []
    for job in lab.jobs():
        metric = MEASURED[(job["value"], lab.cells.index(job["cell"]), job["seed"])]
        records.append({"task": lab.task, "parameter": lab.parameter, "value": job["value"],
                        "cell": job["cell"], "seed": job["seed"], "metric": metric,
                        "baseline": 1.0, "loss": metric / 6, "accuracy": None, "epochs": 12,
                        "stopped": None, "seconds": 1.0,
                        "position": labrun.run_name(lab, job)})
    first = labrun.run_name(lab, lab.jobs()[0])
    app = make_app(labrun.load_any(first), source=first, train=False, theme=TEST_THEME,
                   cursor_blink=False)
    app.animation_level = "none"
    screen = app.lab_at_start = LabScreen(lab, Landed(records))
    return app, screen


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_the_lab_screen(snap_compare, size):
    app, screen = lab_app()

    async def run_before(pilot) -> None:
        await wait_until(pilot, lambda: screen.ended, "the runs land")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_a_lesson_step_on_the_lab_screen(snap_compare, size, monkeypatch, tmp_path):
    """Lesson 10's second step: the strip under the memory lab's chart (the stand-in's runs:
    the shares measured by `rnntui lab memory`)."""
    from helpers import StandIn, quiet_app

    from rnntui.lessons import find_lesson
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr("rnntui.lessons.session.make_sweep", lambda lab: StandIn(lab))
    lesson = find_lesson("10")
    app = quiet_app(lesson.steps[3].scenario, draw_ahead=False, train=False)
    app.main_screen.lessons.open(lesson, 1)

    async def run_before(pilot) -> None:
        await wait_until(pilot, lambda: app.lab is not None and app.screen is app.lab
                         and len(app.lab.records) == 12, "the runs land")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)
