"""The Sequence pane: the inputs as tokens, values or bits, the cursor at t, the phase and epoch."""

from __future__ import annotations

from functools import lru_cache

from rich.cells import cell_len
from rich.text import Text

from engine.kinds import get_kind
from rnntui.view import BACKWARD

from ._draw import token, CURSOR, DIM, Line, TARGET, WARN, block, first_fitting, join, window
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

    ID = "sequence"
    PLACE = "top"
    #: What the pane shows, in the help screen's words.
    HELP = ("The inputs, one per time step t (counted from 0), with the step you are at "
            "in [brackets]. At 80x24 it is one line; on taller terminals (36 rows and up) "
            "each input has its target under it (· where a step has none) and the line "
            "under the steps names the input and target at t.")
    TITLE = "Sequence"
    #: The sequence needs no trace: show it even while a new trace is being computed.
    NEEDS_TRACE = False
    LEGEND = ('[tok] the step t · ▶ forward, ◀ backward pass · ◀ at the start: the pass runs '
              'backward · ␣ a space, ⏎ a newline token')
    READS = ("sequence", "t", "phase", "epoch", "history", "scenario", "training", "origin",
             "typed", "example", "trace")
    SEQ2SEQ = True

    def draw(self, view, width: int, height: int):
        s = view
        T = len(s.sequence)
        if getattr(s.sequence, "source", None) is not None:  # an encoder-decoder's pair
            return block(self._pair(s, width, height), width, height)
        if T == 0:
            return block([self._header(s, width), Text("(empty sequence)", style=DIM)], width, height)
        if height <= 1:  # one row: the steps themselves, after the pass direction
            arrow = "◀" if s.phase == BACKWARD else "▶"
            row = token_rows(self._shown(s.sequence)[0], s.sequence.mask, s.t, width - 1, 1)[0]
            return block([join((arrow, "bold"), row)], width, height)
        lines: list[Text] = [self._header(s, width)]
        info = self._info(s, width) if height >= 4 else None
        rows = max(height - 1 - (info is not None), 1)
        labels, targets = self._shown(s.sequence)
        lines.extend(token_rows(labels, s.sequence.mask, s.t, width, rows, targets))
        lines = lines[: height - (info is not None)]
        if info is not None:
            while len(lines) < height - 1:
                lines.append(Text(""))
            lines.append(info)
        return block(lines, width, height)

    _shown_of: tuple | None = None

    def _shown(self, sequence) -> tuple[list[str], list[str]]:
        """The sequence's labels and targets as the screen writes them (see _draw.token),
        made once per sequence."""
        if self._shown_of is None or self._shown_of[0] is not sequence:
            labels = [token(x) for x in sequence.labels]
            targets = [token(y) if y is not None else "·" for y in sequence.target_labels]
            self._shown_of = (sequence, labels, targets)
        return self._shown_of[1], self._shown_of[2]

    # -- pieces --------------------------------------------------------------------------------
    def _header(self, s, width: int) -> Text:
        T, t = len(s.sequence), s.t
        back = s.phase == BACKWARD
        name, arrow = ("backward pass", "◀") if back else ("forward pass", "▶")
        E = s.trained_epochs
        busy = s.training is not None  # the first training: untrained only for now
        epoch = f"epoch {s.epoch}/{E}" if E else ("epoch 0 (training…)" if busy
                                                   else "epoch 0 (untrained)")
        short_epoch = f"ep {s.epoch}/{E}" if E else ("training…" if busy else "untrained")
        k = T - t if back else t + 1  # how many steps of this pass are done, this one included
        done = f"{k} of {T} steps walked back" if back else f"{k} of {T} steps read"
        style = "bold magenta" if back else "bold"
        span = f"(steps 0–{T - 1})"
        options = [
            join((f"{name} {arrow}", style), f" t={t} {span}, {done} · {epoch}"),
            join((f"{name} {arrow}", style), f" t={t} {span} · {epoch}"),
            join((f"{name.split()[0]} {arrow}", style), f" t={t} (0–{T - 1}) · {short_epoch}"),
            join((f"{arrow}", style), f" t={t} (0–{T - 1}) {short_epoch}"),
            join((f"{arrow}", style), f" t={t}"),
        ]
        from rnntui.sequences import sequence_title
        long, short = sequence_title(s), sequence_title(s, short=True)
        if long is not None:  # a text file's window, or what the network wrote: which, first
            options = ([join((long, "bold"), " · ", options[0]), join((long, "bold"), " · ", options[1])]
                       + [join((short, "bold"), " · ", o) for o in options[1:4]]
                       + [join((short, "bold"), " ", options[4]), options[4]])
        return first_fitting(options, width)

    def _pair(self, s, width: int, height: int) -> list[Text]:
        """A source -> target pair: the source (the encoder's steps), the target (the
        decoder's, teacher-forced) with the cursor on one of them, and the greedy decode, its
        first token that departs from the target marked."""
        seq, t = s.sequence, s.t
        S = seq.source_len
        src = [token(x) for x in seq.source]
        tgt = [token(y) for y in seq.target_labels[S:]]
        lines = []
        if height >= 4:
            lines.append(self._header(s, width))
        back = s.phase == BACKWARD
        arrow = "◀" if back else "▶"

        def row(name: str, words: list[str], at: int | None, mark: int | None = None,
                tail: str = "") -> Text:
            line = join((f"{name:<8}", "bold"))
            room, used = width - 8 - len(tail) - 2, 0
            for k, w in enumerate(words):
                used += len(w) + 2
                if used > room and k > max(at or 0, mark or 0):  # the tail says what matters
                    line.append(" …")
                    break
                style = CURSOR if k == at else (WARN if k == mark else "")
                line.append(f"[{w}]" if k == at else f" {w} ", style=style)
            if tail:
                line.append(tail, style=DIM)
            return line

        enc_at = t if t < S else None
        dec_at = t - S if t >= S else None
        lines.append(row(f"source{arrow if enc_at is not None else ' '}", src, enc_at))
        lines.append(row(f"target{arrow if dec_at is not None else ' '}", tgt, dec_at))
        tr = s.trace
        if getattr(tr, "seq2seq", False) and tr.sequence is seq:
            got = [token(x) for x in tr.decoded.tokens] + (["</s>"] if tr.decoded.ended else [])
            off = tr.departs()
            tail = ("  = the target" if off is None else f"  departs at output {off}"
                    if width >= 56 else f"  departs at {off}")  # (a compare column is narrow)
            lines.append(row("greedy", got, None, off, tail))
        else:
            lines.append(Text("greedy  …", style=DIM))
        return lines

    def _info(self, s, width: int) -> Text:
        t = s.t
        x = token(s.label(t))
        y = s.target_label(t)
        y = None if y is None else token(y)
        kind = s.scenario.kind
        if y is None:
            why = get_kind(kind).no_target_because
            return first_fitting([join("x_t = ", (x, "bold"), ("  no target here", DIM),
                                       (f" ({why})", DIM)),
                                  join("x_t = ", (x, "bold"), ("  no target", DIM))], width)
        extra = ""
        if kind == "echo":
            d = int(s.scenario.data.get("delay", 0) or 0)
            extra = f" (the bit from t={t - d})" if d else ""
        from rnntui.sequences import carried_note
        note = carried_note(s)
        plain = [join("x_t = ", (x, "bold"), "  → target ", (y, TARGET), extra),
                 join("x_t = ", (x, "bold"), " → ", (y, TARGET))]
        if note is not None:  # a text file's window: what its first step starts from
            plain = [join(plain[0], ("  · this window " + note, DIM)), *plain]
        return first_fitting(plain, width)


@lru_cache(maxsize=16)
def _packed_layout(widths: tuple[int, ...], width: int) -> tuple[int, ...]:
    """Row starts when every step takes its own cell width (short sequences only)."""
    starts = [0]
    used = 0
    for i, w in enumerate(widths):
        w += 2
        if used and used + w > width:
            starts.append(i)
            used = 0
        used += w
    return tuple(starts)


def _cell_width(labels: list[str], targets: list[str] | None) -> int:
    # Long sequences (series values, bits) have labels of one length; sample to stay O(1).
    n = len(labels)
    step = max(1, n // 512)
    w = max(cell_len(labels[i]) for i in range(0, n, step))
    if targets is not None:
        w = max(w, max(cell_len(targets[i]) for i in range(0, n, step)))
    return min(w, MAX_LABEL)


def token_rows(labels: list[str], mask, t: int, width: int, rows: int,
               targets: list[str] | None = None) -> list[Text]:
    """The rows of step cells that show ``t``, at most ``rows`` of them, each within ``width``.

    Under each row of cells, when there is room: a row with each step's target (``targets``,
    ``·`` where a step has none), and, with room for more, a row of step indices."""
    n = len(labels)
    plan = []
    if targets is not None:
        plan.append(("target", "index"))
        plan.append(("target",))
    plan += [("index",), ()]
    for under in plan:
        use = targets if "target" in under else None
        if n <= PACKED_LIMIT:
            widths = tuple(min(max(cell_len(l), cell_len(g) if use else 0), MAX_LABEL)
                           for l, g in zip(labels, use or labels))
            starts = list(_packed_layout(widths, width))
            total = len(starts)
            ends = starts[1:] + [n]
            per = cw = 0
        else:
            cw = _cell_width(labels, use)
            widths = None
            per = max(1, width // (cw + 2))
            total = -(-n // per)
            starts = ends = None
        k = 1 + len(under)
        if rows >= k * total or (total > rows and rows >= 3 * k) or not under:
            break
    shown = max(rows // k, 1)
    if starts is None:
        row_t = t // per
        a, b = window(row_t, total, shown)
        spans = [(r * per, min((r + 1) * per, n)) for r in range(a, b)]
    else:
        row_t = next(r for r in range(total - 1, -1, -1) if starts[r] <= t)
        a, b = window(row_t, total, shown)
        spans = [(starts[r], ends[r]) for r in range(a, b)]

    def width_of(i: int) -> int:
        return widths[i] if widths is not None else cw

    out: list[Text] = []
    for lo, hi in spans:
        out.append(_row(labels, mask, t, lo, hi, width, width_of))
        if "target" in under:
            out.append(_under_row(targets, mask, t, lo, hi, width, width_of))
        if "index" in under:
            out.append(_index_row(t, lo, hi, width, width_of))
    return out


def _cut(lab: str, w: int) -> str:
    """A label in ``w`` cells: whole, else cut with ``…`` (labels are words, not numbers: a
    series value is never longer than its cell)."""
    return lab if cell_len(lab) <= w else lab[: max(w - 1, 0)] + "…"


def _index_row(t: int, a: int, b: int, width: int, width_of) -> Text:
    """Step numbers under their cells, skipping any that would touch the previous one."""
    out = Line()
    col = 0
    free = 0  # first column a new number may start at
    for i in range(a, b):
        w = width_of(i) + 2
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


def _under_row(targets: list[str], mask, t: int, a: int, b: int, width: int,
               width_of) -> Text:
    """Each step's target under its cell (``·`` where it has none), the cursor's in bold."""
    out = Line()
    used = 0
    for i in range(a, b):
        w = width_of(i)
        if used + w + 2 > width:
            break
        lab = _cut(targets[i], w) if bool(mask[i]) else "·"
        style = f"bold {TARGET}" if i == t else (TARGET if bool(mask[i]) else DIM)
        out.add(" " + lab.ljust(w) + " ", style)
        used += w + 2
    return out.text()


def _row(labels: list[str], mask, t: int, a: int, b: int, width: int, width_of) -> Text:
    out = Line()
    used = 0
    for i in range(a, b):
        w = width_of(i)
        if used + w + 2 > width and used:
            break
        lab = _cut(labels[i], w).ljust(w)
        if i == t:
            out.add("[", "bold").add(lab, CURSOR + " bold").add("]", "bold")
        else:
            out.add(" " + lab + " ", "" if bool(mask[i]) else DIM)
        used += w + 2
    return out.text()


#: The pane this module adds (rnntui.widgets.PANES names the module).
PANE = SequencePane
