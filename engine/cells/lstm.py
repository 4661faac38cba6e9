"""The LSTM cell: input, forget and output gates, a candidate, and a cell state c beside h.

    i = sigma(W_xi x_t + W_hi h_{t-1} + b_i)      f = sigma(W_xf x_t + W_hf h_{t-1} + b_f)
    o = sigma(W_xo x_t + W_ho h_{t-1} + b_o)      g = tanh(W_xg x_t + W_hg h_{t-1} + b_g)
    c_t = f * c_{t-1} + i * g                     h_t = o * tanh(c_t)

The state is s_t = [h_t, c_t] (2H numbers); h_{-1} = c_{-1} = 0 unless given. The forget-gate
bias starts at 1 (``forget_bias``) so a fresh cell keeps most of c from step to step.

Internally the blocks are stacked in the order o, i, f, g: the three sigmoid gates are then one
contiguous slice in the forward loop, and i, f, g (whose gradients all scale dL/dc_t) one slice
in the backward loop, so each step is about ten NumPy calls forward and seven back.
"""

from __future__ import annotations

import numpy as np

from .numerics import _dot, read_out_and_loss
from .base import (Cell, GatedParams, GatedPass, StepRow, carve, init_gated, input_part,
                   output_backward, prepare, sigmoid, start_state)

ORDER = ("o", "i", "f", "g")


class LSTMCell(Cell):
    """The long short-term memory cell (the PyTorch ``nn.LSTM`` equations, one layer)."""

    name = "lstm"
    title = long_title = "LSTM"
    state = ("h", "c")
    gates = ("i", "f", "o", "g")
    sigmoid_gates = ("i", "f", "o")
    shown_gates = ("f", "i", "o")  # keep, write, reveal
    carry_gate_name, carry_word = "f", "forget"
    recurrent = ("W_hi", "W_hf", "W_ho", "W_hg")
    has_forget_bias = True
    torch = ("LSTM", "ifgo")
    partner = "rnn"
    step_formulas = ("  c_t = f⊙c_t-1 + i⊙g   h_t = o⊙tanh(c_t)", " c=f⊙c+i⊙g h=o⊙tanh(c)",
                     " c=f⊙c+i⊙g")
    step_rows = (
        StepRow(5, "gate:f", "f forget", short="f keep", tiny="f", column="f"),
        StepRow(6, "gate:i", "i input", short="i write", tiny="i", column="i"),
        StepRow(7, "gate:g", "g candidate", short="g new", tiny="g", column="g"),
        StepRow(8, "gate:o", "o output", short="o show", tiny="o", column="o"),
        StepRow(10, "c_prev", "c_{p}", column="c_{p}", spare=True),
        StepRow(3, "c", "= c_{t}", short="=c_{t}", column="c_{t}"),
        StepRow(1, "h", "h_{t}", column="h_{t}"),
    )

    def shapes(self, hidden: int, inputs: int, outputs: int) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {}
        for g in self.gates:
            out[f"W_x{g}"] = (hidden, inputs)
        for g in self.gates:
            out[f"W_h{g}"] = (hidden, hidden)
        for g in self.gates:
            out[f"b_{g}"] = (hidden,)
        out["W_y"], out["b_y"] = (outputs, hidden), (outputs,)
        return out

    def init(self, hidden, inputs, outputs, *, init="xavier", scales=None, seed=0, weights=None,
             forget_bias=1.0) -> GatedParams:
        return init_gated(self, ORDER, hidden, inputs, outputs, init=init, scales=scales,
                          seed=seed, weights=weights, bias_fill={"f": float(forget_bias)})

    # -- forward and back -------------------------------------------------------------------
    def run(self, params: GatedParams, inputs, targets=None, mask=None, *, output="softmax",
            activation="tanh", state0=None, backward=True, readout=True) -> GatedPass:
        O = params.output_size if readout else 0
        backward = backward and readout
        X, Y, M = prepare(inputs, targets, mask, output, O)
        T, B, _ = X.shape
        H = params.hidden_size
        h0, c0 = _split(state0, B, H)
        shapes = [(T, B, 4 * H), (T + 1, B, 5 * H), (T + 1, B, H), (T, B, H), (T, B, O),
                  (T, B, O), (T, B)]
        if backward:  # dy, direct dh, dZ, dh, dc, flow, and the derivative factors
            shapes += [(T, B, O), (T, B, H), (T, B, 4 * H), (T, B, H), (T, B, H), (T, B, H),
                       (T, B, H), (T, B, 3, H), (T, B, H)]
        A, R, hs, TC, *bufs = carve(shapes)
        with np.errstate(all="ignore"):
            input_part(X, params, out=A)
            # The sigmoid blocks hold -z, so that sigma(z) = 1 / (1 + exp(-z)) is three calls;
            # negating is exact, so these are the same numbers as the plain formula.
            A[..., :3 * H] *= -1.0
            WhT = np.ascontiguousarray(params.W_h.T)
            WhT[:, :3 * H] *= -1.0
            # row t of R: o, i, f, g at step t, then c_{t-1}; step t writes c_t into row t + 1
            R[0, :, 4 * H:] = c0
            hs[0] = h0
            _forward_loop(A, R, hs, TC, WhT, H)
            h = hs[1:]
            y, out, per = bufs[:3]
            if readout:
                y, out, per, loss, n = read_out_and_loss(h, params, output, Y, M, bufs[:3])
            else:
                per[...], loss = 0.0, 0.0
            gates = {"i": R[:-1, :, H:2 * H], "f": R[:-1, :, 2 * H:3 * H],
                     "o": R[:-1, :, :H], "g": R[:-1, :, 3 * H:4 * H]}
            p = GatedPass(h=h, h0=h0, gates=gates, pre={}, y=y, out=out, losses=per, loss=loss,
                          c=R[1:, :, 4 * H:], c0=c0,
                          aux={"A": A, "tanh_c": TC, "c_prev": R[:-1, :, 4 * H:], "hs": hs})
            if backward:
                _backward(p, params, X, Y, M, n, output, bufs[3:])
        return p

    def backward_from(self, params: GatedParams, p: GatedPass, inputs, dh, ds_last=None, *,
                      activation="tanh"):
        X = prepare(inputs, None, None, "softmax", 0)[0]
        T, B, H = p.h.shape
        bufs = carve([(T, B, H), (T, B, 4 * H), (T, B, H), (T, B, H), (T, B, H), (T, B, H),
                      (T, B, 3, H), (T, B, H)])
        bufs[0][...] = np.asarray(dh, dtype=np.float64).reshape(T, B, H)
        dc_last = None
        if ds_last is not None:
            ds_last = np.asarray(ds_last, dtype=np.float64).reshape(B, 2 * H)
            dc_last = ds_last[:, H:]
            if T:
                bufs[0][-1] += ds_last[:, :H]
        carry_c = _bptt(p, params, X, bufs, dc_last)
        if T:
            ds0 = np.concatenate([p.flow[0], carry_c.reshape(B, H)], axis=-1)
        else:
            ds0 = np.zeros((B, 2 * H)) if ds_last is None else ds_last.copy()
        return p.grads, ds0

    def pre_activations(self, p: GatedPass) -> dict[str, np.ndarray]:
        """z_i, z_f, z_o, z_g: what went into each gate (T, B, H)."""
        A = p.aux["A"]
        H = p.h.shape[-1]
        return {"o": -A[..., :H], "i": -A[..., H:2 * H], "f": -A[..., 2 * H:3 * H],
                "g": A[..., 3 * H:].copy()}

    # -- plain formulas -----------------------------------------------------------------------
    def step(self, params: GatedParams, x, s, activation="tanh") -> np.ndarray:
        H = params.hidden_size
        h, c = s[:H], s[H:]

        def z(g):
            return params.block("W_x", g) @ x + params.block("W_h", g) @ h + params.block("b", g)

        i, f, o, g = sigmoid(z("i")), sigmoid(z("f")), sigmoid(z("o")), np.tanh(z("g"))
        c_new = f * c + i * g
        return np.concatenate([o * np.tanh(c_new), c_new])

    # -- Jacobians ----------------------------------------------------------------------------
    def step_jacobians(self, params: GatedParams, p: GatedPass, lo=0, hi=None) -> np.ndarray:
        """d[h_t, c_t]/d[h_{t-1}, c_{t-1}] for t in [lo, hi): (n, 2H, 2H), first sequence.

        dc_t/dh_{t-1} = C_t = diag(c_{t-1} f'(z_f)) W_hf + diag(g sigma'(z_i)) W_hi
        + diag(i tanh'(z_g)) W_hg;  dc_t/dc_{t-1} = diag(f);  with u = o tanh'(c_t):
        dh_t/dh_{t-1} = diag(tanh(c_t) sigma'(z_o)) W_ho + diag(u) C_t;  dh_t/dc_{t-1} =
        diag(u f).
        """
        hi = len(p.h) if hi is None else hi
        H = p.h.shape[-1]
        OT, P3, Po = (a[lo:hi, 0] for a in _derivatives(p))
        f = p.gates["f"][lo:hi, 0]
        C = (P3[:, 0, :, None] * params.block("W_h", "i") + P3[:, 1, :, None]
             * params.block("W_h", "f") + P3[:, 2, :, None] * params.block("W_h", "g"))
        n = hi - lo
        J = np.zeros((n, 2 * H, 2 * H))
        J[:, :H, :H] = Po[:, :, None] * params.block("W_h", "o") + OT[:, :, None] * C
        J[:, H:, :H] = C
        d = np.arange(H)
        J[:, d, H + d] = OT * f
        J[:, H + d, H + d] = f
        return J

    def right_multiplier(self, params: GatedParams, p: GatedPass):
        """A function (M, t) -> M @ J_t for (rows, 2H) matrices M (a row vector gives a
        vector-Jacobian product: one loss's gradient one step back).

        J_t's h columns are the stack K_t = [dh_t/dh_{t-1}; dc_t/dh_{t-1}] (2H x H, built from
        the gate blocks in O(H^2)), so M J_t is one (rows x 2H) @ (2H x H) product plus the
        diagonal c columns: half the multiplications of applying the four gate blocks to M."""
        H = p.h.shape[-1]
        OT, P3, Po = (a[:, 0] for a in _derivatives(p))
        f = p.gates["f"][:, 0]
        # the gate blocks of W_h (internal order o, i, f, g), each H x H
        Wo, Wifg = params.W_h[:H], params.W_h[H:].reshape(3, H, H)

        def mul(Mx: np.ndarray, t: int) -> np.ndarray:
            K = np.empty((2 * H, H))
            C = K[H:]  # dc_t/dh_{t-1} = sum over i, f, g of diag(factor) W_h(gate)
            np.einsum("kh,khj->hj", P3[t], Wifg, out=C)
            np.multiply(Po[t][:, None], Wo, out=K[:H])  # dh_t/dh_{t-1} = diag(.) W_ho
            K[:H] += OT[t][:, None] * C  # + diag(o tanh'(c_t)) C
            out = np.empty_like(Mx)
            np.matmul(Mx, K, out=out[:, :H])
            np.multiply(Mx[:, :H], OT[t], out=out[:, H:])  # the c columns: diagonal
            out[:, H:] += Mx[:, H:]
            out[:, H:] *= f[t]
            return out

        return mul

    def carry_gate(self, p: GatedPass) -> np.ndarray:
        """The forget gates (T, H) of the first sequence: the cell-state path multiplies them."""
        return p.gates["f"][:, 0]


def _split(state0, B: int, H: int):
    if state0 is None:
        return np.zeros((B, H)), np.zeros((B, H))
    if isinstance(state0, tuple):
        return start_state(state0[0], B, H), start_state(state0[1], B, H)
    s = np.asarray(state0, dtype=np.float64)
    return start_state(s[..., :H], B, H), start_state(s[..., H:], B, H)


def _forward_loop(A, R, hs, TC, WhT, H):
    T, B, _ = A.shape
    if T == 0:
        return
    if B == 1:
        A, R, hs, TC = A[:, 0], R[:, 0], hs[:, 0], TC[:, 0]
    dot, add, mul, exp, div, tanh = _dot, np.add, np.multiply, np.exp, np.divide, np.tanh
    buf = np.empty(A.shape[1:])
    prod = np.empty(A.shape[1:-1] + (2 * H,))
    p_ig, p_fc = prod[..., :H], prod[..., H:]
    H3 = 3 * H
    steps = zip(A, A[..., :H3], A[..., H3:], R[:-1, ..., :H3], R[:-1, ..., H3:4 * H],
                R[:-1, ..., H:H3], R[:-1, ..., H3:], R[1:, ..., 4 * H:], R[:-1, ..., :H], TC,
                hs[:-1], hs[1:])
    for at, a_sig, a_g, r_sig, r_g, r_if, r_gc, c_new, o, tc, hp, hn in steps:
        dot(hp, WhT, buf)
        add(at, buf, at)
        exp(a_sig, r_sig)
        add(r_sig, 1.0, r_sig)
        div(1.0, r_sig, r_sig)
        tanh(a_g, r_g)
        mul(r_if, r_gc, prod)  # [i * g, f * c_{t-1}]
        add(p_ig, p_fc, c_new)
        tanh(c_new, tc)
        mul(o, tc, hn)


def _derivatives(p: GatedPass, bufs=None):
    """(o tanh'(c_t), [g sigma'(z_i), c_{t-1} sigma'(z_f), i tanh'(z_g)], tanh(c_t) sigma'(z_o))
    for every step: the factors that turn dL/dh_t and dL/dc_t into gate gradients."""
    got = p.aux.get("derivs")
    if got is None:
        i, f, o, g = (p.gates[k] for k in ("i", "f", "o", "g"))
        TC, cp = p.aux["tanh_c"], p.aux["c_prev"]
        T, B, H = TC.shape
        OT, P3, Po = bufs or (np.empty((T, B, H)), np.empty((T, B, 3, H)), np.empty((T, B, H)))
        with np.errstate(all="ignore"):
            np.multiply(TC, TC, out=OT)
            np.subtract(1.0, OT, out=OT)
            OT *= o
            np.multiply(g * i, 1.0 - i, out=P3[:, :, 0])
            np.multiply(cp * f, 1.0 - f, out=P3[:, :, 1])
            np.multiply(i, 1.0 - g * g, out=P3[:, :, 2])
            np.subtract(1.0, o, out=Po)
            Po *= o
            Po *= TC
        got = p.aux["derivs"] = (OT, P3, Po)
    return got


def _backward(p: GatedPass, params: GatedParams, X, Y, M, n, output, bufs) -> None:
    T, B, H = p.h.shape
    dy, dhd = bufs[:2]
    output_backward(p.y, p.out, Y, M, n, output, params.W_y, (dy, dhd))
    _bptt(p, params, X, bufs[1:])
    dy2 = dy.reshape(T * B, -1)
    p.grads.W_y, p.grads.b_y = dy2.T @ p.h.reshape(T * B, H), dy2.sum(axis=0)
    p.dy = dy


def _bptt(p: GatedPass, params: GatedParams, X, bufs, dc_last=None):
    """BPTT from the direct dL/dh_t in ``bufs[0]`` (and dL/dc_{T-1} = ``dc_last``, given from
    outside): fills p's backward arrays and ``p.grads`` (W_y and b_y zero); returns
    dL/dc_{-1}, what reaches the initial cell state."""
    T, B, H = p.h.shape
    dhd, dZ, dh, dc, flow, *dbufs = bufs
    OT, P3, Po = _derivatives(p, dbufs)
    f = p.gates["f"]
    carry_c = None
    if T:
        carry_c = _backward_loop(dhd, OT, P3, Po, f, dZ, dh, dc, flow, params.W_h, H, dc_last)
    dZ2 = dZ.reshape(T * B, 4 * H)
    grads = GatedParams(
        params.cell, params.order,
        W_x=dZ2.T @ X.reshape(T * B, X.shape[-1]), W_h=dZ2.T @ p.aux["hs"][:-1].reshape(T * B, H),
        b=dZ2.sum(axis=0), W_y=np.zeros_like(params.W_y), b_y=np.zeros_like(params.b_y),
        gates=params.gates)
    p.dh, p.dc, p.flow, p.grads = dh, dc, flow, grads
    p.dpre = {"o": dZ[..., :H], "i": dZ[..., H:2 * H], "f": dZ[..., 2 * H:3 * H],
              "g": dZ[..., 3 * H:]}
    return carry_c


def _backward_loop(dhd, OT, P3, Po, f, dZ, dh, dc, flow, W_h, H, dc_last=None):
    """From t = T-1 down to 0: dh_t = direct + flow_{t+1}; dc_t = dh_t o tanh'(c_t) + f_{t+1}
    dc_{t+1} (at the last step: + ``dc_last``); the gate gradients dZ_t; flow_t = W_h^T dZ_t
    (into dh_{t-1}). Returns f_0 dc_0 = dL/dc_{-1}."""
    T, B, _ = dh.shape
    dZ4 = dZ.reshape(T, B, 4, H)
    if B == 1:
        dhd, OT, P3, Po, f = dhd[:, 0], OT[:, 0], P3[:, 0], Po[:, 0], f[:, 0]
        dZ, dZ4, dh, dc, flow = dZ[:, 0], dZ4[:, 0], dh[:, 0], dc[:, 0], flow[:, 0]
        dc_b = dc[:, None, :]
        dz_o, dz_ifg = dZ4[:, 0], dZ4[:, 1:]
    else:
        dc_b = dc[:, :, None, :]
        dz_o, dz_ifg = dZ4[:, :, 0], dZ4[:, :, 1:]
    dot, add, mul = _dot, np.add, np.multiply
    carry_h = np.zeros(dh.shape[1:])
    carry_c = np.zeros(dh.shape[1:])
    if dc_last is not None:
        carry_c[...] = dc_last.reshape(carry_c.shape)
    tmp = np.empty(dh.shape[1:])
    steps = zip(dhd[::-1], OT[::-1], P3[::-1], Po[::-1], f[::-1], dZ[::-1], dz_o[::-1],
                dz_ifg[::-1], dh[::-1], dc[::-1], dc_b[::-1], flow[::-1])
    for dd, ot, p3, po, ft, dz, dzo, dzifg, dht, dct, dcb, fl in steps:
        add(dd, carry_h, dht)
        mul(dht, ot, tmp)
        add(tmp, carry_c, dct)
        mul(dcb, p3, dzifg)
        mul(dht, po, dzo)
        mul(dct, ft, carry_c)
        dot(dz, W_h, fl)
        carry_h = fl
    return carry_c


CELL = LSTMCell()
