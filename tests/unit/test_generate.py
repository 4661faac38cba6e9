"""engine/generate.py: sampling is seeded and exact, greedy is the argmax, forecasts feed back."""

from __future__ import annotations

import numpy as np
import pytest

from engine import fit, initial_params
from engine.cells import run
from engine.scenario import with_cell
from engine.generate import (check_settings, forecast, forecast_sequence, generate_text,
                             sample_index)
from engine.model import softmax
from engine.scenario import load
from engine.types import ScenarioError


@pytest.fixture(scope="module")
def rhymes():
    sc = load("rhymes")
    hist = fit(sc, 2)
    return sc, hist.params_at(2)


def test_same_seed_same_text(rhymes):
    sc, p = rhymes
    a = generate_text(sc, p, "the king", 80, 0.8, seed=1)
    b = generate_text(sc, p, "the king", 80, 0.8, seed=1)
    c = generate_text(sc, p, "the king", 80, 0.8, seed=2)
    assert a.text == b.text and a.text != c.text
    assert a.text.startswith("the king") and len(a.generated) == 80 and a.prime == 8


def _argmax_chain(sc, params, tokens, n):
    """Greedy decoding the slow, independent way: rerun the whole sequence every step."""
    idx = {t: i for i, t in enumerate(sc.vocab)}
    toks = list(tokens)
    for _ in range(n):
        X = np.zeros((len(toks), 1, len(sc.vocab)))
        X[np.arange(len(toks)), 0, [idx[t] for t in toks]] = 1.0
        p = run(params, X, backward=False)
        toks.append(sc.vocab[int(np.argmax(p.out[-1, 0]))])
    return toks


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_temperature_zero_is_the_argmax_chain(rhymes, cell):
    sc, p = rhymes
    if cell != "rnn":
        sc = with_cell(sc, cell)
        p = initial_params(sc)
        for a in p.arrays():
            a += np.random.default_rng(1).normal(0, 0.2, size=a.shape)
    g = generate_text(sc, p, "mary had", 40, 0, seed=123)
    assert g.tokens == _argmax_chain(sc, p, list("mary had"), 40)
    assert g.text == generate_text(sc, p, "mary had", 40, 0, seed=9).text  # no draws at all


def test_low_temperature_tends_to_the_argmax():
    rng = np.random.default_rng(0)
    logits = np.array([0.3, 2.0, 1.9, -1.0])
    assert all(sample_index(logits, 1e-3, rng) == 1 for _ in range(200))
    assert sample_index(logits, 0, rng) == 1


def test_draws_follow_softmax_over_temperature():
    rng = np.random.default_rng(5)
    logits = np.array([0.0, 1.0, -0.5, 0.7])
    for temp in (0.5, 1.0, 2.0):
        n = 40_000
        counts = np.bincount([sample_index(logits, temp, rng) for _ in range(n)], minlength=4)
        want = softmax(logits / temp)
        # 5 standard errors of a binomial share: a deterministic draw, far from the edge
        assert np.all(np.abs(counts / n - want) < 5 * np.sqrt(want * (1 - want) / n))


def test_inverse_cdf_by_hand():
    logits = np.log(np.array([0.1, 0.6, 0.3]))
    u = np.random.default_rng(7).random()
    want = int(np.searchsorted(np.cumsum([0.1, 0.6, 0.3]), u, side="right"))
    assert sample_index(logits, 1.0, np.random.default_rng(7)) == want


@pytest.mark.parametrize("length, temp", [(0, 1.0), (10_001, 1.0), (5, 0.05), (5, 2.5),
                                          (5, -1), (True, 1.0)])
def test_bad_settings(length, temp):
    with pytest.raises(ScenarioError):
        check_settings(length, temp)


def test_bad_primes(rhymes):
    sc, p = rhymes
    with pytest.raises(ScenarioError, match="at least one character"):
        generate_text(sc, p, "", 5)
    with pytest.raises(ScenarioError, match="'z' is not in the vocabulary"):
        generate_text(sc, p, "zebra", 5)
    with pytest.raises(ScenarioError, match="series scenario"):
        generate_text(load("sine"), initial_params(load("sine")), "x", 5)


def test_forecast_feeds_predictions_back():
    sc = load("weather")
    hist = fit(sc, 3)
    p = hist.params_at(3)
    prime = sc.sequence.inputs[:50, 0]
    ahead = forecast(sc, p, prime, 12)
    # the slow way: append each prediction to the inputs and rerun from the start
    xs = list(prime)
    for k in range(12):
        out = run(p, np.asarray(xs)[:, None, None], output="identity", backward=False).out
        assert ahead[k] == pytest.approx(out[-1, 0, 0], rel=1e-12, abs=1e-14)
        xs.append(ahead[k])
    seq, ahead2 = forecast_sequence(sc, p, sc.sequence, 49, 12)
    assert np.array_equal(ahead, ahead2)
    assert len(seq) == 50 + 11
    trace_out = run(p, seq.inputs[:, None, :], output="identity", backward=False).out[:, 0, 0]
    assert np.allclose(trace_out[49:], ahead, rtol=1e-12, atol=1e-14)
    # the truth where the series has it
    assert np.array_equal(seq.targets[:, 0], sc.sequence.targets[:61, 0])
    assert seq.mask.all()
    end, _ = forecast_sequence(sc, p, sc.sequence, len(sc.sequence) - 1, 5)
    assert end.mask.sum() == len(sc.sequence) and not end.mask[-4:].any()


def test_panes_say_validation_and_file_units():
    """The Loss pane of a text file names both losses with their values and the unigram one;
    the Output pane of a CSV series gives the prediction in the file's units."""
    from helpers import draw_pane, make_view

    from engine.corpus import corpus_of, unigram_loss
    from rnntui.widgets import LossPane, OutputPane
    view = make_view("rhymes", train=True)
    hist = view.history
    text = draw_pane(view, LossPane, 60, 14)
    assert f"train {hist.losses[-1]:.4g}" in text and f"validation {hist.val_losses[-1]:.4g}" in text
    assert f"{unigram_loss(corpus_of(view.scenario)):.4g}" in text
    w = make_view("weather", train=True).at(100)
    norm = w.scenario.data["normalization"]
    out = draw_pane(w, OutputPane, 90, 12)
    y, truth = float(w.trace.out[100][0]), float(w.trace.targets[100][0])
    assert f"in temp_c: ŷ {float(norm.invert(y)):.4g} truth {float(norm.invert(truth)):.4g}" in out
    assert "zscore: x = (temp_c − 10.9868) / 6.86261" in out
    assert abs(float(norm.invert(truth)) - w.scenario.data["original"][101]) < 1e-9
