"""The panes and their drawing helpers: exact numbers, right marks, any size, no overflow crash."""

from __future__ import annotations

import dataclasses
import io
import math
import re
import time
import warnings
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from textual.app import App

from engine.model import Params
from engine.scenario import load, loads
from engine.trace import run_trace
from rnntui.session import BACKWARD, FORWARD, Session, prediction
from rnntui.widgets import (GradientPane, HiddenPane, LossPane, OutputPane, RetentionPane,
                            SequencePane, StepPane, _plot)
from rnntui.widgets._draw import (column_cells, fmt, fmt_abs, fmt_pow10, fmt_vec, log_fraction,
                                  log_fractions, plain_bar, signed_bar, thin, window)
from rnntui.widgets.gradients import column_grid
from rnntui.widgets.step import backward_parts

PANES = [SequencePane, StepPane, HiddenPane, OutputPane, GradientPane, RetentionPane, LossPane]


# ---------------------------------------------------------------------------------------------
# helpers


def plain(renderable, width: int) -> str:
    console = Console(width=max(width, 1), file=io.StringIO(), color_system=None,
                      legacy_windows=False, force_terminal=False)
    with console.capture() as cap:
        console.print(renderable)
    return cap.get().rstrip("\n")


def check_fits(text: str, width: int, height: int) -> None:
    lines = text.split("\n") if text else []
    assert len(lines) <= max(height, 1), (len(lines), height, text)
    for line in lines:
        assert cell_len(line) <= width, (cell_len(line), width, line)


class PaneApp(App):
    """A tiny app that shows one pane filling the screen, reading ``self.session``."""

    CSS = "Screen { layout: vertical; }"

    def __init__(self, session: Session, pane_cls) -> None:
        super().__init__()
        self.session = session
        self.pane_cls = pane_cls

    def compose(self):
        yield self.pane_cls()


async def shown(session: Session, pane_cls, size=(80, 24)) -> tuple[str, object]:
    """Mount ``pane_cls`` alone at ``size`` and return (its rendered text, the pane)."""
    app = PaneApp(session, pane_cls)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        pane = app.query_one(pane_cls)
        w, h = pane.content_size.width, pane.content_size.height
        text = plain(pane.render(), w)
        check_fits(text, w, h)
        return text, pane


def session(name: str, *, train: bool = False, t: int = 0, phase: str = FORWARD) -> Session:
    s = Session(load(name))
    if train:
        s.set_history(s.train())
    s.ensure_trace()
    s.goto(t)
    s.set_phase(phase)
    return s


def draw(s: Session, pane_cls, width: int, height: int) -> str:
    """Draw a pane without mounting it (for sweeps over many sizes)."""
    pane = type("Loose" + pane_cls.__name__, (pane_cls,),
                {"session": property(lambda self: s)})()
    text = plain(pane.draw(width, height), width) if width > 0 and height > 0 else ""
    check_fits(text, width, height)
    return text


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
    assert fmt_vec(long, 12) == "[0…]‖41.73‖"
    same = np.full(64, 0.123456)
    assert fmt_vec(same, 14) == f"‖{fmt_abs(np.linalg.norm(same))}‖ (64)"
    assert fmt_vec(long, 8) == f"‖{fmt_abs(np.linalg.norm(long))}‖"
    assert fmt_vec(long, 9, brackets=False) == "0…‖41.73‖"
    assert fmt_vec(np.array([0.123456, 1.0]), 8, brackets=False) == "+0.1235…"


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
# the panes, mounted


async def test_step_pane_prints_the_traces_numbers():
    s = session("king", train=True, t=2)
    tr, t = s.trace, 2
    text, _ = await shown(s, StepPane, size=(120, 40))
    p = tr.params
    rec = p.W_h @ tr.h_prev[t]
    inp = p.W_x @ tr.x[t] + p.b
    rows = {line.split()[0]: line for line in text.split("\n") if re.match(r"^ ?h\d+ ", line)}
    H = tr.h.shape[1]
    assert len(rows) == H
    for u in range(H):
        want = [fmt(tr.h_prev[t][u]), fmt(rec[u]), fmt(inp[u]), fmt(tr.a[t][u]), fmt(tr.h[t][u])]
        assert rows[f"h{u}"].split()[1:] == want
    assert np.allclose(rec + inp, tr.a[t])  # the columns add up to a_t
    name, p_best = prediction(s, t)
    assert f"'{name}' p={fmt_abs(p_best)}" in text
    assert fmt_abs(tr.step_loss[t]) in text
    assert "tanh" in text


async def test_step_pane_compact_shows_first_entries_and_norm():
    s = session("king", train=True, t=1)
    text, pane = await shown(s, StepPane, size=(40, 9))
    h = s.trace.h[1]
    assert fmt(h[0]) in text and f"‖{fmt_abs(np.linalg.norm(h))}‖" in text


def test_backward_parts_add_up_to_dh_at_every_step():
    for name in ("king", "sine", "echo"):
        s = session(name, train=False)
        tr = s.trace
        for t in range(len(tr)):
            direct, later = backward_parts(tr, t)
            assert np.allclose(direct + later, tr.dh[t], rtol=1e-12, atol=1e-15)
            assert np.allclose(tr.dh[t] * (1 - tr.h[t] ** 2), tr.da[t])
        assert not np.any(backward_parts(tr, len(tr) - 1)[1])  # nothing after the last step


async def test_backward_pane_shows_both_parts_and_their_sum():
    s = session("king", train=True, t=2, phase=BACKWARD)
    tr, t = s.trace, 2
    direct, later = backward_parts(tr, t)
    text, _ = await shown(s, StepPane, size=(120, 40))
    assert "W_yᵀ dL/dy_t" in text and "backward" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.split("\n")
            if re.match(r"^ ?h\d+ ", line)}
    for u in range(tr.h.shape[1]):
        assert rows[f"h{u}"][:3] == [fmt(direct[u]), fmt(later[u]), fmt(tr.dh[t][u])]
        assert rows[f"h{u}"][4] == fmt(tr.da[t][u])
        assert rows[f"h{u}"][5] == fmt(tr.flow[t][u])


async def test_backward_pane_at_the_last_step_has_nothing_from_later():
    s = session("sine", t=10**6, phase=BACKWARD)
    H = s.trace.h.shape[1]
    text, _ = await shown(s, StepPane, size=(60, 8))  # rows: one line per vector
    line = next(line for line in text.split("\n") if line.startswith("+ 0 (last step)"))
    assert line.rstrip().endswith("[" + " ".join(["0"] * H) + "]")
    text, _ = await shown(s, StepPane, size=(60, 12))  # table: a column of zeros
    assert "+0 (last)" in text
    rows = [line.split() for line in text.split("\n") if re.match(r"^ ?h\d+ ", line)]
    assert rows and all(r[2] == "0" and r[1] == r[3] for r in rows)


async def test_output_pane_marks_the_target_and_argmax():
    s = session("king", train=True, t=2)
    tr, t = s.trace, 2
    text, _ = await shown(s, OutputPane, size=(60, 14))
    tgt = s.target_label(t)
    vocab = s.scenario.vocab
    i = vocab.index(tgt)
    marked = [line for line in text.split("\n") if "◀ target" in line]
    assert len(marked) == 1
    assert f" {tgt} " in marked[0] and fmt_abs(tr.out[t][i]) in marked[0]
    best = vocab[int(np.argmax(tr.out[t]))]
    starred = [line for line in text.split("\n") if line.startswith("★")]
    assert len(starred) == 1 and f" {best} " in starred[0]


async def test_output_pane_always_shows_a_low_probability_target():
    s = session("king", train=False, t=0)
    tr = s.trace
    probs = tr.out[0]
    text, _ = await shown(s, OutputPane, size=(40, 4))  # room for 2 bars only
    tgt = s.target_label(0)
    assert any(f" {tgt} " in line and "◀" in line for line in text.split("\n"))
    assert fmt_abs(probs[s.scenario.vocab.index(tgt)]) in text


async def test_output_pane_series_and_bits():
    s = session("sine", t=30)
    tr = s.trace
    text, _ = await shown(s, OutputPane, size=(60, 16))
    assert fmt(tr.out[30][0]) in text and fmt(tr.targets[30][0]) in text
    assert "┌" in text  # the plotext frame
    s = session("echo", t=5)
    tr = s.trace
    text, _ = await shown(s, OutputPane, size=(60, 10))
    bit, _ = prediction(s, 5)
    assert f"P(1) = {fmt_abs(tr.out[5][0])} → predicts {bit}" in text
    want = "✓ correct" if bit == s.target_label(5) else "✗ wrong"
    assert want in text and "[" in text


async def test_gradient_pane_prints_the_true_norm_and_radius():
    s = session("king", train=True)
    W = s.trace.params.W_h
    norm = float(np.linalg.svd(W, compute_uv=False)[0])
    radius = float(np.max(np.abs(np.linalg.eigvals(W))))
    assert fmt_abs(norm) != fmt_abs(radius)  # the test can tell them apart
    text, _ = await shown(s, GradientPane, size=(100, 20))
    assert f"‖W_h‖₂ = {fmt_abs(norm)}" in text
    assert re.search(rf"ρ(\(W_h\))? = {re.escape(fmt_abs(radius))}", text)
    text, _ = await shown(s, GradientPane, size=(40, 8))
    assert f"‖W_h‖₂ {fmt_abs(norm)}" in text and f"ρ(W_h) {fmt_abs(radius)}" in text


async def test_gradient_pane_verdict_and_knob():
    s = session("long")
    lv0 = s.trace.jacobian_log10[0]
    text, _ = await shown(s, GradientPane, size=(100, 20))
    assert fmt_pow10(lv0) in text
    if lv0 <= -3:
        assert "vanishing" in text
    s.turn_knob(8)  # W_h x4
    s.ensure_trace()
    text, _ = await shown(s, GradientPane, size=(100, 20))
    assert "×4.000" in text
    assert re.search(r"vanishing|fading|steady|growing|exploding", text)


async def test_hidden_pane_bars_sides_and_values():
    s = session("king", train=True, t=1)
    h = s.trace.h[1]
    text, _ = await shown(s, HiddenPane, size=(80, 20))
    for u, v in enumerate(h):
        line = next(line for line in text.split("\n") if line.split()[:1] == [f"h{u}"])
        assert fmt(v) in line
        axis = line.index("│")
        bar = line[axis - 15: axis + 16]
        if v < -0.1:
            assert "█" in bar[:15] and "█" not in bar[16:]
        if v > 0.1:
            assert "█" in bar[16:] and "█" not in bar[:15]


async def test_hidden_pane_same_input_two_positions_differ():
    s = session("cat")
    assert s.label(0) == s.label(4) == "the"
    assert np.array_equal(s.trace.x[0], s.trace.x[4])
    first, _ = await shown(s, HiddenPane, size=(60, 8))
    s.goto(4)
    second, _ = await shown(s, HiddenPane, size=(60, 8))
    values = lambda text: [line.split()[1] for line in text.split("\n")[1:4]]
    assert values(first) == [fmt(v) for v in s.trace.h[0]]
    assert values(second) == [fmt(v) for v in s.trace.h[4]]
    assert values(first) != values(second)


async def test_sequence_pane_cursor_without_colour():
    s = session("king", t=2)
    text, _ = await shown(s, SequencePane, size=(60, 6))
    assert f"[{s.label(2)}]" in text
    assert "forward pass ▶" in text and "t=2 of 5" in text
    s.set_phase(BACKWARD)
    text, _ = await shown(s, SequencePane, size=(60, 6))
    assert "backward pass ◀" in text
    text, _ = await shown(s, SequencePane, size=(40, 3))  # one row in a bordered pane
    assert f"[{s.label(2)}]" in text


async def test_loss_pane_untrained_and_trained():
    s = session("king")
    text, _ = await shown(s, LossPane, size=(60, 12))
    assert "untrained: press t to train" in text
    s = session("king", train=True)
    s.set_epoch(120)
    text, _ = await shown(s, LossPane, size=(60, 14))
    assert f"epoch 120/{s.trained_epochs}" in text
    assert f"loss {fmt_abs(s.history.losses[120])}" in text


async def test_retention_pane_shows_last_value():
    s = session("cat")
    r = s.trace.retention
    text, _ = await shown(s, RetentionPane, size=(60, 14))
    assert f"j={len(r)}: {fmt(r[-1])}" in text and "cos(h₁" in text


async def test_panes_redraw_only_when_their_picture_changes():
    s = session("king", train=True)
    app = PaneApp(s, StepPane)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panes = {}
        for cls in PANES:
            pane = cls()
            await app.mount(pane)
            panes[cls] = pane
        await pilot.pause()
        before = {cls: p.content_key() for cls, p in panes.items()}
        s.step(1)
        after = {cls: p.content_key() for cls, p in panes.items()}
        moved = {cls for cls in PANES if before[cls] != after[cls]}
        assert {StepPane, HiddenPane, OutputPane, GradientPane, SequencePane} <= moved
        assert LossPane not in moved and RetentionPane not in moved


# ---------------------------------------------------------------------------------------------
# any size, any trace


@pytest.mark.parametrize("name", ["king", "cat", "sine", "echo"])
def test_every_pane_fits_every_size(name):
    s = session(name)
    for t in (0, 3, s.T - 1):  # the first and last steps may have no target
        s.goto(t)
        for phase in (FORWARD, BACKWARD):
            s.set_phase(phase)
            for w, h in [(20, 4), (1, 1), (3, 2), (22, 7), (38, 6), (60, 20), (120, 40)]:
                for cls in PANES:
                    draw(s, cls, w, h)


async def test_panes_mount_at_20x4():
    s = session("king", t=1)
    for cls in PANES:
        text, _ = await shown(s, cls, size=(20, 4))
        assert text.strip()


def _overflowing_session() -> Session:
    """A relu network whose state grows 10x a step: inf by t~310, then nan."""
    s = Session(loads(SERIES.format(points=401)))
    H = s.scenario.model.hidden_size
    p = Params(W_x=np.ones((H, 1)), W_h=10.0 * np.eye(H), b=np.ones(H),
               W_y=np.ones((1, H)), b_y=np.zeros(1))
    with np.errstate(all="ignore"):
        s.trace = run_trace(p, s.sequence, activation="relu", output="identity")
    return s


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


def test_overflow_draws_overflow_and_never_warns():
    s = _overflowing_session()
    tr = s.trace
    t = int(np.argmax(~np.isfinite(tr.h).all(axis=1)))
    assert t > 0 and np.isinf(tr.h[t]).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for phase in (FORWARD, BACKWARD):
            s.set_phase(phase)
            s.goto(t)
            assert "overflow" in draw(s, StepPane, 60, 12)
            assert "overflow" in draw(s, HiddenPane, 60, 8)
            for cls in PANES:
                for w, h in [(20, 4), (38, 6), (100, 30)]:
                    draw(s, cls, w, h)


def test_nan_and_inf_everywhere_draw():
    s = session("king", t=2)
    tr = s.trace
    bad = dataclasses.replace(
        tr, h=np.full_like(tr.h, np.nan), a=np.full_like(tr.a, np.inf),
        out=np.full_like(tr.out, np.nan), dh=np.full_like(tr.dh, -np.inf),
        grad_h=np.full_like(tr.grad_h, np.inf), jacobian_log10=np.full_like(tr.grad_h, np.nan),
        retention=np.full_like(tr.retention, np.nan), spectral_norm=math.inf,
        spectral_radius=math.nan, extras={})
    s.trace = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for phase in (FORWARD, BACKWARD):
            s.set_phase(phase)
            for cls in PANES:
                for w, h in [(20, 4), (38, 6), (100, 30)]:
                    draw(s, cls, w, h)
    assert "nan" in draw(s, HiddenPane, 60, 8)
    assert "overflow" in draw(s, GradientPane, 60, 8)


@pytest.fixture(scope="module")
def long_series() -> Session:
    s = Session(loads(SERIES.format(points=100_001)))
    return s


async def test_sequence_pane_draws_100000_steps_fast(long_series):
    s = long_series
    assert s.T == 100_000
    # The sequence pane needs no trace: draw it directly, mounted.
    app = PaneApp(s, SequencePane)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.query_one(SequencePane)
        w, h = pane.content_size.width, pane.content_size.height
        for t in (0, 50_000, 99_999):
            s.goto(t)
            start = time.perf_counter()
            for _ in range(10):
                text = plain(pane.draw(w, h), w)
            elapsed = (time.perf_counter() - start) / 10
            assert elapsed < 0.02, elapsed
            assert f"[{s.label(t)}]" in text and f"t={t} of 100000" in text
            check_fits(text, w, h)


def test_big_text_trace_draws_fast():
    words = " ".join(f"w{i % 200}" for i in range(1000))
    sc = loads(f"""
[scenario]
name = "big"
kind = "text"
[model]
hidden_size = 64
[train]
epochs = 0
[data]
text = ["{words}"]
""")
    s = Session(sc)
    s.ensure_trace()
    for cls in (SequencePane, StepPane, HiddenPane, OutputPane, GradientPane):
        draw(s, cls, 100, 30)  # fits, and warms up
        pane = type("Loose" + cls.__name__, (cls,), {"session": property(lambda self: s)})()
        start = time.perf_counter()
        for k in range(10):
            s.goto(400 + k)
            pane.draw(100, 30)
        elapsed = (time.perf_counter() - start) / 10
        assert elapsed < 0.02, (cls.__name__, elapsed)  # ~1-4 ms here; slack for slow CI


def test_redraw_keys_name_traces_by_serial_not_id():
    from rnntui.widgets._draw import serial
    s = session("king", train=True)
    pane = type("LooseStep", (StepPane,), {"session": property(lambda self: s),
                                           "content_size": property(lambda self: _Size())})()
    before = pane.content_key()
    assert pane.content_key() == before  # stable for the same trace
    s.set_epoch(0)
    s.ensure_trace()
    assert pane.content_key() != before
    a, b = object.__new__(_Bag), object.__new__(_Bag)
    assert serial(a) != serial(b) and serial(a) == serial(a)


class _Size:
    width, height = 40, 10


class _Bag:
    pass


def test_plotext_panes_build_a_frame_once_per_picture():
    s = session("sine", train=True, t=40)
    _plot.clear_cache()
    before = _plot.stats["builds"]
    for _ in range(3):
        draw(s, RetentionPane, 50, 14)
        draw(s, OutputPane, 50, 14)
        draw(s, LossPane, 50, 14)
    assert _plot.stats["builds"] - before == 3
    s.goto(41)  # the output chart follows t; retention and loss do not
    draw(s, RetentionPane, 50, 14)
    draw(s, OutputPane, 50, 14)
    draw(s, LossPane, 50, 14)
    assert _plot.stats["builds"] - before == 4


def test_loss_pane_uses_a_log_axis_across_decades():
    s = session("sine", train=True)
    losses = np.asarray(s.history.losses)
    assert losses.max() / losses.min() > 100
    text = draw(s, LossPane, 50, 16)
    assert "0.01" in text and "0.1" in text  # decade ticks
    assert f"epoch {s.trained_epochs}/{s.trained_epochs}" in text
