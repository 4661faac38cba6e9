"""The reference for rnntui's start-up time: a bare Textual app that imports what rnntui
imports at the top (numpy, plotext) and shows a Footer, nothing else. Quit with q."""

import numpy  # noqa: F401  (import cost is part of the reference)
import plotext  # noqa: F401
from textual.app import App, ComposeResult
from textual.widgets import Footer, Static


class Bare(App):
    BINDINGS = [("q", "quit", "quit")]

    def compose(self) -> ComposeResult:
        yield Static("bare")
        yield Footer()


if __name__ == "__main__":
    Bare().run()
