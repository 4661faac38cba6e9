"""The Retention pane: how much of the first input's direction the state keeps over blank steps."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from . import _plot
from engine.influence import first_input_effect
from engine.trace import one_way

from ._draw import DIM, POS, WARN, block, first_fitting, fmt_pow10, join, num_text, serial
from .base import Pane


def _start_is_zero(tr) -> bool:
    """The state after the first input is exactly 0 (h, and c for an LSTM): a cosine with it
    has no direction to compare, so it is undefined (the engine reports 0 there)."""
    if not len(tr):
        return True
    start = tr.h[0] if tr.c is None else np.concatenate([tr.h[0], tr.c[0]])
    return not np.any(start)


def sign_changes(r: np.ndarray) -> int:
    """How many times the curve crosses zero (values within 1e-12 of 0 do not count)."""
    s = np.sign(np.where(np.abs(r) < 1e-12, 0.0, r))
    s = s[s != 0]
    return int(np.count_nonzero(s[1:] != s[:-1]))


class RetentionPane(Pane):
    """cos(h₀, h_j): the state after the first input (from h = 0, at t = 0), compared with the
    state after j further blank (all-zero) inputs, for j = 1..K: the seed's curve. A curve that
    swings through 0 is the rotation of complex eigenvalues of W_h.

    The cosine alone can mislead: with a bias the state settles on a fixed point, and the
    cosine with that point can stay high although the input is forgotten. So the verdict comes
    from what the first input changed: the run with it minus the run with a blank first input
    (engine.influence.first_input_effect), its size after K blanks relative to the start. It
    depends on the weights only, not on t."""

    ID = "retention"
    #: What the pane shows, in the help screen's words.
    HELP = ("Memory with no new input: feed the first input, then only blank (zero) "
            "inputs. The curve is cos(h_0, h_j), the state after j blanks against the "
            "first state; a curve that swings is W_h rotating the state (complex "
            "eigenvalues). The verdict compares the runs with and without the first "
            "input: how much of what it changed is left after the last blank (kept, "
            "fading, forgotten), since a bias alone can keep the cosine high; narrow, "
            "it reads 'x₀: 1.3e-6× forgotten'. It is about blank inputs after x₀, not "
            "the sentence: the Gradients pane's verdict (vanishing, fading) measures the "
            "gradient along the sentence itself, so the two can differ.")
    TITLE = "Retention"
    SHORT_TITLE = "Retention"
    LEGEND = ('cos(h₀, h_j): the state after j blank inputs against the first · x₀: 2.4× left: what '
              'the first input changed in the state, left after the blanks (kept, fading, '
              'forgotten) · x₀ changes nothing: the first input moves nothing')
    LEGEND_LINE = "x₀: first input's change, left"

    def legend_sign(self, view) -> str:
        return "x₀"  # ("first input changes nothing": no x₀ verdict to explain)
    READS = ("trace",)

    _effect_of: tuple | None = None

    def _effect(self, tr, K: int):
        if self._effect_of is None or self._effect_of[0] is not tr:
            first = tr.x[0] if len(tr) else np.zeros(tr.params.input_size)
            # (a bidirectional model's forward direction, whose retention this pane draws)
            params = one_way(tr).params
            self._effect_of = (tr, first_input_effect(params, first, K, tr.activation))
        return self._effect_of[1]

    def draw(self, view, width: int, height: int):
        tr = view.trace
        r = np.asarray(tr.retention, dtype=np.float64)
        K = len(r)
        h = "h→" if tr.back is not None else "h"  # (both ways: the forward direction's)
        header = first_fitting([
            join((f"cos({h}₀, {h} after j blank inputs)", "bold"), (f", j = 1 to {K}", DIM)),
            join((f"cos({h}₀, {h} after j blank inputs)", "bold")),
            join((f"cos({h}₀, {h} after j blanks)", "bold")),
            join((f"cos({h}₀, {h}_j)", "bold")),
        ], width)
        if K == 0:
            return block([header, Text("no blank steps set", style=DIM)], width, height)
        undefined = _start_is_zero(tr)
        footer = self._verdict(tr, r, width, undefined)
        lines: list[Text] = [header]
        plot_h = height - 2
        if plot_h >= 2 and width >= 12 and np.isfinite(r).any() and not undefined:
            j = np.arange(1, K + 1, dtype=np.float64)
            key = ("retention", serial(tr), width, plot_h)
            chart = _plot.frame(key, lambda: _plot.labelled_chart(
                [_plot.Line(j, np.nan_to_num(r), POS, "braille")], width, plot_h,
                xlim=(1, max(K, 2)), ylim=(-1.05, 1.05), yticks=[-1, 0, 1],
                ylabels=["-1", "0", "+1"], xticks=_plot.nice_ticks(1, K, 4), hline=0.0,
                fmt_y=lambda v: "+1" if v > 0 else "-1"))
            lines.extend(chart.split("\n"))
        lines.append(footer)
        if len(lines) > height:
            lines = lines[: height - 1] + [footer]
        return block(lines, width, height)

    def _verdict(self, tr, r: np.ndarray, width: int, undefined: bool) -> Text:
        K = len(r)
        eff = self._effect(tr, K)
        if undefined or not np.isfinite(r[-1]):
            cos = join(f"j={K}: ", ("cos undefined", DIM), (" (h₀ = 0)", DIM))
        else:
            cos = join(f"j={K}: cos ", num_text(r[-1]))
        if not eff.start_norm > 0:
            return first_fitting([
                join(cos, ("  the first input changes nothing: nothing to remember", DIM)),
                join(cos, ("  first input changes nothing", DIM)),
                join(("first input changes nothing", DIM)),
                join(("x₀ changes nothing", DIM)),
                join(("no change", DIM))], width)
        left = float(eff.ratio[-1])
        flips = sign_changes(eff.cosine[1:])
        word, style = retention_word(left)
        share = fmt_pow10(np.log10(left)) if left > 0 else "0"
        turn = f", turning (swings {flips}×: complex eigenvalues)" if flips >= 2 else ""
        short_turn = f" swings {flips}×" if flips >= 2 else ""
        return first_fitting([
            join(cos, f"  what the first input changed: {share}× left{turn}: ", (word, style)),
            join(cos, f"  x₀'s change: {share}× left{short_turn} ", (word, style)),
            join(cos, f"  x₀: {share}× ", (word, style)),
            # (on blank inputs: beside the Gradients pane's verdict on the sentence itself,
            # "kept" next to "vanishing" read as a contradiction)
            join(f"x₀ on blanks: {share}× ", (word, style)),
            join(f"x₀: {share}× left ", (word, style)),
            # (narrow: x₀'s change, so it never reads as the Gradients pane's verdict on the
            # sentence's own gradient, which measures something else)
            join(f"x₀: {share}× ", (word, style)),
            join(f"x₀ {share}× ", (word, style)),
            join(f"x₀: {share}×"),
            join(("x₀ ", DIM), (word, style)),
        ], width)


def retention_word(left: float) -> tuple[str, str]:
    """How much of the first input's change is left after the blanks, as the pane's verdict
    (kept, fading, forgotten, growing, overflow) and its style; reader mode says the same."""
    if not np.isfinite(left):
        return "overflow", WARN
    if left < 0.01:
        return "forgotten", "bold blue"
    if left < 0.3:
        return "fading", "blue"
    if left <= 3:
        return "kept", "bold green"
    return "growing", "yellow"


#: The pane this module adds (rnntui.widgets.PANES names the module).
PANE = RetentionPane
