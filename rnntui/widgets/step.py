"""The Step pane: the recurrence at t with the actual numbers, or one step of BPTT going back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from rich.cells import cell_len
from rich.text import Text

from engine.cells import get_cell
from engine.kinds import get_kind
from engine.cells.numerics import activation_slope
from rnntui.view import BACKWARD

from ._draw import (quoted, token, DIM, Line, TARGET, block, colour_numbers, first_fitting, fmt, fmt_abs,
                    fmt_vec_lines, join, num_text, safe_norm, vec_text)
from .base import Pane

SLOPE = {"tanh": "1−h²", "sigmoid": "h(1−h)", "relu": "[a>0]"}


@dataclass
class Row:
    """One line of the pane: ``label`` then a vector (formatted to the width left) or a Text.
    Lower ``rank`` is kept first when the pane is short; rows are shown in list order."""

    rank: int
    label: str
    value: np.ndarray | Text | Callable[[int], Text]
    column: str = ""  # header in the table view (vectors over the hidden units only)
    short: str = ""  # label in narrow panes
    tiny: str = ""  # label in very narrow panes
    spare: bool = False  # the table view may show this one as a plain row instead
    quantity: str = ""  # which per-step array this row is a step of (for stable column widths)


def backward_parts(trace, t: int, which: str = "fwd") -> tuple[np.ndarray, np.ndarray]:
    """dL/dh_t split in two: the direct part W_yᵀ dL/dy_t and what flowed back from the step
    read after t (W_hᵀ dL/da_{t+1}, zero at the last step). They add up to ``trace.dh[t]``.
    A bidirectional model's ``which`` direction: its half of W_y, and for the backward one
    (read from the end) what flowed back from t-1 into h←_t."""
    W_y = trace.params.W_y
    if trace.bidirectional:
        H = trace.h.shape[1]
        W_y = W_y[:, :H] if which == "fwd" else W_y[:, H:]
    with np.errstate(over="ignore", invalid="ignore"):
        direct = W_y.T @ trace.dy[t]
    if which == "bwd":
        later = trace.back.flow[t - 1] if t > 0 else np.zeros_like(direct)
    else:
        later = trace.flow[t + 1] if t + 1 < len(trace) else np.zeros_like(direct)
    return direct, later


class StepPane(Pane):
    """Forward: ``h_t = f(W_h h_{t-1} + W_x x_t + b)`` term by term, then the prediction and loss.
    Backward: dL/dy_t, the two parts of dL/dh_t, dL/da_t = dL/dh_t ⊙ f'(a_t) and what flows to
    t-1. Vectors are printed in full when they fit, else their first entries and their norm; a
    tall, wide pane shows them as columns, one row per hidden unit."""

    ID = "step"
    #: What the pane shows, in the help screen's words.
    HELP = ("The cell's arithmetic at step t with the real numbers. Forward: a_t = W_x x_t + "
            "W_h h_(t-1) + b, then h_t = f(a_t), then the output y_t = W_y h_t + b_y. "
            "Backward: how the loss's gradient arrives at step t and flows on to step t-1. A "
            "vector that does not fit shows its first entries, then … and its length ‖v‖; "
            "‖v‖ (12) is the length of a vector of 12 entries when none fits.")
    TITLE = "Step"
    LEGEND = ('a = W_h h + W_x x + b, h = f(a) · ‖v‖ (12): the length of a vector of 12 entries too '
              'long to show · ŷ the output · ᵀ transposed · ⊙ times, entry by entry · ⋮ more units '
              '· maximise (m) for the numbers unit by unit')
    READS = ("trace", "t", "phase", "scenario", "sequence")

    def legend_sign(self, view) -> str:
        return "‖"

    def legend_line(self, view) -> str:
        size = view.trace.h.shape[1]
        return f"‖v‖ ({size}): length of {size} entries"

    def draw(self, view, width: int, height: int):
        back = view.phase == BACKWARD
        if back and not getattr(view.trace, "backward_done", True):  # a long trace's, to come
            return block([Text(f"backward t={view.t}", style="bold"), first_fitting([
                Text("dL/dh, dL/da and the flow back: not yet computed (the backward pass is "
                     "being computed…)", style=DIM),
                Text("dL/dh, dL/da: not yet computed (computing…)", style=DIM),
                Text("not yet computed (computing…)", style=DIM),
                Text("not yet computed", style=DIM)], width)], width, height)
        if view.trace.bidirectional:
            title, rows = (self._backward_both(view, width) if back
                           else self._forward_both(view, width))
            return self._plain(title, rows, width, height)
        if get_cell(view.trace.cell).gated:
            title, rows = (self._backward_gated(view, width) if back
                           else self._forward_gated(view, width))
        else:
            title, rows = self._backward(view, width) if back else self._forward(view, width)
        table = self._table(view, title, rows, width, height)
        if table is not None:
            return table
        return self._plain(title, rows, width, height)

    def _plain(self, title: Text, rows: list[Row], width: int, height: int):
        """The rows one under another, the best ranked kept when the pane is short."""
        keep = sorted(rows, key=lambda r: r.rank)[: max(height - 1, 0)]
        shown = [r for r in rows if r in keep]
        if width < 30:
            shown = [Row(r.rank, r.tiny or r.short or r.label, r.value) for r in shown]
        elif width < 50:
            shown = [Row(r.rank, r.short or r.label, r.value) for r in shown]
        lw = max((cell_len(r.label) for r in shown), default=0)
        brackets = width - lw - 1 >= 17  # else "+0.1234…‖1.234‖" keeps an entry in view
        extra = self._extra_lines(shown, width - lw - 1, height - 1 - len(shown))
        lines: list[Text] = [title]
        for r in shown:
            if extra.get(id(r), 1) > 1:
                lines.extend(_wrapped(r, lw, width, extra[id(r)]))
            else:
                lines.append(_line(r, lw, width, brackets))
        return block(lines, width, height)

    @staticmethod
    def _extra_lines(rows: list[Row], room: int, spare: int) -> dict[int, int]:
        """Spare lines shared among the vectors that do not fit on one line, best rank first:
        {id(row): lines}."""
        vectors = sorted((r for r in rows if isinstance(r.value, np.ndarray)),
                         key=lambda r: r.rank)
        if spare <= 0 or room < 17 or not vectors:
            return {}
        need = {}
        for r in vectors:
            wrapped = fmt_vec_lines(r.value, room, spare + 1)
            need[id(r)] = len(wrapped) if "…]" not in wrapped[-1] else spare + 1
        got = {id(r): 1 for r in vectors}
        while spare > 0:
            grew = False
            for r in vectors:
                if spare > 0 and got[id(r)] < need[id(r)]:
                    got[id(r)] += 1
                    spare -= 1
                    grew = True
            if not grew:
                break
        return got

    # -- forward -------------------------------------------------------------------------------
    def _forward(self, view, width: int) -> tuple[Text, list[Row]]:
        tr, t = view.trace, view.t
        f = tr.activation
        p = tr.params
        with np.errstate(over="ignore", invalid="ignore"):
            rec = p.W_h @ tr.h_prev[t]
            inp = p.W_x @ tr.x[t] + p.b
        title = first_fitting([
            join(("forward", "bold"), f" t={t}:  h_t = {f}(W_h h_t-1 + W_x x_t + b)"),
            join(("▶", "bold"), f" t={t}: h_t = {f}(W_h h_t-1 + W_x x_t + b)"),
            join(("▶", "bold"), f" t={t} h_t={f}(W_h h_t-1+W_x x_t+b)"),
            join(f"t={t} h_t={f}(W_h h_t-1+W_x x_t+b)"),
            join(f"t={t} h={f}(W_h h+W_x x+b)"),
            join(f"h={f}(W_h h+W_x x+b)"),
            join(f"h={f}(a)"),
        ], width)
        prev = f"h_{t - 1}" if t > 0 else "h_-1"
        rows = [
            Row(6, f"x_{t}", self._input(view, t), tiny=f"x_{t}"),
            Row(7, prev, tr.h_prev[t], prev + (" (start)" if t == 0 else ""), spare=True,
                quantity="h_prev"),
            Row(4, f"W_h {prev}", rec, "W_h " + prev, tiny="Wh·h", quantity="rec"),
            Row(5, f"W_x x_{t}+b", inp, f"W_x x_{t}+b", tiny="Wx·x+b", quantity="inp"),
            Row(3, f"= a_{t}", tr.a[t], f"= a_{t}", tiny=f"=a_{t}", quantity="a"),
            Row(1, f"h_{t}", tr.h[t], f"h_{t}", quantity="h"),
            Row(2, "ŷ", lambda w: self._prediction(view, t, w)),
        ]
        return title, rows

    # -- both directions (a bidirectional model) ------------------------------------------
    def _forward_both(self, view, width: int) -> tuple[Text, list[Row]]:
        """Both recurrences at t: h→_t from h→_{t-1} (the past) and h←_t from h←_{t+1} (the
        future), each with its own weights, then the read-out of the two side by side."""
        tr, t = view.trace, view.t
        T = len(tr)
        cell = get_cell(tr.cell)
        f = tr.activation
        title = first_fitting([
            join(("forward", "bold"), f" t={t}: h→ reads x_0..x_{t}, h← reads x_{T - 1}..x_{t}"
                 f";  ŷ = W_y[h→;h←] + b_y"),
            join(("▶", "bold"), f" t={t}: h→ from t-1, h← from t+1, ŷ=W_y[h→;h←]+b_y"),
            join(("▶", "bold"), f" t={t} h→ from t-1, h← from t+1"),
            join(f"t={t} h→ h←")], width)
        rows = [Row(9, f"x_{t}", self._input(view, t), tiny=f"x_{t}")]
        for arrow, d, near in (("→", tr, t - 1), ("←", tr.back, t + 1)):
            prev = tr.back.h_prev[t] if arrow == "←" else tr.h_prev[t]
            start = near < 0 or near >= T
            name = f"{arrow}h_{near}" + (" (start)" if start else "")
            rows.append(Row(7, name, prev, spare=True, short=f"{arrow}h_{near}"))
            if cell.gated:
                for r in cell.step_rows:
                    if r.quantity in ("h", "h_prev", "c_prev"):
                        continue
                    q = r.quantity
                    values = d.gates[q[5:]] if q.startswith("gate:") else getattr(d, q)
                    label = partial(str.format, t=t, p=near)
                    rows.append(Row(r.rank + 2, f"{arrow}{label(r.label)}", values[t],
                                    short=f"{arrow}{label(r.short or r.label)}",
                                    tiny=f"{arrow}{label(r.tiny or r.label)}"))
            else:
                rows.append(Row(5, f"{arrow}a_{t}", d.a[t], tiny=f"{arrow}a"))
            rows.append(Row(1, f"h{arrow}_{t}", d.h[t]))
        rows.append(Row(2, "ŷ", lambda w: self._prediction(view, t, w)))
        if not cell.gated:
            rows.append(Row(8, "", Text(f"h = {f}(a); →a from h→_t-1, ←a from h←_t+1",
                                         style=DIM)))
        one, both, read_out = weight_counts(tr.params)
        rows.append(Row(10, "", Text(f"2 × {one} cell weights + {read_out} read-out = {both}",
                                     style=DIM)))
        return title, rows

    def _backward_both(self, view, width: int) -> tuple[Text, list[Row]]:
        """BPTT at t in both directions: the read-out sends dL/dy_t into h→_t and h←_t
        (through its two halves of W_y); h→_t also gets what flowed back from t+1, h←_t what
        flowed back from t-1 (the step it fed)."""
        tr, t = view.trace, view.t
        T = len(tr)
        title = first_fitting([
            join(("backward", "bold magenta"), f" t={t}:  dL/dh→_t = W_y→ᵀdL/dy_t + from t+1;"
                 f"  dL/dh←_t = W_y←ᵀdL/dy_t + from t-1"),
            join(("◀", "bold magenta"), f" t={t}: dh→ = W_y→ᵀdy + from t+1, dh← ... from t-1"),
            join(("◀", "bold magenta"), f" t={t} dh→ from t+1, dh← from t-1"),
            join(f"◀ t={t} dh→ dh←")], width)
        dy = tr.dy[t]
        dy_row: np.ndarray | Text = dy
        if not tr.mask[t]:
            dy_row = join(vec_text(dy, 20) if len(dy) <= 3 else Text("0"),
                          ("  no target here: nothing to send back", DIM))
        rows = [Row(6 if tr.mask[t] else 0, f"dL/dy_{t}", dy_row, short="dL/dy")]
        for arrow, which, near, d in (("→", "fwd", t + 1, tr), ("←", "bwd", t - 1, tr.back)):
            direct, later = backward_parts(tr, t, which)
            here = 0 <= near < T
            rows += [
                Row(4, f"W_y{arrow}ᵀdL/dy_{t}", direct, short=f"W_y{arrow}ᵀdy", tiny=f"{arrow}dir"),
                Row(5, f"+ from t={near}" if here else "+ 0 (last read)", later,
                    short=f"+from {near}" if here else "+0 last", tiny=f"+t{near}" if here
                    else "+0"),
                Row(1, f"= dL/dh{arrow}_{t}", d.dh[t], short=f"=dL/dh{arrow}", tiny=f"dh{arrow}"),
            ]
        return title, rows

    # -- gated cells -----------------------------------------------------------------------
    def _forward_gated(self, view, width: int) -> tuple[Text, list[Row]]:
        """A gated cell's step: the rows its module lists (each gate, the candidate, the
        state), then the prediction."""
        tr, t = view.trace, view.t
        cell = get_cell(tr.cell)
        long, short, tiny = cell.step_formulas
        title = first_fitting([
            join((cell.title, "bold"), f" t={t}:{long}"),
            join((cell.title, "bold"), f" t={t}:{short}"),
            join(f"{cell.title} t={t}{tiny}"),
            join(f"{cell.title} t={t}")], width)
        rows = [Row(9, f"x_{t}", self._input(view, t), tiny=f"x_{t}")]
        for r in cell.step_rows:
            q = r.quantity
            values = tr.gates[q[5:]] if q.startswith("gate:") else getattr(tr, q)
            label = partial(str.format, t=t, p=t - 1)
            rows.append(Row(r.rank, label(r.label), values[t], column=label(r.column),
                            short=label(r.short), tiny=label(r.tiny), spare=r.spare,
                            quantity=q))
        rows.append(Row(2, "ŷ", lambda w: self._prediction(view, t, w)))
        return title, rows

    def _backward_gated(self, view, width: int) -> tuple[Text, list[Row]]:
        """BPTT through a gated step: dL/dh_t from the output and from t+1; for the LSTM the
        cell-state gradient dL/dc_t, which the forget gate carries back along the belt."""
        tr, t = view.trace, view.t
        T = len(tr)
        direct, later = backward_parts(tr, t)
        to = f"h_{t - 1}" if t > 0 else "h_-1"
        title = first_fitting([
            join(("backward", "bold magenta"), f" t={t}:  dL/dh_t = W_yᵀ dL/dy_t + from t+1"
                 + ("   dL/dc_t: along the cell state" if tr.dc is not None else "")),
            join(("◀", "bold magenta"), f" t={t}: dL/dh = W_yᵀdL/dy + from t+1"),
            join(f"◀ t={t} dh=W_yᵀdy+later")], width)
        nxt = (f"+ from t={t + 1}", f"+from {t + 1}") if t + 1 < T else ("+ 0 (last step)",
                                                                           "+0 last")
        rows = [
            Row(6 if tr.mask[t] else 0, f"dL/dy_{t}", tr.dy[t]),
            Row(1, f"W_yᵀdL/dy_{t}", direct, column="W_yᵀdL/dy", short="W_yᵀdy",
                quantity="direct"),
            Row(2, nxt[0], later, column=nxt[1], short=nxt[1], quantity="later"),
            Row(3, f"= dL/dh_{t}", tr.dh[t], column=f"=dL/dh_{t}", short="=dL/dh", quantity="dh"),
        ]
        if tr.dc is not None:
            rows.append(Row(4, f"dL/dc_{t}", tr.dc[t], column=f"dL/dc_{t}", short="dL/dc",
                            quantity="dc"))
        rows.append(Row(5, f"→ {to}", tr.flow[t], column=f"→{to}", spare=True, quantity="flow"))
        return title, rows

    def _input(self, s, t: int) -> np.ndarray | Callable[[int], Text]:
        """x_t: a vector as it is, or (a callable for the width left) a token's one-hot
        position or a single value."""
        x = s.trace.x[t]
        if len(x) > 1 and not (_words(s) and len(np.flatnonzero(x)) == 1
                               and not isinstance(s.scenario.token_vectors, dict)):
            return x
        return lambda width: self._input_text(s, t, width)

    def _input_text(self, s, t: int, width: int) -> Text:
        x = s.trace.x[t]
        label = s.label(t)
        nz = np.flatnonzero(x)
        one_hot = not isinstance(s.scenario.token_vectors, dict)  # a dict: the file's vectors
        if _words(s) and one_hot and len(x) > 1 and len(nz) == 1:
            return first_fitting([
                join((quoted(label), "bold"), (f" one-hot #{nz[0]} of {len(x)}", DIM)),
                join((quoted(label), "bold"), (f" #{nz[0]} of {len(x)}", DIM)),
                join((quoted(label), "bold"), (f" #{nz[0]}", DIM)),
                join((quoted(label), "bold"))], width)
        return join(num_text(x[0]), (f"  ({token(label)})", DIM)
                    if _words(s) else "")

    def _prediction(self, s, t: int, width: int) -> Text:
        """The prediction at t, its target and the loss at t, as much as fits in ``width``."""
        tr = s.trace
        has = bool(tr.mask[t])
        loss = join("  loss ", (fmt_abs(tr.step_loss[t]), "bold")) if has else Text("")
        short_loss = join(" L=", (fmt_abs(tr.step_loss[t]), "bold")) if has else Text("")
        if tr.output == "softmax":
            name, p = s.prediction(t)
            guess = join((quoted(name), "bold"), f" p={fmt_abs(p)}")
            bare = join((quoted(name), "bold"), f" {fmt_abs(p)}")
            if not has:
                return first_fitting([join(guess, ("  no target here", DIM)), guess, bare,
                                      join((quoted(name), "bold"))], width)
            i = int(np.argmax(tr.targets[t]))
            tgt, pt = quoted(s.target_label(t)), fmt_abs(tr.out[t][i])
            return first_fitting([
                join(guess, "  target ", (tgt, TARGET), f" p={pt}", loss),
                join(guess, " target ", (tgt, TARGET), f" p={pt}", short_loss),
                join(guess, " tgt ", (tgt, TARGET), f" {pt}", short_loss),
                join(guess, " tgt ", (tgt, TARGET), f" {pt}"),
                join(guess, " tgt ", (tgt, TARGET)),
                guess, bare, join((quoted(name), "bold")),
            ], width)
        if tr.output == "identity":
            y = tr.out[t][0]
            if not has:
                return join(num_text(y), ("  no target here", DIM))
            tg = tr.targets[t][0]
            return first_fitting([
                join(num_text(y), "  target ", num_text(tg), "  err ", num_text(y - tg), loss),
                join(num_text(y), " target ", num_text(tg), short_loss),
                join(num_text(y), " tgt ", num_text(tg)),
                num_text(y),
            ], width)
        bit = s.prediction(t)[0]
        guess = join(f"P(1)={fmt_abs(tr.out[t][0])} → ", (bit, "bold"))
        small = [join(f"P(1)={fmt_abs(tr.out[t][0], 2)} → ", (bit, "bold")),
                 join((bit, "bold"), f" P(1)={fmt_abs(tr.out[t][0], 2)}"), join((bit, "bold"))]
        if not has:
            return first_fitting([join(guess, ("  no target yet", DIM)), guess, *small], width)
        tgt = token(s.target_label(t)) or "?"
        return first_fitting([join(guess, "  target ", (tgt, TARGET), loss),
                              join(guess, " tgt ", (tgt, TARGET), short_loss),
                              join(guess, " tgt ", (tgt, TARGET)), guess,
                              join((bit, "bold"), " tgt ", (tgt, TARGET)), *small], width)

    # -- backward ------------------------------------------------------------------------------
    def _backward(self, view, width: int) -> tuple[Text, list[Row]]:
        tr, t = view.trace, view.t
        T = len(tr)
        direct, later = backward_parts(tr, t)
        slope = activation_slope(tr.activation, tr.a[t], tr.h[t])
        title = first_fitting([
            join(("backward", "bold magenta"),
                 f" t={t}:  dL/dh_t = W_yᵀ dL/dy_t + W_hᵀ dL/da_t+1"),
            join(("◀", "bold magenta"), f" t={t}: dL/dh_t = W_yᵀ dL/dy_t + from t+1"),
            join(("◀", "bold magenta"), f" t={t}: dL/dh = W_yᵀdL/dy + from t+1"),
            join(f"◀ t={t} dh=W_yᵀdy+later"),
        ], width)
        nxt = (f"+ from t={t + 1}", f"+from t={t + 1}") if t + 1 < T else \
            ("+ 0 (last step)", "+0 (last)")
        to = f"h_{t - 1}" if t > 0 else "h_-1"
        dy = tr.dy[t]
        dy_row: np.ndarray | Text = dy
        if not tr.mask[t]:
            dy_row = join(vec_text(dy, 20) if len(dy) <= 3 else Text("0"),
                          ("  no target here: nothing to send back", DIM))
        rows = [
            Row(6 if tr.mask[t] else 0, f"dL/dy_{t}", dy_row),
            Row(1, f"W_yᵀdL/dy_{t}", direct, "W_yᵀdL/dy", f"W_yᵀdy_{t}", "W_yᵀdy",
                quantity="direct"),
            Row(2, nxt[0], later, nxt[1], f"+from {t + 1}" if t + 1 < T else "+0 last",
                f"+t={t + 1}" if t + 1 < T else "+0", quantity="later"),
            Row(3, f"= dL/dh_{t}", tr.dh[t], f"=dL/dh_{t}", f"=dL/dh_{t}", "=dL/dh",
                quantity="dh"),
            Row(7, f"f'(a_{t})", slope, f"f'={SLOPE[tr.activation]}", spare=True,
                quantity="slope"),
            Row(4, f"dL/da_{t}", tr.da[t], f"dL/da_{t}", tiny="dL/da", spare=True,
                quantity="da"),
            Row(5, f"→ {to}", tr.flow[t], f"→{to}", f"→{to}", spare=True, quantity="flow"),
            Row(8, "", Text("dL/da = dL/dh ⊙ f'(a)   → = W_hᵀ dL/da", style=DIM)),
        ]
        return title, rows

    # -- table view ----------------------------------------------------------------------------
    _widths_of: tuple = ()

    def _column_width(self, tr, row: Row) -> int:
        """The widest entry a table column takes at any step of the trace (not only this one),
        so the table keeps one form as t moves. Kept for the last few traces drawn (the
        screen draws the neighbouring knob settings and epochs ahead too)."""
        kept = [pair for pair in self._widths_of if pair[0] is not tr]
        mine = next((pair for pair in self._widths_of if pair[0] is tr), None) or (tr, {})
        self._widths_of = tuple(kept[-5:]) + (mine,)
        widths = mine[1]
        q = row.quantity
        if q not in widths:
            whole = _whole(tr, q)
            widths[q] = _widest(whole) if whole is not None else _widest(row.value)
        return widths[q]

    def _table(self, view, title: Text, rows: list[Row], width: int,
               height: int) -> Text | None:
        """Vectors over the hidden units as columns, one row per unit; None if it does not fit.
        Columns marked ``spare`` move out to plain rows above the table when it is too wide."""
        H = view.trace.h.shape[1]
        cols = [r for r in rows if r.column]
        nw = len(str(H - 1)) + 1
        widest = {id(r): max(self._column_width(view.trace, r), cell_len(r.column) + 1)
                  for r in cols}
        for sep in (2, 1):
            cols = [r for r in rows if r.column]
            while True:
                cw = [widest[id(r)] + sep for r in cols]
                if nw + sum(cw) <= width:
                    break
                spare = [r for r in cols if r.spare]
                if not spare:
                    break
                cols.remove(max(spare, key=lambda r: r.rank))
            if nw + sum(cw) <= width:
                break
        else:
            return None
        first, last = rows.index(cols[0]), rows.index(cols[-1])
        others = [r for r in rows if r not in cols]
        before = [r for r in others if rows.index(r) < last]
        after = [r for r in others if rows.index(r) > last]
        avail = height - 1 - len(before) - 1 - len(after)
        if avail < min(H, 4):
            return None
        units = H if H <= avail else avail - 1
        lw = max((cell_len(r.label) for r in others), default=0)
        lines: list[Text] = [title]
        lines += [_line(r, lw, width) for r in before]
        head = Line(" " * nw)
        for r, w in zip(cols, cw):
            head.add(r.column.rjust(w), "bold")
        lines.append(head.text())
        cells = [[fmt(v) for v in np.asarray(r.value)[:units]] for r in cols]
        for u in range(units):
            line = Line(f"h{u}".rjust(nw), DIM)
            for col, w in zip(cells, cw):
                line.add(col[u].rjust(w), _sign_style(col[u]))
            lines.append(line.text())
        if units < H:
            lines.append(Text(f"⋮ {H - units} more units; norms "
                              + " ".join(fmt_abs(safe_norm(r.value), 3) for r in cols),
                              style=DIM))
        lines += [_line(r, lw, width) for r in after]
        return block(lines, width, height)


#: Traces longer than this are sampled (evenly) for the table's column widths.
WIDTH_SAMPLE = 4096


def _whole(tr, quantity: str) -> np.ndarray | None:
    """The per-step array a table column shows, over every step (or an even sample of them)."""
    T = len(tr)
    idx = slice(None) if T <= WIDTH_SAMPLE else np.linspace(0, T - 1, WIDTH_SAMPLE).astype(int)
    p = tr.params
    with np.errstate(all="ignore"):
        if quantity == "h_prev":
            return tr.h_prev[idx]
        if quantity == "rec":
            return tr.h_prev[idx] @ p.W_h.T
        if quantity == "inp":
            return tr.x[idx] @ p.W_x.T + p.b
        if quantity in ("a", "h", "dh", "da", "flow", "c", "c_prev", "dc"):
            whole = getattr(tr, quantity)
            return None if whole is None else whole[idx]
        if quantity.startswith("gate:"):
            return tr.gates[quantity[5:]][idx]
        if quantity == "direct":
            return tr.dy[idx] @ p.W_y
        if quantity == "later":  # flow_{t+1}, 0 at the last step (rows read only where shown:
            rows = np.arange(T)[idx]  # a long trace's flow is recomputed, engine/rows.py)
            out = np.zeros((len(rows), tr.flow.shape[1]))
            inside = rows + 1 < T
            out[inside] = tr.flow[rows[inside] + 1]
            return out
        if quantity == "slope":
            return activation_slope(tr.activation, tr.a[idx], tr.h[idx])
    return None


def _widest(v: np.ndarray) -> int:
    """Cells the widest formatted entry of ``v`` takes, as if every entry were formatted.

    The width of :func:`fmt` depends only on an entry's decade and on whether rounding carries
    it into the next one, which can only happen to the largest entries of a decade. So it is
    enough to format the smallest and the largest |x| of each decade (and any 0, inf or nan):
    a dozen calls instead of one per hidden unit.
    """
    v = np.asarray(v, dtype=np.float64).ravel()
    if len(v) <= 8:
        return max((len(fmt(x)) for x in v), default=1)
    a = np.abs(v)
    ok = np.isfinite(a) & (a > 0)
    m = a[ok]
    with np.errstate(over="ignore"):
        d = np.floor(np.log10(m))
        d -= m < 10.0 ** d  # log10 can be a decade off right at a power of ten
        d += m >= 10.0 ** (d + 1)
    signed = v[ok]
    picks = []
    if len(d):
        lo, hi = float(d.min()), float(d.max())
        if hi - lo <= 64:  # the usual case: a few decades, one pass over the entries each
            for decade in np.arange(lo, hi + 1):  # (no sort: 4x faster on 64,000 entries)
                idx = np.flatnonzero(d == decade)
                if len(idx):
                    sub = m[idx]
                    picks.append(signed[idx[np.argmin(sub)]])  # the smallest |x| of the decade
                    picks.append(signed[idx[len(sub) - 1 - np.argmax(sub[::-1])]])  # the largest
        else:
            order = np.lexsort((m, d))  # by decade, then by size
            ds = d[order]
            first = np.ones(len(ds), dtype=bool)  # the first of its decade
            first[1:] = ds[1:] != ds[:-1]
            last = np.ones(len(ds), dtype=bool)  # the last of its decade
            last[:-1] = first[1:]
            picks = list(signed[order[first | last]])
    rest = v[~ok]  # zeros, infinities, nans
    picks += [x for x in (0.0, np.inf, -np.inf) if (rest == x).any()]
    if np.isnan(rest).any():
        picks.append(np.nan)
    return max((len(fmt(x)) for x in picks), default=1)


def weight_counts(params) -> tuple[int, int, int]:
    """A bidirectional model's weights: (one direction's cell, the whole model, the read-out
    W_y and b_y)."""
    read_out = params.W_y.size + params.b_y.size
    both = sum(a.size for a in params.arrays())
    return (both - read_out) // 2, both, read_out


def _words(view) -> bool:
    """Whether the scenario's inputs are words typed as text reads them (a text or tagging
    scenario: a one-hot input reads as its word)."""
    return get_kind(view.scenario.kind).takes_text


def _line(r: Row, lw: int, width: int, brackets: bool = True) -> Text:
    line = Text(r.label.ljust(lw) + " ", style="bold" if r.label.startswith(("h_", "=")) else "")
    room = width - lw - 1
    if isinstance(r.value, Text):
        line.append_text(r.value)
    elif callable(r.value):
        line.append_text(r.value(room))
    else:
        line.append_text(vec_text(r.value, room, brackets=brackets))
    return line


def _wrapped(r: Row, lw: int, width: int, n: int) -> list[Text]:
    """A vector row over ``n`` lines, the label on the first."""
    out = []
    for i, part in enumerate(fmt_vec_lines(r.value, width - lw - 1, n)):
        label = r.label if i == 0 else ""
        line = Text(label.ljust(lw) + " ", style="bold" if label.startswith(("h_", "=")) else "")
        line.append_text(colour_numbers(part))
        out.append(line)
    return out


def _sign_style(s: str) -> str:
    if "overflow" in s or s == "nan":
        return "bold red"
    return "cyan" if s.startswith("+") else "red" if s.startswith("-") else ""


#: The pane this module adds (rnntui.widgets.PANES names the module).
PANE = StepPane
