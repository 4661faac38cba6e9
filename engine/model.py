"""The vanilla RNN: parameters, initialisers, and one fused forward + backward pass through time.

Shapes: T steps, B sequences side by side, I inputs, H hidden units, O outputs.

    a_t = W_x x_t + W_h h_{t-1} + b        h_t = f(a_t)        y_t = W_y h_t + b_y

The output function (softmax, identity or sigmoid) and its loss are paired so that dL/dy_t is
simple and exact. The sequence loss L is the mean of the per-step losses over the steps that have
a target (across all B sequences).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import ACTIVATIONS, INITS, MATRICES, OUTPUTS, ScenarioError

# ---------------------------------------------------------------------------------------------
# Parameters


@dataclass
class Params:
    """The five weight arrays of the cell and its read-out, all float64."""

    W_x: np.ndarray  # (H, I)
    W_h: np.ndarray  # (H, H)
    b: np.ndarray  # (H,)
    W_y: np.ndarray  # (O, H)
    b_y: np.ndarray  # (O,)

    @property
    def hidden_size(self) -> int:
        return int(self.W_h.shape[0])

    @property
    def input_size(self) -> int:
        return int(self.W_x.shape[1])

    @property
    def output_size(self) -> int:
        return int(self.W_y.shape[0])

    def arrays(self) -> list[np.ndarray]:
        """The arrays in the fixed order W_x, W_h, b, W_y, b_y."""
        return [self.W_x, self.W_h, self.b, self.W_y, self.b_y]

    def as_dict(self) -> dict[str, np.ndarray]:
        return dict(zip(MATRICES, self.arrays()))

    def copy(self) -> "Params":
        return Params(*(a.copy() for a in self.arrays()))

    def with_wh_scale(self, factor: float) -> "Params":
        """A copy whose recurrent matrix is multiplied by ``factor`` (the W_h knob)."""
        p = self.copy()
        p.W_h *= factor
        return p

    def is_finite(self) -> bool:
        return all(bool(np.isfinite(a).all()) for a in self.arrays())


def sine_matrix(rows: int, cols: int, scale: float) -> np.ndarray:
    """Entry (i, j) is sin((i*cols + j) * 1.618 + 0.5) * scale: seed 000's deterministic init."""
    k = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols)
    return np.sin(k * 1.618 + 0.5) * scale


def init_params(hidden: int, inputs: int, outputs: int, *, init: str = "xavier",
                scales: dict[str, float | None] | None = None, seed: int = 0,
                weights: dict[str, np.ndarray] | None = None) -> Params:
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
    return Params(**out)


# ---------------------------------------------------------------------------------------------
# Activations and outputs


def activate(name: str, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) for the named activation."""
    if name == "tanh":
        return np.tanh(a, out=out)
    if name == "sigmoid":
        return _sigmoid(a, out=out)
    if name == "relu":
        return np.maximum(a, 0.0, out=out)
    raise ScenarioError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def activation_slope(name: str, a: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a), written in terms of h = f(a) where that is exact and cheap."""
    if name == "tanh":
        return 1.0 - h * h
    if name == "sigmoid":
        return h * (1.0 - h)
    if name == "relu":
        return (a > 0.0).astype(np.float64)
    raise ScenarioError(f"unknown activation {name!r}")


def _sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # 0.5 * (1 + tanh(z / 2)) equals 1 / (1 + e^-z) and never overflows.
    r = np.multiply(z, 0.5, out=out)
    np.tanh(r, out=r)
    r += 1.0
    r *= 0.5
    return r


def softmax(y: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis, shifted by the max so it cannot overflow."""
    z = y - np.max(y, axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= np.sum(z, axis=-1, keepdims=True)
    return z


def read_out(output: str, y: np.ndarray) -> np.ndarray:
    """What the output function makes of y: probabilities, the value itself, or P(bit = 1)."""
    if output == "softmax":
        return softmax(y)
    if output == "identity":
        return y.copy()
    if output == "sigmoid":
        return _sigmoid(y)
    raise ScenarioError(f"unknown output {output!r}; choose one of {', '.join(OUTPUTS)}")


def step_losses(output: str, y: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-step loss (before masking): -log p[target], sum of (y - target)^2, or binary CE."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if output == "softmax":
            # log p = y - logsumexp(y); exact even when p underflows to 0.
            m = np.max(y, axis=-1, keepdims=True)
            lse = m[..., 0] + np.log(np.sum(np.exp(y - m), axis=-1))
            return lse - np.sum(targets * y, axis=-1)
        if output == "identity":
            d = y - targets
            return np.sum(d * d, axis=-1)
        # sigmoid: BCE with logits = log(1 + e^y) - t*y
        return np.sum(np.logaddexp(0.0, y) - targets * y, axis=-1)


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
        h0: np.ndarray | None = None, backward: bool = True) -> Pass:
    """Forward pass, and unless ``backward`` is False, backpropagation through time.

    ``inputs`` is (T, I) or (T, B, I); ``targets`` (T[, B], O); ``mask`` (T[, B]) marks the steps
    that have a target. Results always carry the batch axis. Overflow gives inf/nan values, never
    an exception: callers check ``np.isfinite(pass.loss)``.
    """
    X = np.asarray(inputs, dtype=np.float64)
    if X.ndim == 2:
        X = X[:, None, :]
    T, B, _ = X.shape
    H = params.hidden_size
    if targets is None:
        Y_t = np.zeros((T, B, params.output_size))
        M = np.zeros((T, B), dtype=bool)
    else:
        Y_t = np.asarray(targets, dtype=np.float64).reshape(T, B, -1)
        M = (np.ones((T, B), dtype=bool) if mask is None
             else np.asarray(mask, dtype=bool).reshape(T, B))
    hp = np.zeros((B, H)) if h0 is None else np.broadcast_to(np.asarray(h0, float), (B, H)).copy()

    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # All input projections in one matmul; the loop only adds the recurrent term.
        a = X @ params.W_x.T
        a += params.b
        h = np.empty_like(a)
        WhT = np.ascontiguousarray(params.W_h.T)
        buf = np.empty((B, H))
        prev = hp
        f = _step_fn(activation)
        for t in range(T):
            np.dot(prev, WhT, out=buf)
            at = a[t]
            at += buf
            prev = f(at, h[t])
        y = h @ params.W_y.T
        y += params.b_y
        out = read_out(output, y)
        per = step_losses(output, y, Y_t)
        per = np.where(M, per, 0.0)
        n = int(M.sum())
        loss = float(per.sum() / n) if n else 0.0
    result = Pass(a=a, h=h, y=y, out=out, losses=per, loss=loss, h0=hp)
    if backward:
        _backward(result, params, X, Y_t, M, n, activation, output)
    return result


def _step_fn(activation: str):
    if activation == "tanh":
        return lambda a, out: np.tanh(a, out=out)
    if activation == "relu":
        return lambda a, out: np.maximum(a, 0.0, out=out)
    if activation == "sigmoid":
        return lambda a, out: _sigmoid(a, out=out)
    raise ScenarioError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")


def output_gradient(output: str, y: np.ndarray, out: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """d(per-step loss)/dy for each step, before the 1/n of the mean and the mask."""
    if output == "softmax":
        return out - targets
    if output == "identity":
        return 2.0 * (y - targets)
    return out - targets  # sigmoid + binary cross-entropy


def _backward(p: Pass, params: Params, X: np.ndarray, Y_t: np.ndarray, M: np.ndarray, n: int,
              activation: str, output: str) -> None:
    T, B, H = p.h.shape
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        dy = output_gradient(output, p.y, p.out, Y_t)
        dy *= (M / n)[..., None] if n else 0.0
        dh = dy @ params.W_y  # the direct part of dL/dh_t; the loop adds what comes from t+1
        slope = activation_slope(activation, p.a, p.h)
        da = np.empty_like(dh)
        Wh = params.W_h
        carry = np.zeros((B, H))
        for t in range(T - 1, -1, -1):
            dht = dh[t]
            dht += carry
            np.multiply(dht, slope[t], out=da[t])
            np.dot(da[t], Wh, out=carry)
        flow = da @ Wh
        h_prev = np.concatenate([p.h0[None], p.h[:-1]], axis=0)
        da2 = da.reshape(T * B, H)
        grads = Params(
            W_x=da2.T @ X.reshape(T * B, -1),
            W_h=da2.T @ h_prev.reshape(T * B, H),
            b=da2.sum(axis=0),
            W_y=dy.reshape(T * B, -1).T @ p.h.reshape(T * B, H),
            b_y=dy.reshape(T * B, -1).sum(axis=0),
        )
    p.dy, p.dh, p.da, p.flow, p.grads, p.slope = dy, dh, da, flow, grads, slope
