"""The help screen: every key, what each pane shows, and where you are (the position string)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Static

from ..widgets import PANES, pane_class
from .guard import Dialog
from .keybar import KeyBar


def pane_help() -> list[tuple[str, str]]:
    """(pane id, what the pane shows) for every pane, in the pane list's order: the words are
    each pane's own ``HELP`` (rnntui.widgets)."""
    return [(pane_id, pane_class(pane_id).HELP) for pane_id in PANES]


#: What each pane shows, in the words the help screen uses (keyed by the pane's id).
PANE_HELP = pane_help()


GLYPHS = [
    ("[tok]  ^  reverse", "the step you are at (t)"),
    ("▶ / ◀", "the forward pass (t goes up) / the backward pass (t goes down)"),
    ("◆", "the focused pane: m maximises it, Tab moves the focus"),
    ("▸#1  _", "Batch: the row of the sequence you step (rows #1, #2, …) / a pad (the zero "
              "vector)"),
    ("␣", "a space token; control characters are written as ␛, \\n, U+202E"),
    ("★  ◀ target", "the most probable output / the right answer"),
    ("+█▒░  −●•·", "a hidden unit's history: positive big to small, negative big to small"),
    ("│  «  »  ?", "a bar's axis; a value beyond the bar; NaN"),
    ("·  ↑", "a gradient column below the chart's min / overflowed"),
    ("≤0.070×", "a gradient from the last step shrinks to at most 0.070 of its size"),
    ("x₀: 2.4×", "Retention: what the first input x₀ changed in the state, left after the "
                 "blank inputs (2.4 times its first size)"),
    ("τ", "the target step of the per-loss gradient view"),
    ("‖v‖  ‖v‖ (12)", "a vector's length; that of a 12-entry vector too long to show"),
    ("ρ", "the spectral radius of W_h: its largest |eigenvalue|"),
    ("…", "more entries or words than fit (never part of a number)"),
    ("▌Lesson  step 3/7", "the lesson strip under the panes: the lesson, the step of all; '. next  , back  L leave'"),
    ("☐  ✓", "a lesson task to do with the app's keys / done (what it showed follows)"),
    ("?  1 2 3 4  ✗", "a lesson question: press a number to answer, then ✓ marks the right "
                    "answer and ✗ a wrong pick"),
    ("◀ look here", "the pane a lesson step points at (double border)"),
    ("overflow  nan", "a number too big for the machine / not a number"),
    ("▁▂▃▄▅▆▇█", "a gradient column's height on its log scale: from the min label (bottom) to "
                 "the max label (top)"),
    ("▏▎▍▌▋▊▉█  ▐", "a bar's length, in eighths of a cell (probabilities, hidden units)"),
    ("█▓▒░", "Attention: the share of an output's weight on a source token (at least 7/8, "
             "5/8, 3/8, 1/8; blank: less)"),
    ("⣿ ⡀ ⠉", "braille dots: a plotted line (Retention's curve, the loss, a series)"),
    ("ŷ  ᵀ", "the output at t / a transposed matrix (W_yᵀ)"),
    ("∂  ⊙  ∏", "a partial derivative / times, entry by entry / the product of (belt ∏f: "
                "the forget gates multiplied)"),
    ("₀  ₂  ²", "h₀, x₀: the first state and input / ‖W_h‖₂: the largest singular value / "
                "squared"),
    ("≥", "at least (the Attention pane's shades: █▓▒░ weight ≥ 7/8, 5/8, 3/8, 1/8)"),
    ("÷", "divided by (the lab's test loss ÷ baseline)"),
    ("×  −  –", "times (W_h ×2; 0.070× of its size) / minus / a range of steps (0–4)"),
    ("°", "degrees of turn per step"),
    ("← → ↑ ↓", "the arrow keys (← → step t, ↑ ↓ scroll)"),
    ("⋮", "more units below, not shown"),
    ("⏎", "a newline token in a text"),
    ("x₀: 2.4×", "Retention: what the first input x₀ changed, left after the blanks"),
    ("4/12  (12)", "4 of the 12 hidden units shown / a vector of 12 entries"),
    ("tgt  ep  tr  e10", "target / epoch / training (short forms in narrow panes) / epoch "
                         "10 (compare mode's status line, when it is short of room)"),
    ("s  ∂Lτ/∂s", "s: a gated cell's whole state (h and the cell state c of an LSTM); the "
                  "loss at τ followed back to it"),
]

#: What the k key shows for the focused pane: its signs, in one paragraph (at 80x24 a pane has
#: no room for a legend line). The words are each pane's own ``LEGEND`` (rnntui.widgets).
PANE_LEGENDS = {pane_id: pane_class(pane_id).LEGEND for pane_id in PANES}

ABOUT = ("The status line at the top says which scenario this is, the epoch whose weights you "
         "see, the time step t and the steps there are (0–4), the pass (forward or "
         "backward), the W_h scale, and anything running (training, computing). Colour is "
         "never the only signal: signs are written as + and -, sizes as bar lengths, the "
         "current step in brackets, so it reads the same without colour.")


def keys_text(keys: str) -> str:
    """A binding's keys as the help and the footer write them: ``→ l``."""
    return " ".join(format_key(k) for k in keys.split(","))


class HelpScreen(Dialog, ModalScreen[None]):
    """Every key (from the bindings it is given), what each pane shows, and the position."""

    BINDINGS = [
        Binding("escape,question_mark", "close", "close help", id="help-close"),
        Binding("q", "app.quit", "quit", id="help-quit"),
    ]

    def __init__(self, bindings, titles: dict[str, str], position: str = "",
                 join: str = "") -> None:
        """``bindings``: the main screen's; ``titles``: pane id -> its title on screen;
        ``position``: the current position string; ``join``: the presenter's join line."""
        super().__init__()
        self.bindings, self.titles, self.position = list(bindings), dict(titles), position
        self.join = join

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog") as box:
            box.border_title = "Help"
            box.border_subtitle = "Esc or ? closes · ↑↓ scroll"
            with VerticalScroll(id="help-body"):
                if self.join:  # first: what students type to follow (one line at 80x24)
                    yield Static(Text.assemble(("Students join with", "bold"), "\n",
                                               Text(self.join, no_wrap=True)), id="help-join")
                if self.position:
                    yield Static(Text.assemble(("You are at ", "bold"), self.position,
                                               ("\n(rnntui SCENARIO --at '…' opens here)",
                                                "dim")), id="help-position")
                yield Static(self._keys(), id="help-keys")
                yield Static(self._panes(), id="help-panes")
                yield Static(self._glyphs(), id="help-glyphs")
                yield Static(Text(ABOUT), id="help-about")
        yield KeyBar()

    def _keys(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", expand=True,
                      padding=(0, 1), title="Keys", title_style="bold", title_justify="left")
        table.add_column("key", no_wrap=True)
        table.add_column("what it does", ratio=1)
        for b in self.bindings:
            table.add_row(Text(keys_text(b.key)), Text(b.tooltip or b.description))
        table.add_row("tab shift+tab", "Move the focus from pane to pane (m then maximises it).")
        table.add_row("ctrl+q ctrl+c", "Quit, also from inside a dialog (in a browser tab, "
                                       "ctrl+c only says how to quit).")
        return table

    def _panes(self) -> Table:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1),
                      title="Panes", title_style="bold", title_justify="left")
        table.add_column("pane", no_wrap=True, style="bold")
        table.add_column("what it shows", ratio=1)
        for pane_id, text in PANE_HELP:
            table.add_row(Text(self.titles.get(pane_id, pane_id)), Text(text))  # (not markup)
        return table

    def _glyphs(self) -> Table:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1),
                      title="Signs on screen", title_style="bold", title_justify="left")
        table.add_column("sign", no_wrap=True, style="bold")
        table.add_column("meaning", ratio=1)
        for glyph, meaning in GLYPHS:
            table.add_row(Text(glyph), Text(meaning))
        return table

    def action_close(self) -> None:
        self.close_once(None)
