"""The Hidden state pane: h_t as signed bars, one row per unit, each with its history as a strip."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from ._draw import (quoted, DIM, Line, NEG, POS, block, first_fitting, fmt, fmt_abs, join, safe_norm,
                    signed_bar_parts)
from .base import Pane

#: History cells: shade blocks for +, dots for -, by |h| / scale (small to big); blank near 0.
POS_GLYPHS = "░▒█"
NEG_GLYPHS = "·•●"
LEVELS = (0.1, 0.4, 0.75)  # |h|/scale at or above these: level 1, 2, 3
LEGEND = f"+{POS_GLYPHS[::-1]} −{NEG_GLYPHS[::-1]}"


def glyph_rows(hist: np.ndarray, scale: float) -> list[list[tuple[str, str]]]:
    """For a (steps, units) block of h, per unit the runs of (glyphs, style) across the steps.

    Positive values are ``░▒█`` (small to big), negative ``·•●``, |h| < 0.1 scale blank, NaN
    ``?`` and ±inf a full glyph: sign reads from the glyph shape, magnitude from its weight.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        mag = np.abs(hist) / (scale if scale > 0 else 1.0)
        level = np.zeros(hist.shape, dtype=np.intp)
        for cut in LEVELS:
            level += mag >= cut
        sign = np.sign(hist)
    table = np.array([" "] + list(POS_GLYPHS) + list(NEG_GLYPHS) + ["?"])
    code = np.where(level == 0, 0, np.where(sign > 0, level, level + 3))
    code = np.where(np.isnan(hist), 7, code)
    chars = table[code]
    cls = np.select([code == 0, code <= 3, code < 7], [0, 1, 2], 3)
    # A blank cell looks the same in any style: let it join the run before it (fewer spans).
    steps = np.arange(cls.shape[0])[:, None]
    last = np.maximum.accumulate(np.where(cls != 0, steps, 0), axis=0)
    cls = np.take_along_axis(cls, last, axis=0)
    styles = ("", POS, NEG, "bold red")
    out = []
    for u in range(hist.shape[1]):
        c = cls[:, u]
        text = "".join(chars[:, u].tolist())
        edges = [0, *(np.flatnonzero(np.diff(c)) + 1).tolist(), len(c)]
        out.append([(text[a:b], styles[c[a]]) for a, b in zip(edges[:-1], edges[1:])])
    return out


class HiddenPane(Pane):
    """h_t per unit: name, value, a signed bar (left of the axis is negative) and the unit's
    history up to t as a strip of glyphs (see :func:`glyph_rows`); the legend is in the header.
    With more units than rows it shows the units with the largest |h_t|, in unit order."""

    TITLE = "Hidden state h_t"
    SHORT_TITLE = "Hidden h_t"
    READS = ("trace", "t", "sequence")

    _scale_of: tuple[object, float] | None = None

    def _scale(self, tr) -> float:
        """The bar scale: 1 for bounded activations, else the largest finite |h| of the trace
        (kept here for the trace drawn last, not in the trace)."""
        if tr.activation in ("tanh", "sigmoid"):
            return 1.0
        if self._scale_of is None or self._scale_of[0] is not tr:
            with np.errstate(invalid="ignore"):
                finite = np.abs(tr.h[np.isfinite(tr.h)])
            self._scale_of = (tr, float(finite.max()) if finite.size and finite.max() > 0
                              else 1.0)
        return self._scale_of[1]

    _busiest_of: tuple | None = None

    def _busiest(self, tr, n: int) -> np.ndarray:
        """The ``n`` units with the largest |h| anywhere in the sequence, in unit order: one
        set for the whole trace, so the rows do not change as t moves."""
        if self._busiest_of is None or self._busiest_of[0] is not tr:
            with np.errstate(invalid="ignore"):
                peak = np.nan_to_num(np.abs(tr.h), nan=np.inf).max(axis=0) if len(tr) else \
                    np.zeros(tr.h.shape[1])
            self._busiest_of = (tr, np.argsort(-peak, kind="stable"))
        return np.sort(self._busiest_of[1][:n])

    def draw(self, view, width: int, height: int):
        s = view
        tr = s.trace
        t = s.t
        h = tr.h[t]
        H = len(h)
        scale = self._scale(tr)
        rows = max(height - 1, 1)
        axis_row = height - 1 > H and width >= 40  # a time axis under the strips when room
        units = np.arange(H)
        if H > rows:
            units = self._busiest(tr, rows)
        label = quoted(s.label(t))
        norm = fmt_abs(safe_norm(h))
        some = f" ({len(units)} of {H} units: largest |h| over the sequence)" \
            if len(units) < H else ""
        few = f" {len(units)}/{H}" if len(units) < H else ""
        bold = (f"h_{t}", "bold")
        header = first_fitting([
            join(bold, f" after {label}  ‖h‖={norm}{some}  ", ("bars: −│+  history: ", DIM),
                 LEGEND),
            join(bold, f" after {label} ‖h‖={norm}{some} ", (LEGEND, DIM)),
            join(bold, f" {label} ‖h‖={norm}{few} ", (LEGEND, DIM)),
            join(bold, f"{few} ‖h‖={norm} ", (LEGEND, DIM)),
            join(bold, f"{few} ", (LEGEND, DIM)),
            join(bold, few),
        ], width)
        lines: list[Text] = [header]

        nw = len(str(H - 1)) + 1
        values = [fmt(h[u]) for u in units]
        vw = max((len(v) for v in values), default=7)
        rest = width - nw - 1 - vw - 1
        if rest >= 20:
            bar_total = min(rest // 2, 31)
        elif rest >= 9:
            bar_total = max(5, int(rest * 0.5))
        else:
            bar_total = max(rest, 0)
        half = max((bar_total - 1) // 2, 0)
        bar_w = 2 * half + 1 if bar_total >= 3 else 0
        strip = width - nw - 1 - vw - 1 - bar_w - 1
        strip = strip if strip >= 3 else 0
        runs: list = []
        start, cw = t, 1
        if strip:
            cw = 2 if strip >= 2 * len(s.sequence) else 1
            start = max(0, t - strip // cw + 1)
            runs = glyph_rows(tr.h[start: t + 1][:, units], scale)
            if cw > 1:
                runs = [[("".join(c * cw for c in chars), st) for chars, st in r] for r in runs]
        for k, u in enumerate(units):
            line = Line(f"h{u}".rjust(nw), DIM).add(" ").add(values[k].rjust(vw), _style(h[u]))
            line.add(" ")
            if bar_w:
                for chars, style in signed_bar_parts(h[u], scale, half):
                    line.add(chars, style)
            if strip:
                line.add(" ")
                for chars, style in runs[k]:
                    line.add(chars, style)
            lines.append(line.text())
        if axis_row and strip and len(lines) < height:
            pad = nw + 1 + vw + 1 + bar_w + 1
            span = (t - start + 1) * cw
            left, right = f"t={start}", f"t={t}┘"
            axis = left + " " * max(span - len(left) - len(right), 1) + right
            lines.append(join(" " * pad, (axis if span >= len(left) + len(right) + 1
                                          else right.rjust(span), DIM)))
        return block(lines, width, height)


def _style(x: float) -> str:
    if not np.isfinite(x):
        return "bold red"
    return POS if x > 0 else NEG if x < 0 else ""
