"""engine/tbptt.py: truncated BPTT checked against central finite differences and a full pass."""

from __future__ import annotations


import numpy as np
import pytest

from engine import fit, initial_params
from engine import epochs as epochs_mod
from engine import train as train_mod
from engine.cells import run
from engine.corpus import corpus_of, unigram_loss
from engine.scenario import load, loads
from engine.tbptt import onehot, stream_loss, window_step

TEXT = ("the cat sat on the mat. the dog sat on the log. a cat and a dog. " * 3)


def small(tmp_path, cell="rnn", batch=3, window=5, hidden=6, epochs=3):
    (tmp_path / "c.txt").write_text(TEXT, encoding="utf-8")
    toml = tmp_path / "s.toml"
    toml.write_text(f"""
[scenario]
name = "small"
kind = "text"
[model]
hidden_size = {hidden}
cell = "{cell}"
seed = 4
[train]
epochs = {epochs}
batch_size = {batch}
learning_rate = 0.01
optimizer = "adam"
[data]
file = "c.txt"
window = {window}
""", encoding="utf-8")
    return load(toml)


def _flat(params):
    return [a for a in params.arrays()]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_window_gradient_matches_central_differences(tmp_path, cell):
    """The gradient of one minibatch (3 windows side by side) that starts from a carried,
    non-zero state: every entry of every weight array against (L(w+e) - L(w-e)) / 2e."""
    sc = small(tmp_path, cell)
    c = corpus_of(sc)
    V = len(c.vocab)
    rng = np.random.default_rng(0)
    params = initial_params(sc)
    for a in params.arrays():
        a += rng.normal(0, 0.3, size=a.shape)
    windows = c.windows("train", 3)
    _, state = window_step(params, *windows[0], None, V, backward=False)
    assert np.abs(np.concatenate([np.ravel(s) for s in
                                  (state if isinstance(state, tuple) else (state,))])).max() > 0.05
    X, Y = windows[1]
    p, _ = window_step(params, X, Y, state, V)
    eps = 1e-6
    for name, a, g in zip(range(99), params.arrays(), p.grads.arrays()):
        num = np.empty_like(a)
        for i in np.ndindex(a.shape):
            old = a[i]
            a[i] = old + eps
            up = window_step(params, X, Y, state, V, backward=False)[0].loss
            a[i] = old - eps
            down = window_step(params, X, Y, state, V, backward=False)[0].loss
            a[i] = old
            num[i] = (up - down) / (2 * eps)
        assert np.allclose(g, num, rtol=1e-5, atol=1e-8), (cell, name, np.abs(g - num).max())


def test_window_loss_is_the_mean_over_its_targets(tmp_path):
    sc = small(tmp_path)
    c = corpus_of(sc)
    V = len(c.vocab)
    params = initial_params(sc)
    X, Y = c.windows("train", 3)[0]
    p, _ = window_step(params, X, Y, None, V, backward=False)
    # by hand: forward one step at a time, -log softmax at the target
    W_x, W_h, b, W_y, b_y = params.arrays()
    total = 0.0
    for s in range(X.shape[1]):
        h = np.zeros(W_h.shape[0])
        for t in range(X.shape[0]):
            h = np.tanh(W_x[:, X[t, s]] + W_h @ h + b)
            y = W_y @ h + b_y
            total += np.log(np.exp(y - y.max()).sum()) + y.max() - y[Y[t, s]]
    assert p.loss == pytest.approx(total / X.size, rel=1e-12)


def test_carried_state_equals_one_long_pass(tmp_path):
    """With one stream, window after window with the state carried is the same forward pass
    as the whole training stream at once: the same mean loss."""
    sc = small(tmp_path, batch=1)
    c = corpus_of(sc)
    V = len(c.vocab)
    params = initial_params(sc)
    x, y = c.streams("train", 1)
    whole = run(params, onehot(x, V), onehot(y, V), None, backward=False)
    assert stream_loss(params, sc, "train", 1) == pytest.approx(whole.loss, rel=1e-12)
    xv, yv = c.streams("validation", 1)
    whole_v = run(params, onehot(xv, V), onehot(yv, V), None, backward=False)
    assert stream_loss(params, sc, "validation", 1) == pytest.approx(whole_v.loss, rel=1e-12)


def test_one_epoch_by_hand(tmp_path):
    """fit() on a corpus does exactly: for each window of the streams, a pass from the carried
    state and one Adam step; then the losses of both streams."""
    sc = small(tmp_path, epochs=1)
    c = corpus_of(sc)
    V = len(c.vocab)
    hist = fit(sc, 1)
    params = initial_params(sc)
    opt = train_mod._Optimizer(sc.train, {})
    state = None
    for X, Y in c.windows("train", sc.train.batch_size):
        p, state = window_step(params, X, Y, state, V)
        opt.step(params, p.grads)
    for a, b in zip(hist.params_at(1).arrays(), params.arrays()):
        assert np.array_equal(a, b)
    assert hist.losses[1] == stream_loss(params, sc, "train")
    assert hist.val_losses[1] == stream_loss(params, sc, "validation")
    assert hist.losses[0] == train_mod.dataset_loss(initial_params(sc), sc)


def test_continuing_equals_one_run(tmp_path):
    sc = small(tmp_path)
    a = fit(sc, 4)
    b = fit(sc, 2, history=fit(sc, 2))
    assert a.losses == b.losses and a.val_losses == b.val_losses
    assert len(a.val_losses) == len(a.losses) == 5


def test_should_stop_between_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(epochs_mod, "POLL_SECONDS", 0.0)
    sc = small(tmp_path)
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 40  # past the first loss evaluation, inside a later epoch

    hist = fit(sc, 50, should_stop=stop)
    assert hist.stopped and "on request" in hist.stopped
    assert 0 < hist.trained_epochs < 50
    assert len(hist.val_losses) == len(hist.losses)
    assert hist.epochs[-1] == hist.trained_epochs


def test_rhymes_beats_the_unigram_model_on_a_short_run():
    sc = load("rhymes")
    hist = fit(sc, 6)
    uni = unigram_loss(corpus_of(sc))
    assert min(hist.val_losses) < uni - 0.4, (hist.val_losses, uni)
    assert hist.losses[-1] < hist.losses[0]


def test_a_plain_text_scenario_has_no_validation_losses():
    sc = loads('[scenario]\nname="x"\nkind="text"\n[train]\nepochs=2\n[data]\n'
               'text=["a b c", "b c a"]\n')
    assert fit(sc).val_losses == []
