"""The lesson keys' actions, shared by the screens a lesson step can be on. A module of its own,
with no imports: the main screen loads it at start, and the lessons' dialogs stay unloaded
until a lesson is opened (tests/unit/test_lazy_imports.py)."""

from __future__ import annotations


class LessonKeys:
    """The lesson keys' actions (. , 1-4 L: rnntui.keys) for a screen whose ``lessons`` is the
    lesson session: the main screen, and the lab screen for a step on it."""

    def action_lessons(self) -> None:
        self.lessons.toggle()

    def action_lesson_step(self, direction: int) -> None:
        self.lessons.move(direction)

    def action_lesson_answer(self, choice: int) -> None:
        self.lessons.answer(choice)
