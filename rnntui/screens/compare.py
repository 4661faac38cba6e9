"""Compare mode: two cells trained on the same data, side by side, moved by one cursor.

Each column is the same panes (Output, Gradients, Training loss) handed its own View: the
vanilla RNN's on the left, say, and the LSTM's on the right. Every key moves both Views: the
step, the pass, the knob, the target step τ and the epoch (as a share of each one's training,
since the cells may train for different numbers of epochs). The two Gradients panes show the
per-loss view on one log scale, so their bars can be compared by height.

On an encoder-decoder the two columns are one model with attention and without it: each has
its own Sequence pane (the same source, its target and greedy decode), its Attention pane (the
heatmap, or the one vector the decoder starts from) and its Training loss.
"""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Static

from engine import History, Scenario
from engine.cells import get_cell
from engine.kinds import is_seq2seq
from engine.scenario import with_cell

from ..jobs import Jobs, LossReady, TraceReady, TrainDone, TrainProgress
from ..safe_text import visible
from ..training import cached, untrained, with_first_loss
from ..view import BACKWARD, View
from ..widgets import GradientPane, LossPane, OutputPane, SequencePane
from ..widgets.attention import AttentionPane
from ..widgets.gradients import scale
from .guard import QuitGuard
from .status import join_parts
from .keybar import KeyBar


def attention_columns(attention: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """A compared encoder-decoder's two columns, (attention, title) each: the attention on
    screen (additive when it is none) and none."""
    left = attention if attention != "none" else "additive"
    return (left, f"{left} attention"), ("none", "no attention")


_G = Binding.Group("step", compact=True)
BINDINGS = [
    Binding("left,h", "step(-1)", "back", id="cmp-back", group=_G,
            tooltip="One step back along the pass, in both columns."),
    Binding("right,l", "step(1)", "forward", id="cmp-forward", group=_G,
            tooltip="One step on along the pass, in both columns."),
    Binding("home,g", "to_start", "start", id="cmp-start", show=False,
            tooltip="The first step of the pass."),
    Binding("end,G", "to_end", "end", id="cmp-end", show=False,
            tooltip="The last step of the pass."),
    Binding("b,p", "phase", "pass", id="cmp-phase",
            tooltip="Switch between the forward and the backward pass, in both."),
    Binding("left_square_bracket", "share(-5)", "earlier", id="cmp-epoch-back",
            tooltip="5% of training earlier, in both (each by its own epochs)."),
    Binding("right_square_bracket", "share(5)", "later", id="cmp-epoch-on",
            tooltip="5% of training later, in both."),
    Binding("minus", "knob(-1)", "W_h down", id="cmp-knob-down", show=False,
            tooltip="Scale every recurrent matrix of both cells down."),
    Binding("plus,equals_sign", "knob(1)", "W_h up", id="cmp-knob-up", show=False,
            tooltip="Scale every recurrent matrix of both cells up."),
    Binding("x", "pin_target", "pin τ", id="cmp-pin", show=False,
            tooltip="Pin the target step τ at the cursor (again: follow the cursor)."),
    Binding("v", "grads", "grads", id="cmp-grads", show=False,
            tooltip="Switch the gradient bars between the loss at τ and every loss."),
    Binding("escape,C", "leave", "leave", id="cmp-leave",
            tooltip="Leave compare mode (the main screen is as you left it)."),
    Binding("question_mark", "help", "help", id="cmp-help"),
    Binding("q", "quit", "quit", id="cmp-quit"),
]


def compare_status(views: list[View], share: int, width: int,
                   titles: list[str] | None = None) -> Text:
    """One line: the scenario, both cells (or ``titles``) with their epochs and losses, t,
    pass, τ; the losses, then the epochs' totals, then t's range go first when the line is
    short, and what still does not fit ends in "…" (never a dangling separator)."""
    a = views[0]
    titles = titles or [get_cell(v.cell).title for v in views]
    for level in range(4):
        parts = [(visible(a.scenario.name), "bold")]
        for v, title in zip(views, titles):
            loss = v.trace.loss if v.trace is not None else math.nan
            L = f" L={loss:.4g}" if math.isfinite(loss) and level == 0 else ""
            busy = f" training {v.training.epoch}/{v.training.last}" if v.training else ""
            epochs = f"epoch {v.epoch}/{v.trained_epochs}" if level < 2 else f"e{v.epoch}"
            parts.append((f"{title} {epochs}{L}{busy}",
                          "reverse" if busy else ""))
        parts.append((f"t={a.t} (0–{a.T - 1})" if level < 3 else f"t={a.t}", "bold"))
        parts.append((f"{a.phase} {'←' if a.phase == BACKWARD else '→'}", "bold"))
        if a.grads == "loss":
            parts.append((f"τ={a.tau}", ""))
        if a.knob:
            parts.append((f"W_h ×{a.wh_scale:.3g}", ""))
        text = join_parts(parts)
        if text.cell_len <= width:
            break
    else:  # whole parts while they fit, then " …" ("· forwa…" cut a word)
        while len(parts) > 1 and join_parts(parts).cell_len + 2 > width:
            parts.pop()
        text = join_parts(parts)
        if text.cell_len + 2 > width:
            text.truncate(max(width - 2, 0), overflow="crop")
            text.rstrip()
        text.append(" …", style="dim")
    return text


class CompareScreen(QuitGuard, Screen):
    """Two cells side by side (see the module docstring)."""

    BINDINGS = BINDINGS
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    DEFAULT_CSS = """
    CompareScreen #cmp-status { dock: top; height: 1; background: $panel; }
    CompareScreen #cmp-sequence { height: 3; }
    CompareScreen #cmp-grid { grid-size: 2 3; grid-rows: 1fr 1fr 1fr; height: 1fr; }
    CompareScreen.-short #cmp-grid { grid-size: 2 2; grid-rows: 1fr 1fr; }
    CompareScreen.-short .cmp-loss { display: none; }
    CompareScreen.-s2s #cmp-sequence { display: none; }
    CompareScreen.-s2s .cmp-sequence { height: 5; }
    CompareScreen.-s2s #cmp-grid { grid-size: 2 3; grid-rows: 5 1fr 1fr; }
    CompareScreen.-s2s.-short #cmp-grid { grid-size: 2 2; grid-rows: 5 1fr; }
    """

    def __init__(self, scenario: Scenario, cells: tuple[str, str], *, source: str,
                 trained: dict[str, History] | None = None, at: View | None = None,
                 share: int = 100) -> None:
        """``trained``: histories already trained, by cell (the main screen's); ``at``: the
        View whose cursor, pass, knob and sequence both columns start from. On an
        encoder-decoder the columns are its cell with its attention (additive when it has
        none) and without (``cells``: that cell twice), their histories kept as
        ``"cell:attention"``."""
        super().__init__(id="compare")
        self.cells = cells
        self.s2s = is_seq2seq(scenario)
        self.share = max(0, min(int(share), 100))
        self.jobs = [Jobs(self, name=f"cmp{i}-") for i in range(2)]
        self._views: list[View] = []
        self.keys: list[str] = []
        self.titles: list[str] = []
        trained = trained or {}
        for i, cell in enumerate(cells):
            if self.s2s:
                from engine.seq2seq import with_attention
                attention, title = attention_columns(scenario.model.attention)[i]
                sc = with_attention(with_cell(scenario, cell), attention)
                key = f"{cell}:{attention}"
                if key not in trained:  # trained once, then from the training cache
                    hist = cached(sc, sc.train.epochs)
                    if hist is not None:
                        trained = {**trained, key: hist}
            else:
                sc, key, title = with_cell(scenario, cell), cell, get_cell(cell).title
            self.keys.append(key)
            self.titles.append(title)
            hist = trained.get(key) or untrained(sc, exact=False)
            v = View.open(sc, hist, source=source, loss_pending=key not in trained)
            if at is not None:
                v = v.with_knob(at.knob).with_phase(at.phase).with_grads("loss")
                if at.typed is not None or at.origin is not None:
                    # typed, written or forecast text, or a window of a text file: the same
                    # tokens in both columns (a window's carried start is each cell's own)
                    v = v.with_sequence(at.sequence, at.typed, at.origin)
                elif at.example is not None:
                    v = v.with_example(at.example)
                v = v.at(at.t).with_target(at.target)
            else:
                v = v.with_grads("loss")
            self._views.append(v)

    # -- the two Views -------------------------------------------------------------------------
    @property
    def views(self) -> list[View]:
        return list(self._views)

    def show(self, views: list[View]) -> None:
        """The one place the screen updates: traces, the shared scale, both columns."""
        views = [self.jobs[i].trace(self._at_share(v)) for i, v in enumerate(views)]
        self._views = views
        if not self.is_mounted:
            return
        self.query_one("#cmp-sequence", SequencePane).show(views[0])
        grads = list(self.query(GradientPane))
        if grads and all(v.trace is not None for v in views):
            charts = [g.charts(v) for g, v in zip(grads, views)]
            shared = tuple(scale(np.concatenate([c[n].values for c in charts]))
                           for n in range(2))
            for g in grads:
                g.shared_scale = shared  # type: ignore[assignment]
        for i, v in enumerate(views):
            for pane in self.query(f".cmp-{i}").results():
                pane.show(v)  # type: ignore[attr-defined]
            if self.s2s:  # each column's loss on its Sequence pane (the status line is short)
                seq = self.query_one(f"#cmp-sequence-{i}", SequencePane)
                loss = v.trace.loss if v.trace is not None else math.nan
                seq.title_prefix = self.titles[i] + (f" · L={loss:.4g}" if math.isfinite(loss)
                                                     else "")
                seq._update_title()
        status = self.query_one("#cmp-status", Static)
        status.update(compare_status(views, self.share, self.size.width or 120, self.titles))

    def _at_share(self, v: View) -> View:
        """``v`` at the epoch that is ``share`` percent of its training."""
        if v.training is not None:
            return v
        return v.with_epoch(round(v.trained_epochs * self.share / 100))

    def _all(self, move) -> None:
        self.show([move(v) for v in self._views])

    # -- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="cmp-status")
        yield SequencePane(id="cmp-sequence")
        if self.s2s:
            self.add_class("-s2s")
        panes = ((("sequence", SequencePane), ("attention", AttentionPane)) if self.s2s else
                 (("output", OutputPane), ("grads", GradientPane)))
        with Grid(id="cmp-grid"):
            for kind, cls in (*panes, ("loss", LossPane)):
                for i, title in enumerate(self.titles):
                    pane = cls(id=f"cmp-{kind}-{i}", classes=f"cmp-{i} cmp-{kind}")
                    pane.title_prefix = title
                    if isinstance(pane, LossPane):
                        # Two curves redrawn as either column trains: plotext's one global
                        # figure is slow (and its tick rows came out differently here
                        # depending on which pane drew last); the braille line is neither.
                        pane.quick = True
                    yield pane
        yield KeyBar()

    def on_mount(self) -> None:
        self.show(self._views)
        for i, v in enumerate(self._views):
            if v.loss_pending:
                self.jobs[i].initial_loss(v.scenario, v.history)
            if v.trained_epochs == 0 and v.scenario.train.epochs > 0:
                self._views[i] = v.with_training(self.jobs[i].train(v))
        self.show(self._views)

    def on_resize(self, event) -> None:
        if self.is_current:
            self.show(self._views)

    # -- workers' answers ----------------------------------------------------------------------
    def _index(self, owner) -> int | None:
        return next((i for i, j in enumerate(self.jobs) if j is owner), None)

    def on_trace_ready(self, msg: TraceReady) -> None:
        i = self._index(msg.owner)
        if i is not None:
            new = self.jobs[i].take(self._views[i], msg)
            if new is not None:
                views = self.views
                views[i] = new
                self.show(views)

    def on_loss_ready(self, msg: LossReady) -> None:
        i = self._index(msg.owner)
        if i is None or msg.history is not self._views[i].history:
            return
        views = self.views
        views[i] = views[i].with_history(with_first_loss(msg.history, msg.loss), epoch=0)
        self.show(views)

    def on_train_progress(self, msg: TrainProgress) -> None:
        i = self._index(msg.owner)
        if i is not None and msg.run == self.jobs[i].run:
            from ..view import Training
            views = self.views
            views[i] = views[i].with_training(Training(msg.epoch, msg.last, msg.losses))
            self.show(views)

    def on_train_done(self, msg: TrainDone) -> None:
        i = self._index(msg.owner)
        if i is None or msg.run != self.jobs[i].run:
            return
        views = self.views
        v = views[i].with_training(None)
        if msg.history is not None:
            v = v.with_history(msg.history)
        elif msg.error:
            self.notify(visible(msg.error), severity="error", markup=False)
        views[i] = v
        self.show(views)

    def trained(self) -> dict[str, History]:
        """The histories trained here, by cell, or ``"cell:attention"`` on an
        encoder-decoder (the main screen keeps them)."""
        return {k: v.history for k, v in zip(self.keys, self._views)
                if v.training is None and v.trained_epochs > 0}

    # -- actions -------------------------------------------------------------------------------
    def action_step(self, direction: int) -> None:
        self._all(lambda v: v.moved(direction))

    def action_to_start(self) -> None:
        self._all(lambda v: v.to_start())

    def action_to_end(self) -> None:
        self._all(lambda v: v.to_end())

    def action_phase(self) -> None:
        self._all(lambda v: v.toggled_phase())

    def action_share(self, delta: int) -> None:
        self.share = max(0, min(100, self.share + delta))
        self._all(lambda v: v)

    def action_knob(self, clicks: int) -> None:
        self._all(lambda v: v.with_knob(v.knob + clicks))

    def action_grads(self) -> None:
        self._all(lambda v: v.with_grads("total" if v.grads == "loss" else "loss"))

    def action_pin_target(self) -> None:
        pinned = self._views[0].target is not None
        self._all(lambda v: v.with_target(None if pinned else v.t))

    def action_help(self) -> None:
        from .help import HelpScreen
        self.app.push_screen(HelpScreen(self.BINDINGS, {}, visible(self.position())))

    def position(self) -> str:
        """The compare mode's position: the main one with ``cells=`` and the share."""
        from dataclasses import replace
        v = self._views[0]
        if self.s2s:  # (a position names two different cells only: the left column's)
            return str(v.position)
        return str(replace(v.position, cell=None, cells=self.cells, epoch=self.share))

    def action_leave(self) -> None:
        for j in self.jobs:
            j.cancel()
        self.dismiss(self.trained())

    async def action_quit(self) -> None:
        self.app.quitting = True  # type: ignore[attr-defined]
        for j in self.jobs:
            j.cancel()
        self.app.exit(0)
