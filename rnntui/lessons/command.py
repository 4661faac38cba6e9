"""``rnntui learn``: list the lessons with progress marks, open one, reset progress; and the
lesson half of ``rnntui check``."""

from __future__ import annotations

from pathlib import Path

from ..safe_text import visible
from . import LessonError, builtin_lessons, find_lesson, is_lesson_text, load_lesson
from .progress import Progress, progress_path, say_problem

__all__ = ["learn", "listing", "check_file", "looks_like_lesson"]


def listing(progress: Progress, columns: int | None = None) -> list[str]:
    """The course, one line per lesson (scripts read it): mark, number, name, title, summary,
    minutes and steps. When a line would be wider than ``columns`` (default: the terminal's
    width) no line has its summary (a title is shortened if need be), and a last line says how
    wide a terminal shows them. Then how to open one, wrapped to ``columns``."""
    from ..fit import columns as terminal_columns
    from ..fit import shorten, wrap
    columns = columns or terminal_columns()
    lessons = builtin_lessons()
    width = max(len(lesson.name) for lesson in lessons)
    rows = []  # (head, title, title: summary, tail)
    for lesson in lessons:
        mark = progress.mark(lesson.name, len(lesson))
        title = visible(lesson.title)
        rows.append((f"{mark:>5}  {lesson.number:>2}  {lesson.name:<{width}}  ", title,
                     f"{title}: {visible(lesson.summary)}",
                     f" ({lesson.minutes} min, {len(lesson)} steps)"))
    widest = max(len(head) + len(about) + len(tail) for head, _, about, tail in rows)
    if widest <= columns:
        lines = [head + about + tail for head, _, about, tail in rows]
    else:
        lines = [head + shorten(title, columns - len(head) - len(tail)) + tail
                 for head, title, _, tail in rows]
    lines.append("")
    lines += wrap("Open one with 'rnntui learn NAME' (or its number, or a lesson file's "
                  "path); in the app, L lists them.", columns)
    lines += wrap("Marks: ✓ finished, 3/7 steps reached, · not started. 'rnntui learn "
                  "--reset' forgets them.", columns)
    if widest > columns:
        lines += wrap(f"A terminal {widest} columns wide (or COLUMNS={widest}) shows each "
                      f"lesson's summary too.", columns)
    return lines


def learn(name: str | None, reset: bool, out, fail, run, note=None) -> int:
    """The command: ``out(line)`` prints, ``fail(message)`` reports and returns 2,
    ``run(lesson)`` opens the app on a lesson and returns its exit code, ``note(line)`` says
    that an unreadable progress file was set aside (default: on stderr; the command goes on)."""
    progress = Progress()
    say_problem(progress, note)
    lesson = None
    if name is not None:
        try:
            lesson = find_lesson(name)
        except LessonError as err:
            return fail(str(err))
    if reset:
        progress.reset(lesson.name if lesson is not None else None)
        if not progress.save():
            return fail(f"{progress_path()}: could not write the progress file")
        if lesson is None:
            out(f"Progress forgotten ({visible(str(progress.path))}).")
            return 0
    if lesson is None:
        for line in listing(progress):
            out(line)
        return 0
    return run(lesson)


def looks_like_lesson(path: str) -> bool:
    """Whether ``path`` is a lesson file (a ``[lesson]`` table) rather than a scenario."""
    from engine.files import FileReadError, read_regular
    from engine.scenario import LIMITS
    try:  # (a FIFO, a device, a file too big for either: the scenario loader says what it is)
        head = read_regular(path, LIMITS["file_bytes"])
    except FileReadError:
        return False
    return is_lesson_text(head.decode("utf-8", errors="replace"))


def check_file(path: str) -> tuple[str | None, str | None]:
    """(the ok line, None) for a valid lesson file, or (None, the error line)."""
    try:
        lesson = load_lesson(Path(path))
    except LessonError as err:
        return None, str(err)
    from .truth import screen_warnings
    asks = sum(1 for s in lesson.steps if s.task or s.question)
    n = len(lesson)
    ok = (f"{visible(path)}: ok (lesson '{visible(lesson.title)}', {n} step"
          f"{'s' if n != 1 else ''}, {asks} with a task or question)")
    return "\n".join([ok, *(visible(w) for w in screen_warnings(lesson))]), None
