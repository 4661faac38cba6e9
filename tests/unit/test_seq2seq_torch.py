"""The encoder-decoder against the same model written in PyTorch (float64, autograd; skipped
without torch): the same weights give the same loss and gradients to 1e-9, for each cell
PyTorch has a module for and each attention."""

import numpy as np
import pytest

from engine import seq2seq as m
from engine.cells import CELLS, get_cell

torch = pytest.importorskip("torch")

VOCAB = list("abcdef") + [m.START, m.END]
H = 5


def _t(a):
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64, requires_grad=True)


def _module(cell, params):
    """The torch module of ``cell`` holding ``params``' weights, and a function giving the
    engine's named gradients from the module's."""
    the = get_cell(cell)
    w = params.named() if hasattr(params, "named") else params.as_dict()
    if the.gated:
        kind, order = the.torch
        mod = getattr(torch.nn, kind)(len(VOCAB), H).double()
        with torch.no_grad():
            mod.weight_ih_l0.copy_(torch.tensor(np.vstack([w[f"W_x{g}"] for g in order])))
            mod.weight_hh_l0.copy_(torch.tensor(np.vstack([w[f"W_h{g}"] for g in order])))
            mod.bias_ih_l0.copy_(torch.tensor(np.concatenate([w[f"b_{g}"] for g in order])))
            hh = np.zeros(len(order) * H)
            if "b_hn" in w:
                hh[-H:] = w["b_hn"]
            mod.bias_hh_l0.copy_(torch.tensor(hh))
    else:
        mod = torch.nn.RNN(len(VOCAB), H, nonlinearity=the.activation_for("tanh")).double()
        with torch.no_grad():
            mod.weight_ih_l0.copy_(torch.tensor(w["W_x"]))
            mod.weight_hh_l0.copy_(torch.tensor(w["W_h"]))
            mod.bias_ih_l0.copy_(torch.tensor(w["b"]))
            mod.bias_hh_l0.zero_()
    return mod


def _their_grads(cell, mod):
    """The module's gradients as the engine names them."""
    the = get_cell(cell)
    gi, gh = mod.weight_ih_l0.grad.numpy(), mod.weight_hh_l0.grad.numpy()
    bi, bh = mod.bias_ih_l0.grad.numpy(), mod.bias_hh_l0.grad.numpy()
    if not the.gated:
        return {"W_x": gi, "W_h": gh, "b": bi}
    kind, order = the.torch
    out = {}
    for k, g in enumerate(order):
        out[f"W_x{g}"], out[f"W_h{g}"] = gi[k * H:(k + 1) * H], gh[k * H:(k + 1) * H]
        out[f"b_{g}"] = bi[k * H:(k + 1) * H]
    if len(order) == 3:  # the GRU's own b_hn, the last block of bias_hh
        out["b_hn"] = bh[-H:]
    return out


@pytest.mark.parametrize("attention", m.ATTENTIONS)
@pytest.mark.parametrize("cell", CELLS)
def test_same_numbers_as_torch(cell, attention):
    rng = np.random.default_rng(5)
    S, B = 5, 3
    pairs = []
    for _ in range(B):
        src = [VOCAB[i] for i in rng.integers(0, 6, S)]
        pairs.append(m.make_pair(src, sorted(src), VOCAB))
    X = np.stack([q.inputs for q in pairs], 1)
    Y = np.stack([q.targets for q in pairs], 1)
    P = m.init_params(cell, H, len(VOCAB), attention=attention, seed=7)
    ours = m.run(P, X, Y, S)

    enc, dec = _module(cell, P.enc), _module(cell, P.dec)
    W_o, b_o = _t(P.W_o), _t(P.b_o)
    Xt = torch.tensor(X)
    h, last = enc(Xt[:S])
    s, _ = dec(Xt[S:], last)  # the decoder starts from the whole final state (the LSTM's c too)
    if attention == "none":
        z = s
    else:
        if attention == "additive":
            W_a, U_a, v = _t(P.W_a), _t(P.U_a), _t(P.v)
            u = torch.tanh((s @ W_a.T)[:, :, None, :] + (h @ U_a.T).permute(1, 0, 2)[None])
            e = u @ v
        else:
            e = torch.einsum("nbh,sbh->nbs", s, h)
        a = torch.softmax(e, dim=-1)
        z = torch.cat([s, torch.einsum("nbs,sbh->nbh", a, h)], dim=-1)
    logits = z @ W_o.T + b_o
    ids = torch.tensor(np.argmax(Y[S:], axis=-1))
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(VOCAB)), ids.reshape(-1))
    loss.backward()

    assert abs(loss.item() - ours.loss) <= 1e-9
    assert np.abs(s.detach().numpy() - ours.s).max() <= 1e-9
    worst = 0.0
    for part, mod in (("enc", enc), ("dec", dec)):
        g = getattr(ours.grads, part)
        mine = g.named() if hasattr(g, "named") else g.as_dict()
        for name, theirs in _their_grads(cell, mod).items():
            worst = max(worst, float(np.abs(theirs - mine[name]).max()))
    own = [("W_o", W_o), ("b_o", b_o)]
    if attention == "additive":
        own += [("W_a", W_a), ("U_a", U_a), ("v", v)]
    for name, t in own:
        worst = max(worst, float(np.abs(t.grad.numpy() - getattr(ours.grads, name)).max()))

    assert worst <= 1e-9, worst
