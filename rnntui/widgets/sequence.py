"""The Sequence pane: the inputs as tokens, values or bits, the cursor at t, the phase and epoch."""

from __future__ import annotations

from functools import lru_cache

from rich.cells import cell_len
from rich.text import Text

from rnntui.view import BACKWARD

from ._draw import CURSOR, DIM, Line, TARGET, block, first_fitting, join, window
from .base import Pane

#: Longest label shown; longer ones are cut with "…".
MAX_LABEL = 14
#: Up to this many steps the layout packs labels of any length; longer sequences use equal cells.
PACKED_LIMIT = 4000


class SequencePane(Pane):
    """The sequence with the cursor at t as ``[token]`` in reverse video.

    Each step takes its label plus a space either side; the cursor's spaces become brackets, so the
    layout never shifts as t moves. Steps without a target are dimmed. Rows scroll to keep t near
    the middle; only the visible rows are formatted, so 100,000 steps draw as fast as 10.
    """

    TITLE = "Sequence"
    #: The sequence needs no trace: show it even while a new trace is being computed.
    NEEDS_TRACE = False
    READS = ("sequence", "t", "phase", "epoch", "history", "scenario")

    def draw(self, view, width: int, height: int):
        s = view
        T = len(s.sequence)
        if T == 0:
            return block([self._header(s, width), Text("(empty sequence)", style=DIM)], width, height)
        if height <= 1:  # one row: the steps themselves, after the pass direction
            arrow = "◀" if s.phase == BACKWARD else "▶"
            row = token_rows(s.sequence.labels, s.sequence.mask, s.t, width - 1, 1)[0]
            return block([join((arrow, "bold"), row)], width, height)
        lines: list[Text] = [self._header(s, width)]
        info = self._info(s, width) if height >= 4 else None
        rows = max(height - 1 - (info is not None), 1)
        lines.extend(token_rows(s.sequence.labels, s.sequence.mask, s.t, width, rows))
        lines = lines[: height - (info is not None)]
        if info is not None:
            while len(lines) < height - 1:
                lines.append(Text(""))
            lines.append(info)
        return block(lines, width, height)

    # -- pieces --------------------------------------------------------------------------------
    def _header(self, s, width: int) -> Text:
        T, t = len(s.sequence), s.t
        back = s.phase == BACKWARD
        name, arrow = ("backward pass", "◀") if back else ("forward pass", "▶")
        E = s.trained_epochs
        epoch = f"epoch {s.epoch}/{E}" if E else "epoch 0 (untrained)"
        short_epoch = f"ep {s.epoch}/{E}" if E else "untrained"
        k = T - t if back else t + 1  # how many steps of this pass are done, this one included
        done = f"{k} of {T} done" if back else f"step {k} of {T}"
        style = "bold magenta" if back else "bold"
        options = [
            join((f"{name} {arrow}", style), f" t={t} of {T} ({done}) · {epoch}"),
            join((f"{name} {arrow}", style), f" t={t} of {T} · {epoch}"),
            join((f"{name.split()[0]} {arrow}", style), f" t={t} of {T} · {short_epoch}"),
            join((f"{arrow}", style), f" t={t} of {T} {short_epoch}"),
            join((f"{arrow}", style), f" t={t}"),
        ]
        return first_fitting(options, width)

    def _info(self, s, width: int) -> Text:
        t = s.t
        x = s.label(t)
        y = s.target_label(t)
        kind = s.scenario.kind
        if y is None:
            why = "the last step" if t == len(s.sequence) - 1 and kind == "text" else "no bit yet"
            return first_fitting([join("x_t = ", (x, "bold"), ("  no target here", DIM),
                                       (f" ({why})", DIM)),
                                  join("x_t = ", (x, "bold"), ("  no target", DIM))], width)
        extra = ""
        if kind == "echo":
            d = int(s.scenario.data.get("delay", 0) or 0)
            extra = f" (the bit from t={t - d})" if d else ""
        return first_fitting([join("x_t = ", (x, "bold"), "  → target ", (y, TARGET), extra),
                              join("x_t = ", (x, "bold"), " → ", (y, TARGET))], width)


@lru_cache(maxsize=16)
def _packed_layout(labels: tuple[str, ...], width: int) -> tuple[int, ...]:
    """Row starts when every step takes its own label width (short sequences only)."""
    starts = [0]
    used = 0
    for i, lab in enumerate(labels):
        w = min(cell_len(lab), MAX_LABEL) + 2
        if used and used + w > width:
            starts.append(i)
            used = 0
        used += w
    return tuple(starts)


def _cell_width(labels: list[str]) -> int:
    # Long sequences (series values, bits) have labels of one length; sample to stay O(1).
    n = len(labels)
    step = max(1, n // 512)
    return min(max(cell_len(labels[i]) for i in range(0, n, step)), MAX_LABEL) + 2


def token_rows(labels: list[str], mask, t: int, width: int, rows: int) -> list[Text]:
    """The rows of step cells that show ``t``, at most ``rows`` of them, each within ``width``.

    When there is room for twice the rows needed, each row of cells gets a row of step indices
    under it."""
    n = len(labels)
    if n <= PACKED_LIMIT:
        starts = list(_packed_layout(tuple(labels), width))
        total = len(starts)
        ends = starts[1:] + [n]
    else:
        cw = _cell_width(labels)
        per = max(1, width // cw)
        total = -(-n // per)
        starts = ends = None
    indexed = rows >= 2 * total or (total > rows and rows >= 6)
    shown = rows // 2 if indexed else rows
    if starts is None:
        row_t = t // per
        a, b = window(row_t, total, shown)
        spans = [(r * per, min((r + 1) * per, n)) for r in range(a, b)]
    else:
        row_t = next(r for r in range(total - 1, -1, -1) if starts[r] <= t)
        a, b = window(row_t, total, shown)
        spans = [(starts[r], ends[r]) for r in range(a, b)]
    out: list[Text] = []
    for lo, hi in spans:
        out.append(_row(labels, mask, t, lo, hi, width))
        if indexed:
            out.append(_index_row(labels, t, lo, hi, width))
    return out


def _index_row(labels: list[str], t: int, a: int, b: int, width: int) -> Text:
    """Step numbers under their cells, skipping any that would touch the previous one."""
    out = Line()
    col = 0
    free = 0  # first column a new number may start at
    for i in range(a, b):
        w = min(cell_len(labels[i]), MAX_LABEL) + 2
        num = str(i)
        at = col + 1 if len(num) <= w - 2 else col
        if at >= free and at + len(num) <= width:
            out.add(" " * (at - out.n))
            out.add(num, "bold" if i == t else DIM)
            free = at + len(num) + 1
        col += w
        if col >= width:
            break
    return out.text()


def _row(labels: list[str], mask, t: int, a: int, b: int, width: int) -> Text:
    out = Line()
    used = 0
    for i in range(a, b):
        lab = labels[i]
        w = cell_len(lab)
        if w > MAX_LABEL:
            lab = lab[: MAX_LABEL - 1] + "…"
            w = MAX_LABEL
        if i == t:
            out.add("[", "bold").add(lab, CURSOR + " bold").add("]", "bold")
        else:
            out.add(" " + lab + " ", "" if bool(mask[i]) else DIM)
        used += w + 2
        if used >= width:
            break
    return out.text()
