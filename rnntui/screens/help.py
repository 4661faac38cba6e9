"""The help screen: every key, what each pane shows, and where you are (the position string)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from .guard import Dialog

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



def keys_text(keys: str) -> str:
    """A binding's keys as the help and the footer write them: ``→ l``."""
    return " ".join(format_key(k) for k in keys.split(","))


class HelpScreen(Dialog, ModalScreen[None]):
    """Every key (from the bindings it is given), what each pane shows, and the position."""

    BINDINGS = [
        Binding("escape,question_mark", "close", "close help", id="help-close"),
        Binding("q", "app.quit", "quit", id="help-quit"),
    ]

    def __init__(self, bindings, titles: dict[str, str], position: str = "") -> None:
        """``bindings``: the main screen's; ``titles``: pane id -> its title on screen;
        ``position``: the current position string."""
        super().__init__()
        self.bindings, self.titles, self.position = list(bindings), dict(titles), position

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog") as box:
            box.border_title = "Help"
            box.border_subtitle = "Esc or ? closes · ↑↓ scroll"
            with VerticalScroll(id="help-body"):
                if self.position:
                    yield Static(Text.assemble(("You are at  ", "bold"), self.position,
                                               ("\n(rnntui SCENARIO --at '…' opens here)",
                                                "dim")), id="help-position")
                yield Static(self._keys(), id="help-keys")
                yield Static(self._panes(), id="help-panes")
                yield Static(Text(ABOUT), id="help-about")
        yield Footer(compact=True, show_command_palette=False)

    def _keys(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", expand=True,
                      padding=(0, 1), title="Keys", title_style="bold", title_justify="left")
        table.add_column("key", no_wrap=True)
        table.add_column("what it does", ratio=1)
        for b in self.bindings:
            table.add_row(keys_text(b.key), b.tooltip or b.description)
        table.add_row("tab shift+tab", "Move the focus from pane to pane (m then maximises it).")
        table.add_row("ctrl+q", "Quit, also from inside a dialog.")
        return table

    def _panes(self) -> Table:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1),
                      title="Panes", title_style="bold", title_justify="left")
        table.add_column("pane", no_wrap=True, style="bold")
        table.add_column("what it shows", ratio=1)
        for pane_id, text in PANE_HELP:
            table.add_row(self.titles.get(pane_id, pane_id), text)
        return table

    def action_close(self) -> None:
        self.close_once(None)
