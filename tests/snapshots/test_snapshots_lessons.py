"""Snapshots of the lesson strip: a step with a task (lesson 1's second step, the task done)
and a step with a question (lesson 5's seed figure, answered), at 80x24 and 120x40.

Both are on 'cat', which never trains: the Training loss pane then draws no plotext chart,
whose tick labels came out differently from one test process to another on 'king' at 120x40.

Regenerate with ``pytest tests/snapshots/test_snapshots_lessons.py --snapshot-update`` and look
at each picture (rsvg-convert) before accepting it.
"""

from __future__ import annotations

import pytest
from helpers import press_and_settle, quiet_app, settle, wait_until

from rnntui.lessons import find_lesson

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def lesson_app(name: str, index: int):
    lesson = find_lesson(name)
    step = lesson.steps[index]
    app = quiet_app(step.scenario, at=step.position)
    app.main_screen.lessons.open(lesson, index)
    return app


def opened(index: int, *pressed: str):
    async def run_before(pilot) -> None:
        session = pilot.app.main_screen.lessons
        await wait_until(pilot, lambda: session.index == index and session.run.arrived,
                         "the step opened")
        await settle(pilot)
        await press_and_settle(pilot, pressed)
    return run_before


class TestLessonStrip:
    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    def test_task_step_done(self, snap_compare, size):
        """Lesson 1, step 2: 'Press → twice' done, the Sequence pane pointed at."""
        assert snap_compare(lesson_app("recurrence", 1), terminal_size=SIZES[size],
                            run_before=opened(1, "right", "right"))

    @pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
    def test_question_step(self, snap_compare, size):
        """Lesson 5, step 5: the seed's power-iteration figure, before the pick."""
        assert snap_compare(lesson_app("gradients", 4), terminal_size=SIZES[size],
                            run_before=opened(4))

    def test_question_answered(self, snap_compare):
        """The same question answered wrong (1): ✗ on the pick, ✓ on the answer, and why."""
        assert snap_compare(lesson_app("gradients", 4), terminal_size=SIZES["120x40"],
                            run_before=opened(4, "1"))
