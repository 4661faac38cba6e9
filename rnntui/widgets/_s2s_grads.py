"""The Gradients pane on an encoder-decoder: one output's loss followed back into the encoder
(at a decoder step), or every loss's gradient at each encoder state (at an encoder step)."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from ._draw import CURSOR, DIM, TARGET, block, fmt, join, log_fraction, plain_bar, quoted, token

#: The bars' log scale spans this many decades below the largest.
DECADES = 3
LEGEND_LINE = f"log bars: {DECADES} decades below the largest"


def draw_s2s(tr, t: int, width: int, height: int):
    S = tr.S
    # each row named by its step j and its token ('2' may come twice: j tells them apart)
    src = [f"{j:>{len(str(S - 1))}} '{token(x)[:8]}'" for j, x in enumerate(tr.sequence.source)]
    lw = max(len(x) for x in src)
    bar = max(width - lw - 14, 4)
    lines: list[Text] = []
    if t < S:
        g = tr.enc_grad
        lines.append(Text("‖dL/dh_j‖ of the whole loss", style="bold"))
        rows, att = g, None
        marked, needed = t, None
    else:
        i = t - S
        g, att = tr.loss_grad[i], tr.loss_grad_att[i]
        words = tr.sequence.target + ["</s>"]
        lines.append(join(("‖dL_i/dh_j‖", "bold"), f", i = {i} ({quoted(words[i])})"))
        rows, marked = g, None
        align = tr.sequence.align
        needed = align[i] if align is not None and i < len(align) else None
    notes: list[Text] = []
    if t >= S:
        total = float(np.sum(rows))
        if att is not None and tr.weights is not None and total > 0:
            direct = float(np.sum(att))
            notes.append(Text(f"straight through the attention: "
                              f"{fmt(direct / total * 100, 2, signed=False)}% of the sum",
                              style=DIM))
        elif tr.weights is None:
            notes.append(Text(f"every path runs through h{S - 1}, then back along the "
                              f"encoder", style=DIM))
        if needed is not None and total > 0:
            notes.insert(0, Text(f"{quoted(tr.sequence.source[needed])} (source {needed}, the "
                                 f"token it needs): {fmt(rows[needed] / total * 100, 2, signed=False)}% "
                                 f"of the sum"))
    from .attention import wrapped
    # A note is shown whole or not at all: the bars keep at least three rows (or all of them),
    # and the notes that do not fit under them are left out, the last first.
    said = [wrapped(note.plain, width, str(note.style)) for note in notes]
    least = min(S, 3)
    while said and height - 1 - sum(len(x) for x in said) < least:
        said.pop()
    room = max(height - 1 - sum(len(x) for x in said), 1)  # (the header's row, the notes)
    top = float(np.max(rows)) if len(rows) and np.isfinite(rows).all() else 0.0
    focus = needed if needed is not None else (marked if marked is not None else 0)
    first = max(0, min(focus - room // 2, S - room)) if S > room else 0
    for j in range(first, min(S, first + room)):
        frac = log_fraction(rows[j], top / 10 ** DECADES, top) if top > 0 else 0.0
        style = CURSOR if j == marked else (TARGET if j == needed else "")
        line = join((f"{src[j]:<{lw}}", style), " ", plain_bar(frac, bar).ljust(bar), " ",
                    fmt(rows[j], 2, signed=False))
        lines.append(line)
    for note_lines in said:
        lines += note_lines
    return block(lines, width, height)
