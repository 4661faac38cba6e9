"""Lessons: guided tours through rnntui, written as TOML files a teacher can copy and edit.

A lesson is a list of steps; each step opens the app at a position, says something about it
(numbers are placeholders filled from the engine), and may ask the learner to do something with
the app's own keys (checked by a condition) or to predict before a reveal. The built-in course
lives in ``course/``; docs/lessons.md has the schema, the condition language and the quantities.
"""

from __future__ import annotations

import importlib.resources
import os
import re
from functools import lru_cache
from pathlib import Path

from .loader import LessonError, is_lesson_text, load_lesson, loads_lesson
from .schema import Lesson, Question, Step, Task

__all__ = ["Lesson", "LessonError", "Question", "Step", "Task", "builtin_lessons",
           "course_files", "find_lesson", "is_lesson_text", "load_lesson", "loads_lesson"]


def course_files() -> list[Path]:
    """The built-in lesson files, in course order (their names start with a number)."""
    root = importlib.resources.files(__name__) / "course"
    files = [Path(str(e)) for e in root.iterdir() if e.name.endswith(".toml")]
    return sorted(files, key=lambda p: (int(re.match(r"\d*", p.name).group(0) or 999), p.name))


@lru_cache(maxsize=1)
def builtin_lessons() -> tuple[Lesson, ...]:
    """The built-in course, loaded and checked (once per process)."""
    return tuple(load_lesson(f, number=i + 1) for i, f in enumerate(course_files()))


def find_lesson(name: str | os.PathLike) -> Lesson:
    """A built-in lesson by name (``recurrence``) or number (``1``), or a lesson file."""
    text = os.fspath(name)
    lessons = builtin_lessons()
    if text.isdigit() and 1 <= int(text) <= len(lessons):
        return lessons[int(text) - 1]
    for lesson in lessons:
        if text == lesson.name:
            return lesson
    if "/" in text or os.sep in text or text.lower().endswith(".toml") or Path(text).exists():
        return load_lesson(text)
    from engine._scenario_checks import quote, suggest
    names = [lesson.name for lesson in lessons]
    raise LessonError(f"no built-in lesson {quote(text)}{suggest(text, names)} (lessons: "
                      f"{', '.join(names)}, or 1 to {len(names)}, or a path to a .toml file)")
