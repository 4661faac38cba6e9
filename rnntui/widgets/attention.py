"""The Attention pane (encoder-decoder models only): the attention weights as a heatmap, one
row per output token and one column per source token, the current row marked; the context
vector at the cursor and the source token with the most weight. Without attention: the one
vector the decoder starts from, which is all it ever learns of the source, and its size."""

from __future__ import annotations

import textwrap

import numpy as np
from rich.text import Text

from ._draw import (CURSOR, DIM, TARGET, block, colour_numbers, fmt, fmt_vec_lines, join,
                    quoted, token, vec_text)
from .base import Pane

#: Weight shades, light to full.
SHADES = " ░▒▓█"


def shade(w: float) -> str:
    """The glyph of weight ``w`` in [0, 1]: blank below 1/8, full from 7/8."""
    if not np.isfinite(w):
        return "?"
    return SHADES[min(int(round(w * (len(SHADES) - 1))), len(SHADES) - 1)]


def wrapped(text: str, width: int, style: str = "") -> list[Text]:
    """``text`` wrapped at spaces to lines of ``width`` cells."""
    return [Text(line, style=style) for line in textwrap.wrap(text, max(width, 8))]


class AttentionPane(Pane):
    """Attention weights (decoder step x encoder step), the context and the argmax, or the
    bottleneck vector when the model has no attention."""

    ID = "attention"
    TITLE = "Attention: output token x source token"
    SHORT_TITLE = "Attention"
    HELP = ("Encoder-decoder models only. One row per output token, one column per source "
            "token: how much weight the decoder gives each encoder state when it writes "
            "that token (each row sums to 1; █ is all of it). The row at the cursor is "
            "marked ▶, its context vector (the weighted sum of encoder states) and the source "
            "token with the most weight are written under the map. Without attention it "
            "shows the one vector the decoder starts from: the encoder's last state, all "
            "it ever learns of the source.")
    LEGEND = ("one row per output token, one column per source token · █ at least 7/8 of the "
              "row's weight, ▓ at least 5/8, ▒ at least 3/8, ░ at least 1/8, blank less · ▶ "
              "the output at the cursor · c: the context vector, the weighted sum of the "
              "encoder states · without attention: the encoder's last state, the one vector "
              "the decoder starts from")
    LEGEND_LINE = "█▓▒░ weight ≥ 7/8, 5/8, 3/8, 1/8"
    READS = ("trace", "t", "phase")
    SEQ2SEQ = True
    ONLY_SEQ2SEQ = True

    def draw(self, view, width: int, height: int):
        tr = view.trace
        if tr.weights is None:
            return block(self._bottleneck(tr, view.t, width, height), width, height)
        return block(self._heatmap(tr, view.t, width, height), width, height)

    # -- without attention ---------------------------------------------------------------------
    def _bottleneck(self, tr, t: int, width: int, height: int) -> list[Text]:
        from engine.cells import get_cell
        S, v = tr.S, tr.bottleneck
        parts = get_cell(tr.cell).state  # ("h",), or ("h", "c")
        name = f"h{S - 1}" if len(parts) == 1 else \
            "[" + ", ".join(f"{x}{S - 1}" for x in parts) + "]"
        lines = wrapped(f"No attention. The decoder starts from {name}, the encoder's last "
                        f"state: {len(v)} numbers for all {S} source tokens.", width, "bold")
        if t < S:
            now = (f"Encoder step {t} reads {quoted(tr.sequence.source[t])}; at step {S - 1} "
                   f"it must still be in these {len(v)} numbers.")
        else:
            i = t - S
            now = (f"Decoder step {i} writes from its state, which began as {name}: "
                   f"nothing else of the source reaches it.")
        after = wrapped(now, width, DIM)
        room = max(height - len(lines) - len(after) - 2, 1)
        lines.append(Text(f"{name} =", style="bold"))
        lines += [colour_numbers(x) for x in fmt_vec_lines(v, width, room)]
        return lines + [Text("")] + after

    # -- with attention ------------------------------------------------------------------------
    def _heatmap(self, tr, t: int, width: int, height: int) -> list[Text]:
        src = [token(x) for x in tr.sequence.source]
        rows = tr.attention_rows()  # (len(target), S)
        outs = [token(y) for y in tr.sequence.target]
        S = len(src)
        i_now = t - tr.S if t >= tr.S else None
        lw = min(max((len(o) for o in outs), default=1), 8)
        room = max(width - lw - 3, S)
        widest = max(len(x) for x in src) + 1
        cw = max(1, min(max(widest, room // max(S, 1) // 2, 4), room // max(S, 1), 9))
        name = "additive (Bahdanau)" if tr.attention == "additive" else "dot (Luong)"
        lines = [Text(f"{name} · rows teacher-forced", style=DIM)]
        head = Text(" " * (lw + 3))
        for j, x in enumerate(src):
            style = CURSOR if (i_now is None and j == t) else "bold"
            head.append(x[:cw - 1].center(cw - 1) + " " if cw > 1 else x[:1], style=style)
        lines.append(head)
        rows_room = max(height - 5, 1)
        first = 0 if len(outs) <= rows_room or i_now is None else \
            max(0, min(i_now - rows_room // 2, len(outs) - rows_room))
        for i in range(first, min(len(outs), first + rows_room)):
            mark = "▶" if i == i_now else " "
            line = join((mark, "bold"), f" {outs[i][:lw].rjust(lw)} ")
            for j in range(S):
                g = shade(rows[i, j]) * max(cw - 1, 1)
                line.append(g + (" " if cw > 1 else ""), style=TARGET if i == i_now else "")
            lines.append(line)
        lines += self._now(tr, t, i_now, width)
        if i_now is not None and i_now < len(outs):
            lines.append(join("c = ", vec_text(tr.context[i_now], width - 4)))
        return lines

    def _now(self, tr, t: int, i_now: int | None, width: int) -> list[Text]:
        if i_now is None:
            col = tr.attention_rows()[:, t]
            return wrapped(f"Encoder step {t}: {quoted(tr.sequence.source[t])} gets at most "
                           f"{fmt(col.max(), signed=False)} of an output's weight.", width)
        if i_now >= len(tr.sequence.target):
            return wrapped("The end token's row is left out: it writes no word.", width, DIM)
        row = tr.weights[i_now]
        j = int(np.argmax(row))
        return wrapped(f"{quoted(tr.sequence.target[i_now])} looks most at "
                       f"{quoted(tr.sequence.source[j])} (source {j}): "
                       f"{fmt(row[j], signed=False)} of its weight", width)


PANE = AttentionPane
