"""plotext line charts as Rich Text, built only when their data or size change (an LRU cache).

plotext (pinned at 5.3, global API) takes ~3-9 ms a frame, so panes ask :func:`frame` with a key
naming what the picture depends on (the data's identity, the size, the cursor) and get the cached
Text back on a plain redraw. Lines are thinned to about two points per column before plotting.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import plotext as plt
from rich.text import Text

from ._draw import thin

CACHE_SIZE = 64
#: plotext scales values with plain floats; beyond this it overflows, so values are clipped.
LIMIT = 1e100
_cache: OrderedDict[object, Text] = OrderedDict()
stats = {"builds": 0, "hits": 0}


def frame(key: object, build: Callable[[], Text]) -> Text:
    """The Text for ``key``, built by ``build()`` on a miss. Keys must be hashable."""
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        stats["hits"] += 1
        return hit
    stats["builds"] += 1
    text = build()
    _cache[key] = text
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return text


def clear_cache() -> None:
    _cache.clear()


@dataclass
class Line:
    """One series: x and y (same length), a named ANSI colour and a plotext marker."""

    x: np.ndarray
    y: np.ndarray
    color: str = "cyan"
    marker: str = "braille"


def line_chart(lines: list[Line], width: int, height: int, *,
               xlim: tuple[float, float] | None = None,
               ylim: tuple[float, float] | None = None, yticks: list[float] | None = None,
               xticks: list[float] | None = None, log_y: bool = False,
               vline: float | None = None, hline: float | None = None,
               xlabels: list[str] | None = None, ylabels: list[str] | None = None,
               bare: bool = False) -> Text:
    """A plotext chart of ``lines`` exactly ``width`` x ``height`` cells, as Rich Text.

    Non-finite points are dropped (plotext cannot place them); each line is thinned to about two
    points per column of the plot area. ``vline``/``hline`` draw a dotted marker line. ``bare``
    drops the frame and ticks, so every row is data (for small panes, which label it themselves).
    """
    width, height = max(int(width), 2), max(int(height), 1)
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.frame(not bare)
    cols = width if bare else max(width - 8, 4)
    if log_y:  # plot log10(y) on a linear axis, with ticks at whole decades labelled plainly
        ylim = (math.log10(ylim[0]), math.log10(ylim[1])) if ylim is not None else None
        if ylim is not None and not bare:
            yticks, ylabels = log_ticks(*ylim)
    for ln in lines:
        x = np.asarray(ln.x, dtype=np.float64)
        y = np.asarray(ln.y, dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        if log_y:
            ok &= y > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.log10(np.where(ok, y, 1.0))
        x, y = x[ok], np.clip(y[ok], -LIMIT, LIMIT)
        if len(x) == 0:
            continue
        idx = thin(y, cols)
        plt.plot(x[idx].tolist(), y[idx].tolist(), color=ln.color, marker=ln.marker)
    if xlim is not None and xlim[0] < xlim[1]:
        plt.xlim(*xlim)
    if ylim is not None and ylim[0] < ylim[1]:
        lo, hi = max(ylim[0], -LIMIT), min(ylim[1], LIMIT)
        plt.ylim(lo, hi if hi > lo else lo + 1)
    if bare:
        plt.xticks([])
        plt.yticks([])
    else:
        if yticks is not None:
            plt.yticks(yticks, ylabels) if ylabels is not None else plt.yticks(yticks)
        if xticks is not None:
            plt.xticks(xticks, xlabels) if xlabels is not None else plt.xticks(xticks)
    if vline is not None and math.isfinite(vline):
        plt.vline(vline, "yellow")
    if hline is not None and math.isfinite(hline):
        plt.hline(hline, "default")
    try:
        raw = plt.build()
    except (ArithmeticError, ValueError):  # plotext cannot scale some extreme inputs
        raw = "(these values cannot be plotted)"
    plt.clf()
    text = Text.from_ansi(raw, no_wrap=True, end="")
    lines_out = text.split("\n")
    out = Text(no_wrap=True, end="")
    for i, ln in enumerate(lines_out[:height]):
        if i:
            out.append("\n")
        ln.truncate(width, overflow="crop")
        out.append_text(ln)
    return out


def log_ticks(llo: float, lhi: float) -> tuple[list[float], list[str]]:
    """Ticks for a log10 axis from ``llo`` to ``lhi``: whole decades, or 1-2-5 steps when the
    range spans fewer than two decades. Returns (log10 positions, plain labels)."""
    values = [10.0 ** k for k in range(math.ceil(llo), math.floor(lhi) + 1)]
    if len(values) < 2:
        values = [m * 10.0 ** k for k in range(math.floor(llo), math.ceil(lhi) + 1)
                  for m in (1, 2, 5) if llo <= math.log10(m * 10.0 ** k) <= lhi]
    return [math.log10(v) for v in values], [f"{v:g}" for v in values]


def nice_ticks(lo: float, hi: float, count: int = 3) -> list[float]:
    """Up to ``count`` round tick values within [lo, hi] (1, 2 or 5 times a power of ten apart)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * 0.75)
    first = math.ceil(lo / step) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9 and len(ticks) < count + 2:
        ticks.append(round(v, 12))
        v += step
    return ticks


def labelled_chart(lines: list[Line], width: int, height: int, *, ylim: tuple[float, float],
                   xlim: tuple[float, float] | None = None, log_y: bool = False,
                   fmt_y: Callable[[float], str] = str, **kw) -> Text:
    """A chart that adapts to its size: a framed plotext chart with ticks when there are at
    least 7 rows and 30 columns, else a bare one with the top and bottom of ``ylim`` written in
    a label column on the left (every row is then data)."""
    if height >= 7 and width >= 30:
        return line_chart(lines, width, height, xlim=xlim, ylim=ylim, log_y=log_y, **kw)
    top, bottom = fmt_y(ylim[1]), fmt_y(ylim[0])
    lw = max(len(top), len(bottom)) + 1
    if width - lw < 6:
        lw = 0
    kw.pop("yticks", None), kw.pop("xticks", None), kw.pop("ylabels", None)
    kw.pop("xlabels", None)
    body = line_chart(lines, width - lw, height, xlim=xlim, ylim=ylim, log_y=log_y, bare=True,
                      **kw)
    if not lw:
        return body
    out = Text(no_wrap=True, end="")
    for i, row in enumerate(body.split("\n")):
        if i:
            out.append("\n")
        label = top if i == 0 else bottom if i == height - 1 else ""
        out.append(label.rjust(lw - 1) + ("┤" if label else "│"), style="dim")
        out.append_text(row)
    return out
