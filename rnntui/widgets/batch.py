"""The Batch pane: the training batch that holds the sequence stepped through, padded, with its
mask, h_t for every row at once (a B x H block), and what the padding costs."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from rnntui.view import BACKWARD

from ._draw import (CURSOR, DIM, TARGET, WARN, block, first_fitting, fit, fmt, join, serial,
                    token)
from .base import Pane
from .hidden import glyph_rows

#: The pad token on screen (the input is the zero vector there).
PAD = "_"
#: The mask: a step the network counts (1) and one it is told to skip (0).
REAL, SKIP = "1", "0"
#: Marks the row that is the sequence stepped through in the other panes.
STEPPED = "▸"


class BatchPane(Pane):
    """The padded batch: rows are sequences, columns time steps, the cursor's column on all
    rows at once (see HELP)."""

    ID = "batch"
    PLACE = "top"
    HELP = ("Only in scenarios with pad = true under [train] (it then takes the Sequence "
            "pane's place): the training batch that holds the sequence you step (#1, #2, … "
            "number the rows, ▸ marks yours; B goes to the next batch). Left, each row's "
            f"inputs padded on the right to the longest with the pad token {PAD} (the zero "
            "vector); the cursor's column, in [brackets], moves on every row at once, and a "
            "target the loss counts is yellow. Then the "
            "mask: 1 at a real step, 0 at a pad, which the network skips: no loss there and "
            "the row's final state is its last real one (an ended row shows its h_t dim, "
            "carried). Without the mask (key u) every step reads 1: the pads go in, the "
            "state runs on through them (red h_t) and each answer is read after the pads. "
            "h_t: [B, H] is the block of every row's state at the cursor (+ as █▒░, - as "
            "●•·). In the backward pass (b) the block is dL/dh_t: exactly 0 at a masked pad, "
            "and without the mask the gradient runs back through the pads (red). Below (or beside the rows): the steps "
            "the rectangle runs against the real ones (what packing saves), for this batch "
            "and for the epoch, in the order it trains in and in the other: key s cuts the "
            "epoch into batches sorted by length (like lengths together, fewer pads) or in "
            "file order. With fresh = true under [train], training draws new sequences for "
            "every update: the rows here are the fixed set's, and the pane says so.")
    LEGEND = ("#1, #2, …: the rows, the sequences of the training batch, ▸ the one you step · "
              f"{PAD} the pad token (the zero vector) · [ ]: the cursor's step t · yellow: a target the loss counts · mask: 1 a step the "
              "network takes, 0 a pad it skips · h_t: [B, H]: the state of the B rows, H units "
              "each, at the cursor, +█▒░ −●•· as in Hidden; dim: a row that ended (its last state, "
              "carried), red: a state the pads made (mask off) · backward (b): dL/dh_t: [B, H], "
              "0 at a masked pad · N steps for M real: what the "
              "rectangle runs against what packing would · s: batches sorted by length or "
              "in file order")
    LEGEND_LINE = f"{PAD} pad · mask 1 real, 0 pad · {STEPPED} the row you step · [ ] step t"
    TITLE = "Batch: padded rows, mask, h_t"
    SHORT_TITLE = "Batch"
    READS = ("scenario", "trace", "t", "example", "phase")

    _run_of: tuple | None = None

    def _run(self, view, example):
        """The batch holding ``example`` and its pass under the weights on screen (kept for
        the weights, batch and mask drawn last)."""
        from engine.batch import run_batch, training_batch  # (only a padded scenario's)
        tr, sc = view.trace, view.scenario
        key = (serial(tr), serial(sc), example)
        if self._run_of is None or self._run_of[0] != key:
            k, rows, batch = training_batch(sc, example)
            with np.errstate(all="ignore"):
                bp = run_batch(tr.params, batch, activation=tr.activation, output=tr.output)
            self._run_of = (key, (k, rows, batch, bp))
        return self._run_of[1]

    def draw(self, view, width: int, height: int) -> Text:
        sc = view.scenario
        cfg = sc.train
        if not cfg.pad or not sc.train_sequences:
            return block([Text("One length per batch here: pad = true under [train] makes "
                               "padded batches.", style=DIM)], width, height)
        from engine.batch import stepped_row
        example = stepped_row(sc, view.example)
        k, rows, batch, bp = self._run(view, example)
        T, B = batch.T, batch.B
        t = min(view.t, T - 1)
        H = bp.h.shape[-1]
        back = view.phase == BACKWARD
        state = bp.dh if back else bp.h
        # a bidirectional model: one block [h→ ; h←] of 2 x H_dir columns, split by a bar
        split = H // 2 if "h_bwd" in bp.final else 0
        name = "[h→;h←]_t" if split else "h_t"
        shape = f"{f'dL/d{name}' if back else name}: [{B}, {H}]"
        real = batch.real
        counted = batch.M
        labels = [s.labels for s in batch.sequences]
        cw = max(1, min(3, max((len(token(x)) for row in labels for x in row), default=1)))
        name_w = len(f"{STEPPED}#{B}")
        # the row: name, the inputs, the mask, h_t, its length; the cursor's column in [brackets]
        rest = 1 + T + 2 + 1 + H + bool(split) + len(f" len {T}")
        short = height < B + 3  # no header line: the block's shape goes into the footer
        footer = self._footer(view, k, batch, bp, width, shape)
        notes = footer[-1][:B] if short else []
        beside = 3 + max(map(len, notes)) if notes else 0  # notes beside the rows (80x24)
        spaced = name_w + T * (cw + 1) + 2 + rest
        gap = " " if width >= spaced + beside or not notes and width >= spaced else ""
        inputs_w = 1 + T * (cw + 1) + 1 if gap else 1 + T * cw + 2
        lines: list[Text] = []
        head = Text(" " * name_w, no_wrap=True)
        head.append(f"{' ' * (1 + bool(gap))}x_t, t=0..{T - 1}".ljust(inputs_w)[:inputs_w], style=DIM)
        head.append(" mask".ljust(T + 4)[:T + 4], style=DIM)
        head.append(shape, style="bold")
        if not short:
            lines.append(head)
        shown_rows = max(1, min(B, height - 1 - len(lines)))
        with np.errstate(all="ignore"):
            scale = float(np.nanmax(np.abs(state[t]))) if state[t].size else 1.0
        scale = scale if np.isfinite(scale) and scale > 0 else 1.0
        glyphs = glyph_rows(state[t].T, scale)
        if split:  # the same scale for both halves, a bar between them
            left, right = glyph_rows(state[t][:, :split].T, scale), \
                glyph_rows(state[t][:, split:].T, scale)
            glyphs = [a + [("│", DIM)] + b for a, b in zip(left, right)]
        for b in range(shown_rows):
            line = Text(no_wrap=True)
            mark = STEPPED if rows[b] == example else " "
            line.append(f"{mark}#{b + 1}".ljust(name_w), style="bold" if mark != " " else DIM)
            cells = []
            for s in range(T):
                cell = (token(labels[b][s])[:cw] if real[s, b] else PAD).ljust(cw)
                style = TARGET if counted[s, b] else ("" if real[s, b] else DIM)
                if not real[s, b] and counted[s, b]:
                    style = f"{TARGET} bold"
                cells.append((cell, style))
            line.append(" ")
            _cursor_row(line, cells, t, bool(gap))
            line.append(" ")
            told = [(REAL if real[s, b] or not batch.masked else SKIP,
                     "" if real[s, b] or not batch.masked else DIM) for s in range(T)]
            _cursor_row(line, told, t, False)
            line.append(" ")
            ended = t >= batch.lengths[b]
            if ended and back and batch.masked and not state[t, b].any():
                line.append("0".ljust(H + bool(split)), style=DIM)  # nothing flows back from a masked pad
            else:
                for text, style in glyphs[b]:
                    if ended:
                        style = DIM if batch.masked else WARN
                    line.append(text, style=style)
            line.append(f" len {batch.lengths[b]}", style=DIM)
            lines.append(line)
        if shown_rows < B:
            lines[-1] = Text(f"… {B - shown_rows + 1} more rows (m: maximise)", style=DIM)
        room = height - len(lines)
        cost, mask_line, both, final, this, epoch, notes = footer
        if room == 1 and short:
            at = max(line.cell_len for line in lines) + 3
            if all(at + len(n) <= width for n in notes[:len(lines)]):
                for line, note in zip(lines, notes):
                    line.pad_right(at - line.cell_len)
                    line.append(note, style=DIM)
            # one line left: the columns named under themselves when that fits
            state_word = f"mask {'on' if batch.masked else 'off'} (u)"
            under = Text(" " * name_w + f"  x_t, t=0..{T - 1}".ljust(inputs_w)
                         + " " + state_word.ljust(T + 3), style=DIM, no_wrap=True)
            under.append(shape, style="bold")
            under.append(f" · {batch.padded_steps} steps for {batch.real_steps} real", style="bold")
            if under.cell_len <= width and len(state_word) <= T + 2:
                both = under
        lines.extend([this, epoch, mask_line, final] if room >= 4 else [cost, mask_line, final]
                     if room == 3 else [cost, mask_line] if room == 2 else [both])
        return block(lines, width, height)

    def _footer(self, view, k: int, batch, bp, width: int, shape: str) -> list[Text]:
        sc = view.scenario
        cfg = sc.train
        from engine.batch import packing
        real, padded = batch.real_steps, batch.padded_steps
        e_real, e_file = packing(sc.train_sequences, cfg.batch_size, False)
        _, e_sorted = packing(sc.train_sequences, cfg.batch_size, True)
        n_batches = -(-len(sc.train_sequences) // max(cfg.batch_size, 1))
        # the epoch's steps in the order it trains in, and in the other order (key s switches)
        if cfg.sort:
            e_padded, order, other = e_sorted, "sorted by length (s)", f"{e_file} in file order"
        else:
            e_padded, order, other = e_file, "in file order (s)", f"{e_sorted} sorted by length"
        cost = first_fitting([
            join(("this batch ", DIM), (f"{padded} steps for {real} real", "bold"),
                 (f" · epoch {e_padded} for {e_real} {order}, {other}", DIM)),
            join((f"{padded} steps for {real} real", "bold"),
                 (f" · epoch {e_padded} for {e_real} {order}, {other}", DIM)),
            join((f"{padded} steps for {real} real", "bold"),
                 (f" · epoch {e_padded} for {e_real} {order}", DIM)),
            join((f"{padded} steps for {real} real", "bold"),
                 (f" · epoch {e_padded} for {e_real}", DIM)),
            join((f"{padded} steps for {real} real", "bold")),
        ], width)
        epoch = first_fitting([
            join(("epoch ", DIM), (f"{e_padded} steps for {e_real} real", "bold"),
                 (f" {order}, {other}", DIM)),
            join(("epoch ", DIM), (f"{e_padded} for {e_real} real", "bold"),
                 (f" {order}, {other}", DIM)),
            join(("epoch ", DIM), (f"{e_padded} for {e_real} real", "bold"), (f" {order}", DIM)),
            join(("epoch ", DIM), (f"{e_padded} for {e_real} real", "bold")),
        ], width)
        this = join(("this batch ", DIM), (f"{padded} steps for {real} real", "bold"),
                    (f" ({batch.B} rows × {batch.T} steps)", DIM))
        # beside the rows when the pane has one line under them (80x24)
        notes = [f"batch {k + 1}/{n_batches} (B)", f"epoch {e_padded} for {e_real} real",
                 order, f"{other.split(' ', 1)[1]}: {other.split(' ', 1)[0]}"]
        if cfg.fresh:  # training draws new sequences for every update: the rows here are the
            # fixed set's, and an epoch's steps are not these batches' (nothing says otherwise)
            cost = first_fitting([
                join(("this batch ", DIM), (f"{padded} steps for {real} real", "bold"),
                     (" · the fixed set's; training draws fresh batches", DIM)),
                join((f"{padded} steps for {real} real", "bold"),
                     (" · training draws fresh batches", DIM)),
                join((f"{padded} steps for {real} real", "bold"), (" · fixed set", DIM)),
                join((f"{padded} steps for {real} real", "bold")),
            ], width)
            epoch = first_fitting([
                join(("epoch ", DIM), ("fresh batches", "bold"),
                     (f": {n_batches} updates, each on newly drawn sequences; these rows are "
                      "the fixed set's", DIM)),
                join(("epoch ", DIM), ("fresh batches", "bold"), (" drawn for each update", DIM)),
                join(("epoch ", DIM), ("fresh batches", "bold")),
            ], width)
            notes = [f"batch {k + 1}/{n_batches} (B)", "of the fixed set:", "training draws",
                     "fresh batches"]
        if batch.masked:
            where = "final h at each row's last real step"
            short = "final h: last real step"
        else:
            where = f"answers read at t={batch.T - 1}, after the pads"
            short = f"answers at t={batch.T - 1}"
        state = "on" if batch.masked else "off"
        loss = fmt(bp.loss, 4, signed=False)
        n = int(batch.M.sum())
        mask_line = first_fitting([
            join((f"mask {state} (u)", WARN if not batch.masked else "bold"), (f" · {where}", DIM),
                 (f" · batch {k + 1}/{n_batches} (B)", DIM),
                 (f" · L={loss} over {n} targets", DIM)),
            join((f"mask {state} (u)", WARN if not batch.masked else "bold"), (f" · {where}", DIM),
                 (f" · batch {k + 1}/{n_batches} (B)", DIM)),
            join((f"mask {state} (u)", WARN if not batch.masked else "bold"), (f" · {short}", DIM)),
        ], width)
        said = (f"mask {state} (u)", WARN if not batch.masked else "bold")
        steps = (f" · {padded} steps for {real} real", "bold")
        kind = (f" · {'sorted' if cfg.sort else 'file order'} (s)", DIM)
        both = first_fitting([
            join((shape, "bold"), " · ", said, (f" · {short}", DIM), steps, kind,
                 (f" · batch {k + 1}/{n_batches} (B)", DIM)),
            join((shape, "bold"), " · ", said, steps, kind),
            *([join((shape, "bold"), " · ", said, kind, (f" · {padded} for {real} real", "bold"))]
              if cfg.sort else []),  # (file order is the default: said where there is room)
            join((shape, "bold"), " · ", said, steps),
            join(said, steps),
        ], width)
        if cfg.fresh:  # (at 60x20 this line is all there is under the rows)
            both = first_fitting([join(both, (" · the fixed set's rows", DIM)),
                                  join((shape, "bold"), " · ", said,
                                       (" · the fixed set's rows", DIM)),
                                  join(said, (" · fixed set", DIM)), both], width)
        last = ", ".join(str(int(x)) for x in batch.last())
        if "h_bwd" in bp.final and batch.masked:
            final = join(("final h→ read at t=", DIM), (last, "bold"),
                         ("; h← at t=0 (h← starts at each row's last real step)", DIM))
        elif "h_bwd" in bp.final:
            pads = ", ".join(str(int(batch.T - n)) for n in batch.lengths)
            final = join(("final h→ read at t=", DIM), (str(batch.T - 1), WARN),
                         ("; h← at t=0; both after ", DIM), (pads, WARN),
                         (" pads (h← reads them first)", DIM))
        elif batch.masked:
            final = join(("final h read at t=", DIM), (last, "bold"),
                         (": each row's last real step, as if run alone", DIM))
        else:
            pads = ", ".join(str(int(batch.T - n)) for n in batch.lengths)
            final = join(("final h read at t=", DIM), (str(batch.T - 1), WARN),
                         (f" in every row, after {pads} pads", DIM))
        return [cost, mask_line, both, fit(final, width), fit(this, width), epoch, notes]


def _cursor_row(line: Text, cells: list[tuple[str, str]], t: int, spaced: bool) -> None:
    """Append ``cells`` to ``line`` with the cursor's column ``t`` in [brackets] as well as in
    the cursor's colour, so that it reads without colour too. Spaced, a space goes before each
    cell and after the last, and the brackets take the two beside the cursor's cell; side by
    side, the brackets add two cells."""
    for s, (cell, style) in enumerate(cells):
        if spaced:
            line.append("[" if s == t else "]" if s == t + 1 else " ",
                        style="bold" if s in (t, t + 1) else "")
        elif s == t:
            line.append("[", style="bold")
        line.append(cell, style=f"{style} {CURSOR}".strip() if s == t else style)
        if not spaced and s == t:
            line.append("]", style="bold")
    if spaced:
        line.append("]" if t == len(cells) - 1 else " ", style="bold")


PANE = BatchPane
