"""The presenter's join string, whole on one line (j): what students type to follow."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from .guard import Dialog


class JoinScreen(Dialog, ModalScreen[None]):
    """``rnntui follow HOST:PORT/TOKEN.CHECK`` on its own line, to read out or copy."""

    DEFAULT_CSS = """
    JoinScreen { align: center middle; }
    JoinScreen #join-box {
        width: 100%; max-width: 100; height: auto; padding: 1 0;
        border: round $accent; border-title-style: bold; background: $surface;
    }
    JoinScreen #join-line { width: 100%; }
    """

    BINDINGS = [
        Binding("escape,j,enter", "close", "close", id="join-close"),
    ]

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line

    def compose(self) -> ComposeResult:
        with Vertical(id="join-box") as box:
            box.border_title = "Students join with"
            box.border_subtitle = "Esc closes"
            yield Static(Text(self.line, no_wrap=True, overflow="fold"), id="join-line")
            yield Static(Text("The last part after the dot checks the token: a line cut "
                              "short or mistyped is told at once.", style="dim"))

    def action_close(self) -> None:
        self.close_once(None)
