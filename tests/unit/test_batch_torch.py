"""A padded batch with the mask against PyTorch's pack_padded_sequence (skipped without torch).

The same weights and the same right-padded batch, packed by its lengths for torch: the states
at every real step, each row's final state (torch's h_n, c_n), the loss (the mean over the real
target steps) and every gradient agree to 1e-9, for every registered cell torch has (the
vanilla cells with tanh or relu: torch has no sigmoid RNN).
"""

import numpy as np
import pytest

from engine.batch import pad_batch, run_batch
from engine.cells import CELLS, get_cell

torch = pytest.importorskip("torch")
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

from test_batch import H, I, O, _params, _sequences  # noqa: E402


def _t(a):
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64)


def _torch_twin(params):
    """(torch module, the gate order torch stacks, our activation) with ``params``' weights."""
    cell = get_cell(params.cell)
    w = params.as_dict()
    if cell.gated:
        kind, order = cell.torch
        net = getattr(torch.nn, kind)(I, H).double()
        stack = lambda pre: np.vstack([w[f"{pre}{g}"] for g in order])  # noqa: E731
        bias = np.concatenate([w[f"b_{g}"] for g in order])
        hh = np.zeros(len(order) * H)
        if "b_hn" in w:  # the reset gate multiplies W_hn h + b_hn: torch's n part of bias_hh
            hh[order.index("n") * H:(order.index("n") + 1) * H] = w["b_hn"]
        weights = (stack("W_x"), stack("W_h"), bias, hh)
        act = "tanh"
    else:
        order = ""
        act = cell.activation_for("tanh")
        net = torch.nn.RNN(I, H, nonlinearity=act).double()
        weights = (w["W_x"], w["W_h"], w["b"], np.zeros(H))
    with torch.no_grad():
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                               weights):
            getattr(net, name).copy_(_t(value))
    return net, order, act


def _close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= 1e-9, np.abs(a - b).max()


TORCH_CELLS = [n for n in CELLS if get_cell(n).gated or get_cell(n).activation_for("tanh")
               in ("tanh", "relu")]


@pytest.mark.parametrize("name", TORCH_CELLS)
def test_masked_batch_matches_pack_padded_sequence(name):
    params = _params(name)
    seqs = _sequences(7)
    batch = pad_batch(seqs)
    net, order, act = _torch_twin(params)
    bp = run_batch(params, batch, activation=act, output="identity")
    lin = torch.nn.Linear(H, O).double()
    with torch.no_grad():
        lin.weight.copy_(_t(params.W_y))
        lin.bias.copy_(_t(params.b_y))
    packed = pack_padded_sequence(_t(batch.X), torch.tensor(batch.lengths), enforce_sorted=False)
    out, last = net(packed)
    out, _ = pad_packed_sequence(out, total_length=batch.T)
    M = _t(batch.M)
    loss = (((lin(out) - _t(batch.Y)) ** 2).sum(-1) * M).sum() / M.sum()
    loss.backward()
    real = batch.real
    _close(out.detach().numpy()[real], bp.h[real])
    finals = last if isinstance(last, tuple) else (last,)
    for part, value in zip(get_cell(name).state, finals):
        _close(value.detach().numpy()[0], bp.final[part])
    assert abs(loss.item() - bp.loss) <= 1e-9
    g = bp.grads.as_dict()
    if order:
        stack = lambda pre: np.vstack([g[f"{pre}{k}"] for k in order])  # noqa: E731
        _close(net.weight_ih_l0.grad.numpy(), stack("W_x"))
        _close(net.weight_hh_l0.grad.numpy(), stack("W_h"))
        _close(net.bias_ih_l0.grad.numpy(), np.concatenate([g[f"b_{k}"] for k in order]))
        if "b_hn" in g:
            n = order.index("n")
            _close(net.bias_hh_l0.grad.numpy()[n * H:(n + 1) * H], g["b_hn"])
    else:
        _close(net.weight_ih_l0.grad.numpy(), g["W_x"])
        _close(net.weight_hh_l0.grad.numpy(), g["W_h"])
        _close(net.bias_ih_l0.grad.numpy(), g["b"])
        _close(net.bias_hh_l0.grad.numpy(), g["b"])
    _close(lin.weight.grad.numpy(), g["W_y"])
    _close(lin.bias.grad.numpy(), g["b_y"])

