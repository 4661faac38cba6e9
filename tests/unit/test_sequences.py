"""A text file's windows and generated sequences: the state a window starts from, the order n
and N walk, and positions that make the same window or the same generated sequence again."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_view

from engine import initial_params, load, trace_for
from engine.cells import run
from engine.scenario import with_cell
from engine.generate import forecast_sequence, generate_text
from engine.scenario import encode_text
from engine.tbptt import carried_state
from engine.types import ScenarioError
from rnntui.position import Generation, Position, WindowRef
from rnntui.sequences import (carried_note, current_window, sequence_title, step_window,
                              window_title, with_generated, with_window)


def _stream_by_hand(params, ids: np.ndarray, V: int) -> np.ndarray:
    """h after each token of ``ids`` from h = 0, one explicit tanh step at a time."""
    P = params.as_dict()
    h = np.zeros(P["W_h"].shape[0])
    out = []
    for i in ids:
        h = np.tanh(P["W_x"][:, i] + P["W_h"] @ h + P["b"])
        out.append(h)
    return np.array(out)


@pytest.mark.parametrize("part", ["validation", "train"])
def test_a_window_starts_from_the_state_carried_through_its_part(part):
    sc = load("rhymes")
    corpus = sc.data["corpus"]
    p = initial_params(sc)
    windows = sc.test_sequences if part == "validation" else sc.train_sequences
    ids = corpus.part(part)
    hand = _stream_by_hand(p, ids[:6 * 32], len(corpus.vocab))
    for k in (0, 1, 5):  # the first window (from 0), the second, one further in
        w = windows[k]
        assert (w.part, w.number, w.offset) == (part, k + 1, 32 * k)
        tr = trace_for(sc, p, w)
        start = hand[32 * k - 1] if k else np.zeros(p.hidden_size)
        assert np.allclose(tr.h_prev[0], start, rtol=0, atol=1e-12)
        assert np.allclose(tr.h, hand[32 * k:32 * k + len(w)], rtol=0, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_window_reads_as_the_same_steps_of_one_pass_over_the_whole_part(cell):
    """Each window's outputs and losses are those of the same tokens in one forward pass over
    the held-out text from h = 0, whatever window was asked for first."""
    sc = load("rhymes")
    sc = sc if cell == "rnn" else with_cell(sc, cell)
    p = initial_params(sc)
    val = sc.test_sequences
    X = np.concatenate([w.inputs for w in val])[:, None, :]
    Y = np.concatenate([w.targets for w in val])[:, None, :]
    whole = run(p, X, Y, None, activation=sc.model.activation, output=sc.model.output,
                backward=False)
    for k in (6, 2, 0, len(val) - 1):  # out of order: the kept states must not matter
        tr = trace_for(sc, p, val[k])
        a = val[k].offset
        assert np.allclose(tr.out, whole.out[a:a + len(val[k]), 0], rtol=0, atol=1e-12)
        assert np.allclose(tr.step_loss, whole.losses[a:a + len(val[k]), 0], rtol=0,
                           atol=1e-12)


def test_the_carried_state_follows_the_weights():
    sc = load("rhymes")
    p = initial_params(sc)
    w = sc.test_sequences[2]
    a = carried_state(p, w, sc.model.activation)
    b = carried_state(p.with_wh_scale(2.0), w, sc.model.activation)
    assert a.shape == (1, p.hidden_size) and not np.allclose(a, b)
    assert carried_state(p, sc.test_sequences[0], sc.model.activation) is None
    assert carried_state(p, load("king").sequence) is None  # not a window: from 0


def test_n_walks_the_validation_windows_then_the_training_ones_and_round():
    view = make_view("rhymes")
    sc = view.scenario
    V, N = len(sc.test_sequences), len(sc.train_sequences)
    assert current_window(view) == WindowRef("val", 1)
    seen = []
    v = view
    for _ in range(V + N):
        seen.append(current_window(v))
        v = step_window(v, 1)
    assert seen == [WindowRef("val", k) for k in range(1, V + 1)] + \
        [WindowRef("train", k) for k in range(1, N + 1)]
    assert v.sequence is sc.sequence and v.origin is None  # round again: its own sequence
    back = step_window(view, -1)
    assert current_window(back) == WindowRef("train", N)
    assert back.sequence is sc.train_sequences[-1]
    two = step_window(view, 1)
    assert two.sequence is sc.test_sequences[1]
    assert window_title(two) == f"validation window 2/{V}"
    assert window_title(back, short=True) == f"train {N}/{N}"
    assert carried_note(two) == "starts from h carried through the 32 characters of " \
                                "held-out text before it"
    assert "h = 0" in carried_note(view)


def test_a_window_position_round_trips_to_the_same_window():
    view = make_view("rhymes")
    sc = view.scenario
    for ref in (WindowRef("val", 2), WindowRef("val", len(sc.test_sequences)),
                WindowRef("train", 1), WindowRef("train", 7)):
        v = with_window(view, ref).at(5)
        text = str(v.position)
        assert f"window={ref.part}:{ref.number}" in text
        pos = Position.parse(text)
        assert pos == v.position and pos.window == ref
        again = with_window(view, pos.window)
        assert again.sequence is v.sequence
    own = with_window(view, WindowRef("val", 1))
    assert own.sequence is sc.sequence and "window=" not in str(own.position)
    for bad in (WindowRef("val", len(sc.test_sequences) + 1), WindowRef("train", 999)):
        with pytest.raises(ScenarioError, match="windows"):
            with_window(view, bad)
    with pytest.raises(ScenarioError, match="no windows"):
        with_window(make_view("king"), WindowRef("val", 2))


def test_generated_text_has_a_position_that_writes_it_again():
    view = make_view("rhymes", train=True)
    gen = Generation(50, 0.8, 1, "the king")
    v, message = with_generated(view, gen)
    want = generate_text(view.scenario, view.params, "the king", 50, 0.8, 1)
    assert v.sequence.tokens == want.tokens and v.typed == want.text
    assert v.t == len("the king") - 1 and "Wrote 50 tokens" in message
    assert sequence_title(v) == "written at temperature 0.8, seed 1"
    assert sequence_title(v, short=True) == "written" and current_window(v) is None
    text = str(v.position)
    assert 'gen=50,temp=0.8,seed=1,prime="the king"' in text and "text=" not in text
    pos = Position.parse(text)
    again, _ = with_generated(make_view("rhymes", train=True).with_epoch(pos.epoch), pos.gen)
    assert again.sequence.tokens == v.sequence.tokens
    assert np.array_equal(again.sequence.inputs, encode_text(view.scenario, want.text).inputs)
    # the weights it was made with are named once the view's differ
    later = v.with_knob(4).with_epoch(0)
    pos = Position.parse(str(later.position))
    assert (pos.gen.epoch, pos.gen.knob) == (view.epoch, 0)
    again, _ = with_generated(later, pos.gen)
    assert again.sequence.tokens == v.sequence.tokens


def test_a_forecast_has_a_position_that_makes_it_again():
    view = make_view("weather", train=True).with_example(3).at(10)
    v, message = with_generated(view, Generation(25, start=10))
    seq, ahead = forecast_sequence(view.scenario, view.params, view.sequence, 10, 25)
    assert np.array_equal(v.sequence.inputs, seq.inputs) and v.t == 10
    assert sequence_title(v) == "forecast free-running from t=10"
    text = str(v.position)
    assert "seq=3" in text and "gen=25,from=10" in text
    pos = Position.parse(text)
    base = make_view("weather", train=True).with_epoch(pos.epoch).with_example(pos.example)
    again, _ = with_generated(base, pos.gen)
    assert np.array_equal(again.sequence.inputs, v.sequence.inputs)
    assert again.position == v.position


def test_a_generation_that_cannot_be_made_says_why():
    view = make_view("rhymes")
    with pytest.raises(ScenarioError, match="a forecast needs a series"):
        with_generated(view, Generation(5, start=0))
    with pytest.raises(ScenarioError, match="trained"):
        with_generated(view, Generation(5, 0.0, 0, "a", epoch=99))
    with pytest.raises(ScenarioError, match="text is written by text scenarios"):
        with_generated(make_view("weather"), Generation(5, 0.0, 0, "a"))


def test_the_line_saying_what_was_written_cuts_at_a_space_and_says_so():
    """It was the first 160 characters, cut inside a word ("... on throne m")."""
    from rnntui.sequences import SHOWN_CHARS
    view = make_view("king", train=True)
    v, message = with_generated(view, Generation(200, 0.8, 9, "the king"))
    shown = message.split("): ", 1)[1]
    written = " ".join(v.sequence.tokens[len(["the", "king"]):]).replace("\n", "⏎")
    assert len(written) > SHOWN_CHARS and len(shown) <= SHOWN_CHARS
    assert shown.endswith(" …") and (written + " ").startswith(shown[:-1])
