"""The Gradients pane: ‖dL/dh_t‖ and ‖∂h_T/∂h_t‖₂ per step on a log scale, and a verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.text import Text

from engine import knob_scale
from engine.cells import get_cell
from engine.trace import one_way

from ._draw import (DIM, POS, TARGET, WARN, block, first_fitting, fmt_abs, fmt_pow10, join,
                    log10_safe, log_fractions, window)
from .base import Pane

JAC = "magenta"
#: Bars start this many decades below the largest value (and never above 1e-8).
DECADES = 8


def verdict_word(lv: float) -> tuple[str, str]:
    """How ‖∂h_T/∂h_0‖ (as log10) reads: vanishing, fading, steady, growing or exploding."""
    if math.isnan(lv):
        return "unknown", DIM
    if lv <= -3:
        return "vanishing", "bold blue"
    if lv < -1:
        return "fading", "blue"
    if lv <= 1:
        return "steady", "bold green"
    if lv < 3:
        return "growing", "yellow"
    return "exploding", "bold red"


def scale(lv: np.ndarray) -> tuple[float, float]:
    """log10 bounds of a bar chart: the largest finite value, and the floor below it."""
    finite = lv[np.isfinite(lv)]
    lhi = float(finite.max()) if finite.size else 0.0
    return min(-8.0, lhi - DECADES), lhi


#: Steps before the target step that the per-loss view follows back (older ones say "·").
REACH_STEPS = 2048


@dataclass(frozen=True)
class Chart:
    """One bar chart of the pane: its names (wide, narrow), log10 values per step (NaN where
    there is nothing: drawn blank when ``blank``), and its colour."""

    name: str
    short: str
    values: np.ndarray
    color: str
    blank: np.ndarray | None = None
    #: The values are not computed yet (a worker is computing them): drawn empty, said so.
    pending: bool = False


class GradientPane(Pane):
    """One column per time step on a log scale (each chart from its largest value down 8
    decades, or to 1e-8; both ends labelled), in one of two views (``v`` switches):

    - total: ``‖dL/dh_t‖`` (the full gradient of the sequence loss reaching h_t, its own step's
      loss included) and ``‖∂h_{T-1}/∂h_t‖₂`` (how much of a gradient at the last step can
      reach t);
    - loss at τ: ``‖∂L_τ/∂h_t‖`` (the loss of the target step τ alone, followed back) and
      ``‖∂y_τ[k]/∂x_t‖`` (how much each input moves the target's logit at τ), for t ≤ τ.

    The current step's column is yellow with a caret under it; the header prints ‖W_h‖₂
    (largest singular value) and the spectral radius ρ (largest |eigenvalue|), which are
    different numbers, and the knob."""

    ID = "gradients"
    #: What the pane shows, in the help screen's words.
    HELP = ("One column per step, log scale, each chart labelled with its max and min. "
            "Press v to switch views. Every loss: dL/dh, the whole gradient reaching h_t "
            "(its own step's loss included), and ∂hT/∂h, how much a nudge to h_t still "
            "moves the last state. The loss at τ: ∂Lτ/∂h, the loss of one target step τ "
            "(the cursor, or pinned with x) followed back alone, and ∂yτ/∂x, how much "
            "each input moves that prediction. ≤0.070× means a gradient shrinks to at "
            "most 0.070 of its size; vanishing below 1e-3, exploding above 1e3. ‖W_h‖₂ "
            "is how far W_h can stretch a vector (its largest singular value), ρ its "
            "spectral radius (largest |eigenvalue|): different numbers. + and - scale "
            "W_h: with relu (count) the gradients explode; with tanh or sigmoid the "
            "units saturate, f'(a) = 1 - h² goes to 0, and they vanish instead.")
    TITLE = "Gradients (log)"
    SHORT_TITLE = "Gradients"
    LEGEND = ('bars on a log scale from min (bottom) to max (top) · dL/dh: the gradient of the loss '
              'reaching h_t · ∂hT/∂h: how much of a gradient at the last step reaches t · ≤0.070×: '
              "the share left at t=0 · v: the loss at one step τ alone (∂Lτ/∂h; s is a gated cell's "
              'whole state) · belt ∏f: the forget gates multiplied · · below min, ↑ overflow')
    LEGEND_LINE = 'log bars: min (bottom) to max (top)'
    READS = ("trace", "trace_key", "t", "grads", "target", "sequence")
    SEQ2SEQ = True

    def legend_line(self, view) -> str:
        if getattr(view.trace, "seq2seq", False):
            from ._s2s_grads import LEGEND_LINE
            return LEGEND_LINE
        return self.LEGEND_LINE

    _series_of: tuple | None = None
    _reach_of: tuple | None = None
    #: Set by a screen that compares two panes: one (llo, lhi) log10 range per chart for
    #: both, so their bars read on one scale. None: each chart's own.
    shared_scale: tuple[tuple[float, float], tuple[float, float]] | None = None

    def extra_key(self) -> tuple:
        return (self.shared_scale,)

    def charts(self, view) -> tuple["Chart", "Chart"]:
        """The two charts this pane draws for ``view`` (for a screen that shares scales)."""
        return self._charts(view)

    def _series(self, tr) -> tuple[np.ndarray, np.ndarray]:
        """log10 of both total series, for the trace drawn last (kept here, not in the trace).
        A gated cell's gradient is that of its whole state."""
        if self._series_of is None or self._series_of[0] is not tr:
            grad = tr.grad_state if tr.grad_state is not None else tr.grad_h
            self._series_of = (tr, (log10_safe(grad),
                                    np.asarray(tr.jacobian_log10, dtype=np.float64)))
        return self._series_of[1]

    def _reach(self, tr, tau: int):
        if self._reach_of is None or self._reach_of[0] is not tr or self._reach_of[1] != tau:
            from engine.influence import reach  # (the per-loss view only: not at start-up)
            self._reach_of = (tr, tau, reach(one_way(tr), tau, max(0, tau - REACH_STEPS)))
        return self._reach_of[2]

    def _charts(self, view) -> tuple[Chart, Chart]:
        tr = view.trace
        T = len(tr)
        cell = get_cell(tr.cell)
        gated = cell.gated
        back = not getattr(tr, "backward_done", True)  # a long trace's backward part to come
        if view.grads != "loss":
            g, j = self._series(tr)
            later = back or not getattr(tr, "jacobians_done", True)  # exact norms on their way
            if gated:  # the whole state s = (h, c) of an LSTM; h for a GRU
                return (Chart("‖dL/ds_t‖", "dL/ds", g, POS, pending=back),
                        Chart("‖∂s_T/∂s_t‖", "∂sT/∂s", j, JAC, pending=later))
            return (Chart("‖dL/dh_t‖", "dL/dh", g, POS, pending=back),
                    Chart("‖∂h_T/∂h_t‖", "∂hT/∂h", j, JAC, pending=later))
        tau = min(view.tau, T - 1)
        if back:
            none = np.full(T, np.nan)
            return (Chart("‖∂L_τ/∂h_t‖", "∂Lτ/∂h", none, POS, pending=True),
                    Chart("‖∂y_τ/∂x_t‖", "∂yτ/∂x", none, JAC, pending=True))
        r = self._reach(tr, tau)
        g = np.full(T, np.nan)
        x = np.full(T, np.nan)
        g[r.first: tau + 1] = r.grad_log10
        x[r.first: tau + 1] = r.input_log10 if r.carry_log10 is None else r.carry_log10
        blank = np.zeros(T, dtype=bool)
        blank[tau + 1:] = True
        if gated:
            gate = cell.carry_gate_name
            return (Chart("‖∂L_τ/∂s_t‖", "∂Lτ/∂s", g, POS, blank),
                    Chart(f"belt ∏{gate} t→τ", f"belt ∏{gate}", x, JAC, blank))
        return (Chart("‖∂L_τ/∂h_t‖", "∂Lτ/∂h", g, POS, blank),
                Chart("‖∂y_τ/∂x_t‖", "∂yτ/∂x", x, JAC, blank))

    def draw(self, view, width: int, height: int):
        tr, t = view.trace, view.t
        if getattr(tr, "seq2seq", False):  # an encoder-decoder (rnntui/widgets/_s2s_grads.py)
            from ._s2s_grads import draw_s2s
            return draw_s2s(tr, t, width, height)
        T = len(tr)
        charts = self._charts(view)
        lines: list[Text] = [self._header(view, width)]
        verdict = self._verdict(view, charts, width)
        # A caret row under the columns when there is room; else the current column is drawn
        # in reverse video (an attribute, not a colour), so each chart keeps three rows for its
        # name and the two ends of its log scale.
        caret = height >= 10
        left = height - 2 - caret
        r1 = max((left + 1) // 2, 1) if left >= 1 else 0
        r2 = left - r1
        wide = width >= 56
        lw = 12 if wide else 10
        avail = max(width - lw, 1)
        cw = max(1, min(5, avail // max(T, 1)))
        a, b = window(t, T, avail // cw)
        here = TARGET if caret else f"{TARGET} reverse"
        for n, (chart, rows) in enumerate(zip(charts, (r1, r2))):
            if rows <= 0:
                continue
            lv = chart.values
            llo, lhi = self.shared_scale[n] if self.shared_scale else scale(lv)
            now = fmt_pow10(lv[t]) if not (chart.blank is not None and chart.blank[t]) else "–"
            if chart.pending:
                now = "…"
            labels = [chart.name if wide else chart.short]
            if rows >= 4 or (wide and rows >= 2):
                labels.append(("t: " if wide else "t ") + now)
            if rows == 2:  # name on the top row, and the floor the bars stand on below it
                labels = [labels[0], "not yet" if chart.pending else
                          _scale_label("min", llo, lw - 1)]
            elif rows > 2:
                labels += [""] * max(rows - 2 - len(labels) + 1, 0)
                labels = labels[: max(rows - 2, 1)] + (
                    ["not yet", "computed"] if chart.pending else
                    [_scale_label("max", lhi, lw - 1), _scale_label("min", llo, lw - 1)])
                labels = labels[:rows]
            frac = log_fractions(lv[a:b], llo, lhi)
            grid = column_grid(frac, lv[a:b], llo, rows)  # (rows, steps), top row first
            if chart.blank is not None:
                grid[:, chart.blank[a:b]] = " "
            if chart.pending:
                grid[:, :] = " "
            cur = t - a
            for k in range(rows):
                label = labels[k] if k < len(labels) else ""
                if len(label) > lw - 1:
                    label = ""  # a label shown whole or not at all
                line = Text(label.ljust(lw - 1) + " ", style=DIM if k else "bold")
                cells = grid[k].tolist()
                if cw > 1:
                    cells = [c * (cw - 1) + " " for c in cells]
                line.append("".join(cells[:cur]), style=chart.color)
                line.append(cells[cur], style=here)
                line.append("".join(cells[cur + 1:]), style=chart.color)
                lines.append(line)
        if caret:
            row = Text(f"t={t}".ljust(lw - 1)[: lw - 1] + " ", style=DIM)
            tau = view.tau if view.grads == "loss" else None
            row.append_text(axis_row(a, b, t, cw, tau))
            lines.append(row)
        lines.append(verdict)
        if height < len(lines):  # keep the verdict: drop chart rows from the bottom chart up
            lines = lines[: max(height - 1, 0)] + [verdict] if height > 1 else [verdict]
        return block(lines, width, height)

    def _header(self, view, width: int) -> Text:
        if not view.trace.bidirectional:
            return self._weights_header(view, width)
        # the charts follow h→ only: said first, with what room is left for the weights
        prefix = next(p for p in ("→ forward direction h→  ", "→ forward h→  ", "→ h→ ")
                      if width - len(p) >= 18 or p == "→ h→ ")
        return join((prefix, "bold"), self._weights_header(view, max(width - len(prefix), 1)))

    def _weights_header(self, view, width: int) -> Text:
        tr = view.trace
        sn, sr = fmt_abs(tr.spectral_norm), fmt_abs(tr.spectral_radius)
        clicks = view.trace_key.knob if view.trace_key is not None else 0  # the trace's own
        k = fmt_abs(knob_scale(clicks))
        knob = ("", "") if clicks == 0 else ("", TARGET)
        cell = get_cell(tr.cell)
        if cell.gated:  # the gate blocks stacked: not square, so no eigenvalues
            return first_fitting([
                join(f"‖W_h‖₂ = {sn} (all {cell.title} gate blocks stacked)  ",
                     (f"W_h ×{k}", knob[1])),
                join(f"‖W_h‖₂ {sn} (gate blocks)  ", (f"W_h×{k}", knob[1])),
                join(f"‖W_h‖₂ {sn} ", (f"×{k}", knob[1])),
                join(f"‖W_h‖₂ {sn}")], width)
        return first_fitting([
            join(f"‖W_h‖₂ = {sn} (largest singular value)  ρ(W_h) = {sr} (largest |eigenvalue|)"
                 f"  ", (f"knob W_h ×{k}", knob[1])),
            join(f"‖W_h‖₂ = {sn}  spectral radius ρ = {sr}  ", (f"W_h ×{k}", knob[1])),
            join(f"‖W_h‖₂ {sn}  ρ(W_h) {sr}  ", (f"W_h×{k}", knob[1])),
            join(f"‖W_h‖₂ {sn} ρ(W_h) {sr} ", (f"W_h×{k}", knob[1])),
            join(f"‖W_h‖₂ {sn} ρ {sr} ", (f"×{k}", knob[1])),
            join(f"‖W_h‖₂ {sn} ρ {sr}"),
            join(f"‖W_h‖₂ {sn}"),
        ], width)

    def _verdict(self, view, charts: tuple[Chart, Chart], width: int) -> Text:
        T = len(view.trace)
        if charts[0].pending:  # the backward pass itself is still being computed
            return first_fitting([
                Text("dL/dh not yet computed: the backward pass is being computed…",
                     style=DIM),
                Text("dL/dh not yet computed (computing…)", style=DIM),
                Text("not yet computed…", style=DIM),
                Text("computing…", style=DIM)], width)
        if view.grads == "loss":
            return self._loss_verdict(view, charts[0], width)
        if T < 2:
            return Text("one step: nothing flows back", style=DIM)
        if charts[1].pending:
            name = charts[1].name
            return first_fitting([
                Text(f"{name}₂ not yet computed: the exact norms are being computed…",
                     style=DIM),
                Text(f"{name} not yet computed (computing…)", style=DIM),
                Text("norms not yet computed…", style=DIM),
                Text("computing…", style=DIM)], width)
        lv = float(charts[1].values[0])
        word, style = verdict_word(lv)
        x = fmt_pow10(lv)
        if word in ("vanishing", "fading"):
            long = f"back from t={T - 1} to t=0 a gradient shrinks to ≤{x}×: "
        elif word == "steady":
            long = f"back from t={T - 1} to t=0 a gradient is scaled by ≤{x}×: "
        else:
            long = f"back from t={T - 1} to t=0 a gradient can grow {x}×: "
        if lv == math.inf:
            long = f"back from t={T - 1} to t=0 the gradient overflows: "
            style = WARN
        tr = view.trace
        if tr.carry_log10 is not None and len(tr.carry_log10):
            gate = get_cell(tr.cell).carry_word
            belt = fmt_pow10(float(tr.carry_log10[0]))
            return first_fitting([
                join(long, (word, style), f"; the {gate}-gate belt keeps {belt}×"),
                join(f"t={T - 1}→0: ≤{x}× ", (word, style), f"  belt {belt}×"),
                join(f"≤{x}× ", (word, style), f" belt {belt}×"),
                join(f"≤{x}× ", (word, style)),
                join((word, style))], width)
        return first_fitting([
            join(long, (word, style)),
            join(f"t={T - 1}→0: ≤{x}× ", (word, style)),
            join(f"≤{x}× ", (word, style)),
            join((word, style)),
        ], width)

    @staticmethod
    def _loss_verdict(view, chart: Chart, width: int) -> Text:
        tau = min(view.tau, view.T - 1)
        if not view.trace.mask[tau]:
            return first_fitting([
                Text(f"τ={tau} has no target: no loss to follow back (inputs still shown)",
                     style=DIM),
                Text(f"τ={tau}: no target, no loss", style=DIM),
                Text("no target at τ", style=DIM)], width)
        if tau == 0:
            return Text("τ=0: nothing before it to reach", style=DIM)
        g = chart.values
        first = int(np.flatnonzero(np.isfinite(g) | np.isinf(g))[0])
        lv = float(g[first] - g[tau])
        word, style = verdict_word(lv)
        if math.isnan(lv):
            word, style = "unknown", DIM
        x = fmt_pow10(lv)
        return first_fitting([
            join(f"the loss at τ={tau}, followed back to t={first}: {x}× its size at τ: ",
                 (word, style)),
            join(f"τ={tau}→t={first}: {x}× ", (word, style)),
            join(f"τ={tau}: {x}× ", (word, style)),  # (τ named where a lesson quotes it)
            join(f"{x}× ", (word, style)),
            join((word, style)),
        ], width)


def _scale_label(word: str, lv: float, room: int) -> str:
    """``max 1.2e-3``: an end of a log scale, to two digits, or one when that is what fits."""
    for digits in (2, 1):
        label = f"{word} {fmt_pow10(lv, digits)}"
        if len(label) <= room:
            return label
    if not math.isfinite(lv):
        return label
    e = math.floor(lv)
    m = round(10.0 ** (lv - e))
    if m >= 10:
        m, e = 1, e + 1
    return f"{word} {m}e{e}"


_EIGHTHS = np.array(list(" ▁▂▃▄▅▆▇█"))


def column_grid(frac: np.ndarray, lv: np.ndarray, llo: float, rows: int) -> np.ndarray:
    """Vertical bars of ``frac`` (0..1) ``rows`` cells high, as a (rows, steps) array of glyphs
    with the top row first. Overflow (+inf) puts ``↑`` on top, a value that is not zero but
    below the floor draws ``·`` at the bottom, NaN ``?``."""
    with np.errstate(invalid="ignore"):
        eighths = np.rint(np.nan_to_num(frac, nan=0.0) * rows * 8).astype(np.intp)
        levels = np.clip(eighths[None, :] - 8 * np.arange(rows)[::-1, None], 0, 8)
        grid = _EIGHTHS[levels]
        grid[-1, np.isfinite(lv) & (lv < llo)] = "·"
        grid[0, lv == np.inf] = "↑"
        grid[-1, np.isnan(lv)] = "?"
    return grid


def axis_row(a: int, b: int, t: int, cw: int, tau: int | None = None) -> Text:
    """Under the columns of steps a..b-1: a caret under t, ``τ`` under the target step when it
    is another one, and the end steps where they fit."""
    n = (b - a) * cw
    pos = (t - a) * cw
    cells = [" "] * n
    left, right = str(a), str(b - 1)
    if b - a > 1 and pos > len(left) + 1:
        cells[: len(left)] = left
    if b - a > 1 and n - len(right) > pos + 1 and n - len(right) > len(left) + 1:
        cells[n - len(right):] = right
    if tau is not None and tau != t and a <= tau < b:
        cells[(tau - a) * cw] = "τ"
    out = Text("".join(cells[:pos]), style=DIM)
    out.append("^", style=f"bold {TARGET}")
    out.append("".join(cells[pos + 1:]), style=DIM)
    return out


#: The pane this module adds (rnntui.widgets.PANES names the module).
PANE = GradientPane
