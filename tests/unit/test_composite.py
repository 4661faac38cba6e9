"""The composite interface of every cell (engine.cells.base.Cell.forward / backward_from): the
states alone, then BPTT from gradients supplied from outside, as a bidirectional model or an
encoder runs its cells. Checked against central differences, and against ``run``."""

import numpy as np
import pytest
from helpers import central_differences

from engine.cells import CELLS, get_cell
from engine.cells.numerics import read_out_and_loss
from engine.cells.base import output_backward

SCALES = {k: 0.7 for k in ("W_x", "W_h", "b", "W_y", "b_y", "b_hn")}


def _setup(name, B=2, T=5, I=3, H=4, O=3, seed=0):
    rng = np.random.default_rng(seed)
    cell = get_cell(name)
    params = cell.init(H, I, O, init="normal", scales=SCALES, seed=seed)
    X = rng.normal(size=(T, B, I))
    S = cell.state_size(H)
    s0 = rng.normal(size=(B, S)) * 0.5
    G = rng.normal(size=(T, B, H))  # the outside loss: sum of G * h_t + g_last . s_{T-1}
    g_last = rng.normal(size=(B, S))
    return cell, params, X, s0, G, g_last


def _outside_loss(cell, params, X, s0, G, g_last):
    p = cell.forward(params, X, state0=s0)
    return float((G * p.h).sum() + (g_last * cell.final_state(p)).sum())


@pytest.mark.parametrize("name", CELLS)
def test_backward_from_outside_gradients_matches_central_differences(name):
    cell, params, X, s0, G, g_last = _setup(name, seed=CELLS.index(name))
    p = cell.forward(params, X, state0=s0)
    assert p.y.shape[-1] == 0 and p.loss == 0.0 and p.dh is None
    grads, ds0 = cell.backward_from(params, p, X, G, g_last)

    def loss():
        return _outside_loss(cell, params, X, s0, G, g_last)

    for arr, grad in zip(params.arrays(), grads.arrays()):
        num = central_differences(arr, loss)
        scale = max(np.abs(num).max(), 1e-8)
        assert np.abs(num - grad).max() / scale < 1e-6, (name, arr.shape)
    assert not grads.W_y.any() and not grads.b_y.any()  # the read-out is the caller's
    num0 = central_differences(s0, loss)
    assert ds0.shape == s0.shape
    assert np.abs(num0 - ds0).max() / np.abs(num0).max() < 1e-6


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("B", [1, 3])
def test_run_is_forward_then_read_out_then_backward_from(name, B):
    cell, params, X, s0, _, _ = _setup(name, B=B, seed=7)
    T, O = X.shape[0], params.output_size
    rng = np.random.default_rng(1)
    Y = np.eye(O)[rng.integers(0, O, size=(T, B))]
    M = np.ones((T, B), dtype=bool)
    M[0, 0] = False
    whole = cell.run(params, X, Y, M, state0=s0)
    p = cell.forward(params, X, state0=s0)
    y, out, per, loss, n = read_out_and_loss(p.h, params, "softmax", Y, M)
    dy, dh = output_backward(y, out, Y, M, n, "softmax", params.W_y)
    grads, ds0 = cell.backward_from(params, p, X, dh)
    H = params.hidden_size
    grads.W_y = dy.reshape(T * B, O).T @ p.h.reshape(T * B, H)
    grads.b_y = dy.reshape(T * B, O).sum(axis=0)
    assert abs(loss - whole.loss) <= 1e-12
    np.testing.assert_allclose(p.h, whole.h, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p.dh, whole.dh, rtol=0, atol=1e-12)
    for a, b in zip(grads.arrays(), whole.grads.arrays()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds0[:, :H], whole.flow[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
def test_an_empty_sequence_passes_the_final_gradient_straight_to_the_start(name):
    cell, params, X, s0, G, g_last = _setup(name, T=0)
    p = cell.forward(params, X, state0=s0)
    np.testing.assert_array_equal(cell.final_state(p), s0)
    grads, ds0 = cell.backward_from(params, p, X, G, g_last)
    np.testing.assert_array_equal(ds0, g_last)
    assert all(not g.any() for g in grads.arrays())


@pytest.mark.parametrize("name", CELLS)
def test_a_read_out_free_cell_runs_with_zero_outputs(name):
    """An encoder's cell has no read-out: its parameters may have a (0, H) W_y."""
    cell = get_cell(name)
    params = cell.init(4, 3, 0, seed=2)
    X = np.random.default_rng(0).normal(size=(5, 2, 3))
    p = cell.forward(params, X)
    grads, ds0 = cell.backward_from(params, p, X, np.ones((5, 2, 4)))
    assert grads.W_y.shape == (0, 4) and ds0.shape == (2, cell.state_size(4))
    assert np.isfinite(ds0).all() and grads.W_x.any()
