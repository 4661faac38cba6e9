"""The Training pane (placeholder until the real drawing lands)."""

from rich.text import Text

from .base import Pane


class LossPane(Pane):
    """Training pane."""

    TITLE = "Training"

    def draw(self, width: int, height: int):
        s = self.session
        return Text(f"t={s.t} phase={s.phase} epoch={s.epoch}")
