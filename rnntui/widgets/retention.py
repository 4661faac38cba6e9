"""The Retention pane: how much of the first input's direction the state keeps over blank steps."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from . import _plot
from ._draw import DIM, POS, block, first_fitting, fmt, join, num_text, serial
from .base import Pane


def sign_changes(r: np.ndarray) -> int:
    """How many times the curve crosses zero (values within 1e-12 of 0 do not count)."""
    s = np.sign(np.where(np.abs(r) < 1e-12, 0.0, r))
    s = s[s != 0]
    return int(np.count_nonzero(s[1:] != s[:-1]))


class RetentionPane(Pane):
    """cos(h₁, h₁₊ⱼ): the state after the first input (from h = 0), compared with the state after
    j further blank (all-zero) inputs, for j = 1..K. 1 means the direction is kept, 0 forgotten,
    below 0 turned around; a curve that swings through 0 is the rotation of complex eigenvalues
    of W_h. It depends on the weights only, not on t."""

    TITLE = "Retention"
    READS = ("trace",)

    def draw(self, view, width: int, height: int):
        tr = view.trace
        r = np.asarray(tr.retention, dtype=np.float64)
        K = len(r)
        header = first_fitting([
            join(("cos(h₁, h after j blank inputs)", "bold"), (", j = 1…" + str(K), DIM)),
            join(("cos(h₁, h after j blank inputs)", "bold")),
            join(("cos(h₁, h after j blanks)", "bold")),
            join(("cos(h₁,h₁₊ⱼ)", "bold")),
        ], width)
        if K == 0:
            return block([header, Text("no blank steps set", style=DIM)], width, height)
        flips = sign_changes(r)
        last = join(f"j={K}: ", num_text(r[-1]))
        note, short = "", ""
        if flips >= 2:
            note = f"  swings through 0 {flips}×: rotation (complex eigenvalues)"
            short = f"  swings {flips}×: rotation"
        elif flips == 1:
            note = short = "  turns around once"
        elif abs(r[-1]) < 0.1:
            note = short = "  forgotten"
        elif r[-1] > 0.9:
            note = short = "  kept"
        footer = first_fitting([join(last, f"  (j=1: {fmt(r[0])})", (note, DIM)),
                                join(last, (note, DIM)), join(last, (short, DIM)), last], width)
        lines: list[Text] = [header]
        plot_h = height - 2
        if plot_h >= 2 and width >= 12:
            j = np.arange(1, K + 1, dtype=np.float64)
            key = ("retention", serial(tr), width, plot_h)
            chart = _plot.frame(key, lambda: _plot.labelled_chart(
                [_plot.Line(j, r, POS, "braille")], width, plot_h, xlim=(1, max(K, 2)),
                ylim=(-1.05, 1.05), yticks=[-1, 0, 1], ylabels=["-1", "0", "+1"],
                xticks=_plot.nice_ticks(1, K, 4), hline=0.0,
                fmt_y=lambda v: "+1" if v > 0 else "-1"))
            lines.extend(chart.split("\n"))
        lines.append(footer)
        if len(lines) > height:
            lines = lines[: height - 1] + [footer]
        return block(lines, width, height)
