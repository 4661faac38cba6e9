"""The Output pane (placeholder until the real drawing lands)."""

from rich.text import Text

from .base import Pane


class OutputPane(Pane):
    """Output pane."""

    TITLE = "Output"

    def draw(self, width: int, height: int):
        s = self.session
        return Text(f"t={s.t} phase={s.phase} epoch={s.epoch}")
