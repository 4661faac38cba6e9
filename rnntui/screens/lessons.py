"""The lesson list (L): the built-in course with each lesson's progress mark, or a lesson file."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..safe_text import visible
from ..served import files_refused
from .guard import Dialog
from .keybar import KeyBar


def lesson_label(lesson, mark: str, note: str = "") -> Table:
    """``    ✓  1. The recurrence  (5 min, 5 steps)`` with the summary under the title."""
    title = Text.assemble((f"{lesson.number or '·'}. ", "bold"), (visible(lesson.title), "bold"),
                          (f"  ({lesson.minutes} min, {len(lesson)} steps)", "dim"))
    if note:
        title.append(f"  {note}", "reverse")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=5, justify="right", no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(mark, style="bold"), title)
    grid.add_row("", Text(visible(lesson.summary), style="dim"))
    return grid


class LessonListScreen(Dialog, ModalScreen):
    """Pick a lesson (Enter), or type a lesson file's path; returns the Lesson or None."""

    BINDINGS = [Binding("escape", "cancel", "close", id="lessons-cancel")]

    def __init__(self, progress, *, resume: str | None = None,
                 resume_step: int | None = None) -> None:
        super().__init__()
        self.progress = progress
        self.resume = resume
        self.resume_step = resume_step
        self._lessons: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="lessons-box", classes="dialog") as box:
            box.border_title = "Lessons"
            box.border_subtitle = "Enter opens · Tab moves · Esc closes"
            yield Static("Marks: ✓ finished   3/7 steps reached   · not started",
                         classes="label")
            yield OptionList(*self._options(), id="lessons-list", compact=True)
            yield Static("Or the path of a lesson file (.toml):", classes="label")
            yield Input(placeholder="path/to/lesson.toml", id="lessons-path", max_length=4096)
            yield Static("", id="lessons-error")
        yield KeyBar()

    def _options(self) -> list[Option]:
        from ..lessons import LessonError, builtin_lessons
        try:
            lessons = builtin_lessons()
        except LessonError as err:  # a broken install: the path box still works
            self._broken = str(err)
            lessons = ()
        options = []
        for lesson in lessons:
            self._lessons[lesson.name] = lesson
            note = f"resume at step {self.resume_step + 1}" if lesson.name == self.resume \
                and self.resume_step is not None else ""
            options.append(Option(lesson_label(lesson, self.progress.mark(lesson.name,
                                                                           len(lesson)), note),
                                  id=lesson.name))
        return options

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        want = self.resume
        if want is None:  # no lesson open: the first one not finished yet
            want = next((name for name in self._lessons
                         if not self.progress.entry(name)["finished"]), None)
        for i in range(options.option_count):
            if options.get_option_at_index(i).id == want:
                options.highlighted = i
        options.focus()
        broken = getattr(self, "_broken", None)
        if broken:
            self._error(visible(broken))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.close_once(self._lessons[str(event.option.id)])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        from ..lessons import LessonError, load_lesson
        path = event.value.strip()
        if not path:
            self._error("Type the path of a lesson file, or pick one above.")
            return
        refused = files_refused()
        if refused:
            self._error(refused)
            return
        try:
            lesson = load_lesson(str(Path(path).expanduser()))
        except LessonError as err:
            self._error(visible(str(err)))
            return
        self.close_once(lesson)

    def _error(self, message: str) -> None:
        for error in self.query("#lessons-error").results(Static):
            error.update(Text(message, style="bold"))

    def action_cancel(self) -> None:
        self.close_once(None)
