"""Each built-in scenario does what its description promises, trained exactly as shipped."""

from functools import lru_cache

import numpy as np
import pytest
from helpers import trained_history
from seed000 import seed000_reference

from engine import fit, load, run, trace_for
from engine.scenario import builtin_names, encode_text


@lru_cache(maxsize=None)
def trained(name):
    sc = load(name)
    hist = trained_history(name)  # fit(sc), shared with the other tests of this process
    assert hist.stopped is None
    return sc, hist, trace_for(sc, hist.weights[-1])


def prob_of(sc, out_row, word):
    return float(out_row[sc.vocab.index(word)])


def test_all_six_are_shipped():
    assert {"king", "cat", "hello", "sine", "echo", "long"} <= set(builtin_names())


def test_king_predicts_throne_after_on():
    sc, hist, tr = trained("king")
    assert sc.sequence.labels == ["the", "king", "sits", "on", "throne"]
    t = sc.sequence.labels.index("on")
    assert sc.vocab[int(np.argmax(tr.out[t]))] == "throne"
    assert prob_of(sc, tr.out[t], "throne") >= 0.9
    # and it is training that did it: the untrained weights do not
    tr0 = trace_for(sc, hist.weights[0])
    assert prob_of(sc, tr0.out[t], "throne") < 0.5


def test_cat_is_seed_000_exactly():
    _, _, _, hs, ret = seed000_reference()
    sc = load("cat")
    assert sc.train.epochs == 0 and sc.model.hidden_size == 3 and sc.input_size == 4
    hist = fit(sc)
    tr = trace_for(sc, hist.weights[-1])
    assert np.allclose(tr.h, hs, atol=1e-14)
    assert np.allclose(tr.retention, ret, atol=1e-14)
    assert np.array_equal(sc.token_vectors["mat"], [0, 0, 1, 1])
    # the same word at two positions gives two different states
    assert sc.sequence.labels[0] == sc.sequence.labels[4] == "the"
    assert np.linalg.norm(tr.h[0] - tr.h[4]) > 0.1
    assert tr.spectral_norm == pytest.approx(0.5273919980850471, rel=1e-12)
    assert tr.spectral_radius == pytest.approx(0.41908091974020684, rel=1e-12)


def test_hello_predicts_o_after_hell():
    sc, _, tr = trained("hello")
    assert "".join(sc.sequence.labels[:4]) == "hell"
    assert sc.vocab[int(np.argmax(tr.out[3]))] == "o"


def test_sine_training_cuts_the_loss_tenfold():
    _, hist, _ = trained("sine")
    assert hist.losses[-1] * 10 <= hist.losses[0]


def test_echo_generalises_to_held_out_bits():
    sc, hist, _ = trained("echo")
    assert len(sc.test_sequences) >= 50
    right = total = 0
    for s in sc.test_sequences:
        p = run(hist.weights[-1], s.inputs, s.targets, s.mask, activation=sc.model.activation,
                output=sc.model.output, backward=False)
        guess = p.out[:, 0, 0] >= 0.5
        want = s.targets[:, 0] >= 0.5
        right += int((guess == want)[s.mask].sum())
        total += int(s.mask.sum())
    assert right / total >= 0.95


def test_long_struggles_and_the_gradient_view_shows_why():
    sc, hist, tr = trained("long")
    assert hist.losses[-1] < hist.losses[0] / 2  # it learns the rest of the sentences
    labels = sc.sequence.labels
    t_noun, t_verb = labels.index("cat"), labels.index("chased")
    assert t_verb - t_noun >= 6
    # over the long gap the verb's number is a coin toss, for "cat" and for "cats"
    p_runs = prob_of(sc, tr.out[t_verb], "runs")
    plural = trace_for(sc, hist.weights[-1],
                       encode_text(sc, "the cats that the old dog from the farm chased run away"))
    p_run = prob_of(sc, plural.out[t_verb], "run")
    assert p_runs < 0.7 and p_run < 0.7
    # because almost nothing of the noun's state reaches the end of the sentence
    assert tr.jacobian_norm[t_noun] < 1e-2
