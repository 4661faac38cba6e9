"""The Loss pane: the training loss per epoch, with the epoch being looked at marked."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from . import _plot
from ._draw import DIM, POS, TARGET, WARN, block, first_fitting, fmt_abs, join, serial
from .base import Pane


class LossPane(Pane):
    """Mean training loss after each epoch (epoch 0: the initial weights), on a log axis when it
    spans more than a decade; a vertical line marks ``session.epoch``. Untrained, it says how to
    train. It does not depend on t, so stepping never redraws it."""

    TITLE = "Training loss"
    #: The loss curve needs no trace: draw it even while a trace is being computed.
    NEEDS_TRACE = False
    READS = ("history", "epoch", "loss_pending", "training")

    def draw(self, view, width: int, height: int):
        s = view
        hist = s.history
        losses = np.asarray(hist.losses, dtype=np.float64)
        E = len(losses) - 1
        e = min(max(s.epoch, 0), E)
        now = "…" if s.loss_pending else fmt_abs(losses[e])  # (measured just after start-up)
        lines: list[Text] = []
        if E == 0:
            lines.append(first_fitting([
                join(("untrained: press t to train", f"bold {TARGET}"),
                     f"  (loss {now} at the initial weights)"),
                join(("untrained: press t to train", f"bold {TARGET}")),
                join(("untrained: press t", f"bold {TARGET}")),
            ], width))
            lines.append(Text(f"epoch 0 loss {now}", style=DIM))
            if hist.stopped:
                lines.append(Text(hist.stopped, style=WARN))
            return block(lines, width, height)
        best = int(np.nanargmin(losses)) if np.isfinite(losses).any() else 0
        lines.append(first_fitting([
            join(("epoch ", "bold"), (f"{e}/{E}", "bold"), "  loss ", (now, "bold"),
                 f"   (start {fmt_abs(losses[0])}, lowest {fmt_abs(losses[best])} at {best})"),
            join(("epoch ", "bold"), (f"{e}/{E}", "bold"), "  loss ", (now, "bold")),
            join(f"ep {e}/{E} loss ", (now, "bold")),
            join(f"ep {e} loss ", (now, "bold")),
            join(f"{e}/{E} ", (now, "bold")),
        ], width))
        footer = Text(hist.stopped, style=WARN) if hist.stopped else None
        plot_h = height - 1 - (footer is not None)
        if plot_h >= 2 and width >= 12:
            pos = losses[np.isfinite(losses) & (losses > 0)]
            lo, hi = (float(pos.min()), float(pos.max())) if pos.size else (1e-3, 1.0)
            log_y = pos.size > 1 and hi / lo > 10
            if log_y:
                ylim = (lo / 1.2, hi * 1.2)
            else:
                finite = losses[np.isfinite(losses)]
                lo = float(finite.min()) if finite.size else 0.0
                hi = float(finite.max()) if finite.size else 1.0
                pad = (hi - lo) * 0.05 or 0.5
                ylim = (lo - pad, hi + pad)
            key = ("loss", serial(hist), E, e, width, plot_h)
            chart = _plot.frame(key, lambda: _plot.labelled_chart(
                [_plot.Line(np.arange(E + 1), losses, POS, "braille")], width, plot_h,
                xlim=(0, E + max(E / 40, 0.5)), ylim=ylim, log_y=log_y, vline=float(e),
                xticks=_plot.nice_ticks(0, E, 4), fmt_y=lambda v: fmt_abs(v, 2),
                **({} if log_y else {"yticks": (yt := _plot.nice_ticks(*ylim, 5)),
                                     "ylabels": [f"{v:g}" for v in yt]})))
            lines.extend(chart.split("\n"))
        if footer is not None:
            lines.append(footer)
        if not math.isfinite(losses[e]):
            lines.append(Text("the loss is not finite here", style=WARN))
        return block(lines, width, height)
