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
from .guard import SHORT_ROWS, Dialog
from .keybar import KeyBar


#: Below SHORT_ROWS rows (60x20) each lesson is one line, and the highlighted one's summary
#: is under the list in at most SUMMARY_LINES lines: with the summaries in the list, two
#: lessons of thirteen showed at a time.
SUMMARY_LINES = 2
#: The legend of the marks, and its narrow form (the list at 60x20 is 50 cells wide).
MARKS = "Marks: ✓ finished   3/7 steps reached   · not started"
MARKS_NARROW = "Marks: ✓ finished  3/7 steps  · not started"


def lesson_label(lesson, mark: str, note: str = "", *, summary: bool = True) -> Table | Text:
    """``    ✓  1. The recurrence  (5 min, 5 steps)`` with the summary under the title (without
    ``summary``: the one line, cut at a space to the list's width by the screen)."""
    title = Text.assemble((f"{lesson.number or '·'}. ", "bold"), (visible(lesson.title), "bold"))
    if summary:  # (else the length goes with the summary under the list)
        title.append(f"  {lesson_length(lesson)}", "dim")
    if note:
        title.append(f"  {note}", "reverse")
    if not summary:
        return Text.assemble((mark.rjust(5), "bold"), " ", title)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=5, justify="right", no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(mark, style="bold"), title)
    grid.add_row("", Text(visible(lesson.summary), style="dim"))
    return grid


def lesson_length(lesson) -> str:
    return f"({lesson.minutes} min, {len(lesson)} steps)"


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
            yield Static(MARKS, classes="label", id="lessons-marks")
            yield OptionList(*self._options(), id="lessons-list", compact=True)
            yield Static("", id="lessons-about")  # (the summary, on a short screen)
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
        self._short = self._is_short()
        for lesson in lessons:
            self._lessons[lesson.name] = lesson
        return [Option(self._label(lesson), id=lesson.name) for lesson in lessons]

    def _is_short(self) -> bool:
        return self.app.size.height < SHORT_ROWS

    def _label(self, lesson):
        note = f"resume at step {self.resume_step + 1}" if lesson.name == self.resume \
            and self.resume_step is not None else ""
        return lesson_label(lesson, self.progress.mark(lesson.name, len(lesson)), note,
                            summary=not self._short)

    def on_resize(self) -> None:
        """One line a lesson below SHORT_ROWS rows, each cut at a space to the list's width; the
        summary under each above (again on a change)."""
        options = self.query_one(OptionList)
        was, self._short = self._short, self._is_short()
        labels = [self._label(lesson) for lesson in self._lessons.values()]
        if self._short:
            self.fit_options(options, labels)
        elif was:
            for i, label in enumerate(labels):
                options.replace_option_prompt_at_index(i, label)
        options.set_class(self._short, "-short")
        self._show_summary()
        marks = self.query_one("#lessons-marks", Static)
        width = marks.content_size.width or max(self.app.size.width - 10, 10)
        marks.update(MARKS if len(MARKS) <= width else MARKS_NARROW)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_summary()

    def _show_summary(self) -> None:
        """On a short screen, the highlighted lesson's summary under the list."""
        from ..widgets._draw import fit_lines
        about = self.query_one("#lessons-about", Static)
        about.display = self._short
        options = self.query_one(OptionList)
        i = options.highlighted
        if not self._short or i is None:
            return
        lesson = self._lessons[str(options.get_option_at_index(i).id)]
        text = Text(f"{lesson_length(lesson)} {visible(lesson.summary)}", style="dim")
        width = about.content_size.width or max(self.app.size.width - 10, 10)
        about.update(fit_lines(text, self.app.console, width, SUMMARY_LINES))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.set_class(self._short, "-short")
        self.query_one("#lessons-about", Static).display = self._short
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
