"""The GRU cell, in PyTorch's convention (``nn.GRU``): reset r, update z, candidate n.

    r = sigma(W_xr x_t + b_r + W_hr h_{t-1})      z = sigma(W_xz x_t + b_z + W_hz h_{t-1})
    n = tanh(W_xn x_t + b_n + r * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z) * n + z * h_{t-1}

Conventions differ between papers and libraries; this is PyTorch's: z is the share of the OLD
state kept, and the reset gate multiplies W_hn h_{t-1} + b_hn (its own bias b_hn, which cannot
be folded into b_n). PyTorch's separate b_hr and b_hz only ever add to b_r and b_z, so they are
one bias each here. The state is h (H numbers); h_{-1} = 0 unless given.
"""

from __future__ import annotations

import numpy as np

from .numerics import _dot, read_out_and_loss
from .base import (Cell, GatedParams, GatedPass, StepRow, carve, init_gated, input_part,
                   output_backward, prepare, sigmoid, start_state)

ORDER = ("r", "z", "n")


class GRUCell(Cell):
    """The gated recurrent unit, one layer."""

    name = "gru"
    title = long_title = "GRU"
    state = ("h",)
    gates = ("r", "z", "n")
    sigmoid_gates = ("r", "z")
    shown_gates = ("r", "z")  # reset, update
    carry_gate_name, carry_word = "z", "update"
    partner = "lstm"
    torch = ("GRU", "rzn")
    step_formulas = ("  h_t = (1-z)⊙n + z⊙h_t-1,  n = tanh(W_in x + r⊙(W_hn h + b_hn))",
                     " h=(1-z)⊙n+z⊙h", " h=(1-z)⊙n+z⊙h")
    step_rows = (
        StepRow(5, "gate:r", "r reset", short="r reset", tiny="r", column="r"),
        StepRow(6, "gate:z", "z update", short="z keep", tiny="z", column="z"),
        StepRow(4, "gate:n", "n candidate", short="n new", tiny="n", column="n"),
        StepRow(10, "h_prev", "h_{p}", column="h_{p}", spare=True),
        StepRow(1, "h", "h_{t}", column="h_{t}"),
    )
    recurrent = ("W_hr", "W_hz", "W_hn")
    scale_names = ("W_x", "W_h", "b", "b_hn", "W_y", "b_y")

    def shapes(self, hidden: int, inputs: int, outputs: int) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {}
        for g in self.gates:
            out[f"W_x{g}"] = (hidden, inputs)
        for g in self.gates:
            out[f"W_h{g}"] = (hidden, hidden)
        for g in self.gates:
            out[f"b_{g}"] = (hidden,)
        out["b_hn"] = (hidden,)
        out["W_y"], out["b_y"] = (outputs, hidden), (outputs,)
        return out

    def init(self, hidden, inputs, outputs, *, init="xavier", scales=None, seed=0, weights=None,
             forget_bias=1.0) -> GatedParams:
        return init_gated(self, ORDER, hidden, inputs, outputs, init=init, scales=scales,
                          seed=seed, weights=weights, b_hn=True)

    # -- forward and back -------------------------------------------------------------------
    def run(self, params: GatedParams, inputs, targets=None, mask=None, *, output="softmax",
            activation="tanh", state0=None, backward=True, readout=True) -> GatedPass:
        O = params.output_size if readout else 0
        backward = backward and readout
        X, Y, M = prepare(inputs, targets, mask, output, O)
        T, B, _ = X.shape
        H = params.hidden_size
        h0 = start_state(state0, B, H)
        shapes = [(T, B, 3 * H), (T + 1, B, H + 1), (T, B, 3 * H), (T, B, 3 * H), (T, B, H),
                  (T, B, O), (T, B, O), (T, B)]
        if backward:  # dy, direct dh, dGH, dh, flow, the derivative factors, dA
            shapes += [(T, B, O), (T, B, H), (T, B, 3 * H), (T, B, H), (T, B, H),
                       (T, B, 3, H), (T, B, H), (T, B, 3 * H)]
        A, hs, GH, G, NP, *bufs = carve(shapes)
        with np.errstate(all="ignore"):
            input_part(X, params, out=A)  # W_x x + b: r, z, n
            A[..., :2 * H] *= -1.0  # r and z hold -z (exact), see the LSTM
            # [h, 1] @ Wa gives -W_hr h, -W_hz h and W_hn h + b_hn in one product
            Wa = np.empty((H + 1, 3 * H))
            Wa[:H] = params.W_h.T
            Wa[:H, :2 * H] *= -1.0
            Wa[H, :2 * H] = 0.0
            Wa[H, 2 * H:] = params.b_hn
            hs[..., H] = 1.0
            hs[0, :, :H] = h0
            # GH: the recurrent parts (GH[..., 2H:] is hn); G: r, z, n; NP: n's pre-activation
            _forward_loop(A, GH, G, NP, hs, Wa, H)
            h = hs[1:, :, :H]
            y, out, per = bufs[:3]
            if readout:
                y, out, per, loss, n = read_out_and_loss(h, params, output, Y, M, bufs[:3])
            else:
                per[...], loss = 0.0, 0.0
            gates = {"r": G[..., :H], "z": G[..., H:2 * H], "n": G[..., 2 * H:]}
            p = GatedPass(h=h, h0=h0, gates=gates, pre={}, y=y, out=out, losses=per, loss=loss,
                          aux={"A": A, "GH": GH, "NP": NP, "hs": hs})
            if backward:
                _backward(p, params, X, Y, M, n, output, bufs[3:])
        return p

    def backward_from(self, params: GatedParams, p: GatedPass, inputs, dh, ds_last=None, *,
                      activation="tanh"):
        X = prepare(inputs, None, None, "softmax", 0)[0]
        T, B, H = p.h.shape
        bufs = carve([(T, B, H), (T, B, 3 * H), (T, B, H), (T, B, H), (T, B, 3, H), (T, B, H),
                      (T, B, 3 * H)])
        bufs[0][...] = np.asarray(dh, dtype=np.float64).reshape(T, B, H)
        if ds_last is not None and T:
            bufs[0][-1] += np.asarray(ds_last, dtype=np.float64).reshape(B, H)
        _bptt(p, params, X, bufs)
        if T:
            ds0 = p.flow[0].copy()
        else:
            ds0 = (np.zeros((B, H)) if ds_last is None
                   else np.array(ds_last, dtype=np.float64).reshape(B, H))
        return p.grads, ds0

    def pre_activations(self, p: GatedPass) -> dict[str, np.ndarray]:
        """z_r, z_z, z_n and hn = W_hn h_{t-1} + b_hn (T, B, H)."""
        A, GH, NP = p.aux["A"], p.aux["GH"], p.aux["NP"]
        H = p.h.shape[-1]
        return {"r": -(A[..., :H] + GH[..., :H]), "z": -(A[..., H:2 * H] + GH[..., H:2 * H]),
                "n": NP.copy(), "hn": GH[..., 2 * H:].copy()}

    # -- plain formulas -----------------------------------------------------------------------
    def step(self, params: GatedParams, x, s, activation="tanh") -> np.ndarray:
        def blk(kind, g):
            return params.block(kind, g)

        r = sigmoid(blk("W_x", "r") @ x + blk("b", "r") + blk("W_h", "r") @ s)
        z = sigmoid(blk("W_x", "z") @ x + blk("b", "z") + blk("W_h", "z") @ s)
        n = np.tanh(blk("W_x", "n") @ x + blk("b", "n") + r * (blk("W_h", "n") @ s + params.b_hn))
        return (1.0 - z) * n + z * s

    # -- Jacobians ----------------------------------------------------------------------------
    def step_jacobians(self, params: GatedParams, p: GatedPass, lo=0, hi=None) -> np.ndarray:
        """dh_t/dh_{t-1} for t in [lo, hi): (n, H, H), first sequence.

        With q_n = (1 - z) tanh'(.) of n: diag(z) + diag((h_{t-1} - n) sigma'(z)) W_hz
        + diag(q_n r) W_hn + diag(q_n hn sigma'(r)) W_hr.
        """
        hi = len(p.h) if hi is None else hi
        Q3 = _derivatives(p)[lo:hi, 0]
        z = p.gates["z"][lo:hi, 0]
        J = (Q3[:, 0, :, None] * params.block("W_h", "r")
             + Q3[:, 1, :, None] * params.block("W_h", "z")
             + Q3[:, 2, :, None] * params.block("W_h", "n"))
        d = np.arange(z.shape[1])
        J[:, d, d] += z
        return J

    def right_multiplier(self, params: GatedParams, p: GatedPass):
        """A function (M, t) -> M @ J_t for (rows, H) matrices M, without building J_t."""
        Q3 = _derivatives(p)[:, 0]
        z = p.gates["z"][:, 0]
        W = params.W_h  # rows r, z, n
        H = p.h.shape[-1]

        def mul(Mx: np.ndarray, t: int) -> np.ndarray:
            rows = Mx.shape[0]
            buf = np.empty((rows, 3 * H))
            np.multiply(Mx[:, None, :], Q3[t], out=buf.reshape(rows, 3, H))
            out = buf @ W
            out += Mx * z[t]
            return out

        return mul

    def carry_gate(self, p: GatedPass) -> np.ndarray:
        """The update gates (T, H) of the first sequence: the share of h_{t-1} kept as it is."""
        return p.gates["z"][:, 0]


def _forward_loop(A, GH, G, NP, hs, Wa, H):
    T, B, _ = A.shape
    if T == 0:
        return
    if B == 1:
        A, GH, G, NP, hs = A[:, 0], GH[:, 0], G[:, 0], NP[:, 0], hs[:, 0]
    dot, add, mul, sub, exp, div, tanh = (_dot, np.add, np.multiply, np.subtract, np.exp,
                                          np.divide, np.tanh)
    H2 = 2 * H
    rz = np.empty(A.shape[1:-1] + (H2,))
    tmp = np.empty(A.shape[1:-1] + (H,))
    steps = zip(A[..., :H2], A[..., H2:], GH, GH[..., :H2], GH[..., H2:], G[..., :H2],
                G[..., :H], G[..., H:H2], G[..., H2:], NP, hs[:-1], hs[:-1, ..., :H],
                hs[1:, ..., :H])
    for a_rz, a_n, gh, gh_rz, hn, g_rz, r, z, n, npre, hp_aug, hp, ht in steps:
        dot(hp_aug, Wa, gh)
        add(a_rz, gh_rz, rz)
        exp(rz, g_rz)
        add(g_rz, 1.0, g_rz)
        div(1.0, g_rz, g_rz)
        mul(r, hn, tmp)
        add(a_n, tmp, npre)
        tanh(npre, n)
        sub(hp, n, tmp)
        mul(z, tmp, tmp)
        add(n, tmp, ht)


def _derivatives(p: GatedPass, bufs=None) -> np.ndarray:
    """(T, B, 3, H): [q_n hn sigma'(z_r), (h_{t-1} - n) sigma'(z_z), q_n r], q_n = (1 - z)
    tanh'(z_n). dL/dh_t times these are the gradients of the recurrent parts W_hr h_{t-1},
    W_hz h_{t-1} and hn = W_hn h_{t-1} + b_hn."""
    got = p.aux.get("derivs")
    if got is None:
        r, z, n = p.gates["r"], p.gates["z"], p.gates["n"]
        hn = p.aux["GH"][..., 2 * n.shape[-1]:]
        hp = p.aux["hs"][:-1, :, :n.shape[-1]]
        T, B, H = n.shape
        got, qn = bufs or (np.empty((T, B, 3, H)), np.empty((T, B, H)))
        with np.errstate(all="ignore"):
            np.multiply(n, n, out=qn)
            np.subtract(1.0, qn, out=qn)
            qn *= 1.0 - z
            np.multiply(qn * hn, r * (1.0 - r), out=got[:, :, 0])
            np.multiply(hp - n, z * (1.0 - z), out=got[:, :, 1])
            np.multiply(qn, r, out=got[:, :, 2])
        p.aux["derivs"] = got
        p.aux["qn"] = qn
    return got


def _backward(p: GatedPass, params: GatedParams, X, Y, M, n, output, bufs) -> None:
    T, B, H = p.h.shape
    dy, dhd = bufs[:2]
    output_backward(p.y, p.out, Y, M, n, output, params.W_y, (dy, dhd))
    _bptt(p, params, X, bufs[1:])
    with np.errstate(all="ignore"):
        dy2 = dy.reshape(T * B, -1)
        p.grads.W_y, p.grads.b_y = dy2.T @ p.h.reshape(T * B, H), dy2.sum(axis=0)
    p.dy = dy


def _bptt(p: GatedPass, params: GatedParams, X, bufs) -> None:
    """BPTT from the direct dL/dh_t in ``bufs[0]``: fills p's backward arrays and ``p.grads``
    (W_y and b_y zero)."""
    T, B, H = p.h.shape
    # dGH: dL/d(W_hr h), dL/d(W_hz h), dL/d(hn); dA: dL/d pre-activations r, z, n
    dhd, dGH, dh, flow, q3, qn, dA = bufs
    Q3 = _derivatives(p, (q3, qn))
    z = p.gates["z"]
    if T:
        _backward_loop(dhd, Q3, z, dGH, dh, flow, params.W_h, H)
    with np.errstate(all="ignore"):
        dA[..., :2 * H] = dGH[..., :2 * H]
        np.multiply(dh, p.aux["qn"], out=dA[..., 2 * H:])
        dA2, dG2 = dA.reshape(T * B, 3 * H), dGH.reshape(T * B, 3 * H)
        hp = p.aux["hs"][:-1, :, :H].reshape(T * B, H)
        grads = GatedParams(
            params.cell, params.order,
            W_x=dA2.T @ X.reshape(T * B, X.shape[-1]), W_h=dG2.T @ hp, b=dA2.sum(axis=0),
            W_y=np.zeros_like(params.W_y), b_y=np.zeros_like(params.b_y),
            b_hn=dG2[:, 2 * H:].sum(axis=0), gates=params.gates)
    p.dh, p.flow, p.grads = dh, flow, grads
    p.dpre = {"r": dA[..., :H], "z": dA[..., H:2 * H], "n": dA[..., 2 * H:],
              "hn": dGH[..., 2 * H:]}


def _backward_loop(dhd, Q3, z, dGH, dh, flow, W_h, H):
    """From t = T-1 down to 0: dh_t = direct + flow_{t+1}; the recurrent-part gradients
    dGH_t = dh_t * Q3_t; flow_t = z_t dh_t + W_h^T dGH_t (into dh_{t-1})."""
    T, B, _ = dh.shape
    dG3 = dGH.reshape(T, B, 3, H)
    if B == 1:
        dhd, Q3, z, dGH, dG3, dh, flow = (dhd[:, 0], Q3[:, 0], z[:, 0], dGH[:, 0], dG3[:, 0],
                                          dh[:, 0], flow[:, 0])
        dh_b = dh[:, None, :]
    else:
        dh_b = dh[:, :, None, :]
    dot, add, mul = _dot, np.add, np.multiply
    carry = np.zeros(dh.shape[1:])
    tmp = np.empty(dh.shape[1:])
    steps = zip(dhd[::-1], Q3[::-1], z[::-1], dGH[::-1], dG3[::-1], dh[::-1], dh_b[::-1],
                flow[::-1])
    for dd, q3, zt, dg, dg3, dht, dhb, fl in steps:
        add(dd, carry, dht)
        mul(dhb, q3, dg3)
        dot(dg, W_h, tmp)
        mul(dht, zt, fl)
        add(fl, tmp, fl)
        carry = fl


CELL = GRUCell()
