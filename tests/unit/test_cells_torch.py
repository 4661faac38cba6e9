"""The LSTM and GRU against PyTorch's nn.LSTM / nn.GRU in float64 (skipped without torch).

torch is an optional test dependency: the engine never imports it. The same weights, inputs,
initial states and targets must give the same states, losses and gradients to 1e-9.
"""

import numpy as np
import pytest

from engine.cells import get_cell

torch = pytest.importorskip("torch")

T, B, I, H, O = 7, 3, 4, 5, 6


def _data(seed):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(T, B, I)), rng.integers(0, O, size=(T, B)),
            rng.normal(size=(B, H)) * 0.5, rng.normal(size=(B, H)) * 0.5)


def _t(a):
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64)


def _ours(cell, params, X, ids, state0, output):
    Y = np.eye(O)[ids] if output == "softmax" else np.eye(O)[ids] * 0.7 - 0.1
    return get_cell(cell).run(params, X, Y, np.ones((T, B), dtype=bool), output=output,
                              state0=state0), Y


def _loss(y, ids, Y, output):
    if output == "softmax":
        return torch.nn.functional.cross_entropy(y.reshape(T * B, O), torch.tensor(ids).reshape(-1))
    return ((y - _t(Y)) ** 2).sum(-1).mean()


def _close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= 1e-9, np.abs(a - b).max()


@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_lstm_matches_torch(output):
    X, ids, h0, c0 = _data(1)
    params = get_cell("lstm").init(H, I, O, init="normal", seed=3,
                                   scales={k: 0.6 for k in ("W_x", "W_h", "b", "W_y", "b_y")})
    w = params.named()
    order = "ifgo"  # PyTorch stacks the gates as i, f, g, o
    lstm = torch.nn.LSTM(I, H).double()
    lin = torch.nn.Linear(H, O).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(_t(np.vstack([w[f"W_x{g}"] for g in order])))
        lstm.weight_hh_l0.copy_(_t(np.vstack([w[f"W_h{g}"] for g in order])))
        lstm.bias_ih_l0.copy_(_t(np.concatenate([w[f"b_{g}"] for g in order])))
        lstm.bias_hh_l0.zero_()
        lin.weight.copy_(_t(w["W_y"]))
        lin.bias.copy_(_t(w["b_y"]))
    p, Y = _ours("lstm", params, X, ids, (h0, c0), output)
    out, (hn, cn) = lstm(_t(X), (_t(h0)[None], _t(c0)[None]))
    loss = _loss(lin(out), ids, Y, output)
    loss.backward()
    _close(out.detach().numpy(), p.h)
    _close(cn.detach().numpy()[0], p.c[-1])
    assert abs(loss.item() - p.loss) <= 1e-9
    g = p.grads.named()
    _close(lstm.weight_ih_l0.grad.numpy(), np.vstack([g[f"W_x{k}"] for k in order]))
    _close(lstm.weight_hh_l0.grad.numpy(), np.vstack([g[f"W_h{k}"] for k in order]))
    ours_b = np.concatenate([g[f"b_{k}"] for k in order])
    _close(lstm.bias_ih_l0.grad.numpy(), ours_b)
    _close(lstm.bias_hh_l0.grad.numpy(), ours_b)
    _close(lin.weight.grad.numpy(), g["W_y"])
    _close(lin.bias.grad.numpy(), g["b_y"])


@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_gru_matches_torch(output):
    X, ids, h0, _ = _data(2)
    params = get_cell("gru").init(H, I, O, init="normal", seed=4,
                                  scales={k: 0.6 for k in ("W_x", "W_h", "b", "b_hn", "W_y",
                                                           "b_y")})
    w = params.named()
    order = "rzn"
    gru = torch.nn.GRU(I, H).double()
    lin = torch.nn.Linear(H, O).double()
    with torch.no_grad():
        gru.weight_ih_l0.copy_(_t(np.vstack([w[f"W_x{g}"] for g in order])))
        gru.weight_hh_l0.copy_(_t(np.vstack([w[f"W_h{g}"] for g in order])))
        gru.bias_ih_l0.copy_(_t(np.concatenate([w[f"b_{g}"] for g in order])))
        gru.bias_hh_l0.copy_(_t(np.concatenate([np.zeros(2 * H), w["b_hn"]])))
        lin.weight.copy_(_t(w["W_y"]))
        lin.bias.copy_(_t(w["b_y"]))
    assert np.abs(w["b_hn"]).max() > 0.1  # the separate b_hn is really exercised
    p, Y = _ours("gru", params, X, ids, h0, output)
    out, hn = gru(_t(X), _t(h0)[None])
    loss = _loss(lin(out), ids, Y, output)
    loss.backward()
    _close(out.detach().numpy(), p.h)
    assert abs(loss.item() - p.loss) <= 1e-9
    g = p.grads.named()
    _close(gru.weight_ih_l0.grad.numpy(), np.vstack([g[f"W_x{k}"] for k in order]))
    _close(gru.weight_hh_l0.grad.numpy(), np.vstack([g[f"W_h{k}"] for k in order]))
    _close(gru.bias_ih_l0.grad.numpy(), np.concatenate([g[f"b_{k}"] for k in order]))
    _close(gru.bias_hh_l0.grad.numpy(), np.concatenate([g["b_r"], g["b_z"], g["b_hn"]]))
    _close(lin.weight.grad.numpy(), g["W_y"])
