"""The scenario picker: a built-in from a list (with its description) or the path of a file.

A file is loaded in a worker thread, so a big one never freezes the screen; errors are shown in
the dialog, which stays open so the path can be fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from engine.types import Scenario, ScenarioError

from ..safe_text import visible
from ..served import files_refused
from .guard import SHORT_ROWS, Dialog
from .keybar import KeyBar


@dataclass
class Opened:
    """What the picker hands back: the scenario and how it was named (a built-in or a path)."""

    scenario: Scenario
    source: str


#: Lines of the highlighted scenario's description under the list, by the screen's rows:
#: below SHORT_ROWS (24: 60x20) two, where the list would otherwise show one scenario at a
#: time; from 32 (100x32, 120x40) room for every built-in's whole description.
ABOUT_LINES = ((SHORT_ROWS, 2), (32, 6), (10 ** 9, 12))


class PickerScreen(Dialog, ModalScreen[Opened | None]):
    """Choose a built-in scenario or type the path of a .toml file; returns :class:`Opened`."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="picker-cancel")]

    @dataclass
    class Loaded(Message):
        """A scenario file finished loading in the worker (or failed with ``error``)."""

        name: str
        scenario: Scenario | None
        error: str | None

    def __init__(self, current: str, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.current = current
        self.cursor_blink = cursor_blink
        self.loading: str | None = None
        self._about_text = ""  # the highlighted built-in's description, as shown under the list

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="dialog") as box:
            box.border_title = "Open a scenario"
            box.border_subtitle = "Enter opens · Tab moves · Esc cancels"
            yield Static("Built-in scenarios:", classes="label")
            yield OptionList(*self._options(), id="picker-list", compact=True)
            yield Static("", id="picker-about")
            yield Static("Or the path of a scenario file (.toml):", classes="label")
            yield Input(placeholder="path/to/scenario.toml", id="picker-path", max_length=4096)
            yield Static("", id="picker-error")
        yield KeyBar()

    def _options(self) -> list[Option]:
        try:
            from engine.scenario import builtin_descriptions
            items = builtin_descriptions()
            self._about = dict(builtin_descriptions(full=True))
        except Exception:  # the loader is missing or broken: the path box still works
            items = []
            self._about = {}
        width = max((len(n) for n, _ in items), default=0)
        options = []
        self._labels = []  # (each whole: fit to the list's width on every resize)
        for name, desc in items:
            label = Text.assemble((f"{name:<{width}}", "bold"), "  ", no_wrap=True)
            if name == self.current:  # (before the description: a long one is cut at the end)
                label.append("(open) ", style="dim")
            label.append(desc)
            self._labels.append(label)
            options.append(Option(label, id=name))
        return options

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = self.cursor_blink
        options = self.query_one(OptionList)
        for i in range(options.option_count):
            if options.get_option_at_index(i).id == self.current:
                options.highlighted = i
        options.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """The highlighted built-in's whole description under the list."""
        text = self._about.get(str(event.option.id), "")
        paras = [" ".join(p.split()) for p in text.split("\n\n")[1:]]  # (line 1 is listed)
        self._about_text = "\n".join(paras)
        self._show_about()

    def on_resize(self) -> None:
        self.fit_options(self.query_one(OptionList), self._labels)
        self._show_about()

    def _show_about(self) -> None:
        """The description in as many lines as the screen gives it, the last one ending in "…"
        when it goes on (a cut line never just stops)."""
        from ..widgets._draw import fit_lines
        lines = next(n for below, n in ABOUT_LINES if self.app.size.height < below)
        for about in self.query("#picker-about").results(Static):
            about.styles.max_height = lines
            text = Text(self._about_text, style="dim")
            width = about.content_size.width
            about.update(fit_lines(text, self.app.console, width, lines) if width > 1 else text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._try_open(str(event.option.id))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path:
            self._show_error("Type the path of a .toml file, or pick a built-in above.")
            return
        refused = files_refused()
        if refused:
            self._show_error(refused)
            return
        self._try_open(str(Path(path).expanduser()))

    def _try_open(self, name: str) -> None:
        if self.loading is not None:
            return  # one at a time: a second Enter while loading does nothing
        self.loading = name
        self._show_error(f"loading {visible(name)}…", style="dim")

        def work() -> None:
            from engine.scenario import load
            try:
                scenario, error = load(name), None
            except ScenarioError as err:
                scenario, error = None, str(err)
            except OSError as err:
                scenario, error = None, f"{name}: {err.strerror or err}"
            except MemoryError:
                scenario, error = None, f"{name}: not enough memory to load it"
            self.post_message(self.Loaded(name, scenario, error))

        self.run_worker(work, thread=True, exclusive=True, group="load", exit_on_error=False)

    def on_picker_screen_loaded(self, msg: Loaded) -> None:
        self.loading = None
        if msg.scenario is None:
            self._show_error(visible(msg.error or "could not load it"))
        else:
            self.close_once(Opened(msg.scenario, msg.name))

    def _show_error(self, message: str, style: str = "bold") -> None:
        for error in self.query("#picker-error").results(Static):
            error.update(Text(message, style=style))

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "load")
        self.close_once(None)
