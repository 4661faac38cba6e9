"""The main screen: a status line, the sequence across the top, six panes in a grid, the key hints.

At 80x24 every pane gets a compact picture; larger terminals give each pane more room, and the
panes draw more detail into it. Any pane can be maximised (``m`` or Textual's own maximise).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from .session import BACKWARD
from .widgets import (GradientPane, HiddenPane, LossPane, OutputPane, Pane, RetentionPane,
                      SequencePane, StepPane)

if TYPE_CHECKING:
    from .app import RnnApp


def status_text(app: "RnnApp", width: int = 120) -> Text:
    """Scenario, kind, epoch, t, phase, W_h scale and what is running, fitted to ``width``.

    When space is short the least needed parts go first (the kind, then "step k of T", then the
    running loss); the rest is never dropped.
    """
    s = app.session
    sc = s.scenario
    arrow = "←" if s.phase == BACKWARD else "→"
    # (text, style, keep): lower keeps are dropped first; a text starting with " " sticks to
    # the one before it instead of getting a separator
    parts: list[tuple[str, str, int]] = [
        (sc.name, "bold", 9), (f" ({sc.kind})", "", 1),
        (f"epoch {s.epoch}/{s.trained_epochs}", "", 9),
        (f"t={s.t}", "bold", 9), (f"step {s.t + 1} of {s.T}", "", 2),
        (f"{s.phase} {arrow}", "bold", 9), (f"W_h ×{s.wh_scale:.3g}", "", 9),
    ]
    if app.training is not None:
        epoch, last, loss = app.training
        parts.append((f"training {epoch}/{last}", "reverse", 8))
        if math.isfinite(loss):  # (not yet known when training starts from a fresh session)
            parts.append((f"loss {loss:.4g}", "reverse", 3))
    if s.needs_trace:
        parts.append(("computing…", "reverse", 8))
    if app.is_playing:
        parts.append(("▶ playing", "reverse", 8))

    def build(items) -> Text:
        text = Text(" ", no_wrap=True, overflow="ellipsis")
        for i, (part, style, _) in enumerate(items):
            if i and not part.startswith(" "):
                text.append(" · ", style="dim")
            text.append(part, style=style)
        return text

    for level in range(8):  # parts kept at 8 and 9 stay; the ellipsis handles the rest
        text = build([p for p in parts if p[2] > level])
        if text.cell_len <= width:
            break
    return text


class StatusLine(Static):
    """The top line: where you are in the scenario, and anything running."""

    _shown: Text | None = None

    def show(self, app: "RnnApp") -> None:
        text = status_text(app, self.size.width or app.size.width)
        if text != self._shown:  # one line docked at the top: its size never depends on it
            self._shown = text
            self.update(text, layout=False)


class KeyFooter(Footer):
    """Textual's Footer, with its keys in the first frame and recomposed only when they change.

    Textual composes the keys a few refreshes after the first frame (~50 ms later), and then
    recomposes the footer (removing and mounting ~20 key widgets, ~13 ms here) every time the
    bindings may have changed: three times during start-up and on every focus change, while
    this screen's keys never change.
    """

    class Ready(Message):
        """The keys are in place for the first time: the next refresh is the first full frame."""

    _shown: tuple | None = None

    async def on_mount(self) -> None:
        self.bindings_changed(self.screen)  # the keys are known from the start: ready now
        await self.recompose()

    async def recompose(self) -> None:
        shown = tuple((binding.key, binding.description, enabled, tooltip)
                      for _, binding, enabled, tooltip in self.screen.active_bindings.values()
                      if binding.show)
        if shown != self._shown:
            first = self._shown is None
            await super().recompose()
            self._shown = shown if self.children else None  # (empty until bindings are ready)
            if first and self._shown is not None:
                self.post_message(self.Ready())


class MainScreen(Screen):
    """The panes: the sequence across the top, a grid of six below, the key hints at the bottom."""

    #: Tall terminals give the sequence pane room for its header and summary lines too.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    status: StatusLine | None = None
    _panes: list[Pane] | None = None

    @property
    def panes(self) -> list[Pane]:
        """The panes, looked up once: the screen never adds or removes any."""
        if not self._panes:
            self._panes = list(self.query(Pane))
        return self._panes

    def compose(self) -> ComposeResult:
        self.status = StatusLine(id="status")
        yield self.status
        yield SequencePane(id="sequence")
        with Grid(id="panes"):
            yield StepPane(id="step")
            yield HiddenPane(id="hidden")
            yield OutputPane(id="output")
            yield GradientPane(id="gradients")
            yield RetentionPane(id="retention")
            yield LossPane(id="loss")
        yield KeyFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.app.check_size(self.app.size)  # type: ignore[attr-defined]
        if self.status is not None:  # in the first frame too
            self.status.show(self.app)  # type: ignore[arg-type]

    def on_resize(self, event) -> None:
        if self.is_current:
            self.app.check_size(event.size)  # type: ignore[attr-defined]
        for status in self.query(StatusLine):  # the line's fit depends on the width
            status.show(self.app)  # type: ignore[arg-type]
