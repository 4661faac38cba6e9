"""The screens shown over the panes: help, the scenario picker, typed input, and "too small".

Each modal closes with Esc and hands its result back through ``dismiss``; errors (a bad scenario
file, an unknown word) are shown inside the dialog, which stays open so the user can fix them.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from engine.types import Scenario, ScenarioError

#: What each pane shows, in the words the help screen uses (keyed by the pane's id).
PANE_HELP = [
    ("sequence", "The inputs, one per time step, with the step you are at marked. Under each "
                 "input is the target: what the network should predict there."),
    ("step", "The cell's arithmetic at step t with the real numbers. Forward: a = W_x x_t + "
             "W_h h_(t-1) + b, then h_t = f(a), then the output y_t = W_y h_t + b_y. Backward: "
             "how the loss's gradient arrives at step t and flows on to step t-1."),
    ("hidden", "The hidden state h_t, the network's memory, one bar per unit: + to the right, "
               "- to the left. Larger screens also show every unit across time."),
    ("output", "The prediction at step t: the probability of each word with the right answer "
               "marked, or the predicted value beside the true one."),
    ("gradients", "dL/dh: how strong the loss's gradient is at each step. dhT/dh: how much a "
                  "nudge to the state at step t still moves the last state. Bars that shrink to "
                  "nothing towards the start are vanishing gradients; bars that blow up are "
                  "exploding ones. ||W_h||2 is how far W_h can stretch a vector (its spectral "
                  "norm), rho its spectral radius. Try + and - to scale W_h."),
    ("retention", "Memory with no new input: feed the first input, then only blank (zero) "
                  "inputs, and compare the state after j blanks with the first state: cos near 1 "
                  "means kept, near 0 forgotten, below 0 turned around. A curve that swings is "
                  "W_h rotating the state."),
    ("loss", "The training loss at every epoch, with a marker at the epoch whose weights you "
             "are looking at ([ and ] move it)."),
]

ABOUT = ("The status line at the top says which scenario this is, the epoch whose weights you "
         "see, the time step t, the pass (forward or backward), the W_h scale, and anything "
         "running (training, computing). Colour is never the only signal: signs are written "
         "as + and -, sizes as bar lengths, so it reads the same without colour.")


def _keys_text(keys: str) -> str:
    return " ".join(format_key(k) for k in keys.split(","))


class _Dialog:
    """Closing that tolerates a second Enter or Esc queued before the first one took effect."""

    def close_once(self, result=None) -> None:
        if self.is_current:  # a key queued after dismiss must not pop the screen below
            self.dismiss(result)


class HelpScreen(_Dialog, ModalScreen[None]):
    """Every key and what each pane shows."""

    BINDINGS = [
        Binding("escape,question_mark", "close", "close help", id="help-close"),
        Binding("q", "app.quit", "quit", id="help-quit"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog") as box:
            box.border_title = "Help"
            box.border_subtitle = "Esc or ? closes · ↑↓ scroll"
            with VerticalScroll(id="help-body"):
                yield Static(self._keys(), id="help-keys")
                yield Static(self._panes(), id="help-panes")
                yield Static(Text(ABOUT), id="help-about")
        yield Footer(compact=True, show_command_palette=False)

    def _keys(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", expand=True,
                      padding=(0, 1), title="Keys", title_style="bold", title_justify="left")
        table.add_column("key", no_wrap=True)
        table.add_column("what it does", ratio=1)
        for b in self.app.BINDINGS:
            table.add_row(_keys_text(b.key), b.tooltip or b.description)
        table.add_row("tab shift+tab", "Move the focus from pane to pane (m then maximises it).")
        table.add_row("ctrl+q", "Quit, also from inside a dialog.")
        return table

    def _panes(self) -> Table:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1),
                      title="Panes", title_style="bold", title_justify="left")
        table.add_column("pane", no_wrap=True, style="bold")
        table.add_column("what it shows", ratio=1)
        for pane_id, text in PANE_HELP:
            try:
                title = self.app.main_screen.query_one(f"#{pane_id}").border_title
            except Exception:
                title = pane_id
            table.add_row(str(title or pane_id), text)
        return table

    def action_close(self) -> None:
        self.close_once(None)

    def on_resize(self, event) -> None:
        if self.is_current:
            self.app.check_size(event.size)


class PickerScreen(_Dialog, ModalScreen[Scenario | None]):
    """Choose a built-in scenario or type the path of a .toml file; returns the loaded Scenario."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="picker-cancel")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="dialog") as box:
            box.border_title = "Open a scenario"
            box.border_subtitle = "Enter opens · Tab moves · Esc cancels"
            yield Static("Built-in scenarios:", classes="label")
            yield OptionList(*self._options(), id="picker-list", compact=True)
            yield Static("Or the path of a scenario file (.toml):", classes="label")
            yield Input(placeholder="path/to/scenario.toml", id="picker-path")
            yield Static("", id="picker-error")
        yield Footer(compact=True, show_command_palette=False)

    def _options(self) -> list[Option]:
        try:
            from engine.scenario import builtin_descriptions
            items = builtin_descriptions()
        except Exception:  # the loader is missing or broken: the path box still works
            items = []
        width = max((len(n) for n, _ in items), default=0)
        options = []
        for name, desc in items:
            label = Text.assemble((f"{name:<{width}}", "bold"), "  ", desc)
            if name == self.current:
                label.append("  (open)", style="dim")
            options.append(Option(label, id=name))
        return options

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = getattr(self.app, "cursor_blink", True)
        options = self.query_one(OptionList)
        for i in range(options.option_count):
            if options.get_option_at_index(i).id == self.current:
                options.highlighted = i
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._try_open(str(event.option.id))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path:
            self._show_error("Type the path of a .toml file, or pick a built-in above.")
            return
        self._try_open(str(Path(path).expanduser()))

    def _try_open(self, name: str) -> None:
        from .app import load_scenario
        try:
            scenario = load_scenario(name)
        except ScenarioError as err:
            self._show_error(str(err))
            return
        except OSError as err:
            self._show_error(f"{name}: {err.strerror or err}")
            return
        self.close_once(scenario)

    def _show_error(self, message: str) -> None:
        self.query_one("#picker-error", Static).update(Text(message, style="bold"))

    def action_cancel(self) -> None:
        self.close_once(None)

    def on_resize(self, event) -> None:
        if self.is_current:
            self.app.check_size(event.size)


class TextInputScreen(_Dialog, ModalScreen[object]):
    """Type a sentence of known words; returns its encoded Sequence (empty: the scenario's own)."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="input-cancel")]

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario

    def compose(self) -> ComposeResult:
        sc = self.scenario
        words = sorted(sc.token_vectors or sc.vocab or [])
        unit = "characters" if (sc.unit or "word") == "char" else "words"
        with Vertical(id="input-box", classes="dialog") as box:
            box.border_title = "Type your own input"
            box.border_subtitle = "Enter steps through it · empty restores · Esc cancels"
            yield Static(Text.assemble((f"Known {unit}: ", "bold"), " ".join(words)),
                         id="input-vocab", classes="label")
            yield Input(placeholder="a sentence of known words", id="input-text")
            yield Static("", id="input-error")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = getattr(self.app, "cursor_blink", True)
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.close_once(self.scenario.sequence)
            return
        try:
            from engine.scenario import encode_text
            sequence = encode_text(self.scenario, text)
        except ScenarioError as err:
            self.query_one("#input-error", Static).update(Text(str(err), style="bold"))
            return
        if len(sequence) == 0:
            self.query_one("#input-error", Static).update(Text("That has no known words."))
            return
        self.close_once(sequence)

    def action_cancel(self) -> None:
        self.close_once(None)

    def on_resize(self, event) -> None:
        if self.is_current:
            self.app.check_size(event.size)


class TooSmallScreen(Screen[None]):
    """Shown instead of the panes while the terminal is below the minimum size."""

    BINDINGS = [Binding("q", "app.quit", "quit", id="small-quit")]

    def __init__(self, size) -> None:
        super().__init__(id="too-small")
        self._size = size

    def compose(self) -> ComposeResult:
        yield Static(self._message(self._size), id="too-small-message")

    def _message(self, size) -> Text:
        from .app import MIN_SIZE
        w, h = MIN_SIZE
        return Text(f"Terminal too small (need {w}x{h}, have {size.width}x{size.height})\n\n"
                    "Make the window bigger, or press q to quit.", justify="center")

    def show_size(self, size) -> None:
        self._size = size
        for message in self.query("#too-small-message").results(Static):
            message.update(self._message(size))

    def on_resize(self, event) -> None:
        self.app.check_size(event.size)
