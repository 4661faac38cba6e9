"""The Output pane: probabilities with the target marked, prediction vs truth, or predicted bits."""

from __future__ import annotations

import numpy as np
from rich.cells import cell_len
from rich.text import Text

from engine.kinds import get_kind
from engine.predict import held_out_accuracy

from . import _plot
from ._draw import (quoted, token, DIM, POS, TARGET, WARN, block, first_fitting, fmt, fmt_abs, join, num_text,
                    plain_bar, serial, window)
from .base import Pane

ARGMAX = "★"
ROWS = ("t", "input", "predict", "target", "")
TARGET_MARK = "◀ target"


class OutputPane(Pane):
    """What the model outputs at t, by output function.

    softmax: one bar per token (the top ones, always with the target), ``★`` on the argmax and
    ``◀ target`` on the target. identity: prediction (braille line) vs truth (``•``) up to t with
    plotext, and the numbers at t. sigmoid: P(1), the predicted and target bits, and a strip of
    predicted vs target bits around t with ✓/✗.
    """

    ID = "output"
    #: What the pane shows, in the help screen's words.
    HELP = ("The prediction at step t: the probability of each token, ★ on the most "
            "probable and ◀ target on the right answer; or the predicted value beside the "
            "true one; or P(1) (┊ marks 0.5, where the guess turns from 0 to 1), the predicted "
            "and target bits (✓ right, ✗ wrong) and the accuracy on held-out sequences.")
    TITLE = "Output"
    LEGEND = ('★ the most probable word, ◀ the target, bars: probabilities · tgt: the target · '
              'series: ⣿ the prediction, • the truth · echo: P(1), the probability of a 1, '
              '┊ at 0.5 (above it the guess is 1) · ✓ right, ✗ wrong')
    READS = ("trace", "t", "scenario", "sequence")

    def legend_sign(self, view) -> str:
        return {"softmax": "★", "identity": "ŷ"}.get(view.trace.output, "P(1)")

    def legend_line(self, view) -> str:
        return {"softmax": "★ most probable · ◀ target",
                "identity": "ŷ: the prediction at t",
                }.get(view.trace.output, "P(1): the probability of a 1 · ┊ 0.5")

    def draw(self, view, width: int, height: int):
        out = view.trace.output
        if out == "softmax":
            return self._softmax(view, width, height)
        if out == "identity":
            return self._identity(view, width, height)
        return self._bits(view, width, height)

    # -- softmax -------------------------------------------------------------------------------
    def _softmax(self, s, width: int, height: int) -> Text:
        tr, t = s.trace, s.t
        probs = tr.out[t]
        V = len(probs)
        vocab = s.scenario.vocab or [str(i) for i in range(V)]
        has = bool(tr.mask[t])
        tgt = int(np.argmax(tr.targets[t])) if has else -1
        best = int(np.nanargmax(probs)) if np.isfinite(probs).any() else 0
        label = quoted(s.label(t))
        if has:
            pt, L = fmt_abs(probs[tgt]), fmt_abs(tr.step_loss[t])
            right = "✓ right" if best == tgt else "✗ wrong"
            tg = (quoted(vocab[tgt]), TARGET)
            header = first_fitting([
                join(f"t={t} after {label}: target ", tg, f" p={pt}",
                     f"  loss −log p = {L}  {right}  ", (f"{ARGMAX} argmax", DIM)),
                join(f"t={t} after {label}: target ", tg, f" p={pt}", f"  loss {L}  {right}"),
                join("target ", tg, f" p={pt}  loss {L} {right[0]}"),
                join("target ", tg, f" p={pt} {right}"),
                join("target ", tg, f" p={pt}"),
                join("tgt ", tg, f" {pt}"),
                join(tg, f" {pt}"),
                join(tg, f" {fmt_abs(probs[tgt], 2)}"),
                join(tg),
            ], width)
        else:
            header = first_fitting([
                join(f"t={t} after {label}: ", ("no target at this step", DIM)),
                join(f"t={t} ", ("no target here", DIM)),
                join(("no target", DIM)),
            ], width)
        rows = max(height - 1, 1)
        order = np.argsort(-np.nan_to_num(probs, nan=-1.0), kind="stable")
        shown = list(order[:rows])
        if has and tgt not in shown:
            shown[-1] = tgt
        rank = {int(i): r for r, i in enumerate(order[: max(rows, 1)])}
        names = {int(i): token(vocab[i]) for i in shown}
        tw = min(max((cell_len(n) for n in names.values()), default=1), 14)
        wide = width >= 30
        tag = f" {TARGET_MARK}" if wide else " ◀"
        tagw = cell_len(tag) if has else 0
        # Every probability is shown whole: fewer digits, then shorter names, then no bar.
        for digits in (4, 3, 2):
            ps = {int(i): fmt_abs(probs[i], digits) for i in shown}
            pw = max(len(p) for p in ps.values())
            if 2 + min(tw, 4) + 1 + pw + tagw <= width:
                break
        tw = max(min(tw, width - 2 - 1 - pw - tagw), 1)
        bar_w = max(width - 2 - tw - 1 - 1 - pw - tagw, 0)
        lines: list[Text] = [header]
        for i in shown:
            i = int(i)
            name = names[i] if cell_len(names[i]) <= tw else names[i][: tw - 1] + "…"
            is_t = i == tgt
            line = Text(no_wrap=True)
            line.append(ARGMAX if i == best else " ", style="bold")
            line.append(" ")
            line.append(name.ljust(tw), style=f"bold {TARGET}" if is_t else "")
            if bar_w:
                line.append(" ")
                line.append(plain_bar(float(probs[i]), bar_w).ljust(bar_w),
                            style=TARGET if is_t else POS)
            line.append(" " + ps[i].rjust(pw))
            if is_t:
                where = "" if i in rank else f" (#{int(np.flatnonzero(order == i)[0]) + 1})"
                if not wide or line.cell_len + cell_len(tag + where) > width:
                    where = ""
                line.append(tag + where, style=f"bold {TARGET}")
            lines.append(line)
        if V > len(shown) and len(lines) < height:
            lines.append(Text(f"  … {V - len(shown)} more of {V}", style=DIM))
        if len(lines) < height and get_kind(s.scenario.kind).shows_held_out:
            held = self._held_out(s, width, "targets")  # (apple's: one way 4/8, both 8/8)
            if held is not None:
                lines.append(held)
        return block(lines, width, height)

    # -- identity ------------------------------------------------------------------------------
    def _identity(self, s, width: int, height: int) -> Text:
        tr, t = s.trace, s.t
        T = len(tr)
        y, has = float(tr.out[t][0]), bool(tr.mask[t])
        tg = float(tr.targets[t][0])
        nums = [join(f"t={t} ŷ ", num_text(y))]
        if has:
            nums = [join(f"t={t}  prediction ", num_text(y), "  truth ", num_text(tg),
                         "  error ", num_text(y - tg)),
                    join(f"t={t} ŷ ", num_text(y), " truth ", num_text(tg), " err ",
                         num_text(y - tg)),
                    join(f"t={t} ŷ ", num_text(y), " truth ", num_text(tg)),
                    join(f"ŷ ", num_text(y), " truth ", num_text(tg))] + nums
        lines: list[Text] = [first_fitting(nums, width)]
        norm = _normalization(s.scenario)
        if norm is not None and height >= 4:  # a CSV column: the model reads normalised values
            lines.append(_in_file_units(norm, s.scenario.data.get("units") or "value", y,
                                        tg if has else None, width))
        legend = join(("⣿", POS), " prediction  ", ("•", TARGET), " truth",
                      (" (the next value)", DIM))
        plot_h = height - len(lines) - 1
        if plot_h < 2 or width < 12:
            if height >= 2:
                lines.append(fit_legend(legend, width))
            return block(lines, width, height)
        lines.append(fit_legend(legend, width))
        cols = max(width - 8, 8)
        a, b = window(t, T, min(T, 4 * cols), lead=0.95)
        start, stop = a, t + 1
        xs = np.arange(start, stop)
        with np.errstate(invalid="ignore"):
            seen = np.concatenate([tr.targets[a:b, 0], tr.out[a:b, 0]])
        seen = seen[np.isfinite(seen)]
        lo, hi = (float(seen.min()), float(seen.max())) if seen.size else (-1.0, 1.0)
        lo, hi = max(lo, -_plot.LIMIT), min(hi, _plot.LIMIT)
        if hi - lo < 1e-9 * max(abs(lo), abs(hi), 1.0):
            lo, hi = lo - max(abs(lo), 1.0), hi + max(abs(hi), 1.0)
        pad = (hi - lo) * 0.05
        ylim = (lo - pad, hi + pad)
        key = ("identity", serial(tr), t, a, b, width, plot_h)
        chart = _plot.frame(key, lambda: _plot.labelled_chart(
            [_plot.Line(xs, tr.targets[start:stop, 0], TARGET, "dot"),
             _plot.Line(xs, tr.out[start:stop, 0], POS, "braille")],
            width, plot_h, xlim=(a, max(b - 1, a + 1)), ylim=ylim, fmt_y=lambda v: fmt(v, 2),
            xticks=_plot.nice_ticks(a, max(b - 1, a + 1), 4),
            yticks=(yt := _plot.nice_ticks(*ylim, 5)), ylabels=[f"{v:g}" for v in yt]))
        lines.extend(chart.split("\n"))
        return block(lines, width, height)

    # -- sigmoid (bits) ------------------------------------------------------------------------
    def _bits(self, s, width: int, height: int) -> Text:
        tr, t = s.trace, s.t
        T = len(tr)
        p1 = float(tr.out[t][0])
        bit, _ = s.prediction(t)
        has = bool(tr.mask[t])
        if has:
            tb = token(s.target_label(t)) or "?"
            ok = bit == tb
            verdict = ("✓ correct", "bold green") if ok else ("✗ wrong", WARN)
            short = [join(f"P(1)={p}→", (bit, "bold"), " tgt ", (tb, TARGET), " ",
                          (verdict[0][0], verdict[1])) for p in (fmt_abs(p1), fmt_abs(p1, 2))]
            head = first_fitting([
                join(f"t={t}  P(1) = {fmt_abs(p1)} → predicts ", (bit, "bold"), "  target ",
                     (tb, TARGET), "  ", verdict),
                join(f"t={t} P(1)={fmt_abs(p1)} → ", (bit, "bold"), " target ", (tb, TARGET),
                     " ", verdict),
                *short,
                *(join(f"P(1)={p}→", (bit, "bold"), " ", (verdict[0][0], verdict[1]))
                  for p in (fmt_abs(p1), fmt_abs(p1, 2))),
                join("→", (bit, "bold"), " tgt ", (tb, TARGET), " ", (verdict[0][0], verdict[1])),
                join("→", (bit, "bold"), " ", (verdict[0][0], verdict[1])),
            ], width)
        else:
            # every rung whole: fewer digits, then no words, then the bit alone
            head = first_fitting([
                join(f"t={t}  P(1) = {fmt_abs(p1)} → predicts ", (bit, "bold"),
                     ("  no target yet", DIM)),
                *(join(f"P(1)={p}→", (bit, "bold"), (" no target", DIM))
                  for p in (fmt_abs(p1), fmt_abs(p1, 2))),
                *(join(f"P(1)={p}→", (bit, "bold")) for p in (fmt_abs(p1), fmt_abs(p1, 2))),
                join("→", (bit, "bold")),
            ], width)
        lines: list[Text] = [head]
        if height >= 3 and width >= 12:
            lines.append(threshold_bar(p1, width))
        held = self._held_out(s, width) if height >= 6 else None
        room = height - len(lines) - (held is not None)
        if room < 1:
            return block(lines, width, height)
        keep = sorted(("predict", "target", "input", "t", "")[:room], key=ROWS.index)
        names = list(keep)
        nw = max(len(n) for n in names) + 1
        cw = 3 if width - nw >= 3 * min(T, 8) else 2
        a, b = window(t, T, max((width - nw) // cw, 1))
        grid = [Text(n.ljust(nw), style=DIM) for n in names]
        for i in range(a, b):
            cur = i == t
            pb, _ = s.prediction(i)
            tl = s.target_label(i) if tr.mask[i] else None
            cells = {"t": str(i % 100) if cw == 3 else str(i % 10), "input": token(s.label(i)),
                     "predict": pb, "target": tl or "·",
                     "": "" if tl is None else ("✓" if pb == tl else "✗")}
            for r, name in enumerate(names):
                c = cells[name]
                txt = (f"[{c}]" if cur and name else f" {c} ")[: cw] if cw == 3 else \
                    (c.rjust(2))[:2]
                style = "reverse" if cur else ""
                if name == "target" and tl is not None:
                    style += f" {TARGET}"
                if name == "" and c:
                    style += " green" if c == "✓" else " red"
                grid[r].append(txt.center(cw), style=style.strip())
        lines.extend(grid)
        if held is not None:
            lines.append(held)
        return block(lines, width, height)

    _held_of: tuple | None = None

    def _held_out(self, s, width: int, unit: str = "bits") -> Text | None:
        """Accuracy on the scenario's held-out sequences under these weights (kept for the
        weights drawn last): the echo's promise, checked on data it never trained on."""
        sc = s.scenario
        if not sc.test_sequences:
            return None
        params = s.trace.params
        if self._held_of is None or self._held_of[0] is not params:
            self._held_of = (params, held_out_accuracy(sc, params))
        right, total = self._held_of[1]
        if not total:
            return None
        pct = 100.0 * right / total
        share = f"{pct:.1f}%" if pct < 100 else "100%"
        n = len(sc.test_sequences)
        if unit != "bits":  # a tag or token a target: the count fits where the share does
            return first_fitting([
                join(("held out: ", DIM), (share, "bold"), (f" right ({right}/{total} {unit} "
                                                            f"of {n} unseen sequences)", DIM)),
                join(("held out: ", DIM), (share, "bold"), (f" right ({right}/{total})", DIM)),
                join(("held out ", DIM), (share, "bold"), (f" {right}/{total}", DIM)),
                join(("held out ", DIM), (share, "bold"))], width)
        return first_fitting([
            join(("held out: ", DIM), (share, "bold"), (f" right ({right}/{total} bits of {n} "
                                                        "sequences never trained on)", DIM)),
            join(("held out: ", DIM), (share, "bold"), (f" of {n} unseen sequences", DIM)),
            join(("held-out accuracy ", DIM), (share, "bold"), (f" ({n} unseen)", DIM)),
            join(("held out ", DIM), (share, "bold")),
        ], width)


def _normalization(scenario):
    from engine.csvdata import normalization_of
    return normalization_of(scenario)


def _in_file_units(norm, name: str, y: float, truth: float | None, width: int) -> Text:
    """The prediction (and truth) back in the file's units, with the transform the model
    reads them through, e.g. ``in temp_c: ŷ 2.0 truth 0.9 · zscore x = (temp_c − 11) / 6.9``."""
    from ..safe_text import visible
    unit = visible(name)
    yv = f"{float(norm.invert(y)):.4g}"
    tv = f"{float(norm.invert(truth)):.4g}" if truth is not None else None
    vals = f"ŷ {yv}" + (f" truth {tv}" if tv is not None else "")
    short = f"ŷ {yv}" + (f" tr {tv}" if tv is not None else "")
    how = norm.describe(unit)
    return first_fitting([
        join((f"in {unit}: ", DIM), vals, ("  · " + how, DIM)),
        join((f"in {unit}: ", DIM), vals, (f"  · {norm.method}", DIM)),
        join((f"{unit}: ", DIM), vals, (f" · {norm.method}", DIM)),
        join((f"{unit}: ", DIM), vals),
        join((f"{unit} ", DIM), short),
        join(short),
    ], width)


def threshold_bar(p1: float, width: int) -> Text:
    """P(1) as a bar from 0 to 1 with the 0.5 decision threshold marked ``┊``."""
    bw = max(width - 9, 1)
    bar = plain_bar(p1, bw).ljust(bw)
    mid = bw // 2
    if bar[mid] == " ":
        bar = bar[:mid] + "┊" + bar[mid + 1:]
    return join("P(1) 0", ("│", DIM), (bar, POS), ("│", DIM), "1")


def fit_legend(legend: Text, width: int) -> Text:
    """The legend, without its dim explanation in parentheses when that does not fit, then
    with short words."""
    if legend.cell_len <= width:
        return legend
    cut = legend.plain.find(" (")
    short = legend.divide([cut])[0] if cut > 0 else legend
    if short.cell_len <= width:
        return short
    return first_fitting([join(("⣿", POS), " predicted ", ("•", TARGET), " true"),
                          join(("⣿", POS), " ŷ ", ("•", TARGET), " y")], width)


#: The pane this module adds (rnntui.widgets.PANES names the module).
PANE = OutputPane
