"""The Gradients pane: ‖dL/dh_t‖ and ‖∂h_T/∂h_t‖₂ per step on a log scale, and a verdict."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from engine import knob_scale

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


class GradientPane(Pane):
    """One column per time step: ``‖dL/dh_t‖`` (the full gradient reaching h_t) and
    ``‖∂h_{T-1}/∂h_t‖₂`` (how much of a gradient at the last step can reach t), both on a log
    scale from the largest value down 8 decades (or to 1e-8). The current step's column is
    yellow and has a caret under it. The header prints ‖W_h‖₂ (largest singular value) and the
    spectral radius ρ (largest |eigenvalue|), which are different numbers, and the knob."""

    TITLE = "Gradients (log)"
    READS = ("trace", "trace_key", "t")

    _series_of: tuple[object, tuple[np.ndarray, np.ndarray]] | None = None

    def _series(self, tr) -> tuple[np.ndarray, np.ndarray]:
        """log10 of both series, for the trace drawn last (kept here, not in the trace)."""
        if self._series_of is None or self._series_of[0] is not tr:
            self._series_of = (tr, (log10_safe(tr.grad_h),
                                    np.asarray(tr.jacobian_log10, dtype=np.float64)))
        return self._series_of[1]

    def draw(self, view, width: int, height: int):
        tr, t = view.trace, view.t
        T = len(tr)
        g, j = self._series(tr)
        lines: list[Text] = [self._header(view, width)]
        verdict = self._verdict(j, T, width)
        caret = height >= 6
        left = height - 2 - caret
        r1 = max((left + 1) // 2, 1) if left >= 1 else 0
        r2 = left - r1
        wide = width >= 56
        lw = 12 if wide else 8
        avail = max(width - lw, 1)
        cw = max(1, min(5, avail // max(T, 1)))
        a, b = window(t, T, avail // cw)
        charts = [("‖dL/dh_t‖" if wide else "dL/dh", g, r1, POS),
                  ("‖∂h_T/∂h_t‖" if wide else "∂hT/∂h", j, r2, JAC)]
        for name, lv, rows, color in charts:
            if rows <= 0:
                continue
            llo, lhi = scale(lv)
            frac = log_fractions(lv[a:b], llo, lhi)
            now = fmt_pow10(lv[t])
            if len(now) > lw - 1:
                now = fmt_pow10(lv[t], 1)
            labels = [name, ("t: " if wide else "") + now]
            if wide and rows >= 3:
                labels.append(f"max {fmt_pow10(lhi)}")
            grid = column_grid(frac, lv[a:b], llo, rows)  # (rows, steps), top row first
            cur = t - a
            for k in range(rows):
                line = Text((labels[k] if k < len(labels) else "").ljust(lw - 1)[: lw - 1] + " ",
                            style=DIM if k else "bold")
                cells = grid[k].tolist()
                if cw > 1:
                    cells = [c * (cw - 1) + " " for c in cells]
                line.append("".join(cells[:cur]), style=color)
                line.append(cells[cur], style=TARGET)
                line.append("".join(cells[cur + 1:]), style=color)
                lines.append(line)
        if caret:
            row = Text(f"t={t}".ljust(lw - 1)[: lw - 1] + " ", style=DIM)
            row.append_text(axis_row(a, b, t, cw))
            lines.append(row)
        lines.append(verdict)
        if height < len(lines):  # keep the verdict: drop chart rows from the bottom chart up
            lines = lines[: max(height - 1, 0)] + [verdict] if height > 1 else [verdict]
        return block(lines, width, height)

    def _header(self, view, width: int) -> Text:
        tr = view.trace
        sn, sr = fmt_abs(tr.spectral_norm), fmt_abs(tr.spectral_radius)
        clicks = view.trace_key.knob if view.trace_key is not None else 0  # the trace's own
        k = fmt_abs(knob_scale(clicks))
        knob = ("", "") if clicks == 0 else ("", TARGET)
        return first_fitting([
            join(f"‖W_h‖₂ = {sn} (largest singular value)  ρ(W_h) = {sr} (largest |eigenvalue|)"
                 f"  ", (f"knob W_h ×{k}", knob[1])),
            join(f"‖W_h‖₂ = {sn}  spectral radius ρ = {sr}  ", (f"W_h ×{k}", knob[1])),
            join(f"‖W_h‖₂ {sn}  ρ(W_h) {sr}  ", (f"W_h×{k}", knob[1])),
            join(f"‖W_h‖₂ {sn} ρ(W_h) {sr} ", (f"W_h×{k}", knob[1])),
            join(f"‖W_h‖₂ {sn} ρ {sr} ", (f"×{k}", knob[1])),
            join(f"‖W_h‖₂ {sn} ρ {sr}"),
        ], width)

    def _verdict(self, j: np.ndarray, T: int, width: int) -> Text:
        if T < 2:
            return Text("one step: nothing flows back", style=DIM)
        lv = float(j[0])
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
        return first_fitting([
            join(long, (word, style)),
            join(f"t={T - 1}→0: ≤{x}× ", (word, style)),
            join(f"≤{x}× ", (word, style)),
            join((word, style)),
        ], width)


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


def axis_row(a: int, b: int, t: int, cw: int) -> Text:
    """Under the columns of steps a..b-1: a caret under t, and the end steps where they fit."""
    n = (b - a) * cw
    pos = (t - a) * cw
    cells = [" "] * n
    left, right = str(a), str(b - 1)
    if b - a > 1 and pos > len(left) + 1:
        cells[: len(left)] = left
    if b - a > 1 and n - len(right) > pos + 1 and n - len(right) > len(left) + 1:
        cells[n - len(right):] = right
    out = Text("".join(cells[:pos]), style=DIM)
    out.append("^", style=f"bold {TARGET}")
    out.append("".join(cells[pos + 1:]), style=DIM)
    return out
