"""What a bidirectional model looks like on screen (rnntui apple): both states at t, both
recurrences, BPTT both ways with parts that add up, the Gradients pane naming the direction it
follows, and key i's typed sentences whose tag follows the words after "apple"."""

import numpy as np
import pytest
from helpers import draw_pane, make_view

from engine import load
from engine.scenario import encode_text
from engine.trace import one_way, run_trace
from rnntui.view import BACKWARD
from rnntui.widgets import GradientPane, HiddenPane, StepPane
from rnntui.widgets._draw import fmt
from rnntui.widgets.step import backward_parts


@pytest.fixture(scope="module")
def apple():
    return make_view("apple", train=True, t=0)


def test_the_trace_carries_both_directions_in_reading_order(apple):
    tr = apple.trace
    assert tr.bidirectional and tr.back is not None and len(tr.back) == len(tr)
    T = len(tr)
    # h←_t reads x_t from h←_{t+1}: the backward cell's own step, with its own weights
    from engine.cells import get_cell
    cell = get_cell(tr.cell)
    for t in range(T):
        again = cell.step(tr.params.bwd, tr.x[t], tr.back.h_prev[t], tr.activation)
        np.testing.assert_allclose(tr.back.h[t], again, rtol=0, atol=1e-14)
        again = cell.step(tr.params.fwd, tr.x[t], tr.h_prev[t], tr.activation)
        np.testing.assert_allclose(tr.h[t], again, rtol=0, atol=1e-14)
    assert not tr.back.h_prev[T - 1].any()  # h←_T = 0: the backward direction starts there


@pytest.mark.parametrize("t", [0, 1, 3])
def test_bptt_parts_add_up_in_both_directions(apple, t):
    tr = apple.trace
    for which in ("fwd", "bwd"):
        direct, later = backward_parts(tr, t, which)
        np.testing.assert_allclose(direct + later, tr.direction(which).dh[t], rtol=1e-12,
                                   atol=1e-300)


def test_hidden_and_step_show_both_states_with_their_numbers(apple):
    tr = apple.trace
    hidden = draw_pane(apple, HiddenPane, 60, 22)
    assert "h→_0" in hidden and "h←_0" in hidden
    assert fmt(tr.h[0][0]) in hidden and fmt(tr.back.h[0][0]) in hidden
    step = draw_pane(apple, StepPane, 80, 20)
    assert "h→_0" in step and "h←_0" in step and "←h_1" in step and "→h_-1" in step
    back = draw_pane(apple.with_phase(BACKWARD), StepPane, 80, 14)
    assert "dL/dh→_0" in back and "dL/dh←_0" in back and "from t=1" in back


def test_the_gradients_pane_says_it_follows_the_forward_direction(apple):
    text = draw_pane(apple, GradientPane, 60, 14)
    assert text.splitlines()[0].startswith("→ forward")
    one = one_way(apple.trace)
    assert one.back is None and one.params.W_y.shape[1] == one.h.shape[1]
    np.testing.assert_array_equal(one.h, apple.trace.h)
    draw_pane(apple.with_grads("loss"), GradientPane, 60, 14)  # the per-loss view draws too


def test_the_retention_pane_says_it_follows_the_forward_direction(apple):
    from rnntui.widgets import pane_class
    text = draw_pane(apple, pane_class("retention"), 40, 12)
    assert text.splitlines()[0].startswith("cos(h→₀, h→"), text


def test_typed_sentences_tag_apple_by_the_words_after_it(apple):
    sc = load("apple")
    params = apple.history.params_at(apple.history.last_epoch)
    for text, tag in (("apple is a fruit", "fruit"), ("apple inc announced", "company"),
                      ("i think apple is a company", "company"), ("today apple pie", "fruit")):
        seq = encode_text(sc, text)
        assert not seq.mask.any()  # typed: no targets
        tr = run_trace(params, seq, activation=sc.model.activation, output=sc.model.output)
        at = seq.tokens.index("apple")
        assert sc.vocab[int(np.argmax(tr.out[at]))] == tag, text


def test_the_json_lets_an_outside_script_recompute_both_directions(apple):
    import json
    from rnntui.tracejson import trace_to_json
    doc = json.loads(json.dumps(trace_to_json(apple.scenario, apple.trace, apple.history,
                                              apple.epoch), allow_nan=False))
    assert doc["bidirectional"] is True
    P = {k: np.array(v) for k, v in doc["params"].items()}
    steps = doc["steps"]
    H = doc["model"]["hidden_size"]
    h = np.array(doc["h0"])
    for s in steps:  # forward: from h0 up
        h = np.tanh(P["fwd.W_x"] @ s["x"] + P["fwd.W_h"] @ h + P["fwd.b"])
        np.testing.assert_allclose(h, s["h_fwd"], rtol=0, atol=1e-12)
    h = np.array(doc["h0_bwd"])
    for s in reversed(steps):  # backward: from the end down
        h = np.tanh(P["bwd.W_x"] @ s["x"] + P["bwd.W_h"] @ h + P["bwd.b"])
        np.testing.assert_allclose(h, s["h_bwd"], rtol=0, atol=1e-12)
    for s in steps:
        assert s["h"] == s["h_fwd"] + s["h_bwd"] and len(s["h"]) == 2 * H
        np.testing.assert_allclose(P["W_y"] @ s["h"] + P["b_y"], s["y"], rtol=0, atol=1e-12)


def test_a_one_way_trace_json_has_no_bidirectional_keys():
    import json
    from rnntui.tracejson import trace_to_json
    view = make_view("echo", t=0)
    doc = trace_to_json(view.scenario, view.trace)
    assert "bidirectional" not in doc and "h0_bwd" not in doc
    assert not {"h_fwd", "h_bwd", "grad_h_fwd"} & set(doc["steps"][0])
    assert list(doc["params"]) == ["W_x", "W_h", "b", "W_y", "b_y"]


def test_the_step_pane_counts_twice_the_cell_weights(apple):
    from engine.cells import get_cell
    one = get_cell("rnn").init(8, 32, 2)
    cell = sum(a.size for a in one.arrays()) - one.W_y.size - one.b_y.size
    assert cell == 8 * 32 + 8 * 8 + 8
    text = draw_pane(apple, StepPane, 80, 30)
    assert f"2 × {cell} cell weights + {2 * 16 + 2} read-out = {2 * cell + 34}" in text


@pytest.mark.parametrize("cell", ["lstm", "gru", "irnn"])
def test_every_pane_draws_a_bidirectional_model_of_every_cell(cell):
    from engine import with_cell
    from rnntui.widgets import PANES, pane_class
    sc = with_cell(load("apple"), cell)
    assert sc.model.bidirectional
    for phase_view in (make_view(sc, t=1), make_view(sc, t=2, phase=BACKWARD)):
        for name in PANES:
            for w, h in ((80, 24), (38, 9), (24, 6)):
                draw_pane(phase_view, pane_class(name), w, h)
        step = draw_pane(phase_view, StepPane, 100, 30)
        assert "h→" in step and "h←" in step


def test_the_output_pane_shows_the_tag_right_only_with_both_directions(apple):
    import dataclasses
    from rnntui.widgets import OutputPane
    assert "held out 100% 8/8" in draw_pane(apple, OutputPane, 24, 7)
    sc = load("apple")
    one = dataclasses.replace(sc, model=dataclasses.replace(sc.model, bidirectional=False))
    text = draw_pane(make_view(one, train=True), OutputPane, 40, 7)
    assert "held out: 50.0% right (4/8)" in text
