"""The size policy: below the minimum size a notice replaces whatever is shown, until it grows."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

#: Below this many columns x rows the app shows a "too small" notice instead of its panes.
MIN_SIZE = (60, 20)


def too_small(size) -> bool:
    return size.width < MIN_SIZE[0] or size.height < MIN_SIZE[1]


def check_size(app: App, size) -> None:
    """Show the notice below MIN_SIZE; take it away when there is room again. The app calls
    this on every resize (and the main screen once it shows); the notice is always the top
    screen (RnnApp.push_screen keeps it there), so the top screen says whether it shows."""
    showing = isinstance(app.screen, TooSmallScreen)
    if too_small(size) and not showing:
        app.push_screen(TooSmallScreen(size))
    elif too_small(size):
        app.screen.show_size(size)  # type: ignore[attr-defined]
    elif showing:
        app.pop_screen()


class TooSmallScreen(Screen[None]):
    """Shown instead of the panes while the terminal is below the minimum size; only q works
    (its only binding, so it needs no guard against keys queued behind q; the app refuses its
    own bindings, the command palette's among them, while this shows). No fixed id: a notice
    taken off and put back at once (RnnApp.push_screen) overlaps the old one's removal."""

    BINDINGS = [Binding("q", "app.quit", "quit", id="small-quit")]

    def __init__(self, size) -> None:
        super().__init__()
        self._size = size

    def compose(self) -> ComposeResult:
        yield Static(self._message(self._size), id="too-small-message")

    @staticmethod
    def _message(size) -> Text:
        w, h = MIN_SIZE
        return Text(f"Terminal too small (need {w}x{h}, have {size.width}x{size.height})\n\n"
                    "Make the window bigger, or press q to quit.", justify="center")

    def show_size(self, size) -> None:
        self._size = size
        for message in self.query("#too-small-message").results(Static):
            message.update(self._message(size))
