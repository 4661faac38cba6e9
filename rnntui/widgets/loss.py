"""The Loss pane: the training loss per epoch, with the epoch being looked at marked."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from . import _plot
from engine import knob_scale

from ._draw import (DIM, POS, TARGET, WARN, block, braille_curve, first_fitting, fmt_abs, join,
                    serial)
from .base import Pane


class LossPane(Pane):
    """Mean training loss after each epoch (epoch 0: the initial weights), on a log axis (said
    so) when it spans more than a decade; a vertical line marks the epoch whose weights are
    shown. While training runs, the curve grows live and the pane says what t does now.
    Untrained, it says how to train. Below the curve: the loss of what is on screen (this
    sequence under these weights and this knob), which differs from the curve's mean over the
    training set. A text file's scenario (engine/tbptt.py) also has a validation loss per
    epoch: drawn as dots beside the training curve once training is done, with the unigram
    model's validation loss (no context) to beat. It does not depend on t, so stepping never
    redraws it."""

    ID = "loss"
    #: What the pane shows, in the help screen's words.
    HELP = ("The training loss at every epoch (a log axis says so), with a marker at the "
            "epoch whose weights you are looking at ([ ] { } < > move it); it grows live "
            "while training runs. 'on screen' is the loss of the sequence shown, under these "
            "weights and this W_h scale. A text file's scenario also draws the validation "
            "loss (• dots, the held-out end of the file) beside the training loss (⣿).")
    TITLE = "Training loss"
    SHORT_TITLE = "Loss"
    #: The loss curve needs no trace: draw it even while a trace is being computed.
    NEEDS_TRACE = False
    LEGEND = ('ep 40/100: epoch 40 of 100 · the training loss per epoch · on screen L=: the loss of '
              'the sequence shown · ⣿ the curve')
    LEGEND_LINE = 'L=: loss of the sequence on screen'
    READS = ("history", "epoch", "loss_pending", "training", "trace", "trace_key", "scenario")
    SEQ2SEQ = True
    #: Draw the curve as a quick braille line always (compare mode's two panes), not only
    #: while training.
    quick = False

    def extra_key(self) -> tuple:
        return (self.quick,)

    def draw(self, view, width: int, height: int):
        hist = view.history
        training = view.training
        if training is not None:
            losses = np.asarray(training.losses, dtype=np.float64)
            E = len(losses) - 1
            e = E
        else:
            losses = np.asarray(hist.losses, dtype=np.float64)
            E = len(losses) - 1
            e = min(max(view.epoch, 0), E)
        pending = view.loss_pending and e == 0
        now = "…" if pending or not len(losses) else fmt_abs(losses[e])
        # the held-out loss per epoch (a text file's validation part), once training is done
        val = None
        if training is None and len(hist.val_losses) == len(losses) and E >= 1:
            val = np.asarray(hist.val_losses, dtype=np.float64)
        log_y = _log_axis(losses if val is None else np.concatenate([losses, val]))
        lines: list[Text] = []
        if training is not None:
            lines.append(first_fitting([
                join(("training ", f"bold {TARGET}"), (f"{training.epoch}/{training.last}",
                                                        f"bold {TARGET}"),
                     "  loss ", (now, "bold"), ("  (t stops it, keeping what was learned)",
                                                 DIM)),
                join(("training ", f"bold {TARGET}"),
                     (f"{training.epoch}/{training.last}", f"bold {TARGET}"), "  loss ",
                     (now, "bold"), ("  t stops", DIM)),
                join(("training ", f"bold {TARGET}"),
                     (f"{training.epoch}/{training.last}", f"bold {TARGET}"), " loss ",
                     (now, "bold"), (" t stops", DIM)),
                join(("training ", f"bold {TARGET}"),
                     (f"{training.epoch}/{training.last}", f"bold {TARGET}"), ("  t stops", DIM)),
                join(("training", f"bold {TARGET}"), (" · t stops it", DIM)),
                join(("training", f"bold {TARGET}"), (" · t stops", DIM)),
                join(("t stops", DIM)),
            ], width))
        elif E == 0:
            lines.append(first_fitting([
                join(("untrained: press t to train", f"bold {TARGET}"),
                     f"  (loss {now} at the initial weights)"),
                join(("untrained: press t to train", f"bold {TARGET}")),
                join(("untrained: press t", f"bold {TARGET}")),
            ], width))
            lines.append(Text(f"epoch 0 loss {now}", style=DIM))
            lines.extend(self._footer(view, hist, losses, e, width))
            return block(lines, width, height)
        elif val is not None:
            lines.append(_train_val_header(losses, val, e, E, log_y, view.scenario, width))
        else:
            best = int(np.nanargmin(losses)) if np.isfinite(losses).any() else 0
            axis = "  (log axis)" if log_y else ""
            lines.append(first_fitting([
                join(("epoch ", "bold"), (f"{e}/{E}", "bold"), "  loss ", (now, "bold"),
                     f"   (start {fmt_abs(losses[0])}, lowest {fmt_abs(losses[best])} at "
                     f"{best}){axis}"),
                join(("epoch ", "bold"), (f"{e}/{E}", "bold"), "  loss ", (now, "bold"), axis),
                join(f"ep {e}/{E} loss ", (now, "bold"), " log" if log_y else ""),
                join(f"ep {e} loss ", (now, "bold"), " log" if log_y else ""),
                join(f"{e}/{E} ", (now, "bold"), " log" if log_y else ""),
                join(f"{e}/{E} ", (now, "bold")),
            ], width))
        footer = self._footer(view, hist, losses, e, width)
        plot_h = height - 1 - len(footer)
        if plot_h >= 2 and width >= 12 and E >= 1:
            both = losses if val is None else np.concatenate([losses, val])
            pos = both[np.isfinite(both) & (both > 0)]
            lo, hi = (float(pos.min()), float(pos.max())) if pos.size else (1e-3, 1.0)
            if log_y:
                ylim = (lo / 1.2, hi * 1.2)
            else:
                finite = both[np.isfinite(both)]
                lo = float(finite.min()) if finite.size else 0.0
                hi = float(finite.max()) if finite.size else 1.0
                pad = (hi - lo) * 0.05 or 0.5
                ylim = (lo - pad, hi + pad)
            xs = np.arange(E + 1)
            if training is not None:  # the curve so far; x runs to where training will end
                xlim = (0, training.last + max(training.last / 40, 0.5))
                ticks = _plot.nice_ticks(0, training.last, 4)
            else:
                xlim = (0, E + max(E / 40, 0.5))
                ticks = _plot.nice_ticks(0, E, 4)
            if training is not None or self.quick:  # ten frames a second: not plotext
                lines.extend(_live_chart(xs, losses, xlim, ylim, log_y, e, width, plot_h,
                                         val=val))
                lines.extend(footer)
                return block(lines, width, height)
            key = ("loss", serial(hist), E, e, width, plot_h, val is not None)
            curves = [_plot.Line(xs, np.nan_to_num(losses, nan=lo), POS, "braille")]
            if val is not None:  # dots, so the two read apart without colour too
                curves.append(_plot.Line(xs, np.nan_to_num(val, nan=lo), TARGET, "dot"))
            chart = _plot.frame(key, lambda: _plot.labelled_chart(
                curves, width, plot_h,
                xlim=xlim, ylim=ylim, log_y=log_y, vline=float(e),
                xticks=ticks, fmt_y=lambda v: fmt_abs(v, 2),
                **({} if log_y else {"yticks": (yt := _plot.nice_ticks(*ylim, 5)),
                                     "ylabels": [f"{v:g}" for v in yt]})))
            lines.extend(chart.split("\n"))
        lines.extend(footer)
        return block(lines, width, height)

    @staticmethod
    def _footer(view, hist, losses, e: int, width: int) -> list[Text]:
        out = []
        if hist.val_losses and view.training is None:
            from engine.corpus import corpus_of, unigram_loss
            corpus = corpus_of(view.scenario)
            if corpus is not None:  # the validation loss to beat
                u = fmt_abs(unigram_loss(corpus), 4)
                out.append(first_fitting([
                    join(("to beat: the unigram model (token counts, no context) ", DIM),
                         ("validation " + u, "bold")),
                    join(("unigram (no context): ", DIM), ("validation " + u, "bold")),
                    join(("unigram (no context) ", DIM), ("val " + u, "bold")),
                    join(("unigram ", DIM), (u, "bold")),
                ], width))
        if hist.stopped and view.training is None:
            out.append(Text(hist.stopped, style=WARN))
        if len(losses) and not math.isfinite(losses[e]) and not view.loss_pending:
            out.append(Text("the loss is not finite here", style=WARN))
        tr, key = view.trace, view.trace_key
        if tr is not None and key is not None and view.training is None:
            L = fmt_abs(tr.loss)
            knob = f", W_h ×{fmt_abs(knob_scale(key.knob), 3)}" if key.knob else ""
            out.append(first_fitting([
                join(("on screen: ", DIM), ("L = " + L, "bold"),
                     (f" (this sequence at epoch {key.epoch}{knob})", DIM)),
                join(("on screen ", DIM), ("L=" + L, "bold"), (knob.replace(", ", " "), DIM)),
                join(("on screen ", DIM), ("L=" + L, "bold")),
                join(("L=" + L, "bold")),
            ], width))
        return out


def _train_val_header(losses, val, e: int, E: int, log_y: bool, scenario, width: int) -> Text:
    """``epoch e/E  ⣿ train L  • validation V`` with the lowest validation loss and, for a
    text file, the unigram model's validation loss (the one to beat), as room allows."""
    from engine.corpus import corpus_of, unigram_loss
    corpus = corpus_of(scenario)
    uni = f", unigram {fmt_abs(unigram_loss(corpus), 3)}" if corpus is not None else ""
    best = int(np.nanargmin(val)) if np.isfinite(val).any() else 0
    axis = "  (log axis)" if log_y else ""
    tr, va = fmt_abs(losses[e]), fmt_abs(val[e])
    return first_fitting([
        join(("epoch ", "bold"), (f"{e}/{E}", "bold"), "  ", ("⣿ train ", POS), (tr, "bold"),
             "  ", ("• validation ", TARGET), (va, "bold"),
             f"  (lowest validation {fmt_abs(val[best])} at {best}{uni}){axis}"),
        join(("epoch ", "bold"), (f"{e}/{E}", "bold"), "  ", ("⣿ train ", POS), (tr, "bold"),
             "  ", ("• validation ", TARGET), (va, "bold"), axis),
        join(f"ep {e}/{E} ", ("⣿ train ", POS), (tr, "bold"), " ", ("• val ", TARGET),
             (va, "bold")),
        join(f"{e}/{E} ", ("⣿", POS), (tr, "bold"), " ", ("•", TARGET), (va, "bold")),
        join(("⣿", POS), (tr, "bold"), " ", ("•", TARGET), (va, "bold")),
    ], width)


def _live_chart(xs, losses, xlim, ylim, log_y: bool, e: int, width: int,
                rows: int, val=None) -> list[Text]:
    """The loss curve while training runs: a braille line with its top and bottom labelled
    (log10 of the loss on a log axis), redrawn ten times a second for ~0.1 ms each. With
    ``val`` (compare mode, done training) the validation curve is drawn as • in the cells the
    training line leaves free, as the full chart draws it."""
    top, bottom = fmt_abs(ylim[1], 2), fmt_abs(ylim[0], 2)
    lw = max(len(top), len(bottom)) + 1
    lim = ylim
    if log_y:
        lim = (np.log10(ylim[0]), np.log10(ylim[1]))

    def curve(values) -> list[str]:
        y = np.asarray(values, dtype=np.float64)
        if log_y:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.log10(np.where(y > 0, y, np.nan))
        return braille_curve(xs, y, width - lw, rows, xlim, lim)

    body = curve(losses)
    dots = curve(val) if val is not None else None
    out = []
    for i, row in enumerate(body):
        label = top if i == 0 else bottom if i == rows - 1 else ""
        line = join((label.rjust(lw - 1) + ("┤" if label else "│"), DIM))
        if dots is None:
            line.append(row, style=POS)
        else:
            for mine, other in zip(row, dots[i]):
                if mine == " " and other != " ":
                    line.append("•", style=TARGET)
                else:
                    line.append(mine, style=POS)
        out.append(line)
    return out


def _log_axis(losses: np.ndarray) -> bool:
    """A log axis when the positive losses span more than a decade."""
    pos = losses[np.isfinite(losses) & (losses > 0)]
    return bool(pos.size > 1 and pos.max() / pos.min() > 10)


#: The pane this module adds (rnntui.widgets.PANES names the module).
PANE = LossPane
