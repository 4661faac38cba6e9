"""The Hidden state pane: h_t as signed bars, one row per unit, each with its history as a strip."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from engine.cells import get_cell

from ._draw import (quoted, DIM, Line, NEG, POS, TARGET, block, first_fitting, fmt, fmt_abs, join, safe_norm,
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

    ID = "hidden"
    #: What the pane shows, in the help screen's words.
    HELP = ("The hidden state h_t, the network's memory, one row per unit: its value, a "
            "bar (+ to the right of the axis │, - to the left) and its history up to t "
            "(+ as █▒░, - as ●•·, big to small). 6/12 means 6 of 12 units are shown: those "
            "with the largest |h| anywhere in the sequence, the same set at every t. "
            "Maximised (m), it also draws h's path on its two main directions (PCA).")
    TITLE = "Hidden state h_t"
    SHORT_TITLE = "Hidden h_t"
    LEGEND = ('one row per unit: its value, a bar (+ right of │, − left) and its history up to t: '
              '+█▒░ positive, big to small; −●•· negative, big to small · h_3 4/12: at t = 3, 4 of '
              '12 units shown')
    LEGEND_LINE = '+█▒░ −●•·: sign, big to small'
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
                # max |h| per unit, as nan_to_num(|h|, nan=inf).max(axis=0) gives it (a NaN
                # anywhere: inf, an inf: the largest float) without a T x H temporary
                if len(tr):
                    h = np.asarray(tr.h)
                    peak = np.maximum(h.max(axis=0), -h.min(axis=0))
                    big = peak == np.inf
                    peak[np.isnan(peak)] = np.inf
                    peak[big] = np.finfo(np.float64).max
                else:
                    peak = np.zeros(tr.h.shape[1])
            self._busiest_of = (tr, np.argsort(-peak, kind="stable"))
        return np.sort(self._busiest_of[1][:n])

    def draw(self, view, width: int, height: int):
        """The bars and history; beside them, when the pane is wide (maximised), the path of
        h through time projected on its two main directions. A bidirectional model's two
        states one above the other: h→ (read from the start) and h← (read from the end)."""
        if view.trace.bidirectional:
            top = max((height + 1) // 2, 1)
            # one value column for both, so that their bars' axes line up
            vw = max(len(fmt(x)) for tr in (view.trace, view.trace.back) for x in tr.h[view.t])
            up = self._bars(Facing(view, view.trace), width, top, name="h→", vw=vw)
            down = self._bars(Facing(view, view.trace.back), width, height - top, name="h←",
                              ahead=True, vw=vw) if height > top else None
            lines = _padded(up, width, top) + (_padded(down, width, height - top) if down
                                               else [])
            return block(lines, width, height)
        if width >= PATH_MIN[0] and height >= PATH_MIN[1] and len(view.trace) >= 3:
            right = max(min(width // 2, 60), 24)
            bars = self._bars(view, width - right - 2, height)
            path = self._path(view, right, height)
            lines = [join(a, "  ", b) if b is not None else a
                     for a, b in zip(_padded(bars, width - right - 2, height), path)]
            return block(lines, width, height)
        return self._bars(view, width, height)

    _pca_of: tuple | None = None

    def _pca(self, tr):
        """The two main directions of h over the trace (principal components of the centred
        states), the states projected on them, and the share of variance they hold."""
        if self._pca_of is None or self._pca_of[0] is not tr:
            self._pca_of = (tr, principal_path(tr.h))
        return self._pca_of[1]

    def _path(self, view, width: int, height: int) -> list[Text]:
        tr, t = view.trace, view.t
        pc = self._pca(tr)
        head = first_fitting([
            join(("h_0…h_t on its 2 main directions", "bold"),
                 (f" (PCA, {100 * pc.share:.1f}% of the variance)", DIM)),
            join(("h on its 2 main directions", "bold"), (f" ({100 * pc.share:.1f}%)", DIM)),
            join(("h in 2-D (PCA)", "bold"))], width)
        if pc.xy is None:
            return [head, Text("h does not move: nothing to project", style=DIM)]
        rows = height - 2
        grid = braille_path(pc.xy[: t + 1], width, rows, pc.lims, pc.xy[t])
        out = [head]
        out += [join((line[:at], POS), (line[at:at + 1], f"bold {TARGET}"), (line[at + 1:], POS))
                if at >= 0 else Text(line, style=POS) for line, at in grid]
        out.append(Text("● = h_t; the dots are the states before it", style=DIM))
        return out

    def _bars(self, view, width: int, height: int, name: str = "h", ahead: bool = False,
              vw: int = 0):
        """``name``: what the state is called; ``ahead``: the history strip runs from t to the
        end (a backward direction's, which reads the sequence from its end); ``vw``: the
        value column at least this wide (the two directions' share one)."""
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
        bold = (f"{name}_{t}", "bold")
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
        vw = max(max((len(v) for v in values), default=7), vw)
        rest = width - nw - 1 - vw - 1
        if rest >= 20:
            bar_total = min(rest // 2, 31)
        elif rest >= 9:
            bar_total = max(5, int(rest * 0.5))
        else:
            bar_total = max(rest, 0)
        half = max((bar_total - 1) // 2, 0)
        bar_w = 2 * half + 1 if bar_total >= 3 else 0
        gates = get_cell(tr.cell).shown_gates
        cells = {}  # the gated part of each row: the gates as levels, c_t
        gate_w = 0
        if gates:
            cvals = [fmt(tr.c[t][u]) for u in units] if tr.c is not None else []
            cw_ = max((len(v) for v in cvals), default=0)
            gate_w = 3 * len(gates) + (cw_ + 3 if cvals else 0)
            if width - nw - 1 - vw - 1 - gate_w < 3:  # no room for c_t: the gates alone
                cvals, gate_w = [], 3 * len(gates)
            bar_total_max = width - nw - 1 - vw - 1 - gate_w - 1
            if bar_w > bar_total_max:
                half = max((bar_total_max - 1) // 2, 0)
                bar_w = 2 * half + 1 if bar_total_max >= 3 else 0
            for k, u in enumerate(units):
                parts = []
                if cvals:
                    parts.append((" c ", DIM))
                    parts.append((cvals[k].rjust(cw_), _style(tr.c[t][u])))
                for g in gates:
                    parts.append((f" {g}", DIM))
                    parts.append((gate_glyph(tr.gates[g][t][u]), POS))
                cells[u] = parts
        strip = width - nw - 1 - vw - 1 - bar_w - gate_w - 1
        strip = strip if strip >= 3 else 0
        runs: list = []
        start, cw = t, 1
        if strip:
            cw = 2 if strip >= 2 * len(s.sequence) else 1
            start = max(0, t - strip // cw + 1)
            seen = tr.h[t: t + strip // cw] if ahead else tr.h[start: t + 1]
            runs = glyph_rows(seen[:, units], scale)
            if cw > 1:
                runs = [[("".join(c * cw for c in chars), st) for chars, st in r] for r in runs]
        for k, u in enumerate(units):
            line = Line(f"h{u}".rjust(nw), DIM).add(" ").add(values[k].rjust(vw), _style(h[u]))
            line.add(" ")
            if bar_w:
                for chars, style in signed_bar_parts(h[u], scale, half):
                    line.add(chars, style)
            for chars, style in cells.get(u, ()):
                line.add(chars, style)
            if strip:
                line.add(" ")
                for chars, style in runs[k]:
                    line.add(chars, style)
            lines.append(line.text())
        if gates and len(lines) < height:
            lines.append(saturation_line(tr, t, gates, width))
        if axis_row and strip and not ahead and len(lines) < height:
            pad = nw + 1 + vw + 1 + bar_w + gate_w + 1
            span = (t - start + 1) * cw
            left, right = f"t={start}", f"t={t}┘"
            axis = left + " " * max(span - len(left) - len(right), 1) + right
            axis = axis if span >= len(left) + len(right) + 1 else right.rjust(span)
            if pad + len(axis) <= width:
                lines.append(join(" " * pad, (axis, DIM)))
        return block(lines, width, height)


class Facing:
    """A view whose trace is one direction of a bidirectional model's (``trace.back`` for the
    backward one); everything else is the view's."""

    def __init__(self, view, trace) -> None:
        self._view, self.trace = view, trace

    def __getattr__(self, name: str):
        return getattr(self._view, name)


#: A gate is saturated below LOW or above HIGH: (nearly) shut or (nearly) open.
LOW, HIGH = 0.1, 0.9


def gate_glyph(g: float) -> str:
    """A gate value in [0, 1] as a bar from the bottom of its cell (▁ shut ... █ open), ?
    for NaN; 0 is a blank-free ▁ so a shut gate still shows."""
    if not np.isfinite(g):
        return "?"
    return "▁▂▃▄▅▆▇█"[min(int(g * 8), 7)]


def saturation_line(tr, t: int, gates, width: int) -> Text:
    """The share of units whose gate is shut (< 0.1) or open (> 0.9) at t, per gate."""
    parts = []
    for g in gates:
        v = tr.gates[g][t]
        with np.errstate(invalid="ignore"):
            share = float(np.mean((v < LOW) | (v > HIGH))) if len(v) else 0.0
        parts.append(f"{g} {100 * share:.0f}%")
    names = {"f": "f keep", "i": "i write", "o": "o reveal", "r": "r reset", "z": "z keep"}
    legend = "  ".join(names[g] for g in gates)
    return first_fitting([
        join(("saturated (<0.1 or >0.9): ", DIM), "  ".join(parts), (f"   gates: {legend}", DIM)),
        join(("saturated: ", DIM), "  ".join(parts)),
        join(("sat ", DIM), " ".join(parts)),
        join(" ".join(parts))], width)


#: The 2-D path of h is drawn beside the bars from this size (a maximised pane) up.
PATH_MIN = (90, 14)


def _padded(text, width: int, height: int) -> list[Text]:
    lines = list(text.lines) if hasattr(text, "lines") else text.split("\n")
    lines = [ln if ln.cell_len >= width else join(ln, " " * (width - ln.cell_len))
             for ln in lines]
    return lines + [Text(" " * width)] * (height - len(lines))


class Projection:
    """States projected on their two main directions: ``xy`` (T, 2) or None when h never
    moves; ``lims`` the axes' ranges; ``share`` the variance the two directions hold."""

    def __init__(self, xy, lims, share: float) -> None:
        self.xy, self.lims, self.share = xy, lims, share


def principal_path(h: np.ndarray) -> Projection:
    """h over time on its first two principal components (an SVD of the centred states)."""
    with np.errstate(all="ignore"):
        ok = np.isfinite(h).all(axis=1)
        if ok.sum() < 2:
            return Projection(None, None, 0.0)
        centred = h - h[ok].mean(axis=0)
        _, sv, vt = np.linalg.svd(centred[ok], full_matrices=False)
        total = float((sv ** 2).sum())
        if not total > 0:
            return Projection(None, None, 0.0)
        k = min(2, len(sv))
        xy = np.zeros((len(h), 2))
        xy[:, :k] = centred @ vt[:k].T
        xy[~ok] = np.nan
        share = float((sv[:k] ** 2).sum() / total)
        lo, hi = np.nanmin(xy, axis=0), np.nanmax(xy, axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        lims = (lo - 0.05 * span, hi + 0.05 * span)
    return Projection(xy, lims, share)


_BRAILLE = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def braille_path(xy: np.ndarray, width: int, rows: int, lims, now) -> list[tuple[str, int]]:
    """Points ``xy`` as braille dots in ``width`` x ``rows`` cells (2 x 4 dots a cell), with
    ``now`` drawn as ``●``; per row the line and the column of ``●`` (or -1)."""
    (x0, y0), (x1, y1) = lims
    cells = np.zeros((rows, width), dtype=np.int64)
    with np.errstate(all="ignore"):
        px = np.floor((xy[:, 0] - x0) / (x1 - x0) * (2 * width - 1e-9))
        py = np.floor((y1 - xy[:, 1]) / (y1 - y0) * (4 * rows - 1e-9))
    ok = np.isfinite(px) & np.isfinite(py)
    px, py = px[ok].astype(int).clip(0, 2 * width - 1), py[ok].astype(int).clip(0, 4 * rows - 1)
    for x, y in zip(px, py):
        cells[y // 4, x // 2] |= _BRAILLE[y % 4][x % 2]
    nx = ny = -1
    if np.isfinite(now).all():
        nx = int(np.clip((now[0] - x0) / (x1 - x0) * (2 * width - 1e-9), 0, 2 * width - 1)) // 2
        ny = int(np.clip((y1 - now[1]) / (y1 - y0) * (4 * rows - 1e-9), 0, 4 * rows - 1)) // 4
    out = []
    for r in range(rows):
        line = "".join(chr(0x2800 + c) if c else " " for c in cells[r])
        if r == ny:
            line = line[:nx] + "●" + line[nx + 1:]
        out.append((line, nx if r == ny else -1))
    return out


def _style(x: float) -> str:
    if not np.isfinite(x):
        return "bold red"
    return POS if x > 0 else NEG if x < 0 else ""


#: The pane this module adds (rnntui.widgets.PANES names the module).
PANE = HiddenPane
