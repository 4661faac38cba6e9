"""The panes and their drawing helpers, drawn with no App: exact numbers, right marks, any size,
no overflow crash. (The same panes mounted in an App: tests/functional/test_widgets_mounted.py.)"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from decimal import Decimal

import numpy as np
import pytest
from helpers import Nav, check_fits, draw_pane, make_view, render_text, untrained_history
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from engine.model import Params
from engine.scenario import builtin_names, loads
from engine.trace import run_trace
from rnntui.view import BACKWARD, FORWARD, View
from rnntui.widgets import PANES as PANE_IDS, pane_class
from rnntui.widgets import (GradientPane, HiddenPane, LossPane, OutputPane, RetentionPane,
                            SequencePane, StepPane, _plot)
from rnntui.widgets._draw import (column_cells, fmt, fmt_abs, fmt_pow10, fmt_vec, log_fraction,
                                  log_fractions, plain_bar, signed_bar, thin, window)
from rnntui.widgets.gradients import column_grid
from rnntui.widgets.step import backward_parts

PANES = [pane_class(pane_id) for pane_id in PANE_IDS]  # the registry: every pane


def plain(renderable, width: int) -> str:
    return render_text(renderable, width).rstrip("\n")


# ---------------------------------------------------------------------------------------------
# number formatting


@pytest.mark.parametrize("x, want", [
    (0.0, "0"), (-0.0, "0"), (1e-300, "+1.000e-300"), (math.inf, "overflow"),
    (-math.inf, "-overflow"), (math.nan, "nan"), (-0.23517, "-0.2352"), (0.5, "+0.5000"),
    (1.0, "+1.000"), (-12.3456, "-12.35"), (1235.4, "+1235"), (12346.0, "+1.235e4"),
    (3.2e-7, "+3.200e-7"), (0.001234, "+0.001234"), (-2.5e-5, "-2.500e-5"),
])
def test_fmt_known_values(x, want):
    assert fmt(x) == want


def test_fmt_abs_and_digits():
    assert fmt_abs(0.25) == "0.2500"
    assert fmt_abs(-0.25) == "-0.2500"  # a negative number keeps its sign
    assert fmt(3.2e-7, 2) == "+3.2e-7"
    assert fmt_abs(math.inf) == "overflow"
    assert fmt("not a number") == "nan"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_fmt_never_crashes_and_round_trips(x):
    s = fmt(x)
    assert isinstance(s, str) and s
    if math.isfinite(x) and x != 0:
        assert s[0] in "+-"
        back = Decimal(s)
        assert abs(back - Decimal(x)) <= abs(Decimal(x)) * Decimal("5.1e-4"), (x, s)
        assert (back > 0) == (x > 0)


def test_fmt_pow10_goes_beyond_floats():
    assert fmt_pow10(-400) == "1.0e-400"
    assert fmt_pow10(math.log10(3.2e-7)) == "3.2e-7"
    assert fmt_pow10(-math.inf) == "0"
    assert fmt_pow10(math.inf) == "overflow"
    assert fmt_pow10(math.nan) == "nan"
    assert fmt_pow10(500.5) == "3.2e500"


def test_fmt_vec_full_or_summarised_within_width():
    v = np.array([0.1, -0.2, 0.3])
    assert fmt_vec(v, 40) == "[+0.1000 -0.2000 +0.3000]"
    long = np.arange(64) / 7.0
    s = fmt_vec(long, 30)
    assert s.startswith("[0 +0.1429") and s.endswith(f"‖{fmt_abs(np.linalg.norm(long))}‖")
    assert cell_len(s) <= 30
    # (since "truth on screen": only whole entries, the " …" set apart, else the norm alone)
    assert fmt_vec(long, 13) == "[0 …] ‖41.73‖"
    assert fmt_vec(long, 12) == "‖41.73‖ (64)"
    same = np.full(64, 0.123456)
    assert fmt_vec(same, 14) == f"‖{fmt_abs(np.linalg.norm(same))}‖ (64)"
    assert fmt_vec(long, 8) == f"‖{fmt_abs(np.linalg.norm(long))}‖"
    assert fmt_vec(long, 11, brackets=False) == "0 … ‖41.73‖"
    assert fmt_vec(long, 9, brackets=False) == "‖41.73‖"
    two = np.array([0.123456, 1.0])
    assert fmt_vec(two, 8, brackets=False) == f"‖{fmt_abs(np.linalg.norm(two))}‖"


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1,
                max_size=40), st.integers(min_value=12, max_value=120))
def test_fmt_vec_fits_unless_only_the_norm_is_left(values, width):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = fmt_vec(np.array(values), width)
    assert cell_len(s) <= width or s.startswith("‖")


# ---------------------------------------------------------------------------------------------
# bars, windows, thinning


def test_signed_bar_sides_and_lengths():
    assert signed_bar(0.5, 1.0, 4).plain == "    │██  "
    assert signed_bar(-1.0, 1.0, 4).plain == "████│    "
    assert signed_bar(-0.25, 1.0, 4).plain == "   █│    "
    assert signed_bar(0.0, 1.0, 4).plain == "    │    "
    assert signed_bar(0.1, 1.0, 4).plain == "    │▌   "   # half a cell
    assert signed_bar(-0.1, 1.0, 4).plain == "   ▐│    "
    assert signed_bar(math.inf, 1.0, 3).plain == "   │██»"
    assert signed_bar(-5.0, 1.0, 3).plain == "«██│   "
    assert signed_bar(math.nan, 1.0, 3).plain == "   ?   "


@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 20))
def test_signed_bar_is_always_its_width_and_sided_by_sign(v, half):
    bar = signed_bar(v, 1.0, half).plain
    assert len(bar) == 2 * half + 1
    left, right = bar[:half], bar[half + 1:]
    if not math.isnan(v) and v > 0:
        assert left.strip() == ""
    if not math.isnan(v) and v < 0:
        assert right.strip() == ""


def test_plain_bar_eighths():
    assert plain_bar(1.0, 4) == "████"
    assert plain_bar(0.5, 4) == "██"
    assert plain_bar(0.0, 4) == ""
    assert plain_bar(1 / 32, 4) == "▏"


def test_log_bars_are_ordered_and_clamped():
    values = [0.0, 1e-300, 1e-9, 1e-8, 1e-6, 1e-3, 0.5, 1.0, 7.0, math.inf]
    fr = [log_fraction(v, 1e-8, 1.0) for v in values]
    assert fr == sorted(fr)
    assert fr[0] == fr[1] == fr[2] == fr[3] == 0.0
    assert fr[-1] == fr[-2] == fr[-3] == 1.0
    assert math.isclose(log_fraction(1e-4, 1e-8, 1.0), 0.5)
    assert math.isnan(log_fraction(math.nan, 1e-8, 1.0))
    heights = [sum(" ▁▂▃▄▅▆▇█".index(c) for c in column_cells(f, 3)) for f in fr]
    assert heights == sorted(heights) and heights[0] == 0 and heights[-1] == 24


def test_column_grid_marks_overflow_tiny_and_nan():
    lv = np.array([-np.inf, -300.0, -4.0, 0.0, np.inf, np.nan])
    frac = log_fractions(lv, -8.0, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grid = column_grid(frac, lv, -8.0, 2)
    bottom, top = grid[-1], grid[0]
    assert bottom[0] == " "       # exactly zero: nothing
    assert bottom[1] == "·"       # not zero, below the floor
    assert bottom[2] == "█" and top[2] == " "   # half way: one of two rows
    assert top[3] == "█"          # the maximum fills the column
    assert top[4] == "↑"          # overflow
    assert bottom[5] == "?"


def test_window_holds_t_and_clamps():
    assert window(0, 100, 10) == (0, 10)
    assert window(99, 100, 10) == (90, 100)
    assert window(50, 100, 10) == (45, 55)
    assert window(3, 5, 10) == (0, 5)
    for t in range(0, 100, 7):
        a, b = window(t, 100, 9)
        assert a <= t < b and b - a == 9


def test_thin_keeps_endpoints_peaks_and_two_per_column():
    y = np.sin(np.arange(10_000) * 0.05)
    y[1234] = 5.0
    idx = thin(y, 80)
    assert idx[0] == 0 and idx[-1] == len(y) - 1
    assert len(idx) <= 2 * 80 + 2
    assert np.all(np.diff(idx) > 0)
    assert 1234 in idx and np.argmin(y) in idx
    assert np.array_equal(thin(np.arange(10.0), 80), np.arange(10))


# ---------------------------------------------------------------------------------------------
# plotext frames


def test_plot_frames_are_cached_by_key():
    _plot.clear_cache()
    calls = []

    def build():
        calls.append(1)
        return _plot.line_chart([_plot.Line(np.arange(50), np.sin(np.arange(50)))], 40, 10)

    a = _plot.frame(("test", 1), build)
    b = _plot.frame(("test", 1), build)
    assert a is b and len(calls) == 1
    _plot.frame(("test", 2), build)
    assert len(calls) == 2
    text = plain(a, 40)
    check_fits(text, 40, 10)
    assert "┌" in text


def test_log_ticks_are_plain_numbers():
    pos, labels = _plot.log_ticks(math.log10(0.15), math.log10(2.6))
    assert labels == ["0.2", "0.5", "1", "2"]
    pos, labels = _plot.log_ticks(-3.2, 0.5)
    assert labels == ["0.001", "0.01", "0.1", "1"]



# ---------------------------------------------------------------------------------------------
# panes drawn from a View, with no App


def test_a_view_built_with_no_app_draws_every_pane():
    """The View is all a pane needs: no App, no screen, no global."""
    for name in builtin_names():
        view = make_view(name, t=1)
        drawn = [cls for cls in PANES if cls.draws(view.trace)]  # the others are hidden
        assert len(drawn) >= 4
        for cls in drawn:
            text = draw_pane(view, cls, 60, 14)
            assert text.strip(), (name, cls.__name__)
        # and the same View moved draws too, without touching the first
        ahead = view.moved(1)
        assert ahead is not view and view.t == 1 and ahead.t == min(2, view.T - 1)
        for cls in PANES:
            draw_pane(ahead, cls, 60, 14)


def test_a_pane_cannot_read_what_it_does_not_declare():
    view = make_view("king")
    with pytest.raises(AttributeError, match="trace"):
        view.reading(("t",)).trace
    with pytest.raises(AttributeError, match="StepPane"):
        view.reading(("t",), "StepPane").history
    # derived values need every field they are made from
    with pytest.raises(AttributeError, match="sequence"):
        view.reading(("t", "phase")).at_end
    assert view.reading(("t", "phase", "sequence")).at_end is False
    # every pane draws from its declared fields alone (draw_pane hands it view.reading(READS))
    for cls in PANES:
        assert cls.READS, cls.__name__
        draw_pane(view, cls, 60, 14)


def test_the_redraw_key_changes_with_the_trace_and_not_otherwise():
    view = make_view("king", train=True)
    key = view.key(StepPane.READS)
    assert view.key(StepPane.READS) == key  # stable for the same View
    assert view.with_playing(True).key(StepPane.READS) == key  # a field the pane does not read
    assert view.with_knob(0).key(StepPane.READS) == key
    assert view.moved(1).key(StepPane.READS) != key  # t is read
    # another trace, even with the same numbers, is another picture (objects count by identity)
    same_numbers = dataclasses.replace(view.trace)
    assert view.with_trace(view.trace_key, same_numbers).key(StepPane.READS) != key
    # the untrained weights: a new trace, a new key; the LossPane's key follows the epoch
    nav = Nav(view)
    nav.set_epoch(0)
    assert nav.trace is not view.trace and nav.view.key(StepPane.READS) != key
    assert nav.view.key(LossPane.READS) != view.key(LossPane.READS)
    assert nav.view.key(RetentionPane.READS) != view.key(RetentionPane.READS)
    # UI caches name objects by a serial, never by id() (ids are reused)
    from rnntui.widgets._draw import serial
    a, b = object.__new__(_Bag), object.__new__(_Bag)
    assert serial(a) != serial(b) and serial(a) == serial(a)


class _Bag:
    pass


def test_backward_parts_add_up_to_dh_at_every_step():
    for name in ("king", "sine", "echo"):
        tr = make_view(name).trace
        for t in range(len(tr)):
            direct, later = backward_parts(tr, t)
            assert np.allclose(direct + later, tr.dh[t], rtol=1e-12, atol=1e-15)
            assert np.allclose(tr.dh[t] * (1 - tr.h[t] ** 2), tr.da[t])
        assert not np.any(backward_parts(tr, len(tr) - 1)[1])  # nothing after the last step


@pytest.mark.parametrize("name", ["king", "cat", "sine", "echo"])
def test_every_pane_fits_every_size(name):
    nav = Nav(make_view(name))
    for t in (0, 3, nav.T - 1):  # the first and last steps may have no target
        nav.goto(t)
        for phase in (FORWARD, BACKWARD):
            nav.set_phase(phase)
            for w, h in [(20, 4), (1, 1), (3, 2), (22, 7), (38, 6), (60, 20), (120, 40)]:
                for cls in PANES:
                    draw_pane(nav.view, cls, w, h)


SERIES = """
[scenario]
name = "wave"
kind = "series"
[model]
hidden_size = 4
output = "identity"
[train]
epochs = 0
[data]
points = {points}
"""


def _overflowing() -> Nav:
    """A relu network whose state grows 10x a step: inf by t~310, then nan."""
    nav = Nav(make_view(loads(SERIES.format(points=401))))
    H = nav.scenario.model.hidden_size
    p = Params(W_x=np.ones((H, 1)), W_h=10.0 * np.eye(H), b=np.ones(H),
               W_y=np.ones((1, H)), b_y=np.zeros(1))
    with np.errstate(all="ignore"):
        nav.trace = run_trace(p, nav.sequence, activation="relu", output="identity")
    return nav


def test_overflow_draws_overflow_and_never_warns():
    nav = _overflowing()
    tr = nav.trace
    t = int(np.argmax(~np.isfinite(tr.h).all(axis=1)))
    assert t > 0 and np.isinf(tr.h[t]).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for phase in (FORWARD, BACKWARD):
            nav.set_phase(phase)
            nav.goto(t)
            assert nav.trace is tr  # the hand-made trace is still the one shown
            assert "overflow" in draw_pane(nav.view, StepPane, 60, 12)
            assert "overflow" in draw_pane(nav.view, HiddenPane, 60, 8)
            for cls in PANES:
                for w, h in [(20, 4), (38, 6), (100, 30)]:
                    draw_pane(nav.view, cls, w, h)


def test_nan_and_inf_everywhere_draw():
    nav = Nav(make_view("king", t=2))
    tr = nav.trace
    bad = dataclasses.replace(
        tr, h=np.full_like(tr.h, np.nan), a=np.full_like(tr.a, np.inf),
        out=np.full_like(tr.out, np.nan), dh=np.full_like(tr.dh, -np.inf),
        grad_h=np.full_like(tr.grad_h, np.inf), jacobian_log10=np.full_like(tr.grad_h, np.nan),
        retention=np.full_like(tr.retention, np.nan), spectral_norm=math.inf,
        spectral_radius=math.nan)
    nav.trace = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for phase in (FORWARD, BACKWARD):
            nav.set_phase(phase)
            for cls in PANES:
                for w, h in [(20, 4), (38, 6), (100, 30)]:
                    draw_pane(nav.view, cls, w, h)
    assert "nan" in draw_pane(nav.view, HiddenPane, 60, 8)
    assert "overflow" in draw_pane(nav.view, GradientPane, 60, 8)


def long_series_view() -> View:
    """100,000 steps and no trace: the sequence pane draws without one."""
    sc = loads(SERIES.format(points=100_001))
    return View.open(sc, untrained_history(sc))


def test_sequence_pane_draws_100000_steps():
    """Correctness only; the time it takes is a benchmark row (benchmarks/app_bench.py)."""
    view = long_series_view()
    assert view.T == 100_000 and view.trace is None
    w, h = 76, 22  # the pane's content area in an 80x24 terminal
    for t in (0, 50_000, 99_999):
        v = view.at(t)
        text = draw_pane(v, SequencePane, w, h)
        assert f"[{v.label(t)}]" in text and f"t={t} (steps 0–99999)" in text


def big_text_view() -> View:
    words = " ".join(f"w{i % 200}" for i in range(1000))
    return make_view(loads(f"""
[scenario]
name = "big"
kind = "text"
[model]
hidden_size = 64
[train]
epochs = 0
[data]
text = ["{words}"]
"""))


def test_big_text_trace_draws():
    """Correctness only (every pane fits, at many steps); the time is a benchmark row."""
    view = big_text_view()
    for cls in (SequencePane, StepPane, HiddenPane, OutputPane, GradientPane):
        for k in range(10):
            assert draw_pane(view.at(400 + k), cls, 100, 30).strip(), cls.__name__


def test_plotext_panes_build_a_frame_once_per_picture():
    nav = Nav(make_view("sine", train=True, t=40))
    _plot.clear_cache()
    before = _plot.stats["builds"]
    for _ in range(3):
        draw_pane(nav.view, RetentionPane, 50, 14)
        draw_pane(nav.view, OutputPane, 50, 14)
        draw_pane(nav.view, LossPane, 50, 14)
    assert _plot.stats["builds"] - before == 3
    nav.goto(41)  # the output chart follows t; retention and loss do not
    draw_pane(nav.view, RetentionPane, 50, 14)
    draw_pane(nav.view, OutputPane, 50, 14)
    draw_pane(nav.view, LossPane, 50, 14)
    assert _plot.stats["builds"] - before == 4


def test_loss_pane_uses_a_log_axis_across_decades():
    view = make_view("sine", train=True)
    losses = np.asarray(view.history.losses)
    assert losses.max() / losses.min() > 100
    text = draw_pane(view, LossPane, 50, 16)
    assert "0.01" in text and "0.1" in text  # decade ticks
    assert f"epoch {view.trained_epochs}/{view.trained_epochs}" in text


def test_the_irnn_shows_in_the_cli_positions_panes_json_and_compare_mode(capsys):
    """A cell added with one module and one registry line reaches every place that lists or
    draws cells: --cell, --at, the Step, Hidden and Gradients panes, trace --json (compare
    mode's default pair: test_cells)."""
    import json

    from engine import with_cell
    from engine.scenario import load
    from rnntui.cli import _command_parser, main
    from rnntui.position import Position
    assert _command_parser("trace").parse_args(["king", "--cell", "irnn"]).cell == "irnn"
    pos = Position.parse('cell=irnn,cells="irnn,lstm"', scenario="king")
    assert pos.cell == "irnn" and pos.cells == ("irnn", "lstm")
    assert main(["trace", "king", "--cell", "irnn", "--epochs", "0", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cell"] == "irnn" and doc["model"]["activation"] == "relu"
    assert "gates" not in doc["steps"][0] and doc["params"]["W_h"][0][0] == 1.0
    view = make_view(with_cell(load("king"), "irnn"), t=1)
    step = draw_pane(view, StepPane, 90, 12)
    assert "relu(W_h h_t-1 + W_x x_t + b)" in step and "= a_1" in step
    assert "h0" in draw_pane(view, HiddenPane, 60, 12)
    grads = draw_pane(view, GradientPane, 90, 14)
    # one square W_h = I: its eigenvalues, and at the start nothing vanishes
    assert "spectral radius ρ = 1.000" in grads and "steady" in grads


@pytest.mark.parametrize("t", [3, 10])
def test_the_bits_header_is_whole_at_every_width(t):
    """The Output pane's first line for a bit (pads: no target at t=3, a target at t=10) drops
    digits, then words, as the pane narrows: never a word cut into "…" (at 80x24 it read
    "P(1)=2.480e-6→0 no …")."""
    view = make_view("pads", t=t)
    assert bool(view.trace.mask[view.t]) == (t == 10)
    for width in range(8, 45):
        head = draw_pane(view, OutputPane, width, 4).splitlines()[0].rstrip()
        assert "…" not in head and "→" in head, (width, head)


@pytest.mark.parametrize("width", range(20, 90, 3))
def test_compare_modes_status_line_fits_and_ends_whole_or_in_an_ellipsis(width):
    """At 60 columns, while a column trained, the line was cut after a dangling separator."""
    from engine.scenario import with_cell
    from rnntui.screens.compare import compare_status
    from rnntui.view import Training
    left = make_view("sine", t=5).with_grads("loss")
    lstm = with_cell(left.scenario, "lstm")
    right = make_view(lstm, t=5).with_grads("loss").with_training(Training(23, 100, ()))
    text = compare_status([left, right], 100, width).plain
    assert cell_len(text) <= width, text
    assert not text.rstrip().endswith("·"), text
    whole = compare_status([left, right], 100, 500).plain
    assert text == whole or text.endswith("…") or "training 23/100" in text, (text, whole)
    if text.endswith("…"):  # cut between whole parts, never inside one ("· forwa…")
        assert text.endswith(" …") and re.search(
            r"(sine|e\d+|epoch \d+/\d+( L=\S+)?|training \d+/\d+|t=\d+( \(0–\d+\))?|[→←]|"
            r"τ=\d+) …$", text), text
    if width >= 60:  # (the 60x20 minimum: both cells, their epochs and t, whole)
        assert re.search(r"RNN (e0|epoch 0/0)", text) and "t=5" in text, text
        assert re.search(r"LSTM (e0|epoch 0/0) training 23/100", text), text
