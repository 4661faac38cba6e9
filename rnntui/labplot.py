"""The lab screen's chart: the metric against the swept parameter, as lines of Rich Text.

One column group a swept value; in it one column a line: a cell, or in an encoder-decoder lab a
(cell, attention) pair (lab.line_ids()). A cell's letter (R, L, G, I: the first letter of its
title; N, A, D for no, additive and dot attention) stands at the median over its finished seeds, a bar ``│`` spans
its seeds from the lowest to the highest, dots ``·`` join its medians from value to value, the
dashed row ``╌`` is the memoryless baseline, ``◆`` (reversed) the selected run and ``↑`` a
value above the top of the chart. Pure functions of the lab and its records: tested without
a screen.
"""

from __future__ import annotations

import math
import statistics

from rich.text import Text

from engine.cells import get_cell

__all__ = ["COLOURS", "chart", "legend", "letter", "summary"]

#: Each cell's colour, by its place in the lab's list (ANSI names: the theme's own colours).
COLOURS = ("cyan", "magenta", "yellow", "green", "blue", "red")
BASELINE, SPREAD, JOIN, SELECTED, ABOVE = "╌", "│", "·", "◆", "↑"
#: The chart's top is at most this many baselines (higher values stand at the top with ↑).
TOP_BASELINES = 2.0


def letter(cell: str) -> str:
    return get_cell(cell).title[0]


#: An encoder-decoder line's letter, by its attention.
ATTENTION_LETTERS = {"none": "N", "additive": "A", "dot": "D"}


def mark(lab, line: str) -> str:
    """The letter a line's medians are drawn with."""
    cell, attention = lab.split_line(line)
    return letter(cell) if attention is None else ATTENTION_LETTERS[attention]


def title(lab, line: str) -> str:
    """A line in words: ``GRU``, ``GRU, no attention``, ``GRU, additive attention``."""
    cell, attention = lab.split_line(line)
    name = get_cell(cell).title
    if attention is None:
        return name
    return f"{name}, no attention" if attention == "none" else f"{name}, {attention} attention"


def colour(lab, line: str) -> str:
    return COLOURS[lab.line_ids().index(line) % len(COLOURS)]


def summary(lab, records: dict) -> dict:
    """(value, line) -> (median, lowest, highest, seeds finished) over the finished seeds whose
    metric is a number; ``records`` maps (value, line, seed) (``lab.key``) to a record."""
    out = {}
    for v in lab.values:
        for c in lab.line_ids():
            got = [records[(v, c, s)]["metric"] for s in lab.seeds if (v, c, s) in records]
            got = [g for g in got if g is not None and math.isfinite(g)]
            if got:
                out[(v, c)] = (statistics.median(got), min(got), max(got), len(got))
    return out


def _baseline(lab, records: dict) -> float | None:
    for r in records.values():
        return float(r["baseline"])
    return None


def _fmt(y: float) -> str:
    return f"{y:.3g}" if y < 100 else f"{y:.0f}"


def chart(lab, records: dict, width: int, height: int,
          selected: tuple | None = None) -> list[Text]:
    """The chart in ``height`` lines of ``width`` cells: the plot, its x axis and the values."""
    width, height = max(width, 20), max(height, 5)
    stats = summary(lab, records)
    base = _baseline(lab, records)
    highs = [s[2] for s in stats.values()]
    ref = base if base else (max(highs) if highs else 1.0)
    top = max([ref * 1.15] + [h for h in highs if h <= ref * TOP_BASELINES])
    if any(h > top for h in highs):
        top = max(top, ref * TOP_BASELINES)
    top = top or 1.0
    rows = height - 2
    labels = [_fmt(y) for y in (top, base or 0.0, 0.0)]
    lw = max(len(s) for s in labels)
    x0, x1 = lw + 2, width - 2  # plot columns [x0, x1)
    grid = [[" "] * width for _ in range(rows)]
    style = [[""] * width for _ in range(rows)]

    def row_of(y: float) -> int:
        return min(rows - 1, max(0, round((1 - y / top) * (rows - 1))))

    def put(r: int, x: int, ch: str, st: str, over: bool = True) -> None:
        if 0 <= r < rows and x0 <= x < x1 and (over or grid[r][x] == " "):
            grid[r][x], style[r][x] = ch, st

    lines_ = lab.line_ids()
    nc, nv = len(lines_), len(lab.values)
    group = 2 * nc - 1
    span = x1 - x0 - group - 1
    centres = [x0 + 1 + group // 2 + (round(i * span / (nv - 1)) if nv > 1 else span // 2)
               for i in range(nv)]

    def column(i: int, c: str) -> int:
        return centres[i] - (nc - 1) + 2 * lines_.index(c)

    if base is not None:  # the baseline first: everything else stands over it
        rb = row_of(base)
        for x in range(x0, x1):
            put(rb, x, BASELINE, "dim")
    for c in lines_:  # the dots joining each cell's medians
        pts = [(column(i, c), row_of(stats[(v, c)][0])) for i, v in enumerate(lab.values)
               if (v, c) in stats]
        for (xa, ra), (xb, rb_) in zip(pts, pts[1:]):
            for x in range(xa + 1, xb):
                r = round(ra + (rb_ - ra) * (x - xa) / (xb - xa))
                put(r, x, JOIN, colour(lab, c), over=grid[r][x] == BASELINE)
    for i, v in enumerate(lab.values):
        for c in lines_:
            if (v, c) not in stats:
                continue
            med, lo, hi, _ = stats[(v, c)]
            x, col = column(i, c), colour(lab, c)
            for r in range(row_of(min(hi, top)), row_of(lo) + 1):
                put(r, x, SPREAD, col)
            put(row_of(min(med, top)), x, ABOVE if med > top else mark(lab, c), f"bold {col}")
            if hi > top and med <= top:
                put(0, x, ABOVE, col)
    if selected is not None and selected in records:
        v, c, s = selected
        m = records[selected]["metric"]
        if v in lab.values and c in lines_ and m is not None and math.isfinite(m):
            put(row_of(min(m, top)), column(lab.values.index(v), c), SELECTED,
                f"reverse bold {colour(lab, c)}")

    ticks = {row_of(top): labels[0], rows - 1: labels[2]}
    if base is not None:
        ticks[row_of(base)] = labels[1]
    lines = []
    for r in range(rows):
        line = Text(f"{ticks.get(r, ''):>{lw}} ", style="dim")
        line.append("┤" if r in ticks else "│", style="dim")
        for x in range(x0, x1):
            line.append(grid[r][x], style=style[r][x] or None)
        lines.append(line)
    axis = [" "] * (x1 - x0)
    for x in centres:
        axis[x - x0] = "┬"
    lines.append(Text(" " * (lw + 1) + "└" + "".join("─" if a == " " else a for a in axis),
                      style="dim"))
    under = [" "] * width
    for x, v in zip(centres, lab.values):
        text = str(v)
        start = max(x0, min(x - len(text) // 2, width - len(text)))
        if all(ch == " " for ch in under[max(0, start - 1):start + len(text) + 1]):
            under[start:start + len(text)] = list(text)
    name = lab.parameter
    used = max((i for i, ch in enumerate(under) if ch != " "), default=0)
    if used + 2 + len(name) <= width:
        under[width - len(name):] = list(name)
    lines.append(Text("".join(under)[:width]))
    return lines


def legend(lab, width: int, above: bool = False) -> list[Text]:
    """What every glyph of the chart means, in as few lines of ``width`` as it takes."""
    parts: list[Text] = []
    for c in lab.line_ids():
        parts.append(Text.assemble((mark(lab, c), f"bold {colour(lab, c)}"),
                                   f" {title(lab, c)}"))
    words = [("median of the seeds", ""), (f"{SPREAD} their range", ""),
             (f"{JOIN} joins medians", ""), (f"{BASELINE} baseline", "dim"),
             (f"{SELECTED} selected run", "")]
    if above:
        words.append((f"{ABOVE} above the chart", ""))
    parts[-1].append(":")
    parts += [Text(w, style=s or None) for w, s in words]
    lines, line = [], Text()
    for part in parts:
        gap = 2 if line.cell_len else 0
        if line.cell_len and line.cell_len + gap + part.cell_len > width:
            lines.append(line)
            line, gap = Text(), 0
        line.append(" " * gap)
        line.append_text(part)
    if line.cell_len:
        lines.append(line)
    return lines
