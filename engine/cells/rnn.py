"""The vanilla (Elman) RNN: its parameters, initialisers, and one fused forward + backward pass.

Shapes: T steps, B sequences side by side, I inputs, H hidden units, O outputs.

    a_t = W_x x_t + W_h h_{t-1} + b        h_t = f(a_t)        y_t = W_y h_t + b_y

f is tanh, sigmoid or relu (the scenario's ``[model].activation``). The output function
(softmax, identity or sigmoid) and its loss are paired so that dL/dy_t is simple and exact
(engine/cells/numerics.py). The sequence loss L is the mean of the per-step losses over the
steps that have a target (across all B sequences). engine.model re-exports all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import ACTIVATIONS, INITS, MATRICES, OUTPUTS, ScenarioError
from .base import Cell, Weights
from .numerics import (_carve, _dot, _input_projection, _sigmoid, activate, activation_slope,
                       read_out_and_loss, sine_matrix)

# ---------------------------------------------------------------------------------------------
# Parameters


@dataclass
class Params(Weights):
    """The five weight arrays of the cell and its read-out, all float64, and the name of the
    cell they belong to (a vanilla cell; gated cells have :class:`engine.cells.GatedParams`)."""

    W_x: np.ndarray  # (H, I)
    W_h: np.ndarray  # (H, H)
    b: np.ndarray  # (H,)
    W_y: np.ndarray  # (O, H)
    b_y: np.ndarray  # (O,)
    cell: str = "rnn"

    def arrays(self) -> list[np.ndarray]:
        """The arrays in the fixed order W_x, W_h, b, W_y, b_y."""
        return [self.W_x, self.W_h, self.b, self.W_y, self.b_y]

    def as_dict(self) -> dict[str, np.ndarray]:
        return dict(zip(MATRICES, self.arrays()))

    def copy(self) -> "Params":
        return Params(*(a.copy() for a in self.arrays()), cell=self.cell)



def init_params(hidden: int, inputs: int, outputs: int, *, init: str = "xavier",
                scales: dict[str, float | None] | None = None, seed: int = 0,
                weights: dict[str, np.ndarray] | None = None, cell: str = "rnn") -> Params:
    """Seeded initial parameters.

    ``xavier``: uniform in +-sqrt(6 / (fan_in + fan_out)) times the scale (default 1); ``normal``:
    Gaussian with std = scale (default 0.1); ``zeros``; ``sine``: see :func:`sine_matrix` (default
    scale 1). Biases start at zero (``normal`` draws them with the bias scale only when one is
    given). Any array in ``weights`` replaces the initialised one.
    """
    if init not in INITS:
        raise ScenarioError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    scales = scales or {}
    rng = np.random.default_rng(seed)
    shapes = {"W_x": (hidden, inputs), "W_h": (hidden, hidden), "b": (hidden,),
              "W_y": (outputs, hidden), "b_y": (outputs,)}
    out: dict[str, np.ndarray] = {}
    for name in MATRICES:  # fixed order: the same seed always gives the same numbers
        shape = shapes[name]
        scale = scales.get(name)
        is_bias = len(shape) == 1
        if init == "zeros" or (is_bias and (init != "normal" or scale is None)):
            arr = np.zeros(shape)
        elif init == "xavier":
            lim = np.sqrt(6.0 / (shape[0] + shape[1]))
            arr = rng.uniform(-lim, lim, size=shape) * (1.0 if scale is None else scale)
        elif init == "normal":
            arr = rng.normal(0.0, 0.1 if scale is None else scale, size=shape)
        else:  # sine
            arr = sine_matrix(shape[0], shape[1], 1.0 if scale is None else scale)
        out[name] = arr.astype(np.float64)
    for name, arr in (weights or {}).items():
        arr = np.asarray(arr, dtype=np.float64)
        if arr.shape != shapes[name]:
            raise ScenarioError(f"{name} must have shape {shapes[name]}, got {arr.shape}")
        out[name] = arr.copy()
    return Params(**out, cell=cell)
# ---------------------------------------------------------------------------------------------
# The pass


@dataclass
class Pass:
    """Everything one forward + backward pass computed, for T steps and B sequences.

    Per-step arrays have a leading time axis: ``a``/``h``/``dh``/``da``/``flow`` are (T, B, H);
    ``y``/``out``/``dy`` are (T, B, O); ``losses`` is (T, B) with 0 where there is no target.
    ``dh[t]`` is the full dL/dh_t (through all later steps), ``da[t]`` = dL/da_t and ``flow[t]`` =
    W_h^T dL/da_t, what flows back into h_{t-1}. ``grads`` are dL/dparam. ``h0`` is the state
    before the first step.
    """

    a: np.ndarray
    h: np.ndarray
    y: np.ndarray
    out: np.ndarray
    losses: np.ndarray
    loss: float
    h0: np.ndarray
    dy: np.ndarray | None = None
    dh: np.ndarray | None = None
    da: np.ndarray | None = None
    flow: np.ndarray | None = None
    grads: Params | None = None
    slope: np.ndarray | None = None


def run(params: Params, inputs: np.ndarray, targets: np.ndarray | None = None,
        mask: np.ndarray | None = None, *, activation: str = "tanh", output: str = "softmax",
        h0: np.ndarray | None = None, backward: bool = True, readout: bool = True) -> Pass:
    """Forward pass, and unless ``backward`` is False, backpropagation through time.
    ``readout=False`` runs the states alone (no y, no loss, no backward: see
    :func:`backward_from`); y and out are then (T, B, 0).

    ``inputs`` is (T, I) or (T, B, I); ``targets`` (T[, B], O); ``mask`` (T[, B]) marks the steps
    that have a target. Results always carry the batch axis. Overflow gives inf/nan values, never
    an exception: callers check ``np.isfinite(pass.loss)``.
    """
    X = np.asarray(inputs, dtype=np.float64)
    if X.ndim == 2:
        X = X[:, None, :]
    T, B, I = X.shape
    H = params.hidden_size
    O = params.output_size
    if activation not in ACTIVATIONS:
        raise ScenarioError(f"unknown activation {activation!r}; "
                            f"choose one of {', '.join(ACTIVATIONS)}")
    if output not in OUTPUTS:
        raise ScenarioError(f"unknown output {output!r}; choose one of {', '.join(OUTPUTS)}")
    if targets is None:
        Y_t = np.zeros((T, B, O))
        M = np.zeros((T, B), dtype=bool)
    else:
        Y_t = np.asarray(targets, dtype=np.float64).reshape(T, B, -1)
        M = (np.ones((T, B), dtype=bool) if mask is None
             else np.asarray(mask, dtype=bool).reshape(T, B))
    hp = np.zeros((B, H)) if h0 is None else np.broadcast_to(np.asarray(h0, float), (B, H)).copy()

    # The per-step arrays of the pass are views into one block, allocated once (see _carve);
    # slope, which a trace does not keep, has its own so that it is not kept alive with them.
    if not readout:
        O, backward = 0, False
    shapes = [(T, B, H), (T + 1, B, H), (T, B, O), (T, B, O), (T, B)]
    if backward:
        shapes += [(T, B, O), (T, B, H), (T, B, H), (T, B, H)]
    a, hs, y, out, per, *grad_bufs = _carve(shapes)
    if backward:
        grad_bufs.append(np.empty((T, B, H)))
    h = hs[1:]  # hs[0] is h0, so h_{t-1} for the W_h gradient is hs[:-1]: no copy
    with np.errstate(all="ignore"):
        # All input projections in one matmul; the loop only adds the recurrent term.
        _input_projection(X, params.W_x, a)
        a += params.b
        hs[0] = hp
        _forward_loop(a, hs, params.W_h, activation)
        # Output projection, read-out and losses for all steps at once, after the loop.
        if readout:
            y, out, per, loss, n = read_out_and_loss(h, params, output, Y_t, M, (y, out, per))
        else:
            per[...], loss = 0.0, 0.0
    result = Pass(a=a, h=h, y=y, out=out, losses=per, loss=loss, h0=hp)
    if backward:
        _backward(result, params, X, Y_t, M, n, activation, output, hs, grad_bufs)
    return result


def _forward_loop(a: np.ndarray, hs: np.ndarray, W_h: np.ndarray, activation: str) -> None:
    """h_t = f(a_t + W_h h_{t-1}) for t = 0..T-1, in place: ``a`` gets the recurrent term added
    and ``hs[t + 1]`` gets h_t (``hs[0]`` holds h0).

    Every NumPy call here writes into preallocated memory and the loop body is only those
    calls, bound to locals: at small H each call's fixed cost (~0.2-0.4 us) is the whole cost of
    a step. With one sequence (B = 1) the rows are 1-D vectors, where np.dot goes straight to a
    BLAS gemv.
    """
    T, B, H = a.shape
    if T == 0:
        return
    if B == 1 and T > 1 and H <= _AUGMENT_MAX_H and _augment_exact(H) and np.isfinite(a).all():
        return _forward_loop_augmented(a, hs, W_h, activation)
    WhT = np.ascontiguousarray(W_h.T)
    rows_a, rows_h = (a[:, 0], hs[:, 0]) if B == 1 else (a, hs)
    buf = np.empty(rows_a.shape[1:])
    dot, add = _dot, np.add
    prev = rows_h[0]
    steps = zip(rows_a, rows_h[1:])  # (a_t, h_t); prev is h_{t-1}
    if activation == "tanh":
        tanh = np.tanh
        for at, ht in steps:
            dot(prev, WhT, buf)
            add(at, buf, at)
            tanh(at, ht)
            prev = ht
    elif activation == "relu":
        maximum = np.maximum
        for at, ht in steps:
            dot(prev, WhT, buf)
            add(at, buf, at)
            maximum(at, 0.0, out=ht)
            prev = ht
    else:  # sigmoid, as _sigmoid: 0.5 * (1 + tanh(a / 2))
        tanh, mul = np.tanh, np.multiply
        for at, ht in steps:
            dot(prev, WhT, buf)
            add(at, buf, at)
            mul(at, 0.5, ht)
            tanh(ht, ht)
            add(ht, 1.0, ht)
            mul(ht, 0.5, ht)
            prev = ht


#: Up to this H, one sequence runs each step as ONE gemv on [h_{t-1}, a_t] (see below).
_AUGMENT_MAX_H = 24
_augment_checked: dict[int, bool] = {}


def _augment_exact(H: int) -> bool:
    """Whether u @ [[W], [I]] for u = [v, c] gives exactly c + v @ W here (checked once per H).

    OpenBLAS's gemv for this layout accumulates y += u_k * row_k in order k = 0, 1, ..., so
    the first H terms are the same sum as v @ W and each identity row then adds c_i once
    (c_j * 0 adds nothing): the same numbers bit for bit, with one NumPy call where there were
    two. That rests on how the BLAS kernel orders its sums, so it is tested on random data
    before it is used, and the two-call loop is used wherever the test fails.
    """
    ok = _augment_checked.get(H)
    if ok is None:
        rng = np.random.default_rng(H)
        stacked = np.empty((2 * H, H))
        stacked[H:] = np.eye(H)
        u = np.empty(2 * H)
        ok = True
        for _ in range(16):
            stacked[:H] = rng.standard_normal((H, H))
            u[:] = rng.standard_normal(2 * H) * rng.choice([1e-3, 1.0, 1e3], 2 * H)
            ref = np.add(u[H:], _dot(u[:H], stacked[:H]))
            ok = ok and np.array_equal(_dot(u, stacked), ref)
        _augment_checked[H] = ok
    return ok


def _stacked_identity(W: np.ndarray) -> np.ndarray:
    H = W.shape[0]
    out = np.empty((2 * H, H))
    out[:H] = W
    out[H:] = np.eye(H)
    return out


def _forward_loop_augmented(a: np.ndarray, hs: np.ndarray, W_h: np.ndarray,
                            activation: str) -> None:
    """_forward_loop for B = 1 and small H, two NumPy calls a step instead of three.

    Row t of Z is [h_{t-1}, input part of a_t], so a_t = Z[t] @ [[W_h^T], [I]] is one gemv
    (bit for bit the old gemv-then-add, see _augment_exact), and f(a_t) is written straight
    into the first half of row t + 1.
    """
    T, _, H = a.shape
    A = a[:, 0]
    Z = np.empty((T, 2 * H))
    Z[0, :H] = hs[0, 0]
    Z[:, H:] = A
    Wz = _stacked_identity(np.ascontiguousarray(W_h.T))
    dot = _dot
    steps = zip(Z, A, Z[1:, :H])  # t = 0 .. T-2; the last step writes into hs directly
    if activation == "tanh":
        tanh = np.tanh
        for zt, at, hn in steps:
            dot(zt, Wz, at)
            tanh(at, hn)
        dot(Z[T - 1], Wz, A[T - 1])
        tanh(A[T - 1], hs[T, 0])
    elif activation == "relu":
        maximum = np.maximum
        for zt, at, hn in steps:
            dot(zt, Wz, at)
            maximum(at, 0.0, out=hn)
        dot(Z[T - 1], Wz, A[T - 1])
        maximum(A[T - 1], 0.0, out=hs[T, 0])
    else:
        for zt, at, hn in steps:
            dot(zt, Wz, at)
            _sigmoid(at, out=hn)
        dot(Z[T - 1], Wz, A[T - 1])
        _sigmoid(A[T - 1], out=hs[T, 0])
    hs[1:T, 0] = Z[1:, :H]


def _backward(p: Pass, params: Params, X: np.ndarray, Y_t: np.ndarray, M: np.ndarray, n: int,
              activation: str, output: str, hs: np.ndarray | None = None,
              bufs: list[np.ndarray] | None = None) -> None:
    """Backpropagation through time into ``p``. ``hs`` is h0 stacked on h; ``bufs`` are the
    preallocated dy, dh, da, flow and slope arrays (both made here when not given)."""
    T, B, H = p.h.shape
    O = p.y.shape[-1]
    if not bufs:
        bufs = [np.empty((T, B, O))] + [np.empty((T, B, H)) for _ in range(4)]
    dy, dh = bufs[:2]
    with np.errstate(all="ignore"):
        # dy = output_gradient(output, y, out, targets), written in place
        if output == "identity":
            np.subtract(p.y, Y_t, out=dy)
            np.multiply(2.0, dy, out=dy)
        else:
            np.subtract(p.out, Y_t, out=dy)
        dy *= (M / n)[..., None] if n else 0.0
        # the direct part of dL/dh_t; the loop adds what comes back from t+1
        np.matmul(dy, params.W_y, out=dh)
        _bptt(p, params, X, activation, hs, bufs[1:])
        dy2 = dy.reshape(T * B, O)
        p.grads.W_y = dy2.T @ p.h.reshape(T * B, H)
        p.grads.b_y = dy2.sum(axis=0)
    p.dy = dy


def _bptt(p: Pass, params: Params, X: np.ndarray, activation: str, hs: np.ndarray | None,
          bufs: list[np.ndarray]) -> None:
    """BPTT from the direct dL/dh_t already in ``bufs[0]`` (dh, da, flow, slope): fills
    ``p.dh``, ``p.da``, ``p.flow``, ``p.slope`` and ``p.grads`` (W_y and b_y zero: the read-out's
    gradients are its caller's)."""
    T, B, H = p.h.shape
    if hs is None:
        hs = np.concatenate([p.h0[None], p.h], axis=0)
    dh, da, flow, slope = bufs
    with np.errstate(all="ignore"):
        # slope = activation_slope(activation, a, h), in place
        if activation == "tanh":
            np.multiply(p.h, p.h, out=slope)
            np.subtract(1.0, slope, out=slope)
        elif activation == "sigmoid":
            np.subtract(1.0, p.h, out=slope)
            np.multiply(p.h, slope, out=slope)
        else:
            np.greater(p.a, 0.0, out=slope)
            np.copyto(slope, np.nan, where=np.isnan(p.a))  # overflowed stays visibly overflowed
        _backward_loop(dh, slope, da, flow, params.W_h)
        da2 = da.reshape(T * B, H)
        grads = Params(
            W_x=da2.T @ X.reshape(T * B, X.shape[-1]),
            W_h=da2.T @ hs[:-1].reshape(T * B, H),
            b=da2.sum(axis=0),
            W_y=np.zeros_like(params.W_y),
            b_y=np.zeros_like(params.b_y),
            cell=params.cell,
        )
    p.dh, p.da, p.flow, p.grads, p.slope = dh, da, flow, grads, slope


def backward_from(params: Params, p: Pass, inputs, dh, ds_last=None, *,
                  activation: str = "tanh"):
    """BPTT of a forward pass ``p`` (made with ``readout=False`` or not) from gradients given
    from outside: ``dh`` (T, B, H) the direct dL/dh_t of every step, ``ds_last`` (B, H) an extra
    dL/dh_{T-1} on the final state. Fills ``p``'s backward arrays (``p.dy`` stays None) and
    returns (grads, dL/dh0): the cell's parameter gradients (W_y and b_y zero) and the gradient
    that reaches the initial state, (B, H)."""
    X = np.asarray(inputs, dtype=np.float64)
    if X.ndim == 2:
        X = X[:, None, :]
    T, B, H = p.h.shape
    bufs = [np.empty((T, B, H)) for _ in range(4)]
    bufs[0][...] = np.asarray(dh, dtype=np.float64).reshape(T, B, H)
    if ds_last is not None and T:
        bufs[0][-1] += np.asarray(ds_last, dtype=np.float64).reshape(B, H)
    _bptt(p, params, X, activation, None, bufs)
    if T:
        ds0 = p.flow[0].copy()
    else:
        ds0 = np.zeros((B, H)) if ds_last is None else np.array(ds_last, dtype=np.float64)
    return p.grads, ds0


def _backward_loop(dh: np.ndarray, slope: np.ndarray, da: np.ndarray, flow: np.ndarray,
                   W_h: np.ndarray) -> None:
    """From t = T-1 down to 0: dh_t += flow_{t+1}; da_t = dh_t * f'(a_t); flow_t = W_h^T da_t.

    ``flow`` is written by the loop itself (it is the carry), so no second matmul recomputes it.
    """
    T, B, H = dh.shape
    if T == 0:
        return
    if B == 1 and T > 1 and H <= _AUGMENT_MAX_H and _augment_exact(H) and np.isfinite(dh).all():
        return _backward_loop_augmented(dh, slope, da, flow, W_h)
    if B == 1:
        dh, slope, da, flow = dh[:, 0], slope[:, 0], da[:, 0], flow[:, 0]
    dot, add, mul = _dot, np.add, np.multiply
    steps = zip(dh[::-1], slope[::-1], da[::-1], flow[::-1])
    dht, st, dat, carry = next(steps)  # the last step: nothing comes back from after it
    mul(dht, st, dat)
    dot(dat, W_h, carry)
    for dht, st, dat, ft in steps:
        add(dht, carry, dht)
        mul(dht, st, dat)
        dot(dat, W_h, ft)
        carry = ft


def _backward_loop_augmented(dh: np.ndarray, slope: np.ndarray, da: np.ndarray,
                             flow: np.ndarray, W_h: np.ndarray) -> None:
    """_backward_loop for B = 1 and small H, two NumPy calls a step instead of three.

    Row t of D is [da_t, direct part of dh_{t-1}], so dh_{t-1} = D[t] @ [[W_h], [I]] is one
    gemv (bit for bit the old gemv-then-add, see _augment_exact). ``flow`` = da @ W_h is then
    one stacked product after the loop: one gemv per row, the same numbers as in the loop.
    """
    T, _, H = dh.shape
    DH, S = dh[:, 0], slope[:, 0]
    D = np.empty((T, 2 * H))
    D[1:, H:] = DH[:-1]
    Wd = _stacked_identity(W_h)
    dot, mul = _dot, np.multiply
    mul(DH[T - 1], S[T - 1], D[T - 1, :H])
    for dt, dhp, sp, dap in zip(D[:0:-1], DH[-2::-1], S[-2::-1], D[-2::-1, :H]):
        dot(dt, Wd, dhp)  # dh_{t-1} = direct part + W_h^T da_t
        mul(dhp, sp, dap)  # da_{t-1}
    da[:, 0] = D[:, :H]
    np.matmul(da, W_h, out=flow)


# ---------------------------------------------------------------------------------------------
# The cell


class RNNCell(Cell):
    """The Elman RNN with a chosen activation (the only cell that takes one)."""

    name = "rnn"
    title = "RNN"
    long_title = "vanilla RNN"
    state = ("h",)
    gates = ()
    recurrent = ("W_h",)
    takes_activation = True
    partner = "lstm"

    def shapes(self, hidden: int, inputs: int, outputs: int) -> dict[str, tuple[int, ...]]:
        return {"W_x": (hidden, inputs), "W_h": (hidden, hidden), "b": (hidden,),
                "W_y": (outputs, hidden), "b_y": (outputs,)}

    def init(self, hidden, inputs, outputs, *, init="xavier", scales=None, seed=0, weights=None,
             forget_bias=1.0) -> Params:
        return init_params(hidden, inputs, outputs, init=init, scales=scales, seed=seed,
                           weights=weights, cell=self.name)

    def run(self, params: Params, inputs, targets=None, mask=None, *, output="softmax",
            activation="tanh", state0=None, backward=True, readout=True) -> Pass:
        return run(params, inputs, targets, mask, activation=self.activation_for(activation),
                   output=output, h0=state0, backward=backward, readout=readout)

    def backward_from(self, params: Params, p: Pass, inputs, dh, ds_last=None, *,
                      activation="tanh"):
        return backward_from(params, p, inputs, dh, ds_last,
                             activation=self.activation_for(activation))

    def pre_activations(self, p: Pass) -> dict[str, np.ndarray]:
        return {"a": p.a}

    def step(self, params: Params, x, s, activation="tanh") -> np.ndarray:
        return activate(self.activation_for(activation), params.W_x @ x + params.W_h @ s + params.b)

    def _slope(self, p: Pass, activation: str) -> np.ndarray:
        return (p.slope if p.slope is not None
                else activation_slope(self.activation_for(activation), p.a, p.h))

    def step_jacobians(self, params: Params, p: Pass, lo=0, hi=None,
                       activation: str = "tanh") -> np.ndarray:
        """diag(f'(a_t)) W_h for t in [lo, hi): (n, H, H), first sequence."""
        hi = len(p.h) if hi is None else hi
        return self._slope(p, activation)[lo:hi, 0, :, None] * params.W_h

    def right_multiplier(self, params: Params, p: Pass, activation: str = "tanh"):
        slope = self._slope(p, activation)[:, 0]
        return lambda M, t: (M * slope[t]) @ params.W_h

    def carry_gate(self, p):
        return None


CELL = RNNCell()
