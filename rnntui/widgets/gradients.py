"""The Gradients pane (placeholder until the real drawing lands)."""

from rich.text import Text

from .base import Pane


class GradientPane(Pane):
    """Gradients pane."""

    TITLE = "Gradients"

    def draw(self, width: int, height: int):
        s = self.session
        return Text(f"t={s.t} phase={s.phase} epoch={s.epoch}")
