"""Issue 9 (every screen tells the truth), the panes' part: each pane drawn from a View with no
App, checked against numbers computed here by hand (central differences, two forward passes).

Each test names the item of issue 9 it covers; the running app's part is in
tests/functional/test_truth_app.py, the CLI's in tests/unit/test_truth_cli.py."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from helpers import draw_pane, make_view, traced, untrained_history

from engine import History
from engine.scenario import builtin_names, load
from rnntui.keys import BINDINGS
from rnntui.screens.help import GLYPHS, PANE_HELP
from rnntui.screens.main import status_text
from rnntui.view import BACKWARD, FORWARD, View
from rnntui.widgets import PANES as PANE_IDS, pane_class
from rnntui.widgets import (GradientPane, HiddenPane, LossPane, OutputPane, RetentionPane,
                            SequencePane, StepPane)
from rnntui.widgets._draw import fmt_abs, fmt_pow10

PANES = [pane_class(pane_id) for pane_id in PANE_IDS]  # the registry: every pane
#: Pane content sizes of the 60x20, 80x24 and 120x40 screens (measured on the running app),
#: and a maximised pane at 120x40.
GRID_SIZES = [(16, 5), (16, 6), (22, 7), (23, 7), (22, 8), (24, 8), (36, 14), (36, 16),
              (116, 36)]
SEQUENCE_SIZES = [(56, 1), (76, 1), (116, 4)]
#: The sizes the whole-number sweep draws every pane at (60x20, 80x24, 120x40, maximised).
SWEEP_SIZES = [(16, 5), (22, 7), (24, 8), (36, 16), (116, 36)]
#: An ellipsis touching a digit, a point, an "e" or "=" reads as a cut number.
CUT_NUMBER = re.compile(r"[0-9.e=]…|…[0-9]")


@pytest.fixture(scope="module")
def trained():
    """Each built-in trained as it says, once for this module."""
    return {name: make_view(name, train=True) for name in builtin_names()}


def lines_of(text: str) -> list[str]:
    return text.split("\n") if text else []


# ---------------------------------------------------------------------------------------------
# 1/3. The + key tells what really happens (the count built-in's explosion itself is checked in
# tests/unit/test_explode.py)


def test_item3_knob_up_explains_saturation_and_names_the_scenario_that_explodes():
    tip = next(b for b in BINDINGS if b.id == "knob-up").tooltip
    assert "watch gradients explode" not in tip
    assert "saturate" in tip and "f'(a)" in tip and "count" in tip
    grads_help = dict(PANE_HELP)["gradients"]
    assert "saturate" in grads_help and "count" in grads_help
    assert "count" in builtin_names()


# ---------------------------------------------------------------------------------------------
# 2. Retention's verdict from what the first input changed


def effect_by_hand(params, x0, steps):
    """Two runs from h = 0 (with the first input, with a blank one), then blanks: the norm of
    their difference after each step, by explicit matrix products."""
    def step(x, h):
        return np.tanh(params.W_h @ h + params.W_x @ x + params.b)
    H = params.W_h.shape[0]
    a, b = step(x0, np.zeros(H)), step(np.zeros_like(x0), np.zeros(H))
    norms = [np.linalg.norm(a - b)]
    for _ in range(steps):
        a, b = step(np.zeros_like(x0), a), step(np.zeros_like(x0), b)
        norms.append(np.linalg.norm(a - b))
    return np.array(norms)


@pytest.mark.parametrize("w, h", [(23, 8), (36, 14), (36, 16), (116, 10), (116, 36)])
def test_item4_sine_at_an_eighth_never_says_kept_its_first_input_changes_nothing(trained, w, h):
    v = traced(trained["sine"].with_knob(-12))
    assert v.wh_scale == 0.125
    assert v.trace.x[0][0] == 0.0  # sin(0): the first input is 0
    text = draw_pane(v, RetentionPane, w, h)
    assert "kept" not in text
    assert "changes nothing" in text
    assert "forgotten" not in text and "0×" not in text


def test_item4_the_verdict_is_what_the_first_input_changed_computed_by_hand(trained):
    v = traced(trained["king"].with_knob(-12))
    K = len(v.trace.retention)
    norms = effect_by_hand(v.trace.params, v.trace.x[0], K)
    left = norms[-1] / norms[0]
    text = draw_pane(v, RetentionPane, 116, 10)
    assert f"{fmt_pow10(math.log10(left))}× left" in text
    word = "forgotten" if left < 0.01 else "fading" if left < 0.3 else "kept"
    assert word in text.split("\n")[-1]


@pytest.fixture(scope="module")
def h0_zero():
    """sine with a zero bias: its first input is 0, so h_0 = tanh(W_x·0 + 0) = 0."""
    sc = load("sine")
    p0 = untrained_history(sc).weights[0]
    p = dataclasses.replace(p0, b=np.zeros_like(p0.b))
    hist = History(losses=[1.0], epochs=[0], weights=[p])
    v = traced(View.open(sc, hist).with_history(hist))
    assert not np.any(v.trace.h[0])
    return v


def test_item4_h0_zero_is_undefined_never_zero_forgotten(h0_zero):
    v = h0_zero
    for w, h in [(22, 8), (23, 8), (36, 14), (116, 10)]:
        text = draw_pane(v, RetentionPane, w, h)
        assert "forgotten" not in text and "kept" not in text
        assert "undefined" in text or "changes nothing" in text, text
    assert "changes nothing" in draw_pane(v, RetentionPane, 116, 10)


def test_item4_h0_zero_cosine_is_called_undefined(h0_zero):
    wide = draw_pane(h0_zero, RetentionPane, 116, 10)
    assert "cos undefined" in wide and "cos 0 " not in wide, wide


def test_item4_h0_zero_verdict_whole_at_60x20(h0_zero):
    text = draw_pane(h0_zero, RetentionPane, 16, 6)
    verdict = text.split("\n")[-1]
    assert verdict in ("no change", "x₀ changes nothing", "input changes nothing"), text


def test_item4_an_undefined_cosine_draws_no_curve(h0_zero):
    assert not np.any(h0_zero.trace.h[0])
    text = draw_pane(h0_zero, RetentionPane, 36, 14)
    assert not re.search("[\u2801-\u28ff]", text), text


# ---------------------------------------------------------------------------------------------
# 2. The per-loss view on long


def loss_at(params, xs, target, h, start, tau):
    """ℓ_τ (cross-entropy at τ alone) from state ``h`` after step ``start - 1``, by hand."""
    for k in range(start, tau + 1):
        h = np.tanh(params.W_h @ h + params.W_x @ xs[k] + params.b)
    y = params.W_y @ h + params.b_y
    y = y - y.max()
    return -(y[target] - math.log(np.exp(y).sum()))


def grad_norms_by_differences(trace, tau, eps=1e-6):
    """‖∂ℓ_τ/∂h_t‖ for t = 0..τ by central differences of the forward pass."""
    p, xs = trace.params, trace.x
    target = int(np.argmax(trace.targets[tau]))
    out = []
    for t in range(tau + 1):
        g = np.empty(trace.h.shape[1])
        for i in range(len(g)):
            hp, hm = trace.h[t].copy(), trace.h[t].copy()
            hp[i] += eps
            hm[i] -= eps
            g[i] = (loss_at(p, xs, target, hp, t + 1, tau)
                    - loss_at(p, xs, target, hm, t + 1, tau)) / (2 * eps)
        out.append(np.linalg.norm(g))
    return np.array(out)


VERB_STEP = 9  # "chased": its target is the verb "runs"


@pytest.fixture(scope="module")
def long_loss_view(trained):
    v = traced(trained["long"].at(VERB_STEP).with_grads("loss"))
    assert v.label(VERB_STEP) == "chased" and v.target_label(VERB_STEP) == "runs"
    return v


def test_item5_per_loss_view_shows_the_loss_at_tau_followed_back_vanishing(long_loss_view):
    v = long_loss_view
    g = grad_norms_by_differences(v.trace, VERB_STEP)
    ratio = math.log10(g[0] / g[VERB_STEP])
    text = draw_pane(v, GradientPane, 56, 12)
    assert "‖∂L_τ/∂h_t‖" in text and "‖dL/dh_t‖" not in text
    verdict = text.split("\n")[-1]
    assert f"τ={VERB_STEP}→t=0: {fmt_pow10(ratio)}×" in verdict
    assert ratio <= -3 and "vanishing" in verdict
    # the total view (every loss at once) is another picture
    total = draw_pane(v.with_grads("total"), GradientPane, 56, 12)
    assert "‖dL/dh_t‖" in total and "τ=" not in total
    for w, h in [(22, 8), (36, 14)]:
        small = draw_pane(v, GradientPane, w, h)
        assert "∂Lτ/∂h" in small and "vanishing" in small.split("\n")[-1]


def test_item5_short_gap_reaches_cat_much_better_than_the_long_gap(trained):
    short = traced(trained["long"].with_example(0).at(1).with_grads("loss"))
    assert [short.label(t) for t in range(short.T)] == ["the", "cat", "runs", "away"]
    g = grad_norms_by_differences(short.trace, 1)
    assert g[0] / g[1] > 1e-2  # one step back: most of it arrives


# ---------------------------------------------------------------------------------------------
# 2. Targets in the sequence pane, and the help says what each size shows


def test_item6_sequence_shows_targets_where_there_is_room(trained):
    v = trained["king"].at(2)
    targets = [v.target_label(t) or "·" for t in range(v.T)]
    big = lines_of(draw_pane(v, SequencePane, 116, 4))
    assert big[1].split() == ["the", "king", "[sits]", "on", "throne"]
    assert big[2].split() == targets  # under the inputs
    small = lines_of(draw_pane(v, SequencePane, 76, 1))
    assert len(small) == 1 and not any(line.split() == targets for line in small)
    said = dict(PANE_HELP)["sequence"]
    assert "80x24" in said and "36 rows" in said and "target" in said


# ---------------------------------------------------------------------------------------------
# 2. One glyph for the space token


def test_item7_the_space_is_one_visible_glyph_in_every_pane(trained):
    v = trained["hello"]
    space = next(t for t in range(v.T) if v.sequence.tokens[t] == " ")
    for t in (space - 1, space):  # the space as a target, then as the input
        for pane, sizes in [(SequencePane, SEQUENCE_SIZES), (StepPane, GRID_SIZES),
                            (OutputPane, GRID_SIZES), (HiddenPane, GRID_SIZES[2:])]:
            for w, h in sizes:
                text = draw_pane(v.at(t), pane, w, h)
                assert "' '" not in text, (pane.__name__, w, h, text)
    seq = draw_pane(v.at(space), SequencePane, 116, 4)
    assert "[␣]" in seq
    assert "'␣'" in draw_pane(v.at(space), StepPane, 36, 14)
    out = draw_pane(v.at(space - 1), OutputPane, 36, 14)
    assert "'␣'" in out and re.search(r"^★ ␣ ", out, re.M)


# ---------------------------------------------------------------------------------------------
# 3. Whole numbers


def sweep_views(trained, name, pane):
    """Views of a trained built-in at the first, a middle and the last step of both passes,
    one per picture ``pane`` draws (Views equal in the pane's READS draw the same picture)."""
    v = trained[name]
    seen = set()
    for t in sorted({0, v.T // 2, v.T - 1}):
        for phase in (FORWARD, BACKWARD):
            w = v.at(t).with_phase(phase)
            key = w.key(pane.READS)
            if key not in seen:
                seen.add(key)
                yield w


@pytest.mark.parametrize("pane", PANES, ids=lambda p: p.__name__)
def test_item8_no_ellipsis_touches_a_number_in_any_pane_at_any_size(trained, pane):
    sizes = SEQUENCE_SIZES if pane is SequencePane else SWEEP_SIZES
    bad = []
    for name in builtin_names():
        for v in sweep_views(trained, name, pane):
            for w, h in sizes:
                for line in lines_of(draw_pane(v, pane, w, h)):
                    if CUT_NUMBER.search(line):
                        bad.append((name, v.t, v.phase, w, h, line))
    assert not bad, bad[:10]


def probability_column(text: str) -> list[str]:
    """The probability printed on each token row of a softmax Output pane."""
    out = []
    for line in lines_of(text)[1:]:
        if line.lstrip().startswith(("…", "held out")):
            continue  # "… 3 more of 9", "held out 100% 8/8" (a tagging scenario's)
        out.append(line.split("◀")[0].split()[-1])
    return out


@pytest.mark.parametrize("name", [n for n in builtin_names()
                                  if load(n).model.output == "softmax"
                                  and not load(n).model.attention])  # (no Output pane there)
def test_item8_every_probability_shown_is_a_whole_number_at_most_one(trained, name):
    for v in sweep_views(trained, name, OutputPane):
        for w, h in GRID_SIZES:
            text = draw_pane(v, OutputPane, w, h)
            column = probability_column(text)
            assert column, text
            for p in column:
                assert 0.0 <= float(p) <= 1.0, (name, v.t, w, h, text)


def test_item8_the_60x20_output_shows_tiny_probabilities_whole(trained):
    v = trained["king"].at(2)  # after "sits": all but "on" are tiny
    text = draw_pane(v, OutputPane, 16, 5)
    for p in probability_column(text):
        assert float(p) <= 1.0
    assert any("e-" in p for p in probability_column(text)), text


# ---------------------------------------------------------------------------------------------
# 3. Stable layouts


def step_form(text: str) -> tuple:
    """The shape of a Step picture: a table (one row per hidden unit) or wrapped vectors, and
    the row labels in order (step numbers left out)."""
    lines = lines_of(text)
    table = any(re.match(r"^\s*h\d+\s", line) for line in lines)
    labels = tuple(re.sub(r"-?\d+", "N", line.split()[0]) for line in lines[1:]
                   if line and not line.startswith(" "))
    return ("table" if table else "wrapped", labels)


def test_item9_step_pane_keeps_one_form_as_t_moves_on_king_at_120x40(trained):
    v = trained["king"]
    for phase in (FORWARD, BACKWARD):
        forms = {step_form(draw_pane(v.at(t).with_phase(phase), StepPane, 36, 14))
                 for t in range(v.T)}
        assert len(forms) == 1, (phase, forms)


@pytest.mark.parametrize("name", ["king", "long", "hello"])
def test_item9_hidden_pane_at_80x24_shows_the_same_units_at_every_t(trained, name):
    v = trained[name]
    H = v.trace.h.shape[1]
    sets = set()
    for t in range(v.T):
        text = draw_pane(v.at(t), HiddenPane, 23, 7)
        units = tuple(re.findall(r"^\s*h(\d+) ", text, re.M))
        assert f"{len(units)}/{H}" in text.split("\n")[0]
        sets.add(units)
    assert len(sets) == 1, sets
    peak = np.abs(v.trace.h).max(axis=0)  # the largest |h| anywhere in the sequence
    (units,) = sets
    chosen = sorted(int(u) for u in units)
    assert min(peak[chosen]) >= max(np.delete(peak, chosen))
    assert "6/12" in dict(PANE_HELP)["hidden"] and "same set" in dict(PANE_HELP)["hidden"]


# ---------------------------------------------------------------------------------------------
# 3. One indexing convention


def test_item10_retention_says_h0_and_positions_count_from_zero(trained):
    v = trained["king"].at(3)
    for w, h in [(23, 8), (36, 14), (116, 10)]:
        text = draw_pane(v, RetentionPane, w, h)
        assert "h₀" in text and "h₁" not in text
    for width in (60, 80, 120):
        s = status_text(v, width).plain
        assert "t=3" in s and "step 4 of" not in s and "of 5" not in s
    assert "(0–4)" in status_text(v, 120).plain
    seq = draw_pane(v, SequencePane, 116, 4).split("\n")[0]
    assert "t=3" in seq and "(steps 0–4)" in seq and "step 4 of" not in seq
    step = draw_pane(v, StepPane, 36, 14)
    assert "h_3" in step and "x_3" in step  # h_t is the state after input x_t
    hid = draw_pane(v, HiddenPane, 36, 14)
    assert hid.startswith("h_3 ")
    assert "t=3" in str(v.position).split(",")  # the --at string too
    assert "t=0" in str(v.at(0).position).split(",")


# ---------------------------------------------------------------------------------------------
# 3. Log bars show their range; a log loss axis says so


def test_item11_gradient_bars_at_80x24_are_labelled_with_max_and_min(trained):
    for name in ("king", "long", "sine"):
        v = trained[name]
        text = draw_pane(v.at(v.T // 2), GradientPane, 22, 8)
        assert text.count("max ") == 2 and text.count("min ") == 2, text
    # the labels are the chart's ends
    v = trained["king"]
    with np.errstate(divide="ignore"):
        lv = np.log10(np.linalg.norm(v.trace.dh, axis=1))
    text = draw_pane(v, GradientPane, 36, 14)
    top = max(lv[np.isfinite(lv)])
    assert f"max {fmt_pow10(top)}" in text


def test_item11_a_log_loss_axis_says_log(trained):
    v = trained["sine"]
    losses = np.asarray(v.history.losses)
    assert losses.max() / losses.min() > 100  # the curve spans decades
    for w, h in [(23, 8), (36, 14), (116, 36)]:
        head = draw_pane(v, LossPane, w, h).split("\n")[0]
        assert "log" in head, head
    king = trained["king"]
    if np.max(king.history.losses) / np.min(king.history.losses) <= 10:
        assert "log" not in draw_pane(king, LossPane, 36, 14).split("\n")[0]


# ---------------------------------------------------------------------------------------------
# 3. Focus marked without colour


@pytest.mark.parametrize("pane", PANES, ids=lambda p: p.__name__)
def test_item12_the_focused_title_starts_with_a_mark(pane):
    p = pane()
    for width in (20, 27, 40, 120):
        assert p.title_for(width, True).startswith("◆")
        assert not p.title_for(width, False).startswith("◆")


# ---------------------------------------------------------------------------------------------
# 3. Every glyph in help (the help screen itself: tests/functional/test_truth_app.py)


def test_item13_the_glyph_table_explains_every_sign():
    signs = " ".join(g for g, _ in GLYPHS)
    for sign in ("◆", "★", "◀", "␣", "‖v‖", "≤0.070×", "τ", "ρ", "+█▒░", "−●•·", "…"):
        assert sign in signs, sign


# ---------------------------------------------------------------------------------------------
# 4. Each scenario's promises visible


def test_item15_echo_shows_held_out_accuracy_computed_here(trained):
    v = trained["echo"]
    sc = v.scenario
    assert sc.test_sequences
    right = total = 0
    p = v.trace.params
    for seq in sc.test_sequences:  # the bits predicted on data never trained on, by hand
        h = np.zeros(p.W_h.shape[0])
        for x, y, m in zip(seq.inputs, seq.targets, seq.mask):
            h = np.tanh(p.W_h @ h + p.W_x @ x + p.b)
            if m:
                prob = 1 / (1 + np.exp(-(p.W_y @ h + p.b_y)[0]))
                right += int((prob >= 0.5) == (y[0] >= 0.5))
                total += 1
    pct = 100.0 * right / total
    share = f"{pct:.1f}%" if pct < 100 else "100%"
    for w, h in [(36, 14), (116, 36)]:
        text = draw_pane(v, OutputPane, w, h)
        assert re.search("held.out", text) and share in text, (share, text)


def test_item15_sine_maximised_hidden_pane_draws_the_2d_path(trained):
    v = trained["sine"].at(100)
    text = draw_pane(v, HiddenPane, 116, 36)
    assert "main directions" in text and "●" in text
    assert "main directions" not in draw_pane(v, HiddenPane, 36, 14)


def prob_of(text: str, word: str) -> float:
    for line in lines_of(text)[1:]:
        parts = line.replace("★", " ").split("◀")[0].split()
        if parts and parts[0] == word:
            return float(parts[-1])
    raise AssertionError(f"{word!r} not shown:\n{text}")


def test_item15_long_short_gap_learned_long_gap_unsure(trained):
    v = trained["long"]
    short = traced(v.with_example(0)).at(1)
    assert short.label(1) == "cat" and short.target_label(1) == "runs"
    assert prob_of(draw_pane(short, OutputPane, 36, 14), "runs") > 0.7
    far = v.at(VERB_STEP)
    assert far.target_label(VERB_STEP) == "runs"
    p_far = prob_of(draw_pane(far, OutputPane, 36, 14), "runs")
    assert p_far < 0.6
    assert p_far == pytest.approx(float(far.trace.out[VERB_STEP][v.scenario.vocab.index("runs")]),
                                  abs=5e-5)


# ---------------------------------------------------------------------------------------------
# 4. The loss of what is on screen


def test_item17_loss_on_screen_is_the_traces_not_the_curves(trained):
    base = trained["king"]
    v = traced(base.with_knob(12))
    assert v.wh_scale == 8.0
    # the trace's loss, by hand: the mean cross-entropy over the steps with a target
    tr = v.trace
    logp = np.log(tr.out[tr.mask.astype(bool)])
    want = -float(np.mean(np.sum(logp * tr.targets[tr.mask.astype(bool)], axis=1)))
    assert tr.loss == pytest.approx(want, rel=1e-12)
    curve = fmt_abs(v.history.losses[v.epoch])
    for w, h in [(23, 8), (36, 14), (116, 36)]:
        text = draw_pane(v, LossPane, w, h)
        on_screen = next(line for line in lines_of(text) if "L=" in line or "L = " in line)
        assert fmt_abs(tr.loss) in on_screen
        assert fmt_abs(tr.loss) != curve
    assert "8.00" in draw_pane(v, LossPane, 36, 14)  # says which knob it is for


def test_a_prefixed_title_with_no_room_for_the_pane_name_ends_without_a_separator():
    p = PANES[0]()
    p.title_prefix = "no attention · L=0.9675"
    assert p.title_for(len(p.title_prefix) + 6, False) == p.title_prefix
