"""The encoder-decoder (engine/seq2seq.py): exact gradients through decoder, attention and
encoder for every cell; the pair kinds; the built-in ``reverse`` learns the mirrored
alignment; the trace JSON's attention rows; the scenario checks of ``[model].attention``."""

import json

import numpy as np
import pytest

from engine import seq2seq as m
from engine.seq2seq_train import fit
from engine.cells import CELLS
from engine.scenario import load, loads
from engine.types import ScenarioError

VOCAB = list("abcde") + [m.START, m.END]


def _batch(seed=1, S=4, B=3):
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(B):
        src = [VOCAB[i] for i in rng.integers(0, 5, S)]
        pairs.append(m.make_pair(src, src[::-1], VOCAB))
    return (np.stack([q.inputs for q in pairs], 1), np.stack([q.targets for q in pairs], 1), S)


@pytest.mark.parametrize("attention", m.ATTENTIONS)
@pytest.mark.parametrize("cell", CELLS)
def test_gradients_match_central_differences(cell, attention):
    X, Y, S = _batch()
    P = m.init_params(cell, 5, len(VOCAB), attention=attention, seed=3)
    g = m.run(P, X, Y, S).grads
    rng = np.random.default_rng(0)
    worst, checked = 0.0, 0
    for w, gw in zip(P.arrays(), g.arrays()):
        assert w.shape == gw.shape
        for flat in rng.choice(w.size, size=min(4, w.size), replace=False):
            idx = np.unravel_index(flat, w.shape)
            old, eps = w[idx], 1e-6
            w[idx] = old + eps
            up = m.forward(P, X, Y, S).loss
            w[idx] = old - eps
            down = m.forward(P, X, Y, S).loss
            w[idx] = old
            worst = max(worst, abs((up - down) / (2 * eps) - gw[idx]))
            checked += 1
    assert checked >= 4 * (7 if attention != "additive" else 10) - 4
    assert worst < 1e-8, worst


def test_the_decoder_starts_from_the_whole_final_state_of_the_encoder():
    """A change to the encoder's last input changes every decoder state (the only way it can
    without attention), and dL/d(encoder weights) is not zero without attention."""
    X, Y, S = _batch()
    for cell in CELLS:
        P = m.init_params(cell, 5, len(VOCAB), attention="none", seed=3)
        p = m.run(P, X, Y, S)
        X2 = X.copy()
        X2[S - 1] = np.roll(X2[S - 1], 1, axis=-1)
        q = m.forward(P, X2, Y, S)
        assert np.abs(q.s - p.s).min(axis=-1).max() > 0
        assert np.abs(m._cell_arrays(p.grads.enc)[0]).max() > 1e-6


@pytest.fixture(scope="module")
def reverse_trained():
    sc = load("reverse")
    return sc, fit(sc)


def test_greedy_decoding_feeds_back_its_own_guess(reverse_trained):
    """Where every teacher-forced guess of the trained reverse is right, greedy decoding
    (which feeds back its own guesses) writes the target; its attention rows sum to 1."""
    sc, hist = reverse_trained
    P = hist.weights[-1]
    q = sc.sequence
    tr = m.trace(P, q, sc.vocab)
    assert tr.output_tokens() == q.target + [m.END]
    assert tr.decoded.tokens == q.target and tr.decoded.ended and tr.departs() is None
    rows = tr.decoded.weights
    assert rows.shape == (len(q.target) + 1, q.source_len)
    assert np.allclose(rows.sum(axis=1), 1.0)


def test_reverse_attention_is_the_anti_diagonal(reverse_trained):
    """The built-in reverse, trained as its file says: the argmax of every attention row of
    its own sequence is the mirrored source position."""
    sc, hist = reverse_trained
    tr = m.trace(hist.weights[-1], sc.sequence, sc.vocab)
    rows = tr.attention_rows()
    S = sc.sequence.source_len
    assert rows.shape == (S, S)
    assert list(np.argmax(rows, axis=1)) == [S - 1 - j for j in range(S)]


def test_reverse_without_attention_is_worse(reverse_trained):
    """The bottleneck: the same training without attention leaves a higher loss."""
    sc, hist = reverse_trained
    none = fit(m.with_attention(sc, "none"))
    assert none.losses[-1] > 10 * hist.losses[-1]


def test_trace_json_attention_rows(reverse_trained):
    from rnntui.tracejson import trace_to_json
    from engine import trace_for
    sc, hist = reverse_trained
    tr = trace_for(sc, hist.weights[-1])
    data = json.loads(json.dumps(trace_to_json(sc, tr, hist, hist.trained_epochs),
                                 allow_nan=False))
    att = np.array(data["attention"])
    q = sc.sequence
    assert att.shape == (len(q.target), q.source_len)  # no end-token row, no start/end column
    assert np.allclose(att.sum(axis=1), 1.0, atol=1e-12)
    assert np.array(data["context"]).shape == (len(q.target), sc.model.hidden_size)
    assert data["source_tokens"] == q.source and data["target_tokens"] == q.target
    assert data["model"]["attention"] == "additive"
    assert len(data["steps"]) == q.source_len + len(q.target) + 1


def test_pair_kinds_make_their_targets():
    from engine.kinds.reverse import reverse
    from engine.kinds.repeat import repeat
    from engine.kinds.sort import sort
    from engine.kinds.translate import translate
    src = list("3141")
    assert reverse(src) == (list("1413"), [3, 2, 1, 0])
    assert repeat(src) == (list("3141"), [0, 1, 2, 3])
    assert sort(src) == (list("1134"), [1, 3, 0, 2])
    fr, align = translate("the red cat sees a dog".split())
    assert fr == "le chat rouge voit un chien".split()
    assert align == [0, 2, 1, 3, 4, 5]


@pytest.mark.parametrize("kind", ["reverse", "repeat", "sort"])
def test_symbol_kinds_build(kind):
    sc = loads(f'[scenario]\nname = "x"\nkind = "{kind}"\n[data]\nlength = 4\nsymbols = 5\n'
               f'sequences = 20\n')
    assert sc.model.attention == "additive" and len(sc.train_sequences) == 20
    q = sc.train_sequences[0]
    assert q.source_len == 4 and len(q) == 4 + 5
    assert set(q.source) <= set("01234")


def test_scenario_errors_name_the_key():
    with pytest.raises(ScenarioError) as err:
        loads('[scenario]\nname = "x"\nkind = "reverse"\n[model]\nattention = "cosine"\n')
    assert "[model].attention" in str(err.value) or "attention" in str(err.value)
    assert ":5:" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        loads('[scenario]\nname = "x"\nkind = "echo"\n[model]\nattention = "none"\n')
    assert "encoder-decoder" in str(err.value) and ":5:" in str(err.value)
    with pytest.raises(ScenarioError, match="tanh") as err:
        loads('[scenario]\nname = "x"\nkind = "reverse"\n[model]\nactivation = "relu"\n')
    assert ":5:" in str(err.value)
    with pytest.raises(ScenarioError, match="softmax"):
        loads('[scenario]\nname = "x"\nkind = "sort"\n[model]\noutput = "identity"\n')
    with pytest.raises(ScenarioError) as err:
        loads('[scenario]\nname = "x"\nkind = "reverse"\n[data]\nlength = 0\n')
    assert "length" in str(err.value) and ":5:" in str(err.value)


def test_a_typed_source_of_any_length_gets_its_target():
    """`i` on an encoder-decoder: the typed source (longer than any in training too) is a
    pair whose target the kind's rule makes; unknown tokens are refused in one line."""
    from engine.scenario import encode_text
    sc = load("reverse")
    q = encode_text(sc, "1234567012")
    assert q.source == list("1234567012") and q.target == list("2107654321")
    assert encode_text(sc, "3 1 4").target == list("413")
    with pytest.raises(ScenarioError, match="unknown token '9'"):
        encode_text(sc, "1 9")  # (symbols = 8: digits 0 to 7)
    tr = load("translate")
    assert encode_text(tr, "a blue fox hears the cat").target == \
        "un renard bleu entend le chat".split()


def _view(name="reverse", attention=None, t=0):
    from helpers import make_view
    sc = load(name) if attention is None else m.with_attention(load(name), attention)
    return make_view(sc, t=t)


def test_attention_pane_marks_the_row_and_names_its_argmax():
    from helpers import draw_pane
    from rnntui.widgets import pane_class
    view = _view(t=8)  # decoder step 2 of the untrained reverse
    tr = view.trace
    i = 8 - tr.S
    text = draw_pane(view, pane_class("attention"), 44, 16)
    marked = [line for line in text.splitlines() if line.lstrip().startswith("▶")]
    assert len(marked) == 1 and marked[0].split()[:2] == ["▶", tr.sequence.target[i]]
    j = int(np.argmax(tr.weights[i]))
    assert f"looks most at '{tr.sequence.source[j]}' (source {j})" in " ".join(text.split())


def test_without_attention_the_pane_shows_the_one_vector_and_its_size():
    from helpers import draw_pane
    from engine.cells import get_cell
    from rnntui.widgets import pane_class
    for cell in ("gru", "lstm"):
        sc = m.with_attention(load("reverse"), "none")
        from engine.scenario import with_cell
        from helpers import make_view
        view = make_view(with_cell(sc, cell), t=2)
        size = get_cell(cell).state_size(sc.model.hidden_size)
        text = " ".join(draw_pane(view, pane_class("attention"), 60, 16).split())
        assert f"{size} numbers for all 6 source tokens" in text
        assert len(view.trace.bottleneck) == size


def test_sequence_pane_marks_where_greedy_departs():
    from helpers import draw_pane
    from rnntui.widgets import pane_class
    view = _view(t=0)  # untrained: the greedy decode is not the target
    tr = view.trace
    off = tr.departs()
    assert off is not None
    text = draw_pane(view, pane_class("sequence"), 76, 3)
    assert f"departs at output {off}" in text
    assert [w.strip("[]") for w in text.splitlines()[0].split()[1:]] == tr.sequence.source
    assert "<s>" not in tr.decoded.tokens  # never a word to write
    # a compare column (38 cells inside): the step it departs at is still written whole
    narrow = draw_pane(view, pane_class("sequence"), 38, 3).splitlines()[2]
    assert narrow.rstrip().endswith(f"departs at {off}")


def test_the_gradient_views_sentences_are_whole_or_left_out():
    """At 80x24 the Gradients pane of `reverse` has 7 rows: its sentence about the token an
    output needs was cut after 'the token it' (the bars took every row before it)."""
    from helpers import draw_pane
    from rnntui.widgets import pane_class
    view = _view(t=6)  # decoder step 0
    needed = view.trace.sequence.align[0]
    sentence = f"(source {needed}, the token it needs):"
    for height in range(4, 16):
        text = " ".join(draw_pane(view, pane_class("gradients"), 30, height).split())
        assert ("(source" in text) == (sentence in text), (height, text)
        if height >= 7:
            assert sentence in text, (height, text)


@pytest.mark.parametrize("on_screen, left", [("dot", "dot"), ("additive", "additive"),
                                             ("none", "additive")])
def test_compare_mode_puts_the_attention_on_screen_beside_none(on_screen, left):
    """C on an encoder-decoder: the left column is the attention the screen shows (dot stays
    dot), the right one none; from the bottleneck (none) the left is additive."""
    from rnntui.screens.compare import CompareScreen
    sc = m.with_attention(load("reverse"), on_screen)
    screen = CompareScreen(sc, (sc.model.cell, sc.model.cell), source="reverse")
    assert [v.scenario.model.attention for v in screen.views] == [left, "none"]
    assert screen.titles == [f"{left} attention", "no attention"]
    assert screen.keys == [f"{sc.model.cell}:{left}", f"{sc.model.cell}:none"]
