"""Bidirectional models against PyTorch's nn.RNN / nn.LSTM / nn.GRU(bidirectional=True) with
pack_padded_sequence, float64, the same weights (skipped without torch; torch has no sigmoid
RNN, so the vanilla cell is checked with tanh and relu). States of the real steps, the loss and
every gradient agree to 1e-9."""

import numpy as np
import pytest

from engine.cells import bidir, get_cell, init_for
from engine.types import ModelConfig

torch = pytest.importorskip("torch")

T, B, I, H, O = 6, 3, 4, 5, 3
LENGTHS = [6, 4, 2]  # sorted longest first, as pack_padded_sequence wants by default


def _t(a):
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64)


def _stacks(cell, p):
    """(weight_ih, weight_hh, bias_ih, bias_hh) in torch's gate order for one direction."""
    if not cell.gated:
        return p.W_x, p.W_h, p.b, np.zeros(H)
    order = cell.torch[1]
    w = p.named()
    wi = np.vstack([w[f"W_x{g}"] for g in order])
    wh = np.vstack([w[f"W_h{g}"] for g in order])
    bi = np.concatenate([w[f"b_{g}"] for g in order])
    bh = (np.concatenate([np.zeros(2 * H), w["b_hn"]]) if w.get("b_hn") is not None
          else np.zeros(len(order) * H))
    return wi, wh, bi, bh


def _grads_of(cell, g):
    """Our gradients of one direction as torch stacks them (the bias_ih part: for a gated cell
    bias_hh's gradient is the same, but for the GRU's candidate, which is b_hn's)."""
    wi, wh, bi, _ = _stacks(cell, g)
    return wi, wh, bi


@pytest.mark.parametrize("name,activation", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"),
                                             ("gru", "tanh")])
def test_bidirectional_matches_torch_packed(name, activation):
    cell = get_cell(name)
    rng = np.random.default_rng(11)
    params = init_for(ModelConfig(hidden_size=H, cell=name, init="normal", seed=2,
                                  init_scale={k: 0.6 for k in cell.scale_names},
                                  bidirectional=True), I, O)
    X = rng.normal(size=(T, B, I))
    ids = rng.integers(0, O, size=(T, B))
    M = np.arange(T)[:, None] < np.array(LENGTHS)[None, :]
    X[~M] = 0.0
    Y = np.eye(O)[ids]
    p = bidir.run(cell, params, X, Y, M, activation=activation, lengths=LENGTHS)

    kind = {"rnn": "RNN"}.get(name) or cell.torch[0]
    extra = {"nonlinearity": activation} if kind == "RNN" else {}
    net = getattr(torch.nn, kind)(I, H, bidirectional=True, **extra).double()
    lin = torch.nn.Linear(2 * H, O).double()
    with torch.no_grad():
        for suffix, part in (("l0", params.fwd), ("l0_reverse", params.bwd)):
            for what, arr in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                                 _stacks(cell, part)):
                getattr(net, f"{what}_{suffix}").copy_(_t(arr))
        lin.weight.copy_(_t(params.W_y))
        lin.bias.copy_(_t(params.b_y))
    packed = torch.nn.utils.rnn.pack_padded_sequence(_t(X), torch.tensor(LENGTHS))
    out, _ = net(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    per = torch.nn.functional.cross_entropy(lin(out).reshape(T * B, O),
                                            torch.tensor(ids).reshape(-1), reduction="none")
    mask = _t(M.astype(float)).reshape(-1)
    loss = (per * mask).sum() / mask.sum()
    loss.backward()

    worst = 0.0

    def close(a, b):
        nonlocal worst
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape
        worst = max(worst, float(np.abs(a - b).max()))
        assert np.abs(a - b).max() <= 1e-9

    close(out.detach().numpy()[M], p.h[M])
    assert abs(loss.item() - p.loss) <= 1e-9
    for suffix, g in (("l0", p.grads.fwd), ("l0_reverse", p.grads.bwd)):
        wi, wh, bi = _grads_of(cell, g)
        close(getattr(net, f"weight_ih_{suffix}").grad.numpy(), wi)
        close(getattr(net, f"weight_hh_{suffix}").grad.numpy(), wh)
        close(getattr(net, f"bias_ih_{suffix}").grad.numpy(), bi)
        bh = getattr(net, f"bias_hh_{suffix}").grad.numpy()
        if name == "gru":
            close(bh[2 * H:], g.named()["b_hn"])
            close(bh[:2 * H], bi[:2 * H])
        else:
            close(bh, bi)
    close(lin.weight.grad.numpy(), p.grads.W_y)
    close(lin.bias.grad.numpy(), p.grads.b_y)
    print(f"{name}/{activation}: max |ours - torch| = {worst:.2e}")


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_padded_batch_final_states_match_torch_packed(name):
    """engine/batch.py's run_batch with the mask: the states at real steps and each
    direction's final state (forward at the last real step, backward at step 0) are torch's
    packed output and h_n (and c_n), to 1e-9."""
    from engine.batch import pad_batch, run_batch
    from engine.types import Sequence
    cell = get_cell(name)
    rng = np.random.default_rng(12)
    params = init_for(ModelConfig(hidden_size=H, cell=name, init="normal", seed=4,
                                  init_scale={k: 0.6 for k in cell.scale_names},
                                  bidirectional=True), I, O)
    seqs = [Sequence(rng.normal(size=(n, I)), np.eye(O)[rng.integers(0, O, size=n)],
                     np.ones(n, dtype=bool), [""] * n, [None] * n) for n in LENGTHS]
    batch = pad_batch(seqs)
    bp = run_batch(params, batch)
    kind = {"rnn": "RNN"}.get(name) or cell.torch[0]
    net = getattr(torch.nn, kind)(I, H, bidirectional=True).double()
    with torch.no_grad():
        for suffix, part in (("l0", params.fwd), ("l0_reverse", params.bwd)):
            for what, arr in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                                 _stacks(cell, part)):
                getattr(net, f"{what}_{suffix}").copy_(_t(arr))
    packed = torch.nn.utils.rnn.pack_padded_sequence(_t(batch.X), torch.tensor(LENGTHS))
    out, last = net(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    hn, cn = last if name == "lstm" else (last, None)
    real = batch.real
    assert np.abs(out.detach().numpy()[real] - bp.h[real]).max() <= 1e-9
    assert np.abs(hn[0].detach().numpy() - bp.final["h"]).max() <= 1e-9
    assert np.abs(hn[1].detach().numpy() - bp.final["h_bwd"]).max() <= 1e-9
    if cn is not None:
        assert np.abs(cn[0].detach().numpy() - bp.final["c"]).max() <= 1e-9
        assert np.abs(cn[1].detach().numpy() - bp.final["c_bwd"]).max() <= 1e-9
