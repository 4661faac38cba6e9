"""Training: determinism, resumable runs, kept epochs, clipping, and stopping on a non-finite loss."""

import dataclasses

import numpy as np
import pytest

from engine import fit, load
from engine.model import run
from engine.train import MAX_SNAPSHOTS, _Optimizer, dataset_loss, initial_params
from engine.types import TrainConfig


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.arrays(), b.arrays()))


def test_same_seed_same_numbers():
    sc = load("king")
    a, b = fit(sc, 20), fit(sc, 20)
    assert a.losses == b.losses and same(a.weights[-1], b.weights[-1])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_two_halves_equal_one_whole(optimizer):
    sc = load("king")
    sc.train = dataclasses.replace(sc.train, optimizer=optimizer)
    whole = fit(sc, 30)
    half = fit(sc, 15)
    resumed = fit(sc, 15, history=half)
    assert len(resumed.losses) == 31 and resumed.epochs[-1] == 30
    assert np.allclose(resumed.losses, whole.losses, rtol=1e-12, atol=0)
    assert np.allclose(resumed.weights[-1].W_h, whole.weights[-1].W_h, rtol=1e-12, atol=1e-15)
    assert len(half.losses) == 16  # resuming did not change the history it started from


def test_losses_are_the_loss_at_each_kept_epochs_weights():
    sc = load("hello")
    hist = fit(sc, 12)
    for e, w in zip(hist.epochs, hist.weights):
        assert hist.losses[e] == pytest.approx(dataset_loss(w, sc), rel=1e-12)
    assert hist.losses[-1] < hist.losses[0]
    assert same(hist.weights[0], initial_params(sc))


def test_long_runs_keep_evenly_spaced_snapshots():
    sc = load("cat")
    n = 2 * MAX_SNAPSHOTS + 10
    hist = fit(sc, n, config=TrainConfig(epochs=n, learning_rate=0.01))
    assert hist.epochs[0] == 0 and hist.epochs[-1] == n
    assert len(hist.weights) <= MAX_SNAPSHOTS + 2
    steps = np.diff(hist.epochs[:-1])
    assert (steps == steps[0]).all()
    e = hist.epochs[5] + 1  # between two kept epochs: the earlier one's weights
    assert same(hist.params_at(e), hist.weights[5]) and hist.nearest_epoch(e) == hist.epochs[5]


def test_sgd_step_is_minus_lr_times_gradient_and_clipping_caps_the_norm():
    sc = load("king")
    p0 = initial_params(sc)
    s = sc.train_sequences[0]
    g = run(p0, s.inputs, s.targets, s.mask).grads
    norm = np.sqrt(sum((x * x).sum() for x in g.arrays()))
    for clip, factor in [(None, 1.0), (norm / 4, 0.25)]:
        p = p0.copy()
        _Optimizer(TrainConfig(learning_rate=0.1, optimizer="sgd", clip=clip), {}).step(p, g)
        assert np.allclose(p.W_h, p0.W_h - 0.1 * factor * g.W_h, rtol=1e-13, atol=1e-16)


def test_a_diverging_run_stops_with_a_message_and_keeps_finite_weights():
    sc = load("sine")
    cfg = TrainConfig(epochs=50, learning_rate=1e6, optimizer="sgd", clip=None)
    hist = fit(sc, 50, config=cfg)
    assert hist.stopped and "non-finite" in hist.stopped
    assert all(w.is_finite() for w in hist.weights)
    assert all(np.isfinite(hist.losses))


def test_progress_can_stop_training():
    sc = load("king")
    seen = []
    hist = fit(sc, 100, progress=lambda e, loss: seen.append(e) or e < 7)
    assert seen == list(range(1, 8)) and hist.trained_epochs == 7
    assert hist.epochs[-1] == 7 and "request" in hist.stopped
