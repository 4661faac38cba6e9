"""Per-step arrays of a long trace that are not kept but recomputed, exactly, row by row.

A trace of T = 100,000 steps at H = 64 would keep six T x H arrays of float64 (307 MB). A
compact trace (see :func:`engine.trace.run_trace`) keeps h (with h_{t-1} as a view of the same
block) and dL/dh, and recomputes a, dL/da and the flow back to t-1 from them when rows are read.
Each of these rows depends on kept rows only, and is made with the very NumPy calls of the pass,
so every number is the one the pass computed, bit for bit (tests/unit/test_trace_parts.py checks
it against the whole trace):

    a_t    = (x_t W_x^T + b) + h_{t-1} W_h^T      (engine.model's input projection, then the
                                                   loop's gemv-then-add)
    da_t   = dL/dh_t * f'(a_t)                     (f' from h for tanh and sigmoid, from a for relu)
    flow_t = da_t W_h                              (one gemv per row, as the backward pass)

:class:`RecomputedRows` looks like a read-only (T, H) float64 array to the code that indexes it
(``rows[t]``, ``rows[a:b]``, ``rows[index_array]``, ``.shape``, ``len``): one row costs about a
microsecond. Anything else (arithmetic, NumPy functions) gets the whole array, made when asked
for and not kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .budget import PASS_CHUNK


class RecomputedRows:
    """A (T, H) float64 array whose rows ``make(rows)`` (an index array) computes on demand."""

    dtype = np.dtype(np.float64)
    ndim = 2
    nbytes = 0  # it keeps nothing of its own

    def __init__(self, T: int, H: int, make: Callable[[np.ndarray], np.ndarray]) -> None:
        self.shape = (int(T), int(H))
        self._make = make

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def __getitem__(self, index):
        T = self.shape[0]
        rest = ()
        if isinstance(index, tuple):
            index, rest = index[0], index[1:]
        if isinstance(index, (int, np.integer)):
            t = int(index) + (T if index < 0 else 0)
            if not 0 <= t < T:
                raise IndexError(f"index {index} is out of bounds for axis 0 with size {T}")
            out = self._make(np.array([t], dtype=np.intp))[0]
        elif isinstance(index, slice):
            out = self._make(np.arange(*index.indices(T), dtype=np.intp))
        else:
            idx = np.asarray(index)
            if idx.dtype == bool:
                idx = np.flatnonzero(idx)
            idx = idx.astype(np.intp)
            if idx.size and (idx.min() < -T or idx.max() >= T):
                raise IndexError(f"index out of bounds for axis 0 with size {T}")
            out = self._make(np.where(idx < 0, idx + T, idx))
        return out[rest] if rest else out

    def __array__(self, dtype=None, copy=None):
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)

    def __iter__(self):
        for t in range(self.shape[0]):
            yield self[t]

    def __repr__(self) -> str:
        return f"RecomputedRows(shape={self.shape})"


def _whole_op(name: str):
    def op(self, *args):
        return getattr(np.asarray(self), name)(*args)
    op.__name__ = name
    return op


# Arithmetic and comparisons work on the whole array (made for the occasion), as NumPy's would.
for _name in ("__gt__", "__ge__", "__lt__", "__le__", "__eq__", "__ne__", "__add__", "__radd__",
              "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
              "__neg__", "__abs__", "__matmul__", "__rmatmul__", "__pow__"):
    setattr(RecomputedRows, _name, _whole_op(_name))
RecomputedRows.__hash__ = None  # (as an ndarray: == is elementwise)


def pre_activations(params, inputs: np.ndarray, hs: np.ndarray) -> Callable:
    """``make(rows)`` for a_t: the input projection of engine.model.run for those rows, plus
    b, then h_{t-1} W_h^T added row by row (``hs[t]`` is h_{t-1})."""
    from .cells.numerics import _dot, _input_projection
    WhT = np.ascontiguousarray(params.W_h.T)
    H = params.hidden_size

    def make(rows: np.ndarray) -> np.ndarray:
        X = np.asarray(inputs[rows], dtype=np.float64)[:, None, :]
        a = np.empty((len(rows), 1, H))
        buf = np.empty(H)
        with np.errstate(all="ignore"):
            if len(rows):
                _input_projection(X, params.W_x, a)
            a += params.b
            out = a[:, 0]
            for k, t in enumerate(rows):
                _dot(hs[t], WhT, buf)
                np.add(out[k], buf, out[k])
        return out

    return make


def slopes(activation: str, a: RecomputedRows, h: np.ndarray) -> Callable:
    """``make(rows)`` for f'(a_t) as the backward pass computes it."""

    def make(rows: np.ndarray) -> np.ndarray:
        hw = h[rows]
        with np.errstate(all="ignore"):
            if activation == "tanh":
                s = np.multiply(hw, hw)
                np.subtract(1.0, s, out=s)
            elif activation == "sigmoid":
                s = np.subtract(1.0, hw)
                np.multiply(hw, s, out=s)
            else:
                aw = a[rows]
                s = np.greater(aw, 0.0).astype(np.float64)
                np.copyto(s, np.nan, where=np.isnan(aw))
        return s

    return make


def pre_activation_grads(dh: np.ndarray, slope: Callable) -> Callable:
    """``make(rows)`` for dL/da_t = dL/dh_t * f'(a_t)."""

    def make(rows: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.multiply(dh[rows], slope(rows))

    return make


def flows(W_h: np.ndarray, da: RecomputedRows) -> Callable:
    """``make(rows)`` for W_h^T da_t, one gemv per row as the backward pass."""
    from .cells.numerics import _dot

    def make(rows: np.ndarray) -> np.ndarray:
        d = da[rows]
        out = np.empty_like(d)
        with np.errstate(all="ignore"):
            for k in range(len(d)):
                _dot(d[k], W_h, out[k])
        return out

    return make




def compact_pass(params, inputs: np.ndarray, targets: np.ndarray | None,
                 mask: np.ndarray | None, *, activation: str, output: str,
                 h0: np.ndarray | None = None, chunk: int = PASS_CHUNK):
    """engine.model.run for one sequence (B = 1) without its full-size working arrays: the
    same numbers, bit for bit, from the same NumPy calls on blocks of ``chunk`` rows
    (:func:`compact_forward`, then :func:`compact_backward`).

    Returns a :class:`engine.model.Pass` with ``h0``, y, out, the losses, dy, dh and the
    gradients (its a, da, flow and slope None), and ``hs``: h0 stacked on h, one (T + 1, 1, H)
    block.
    """
    p, hs = compact_forward(params, inputs, targets, mask, activation=activation,
                            output=output, h0=h0, chunk=chunk)
    compact_backward(params, p, hs, inputs, targets, mask, activation=activation,
                     output=output, chunk=chunk)
    return p, hs


def _targets(T: int, O: int, targets, mask):
    if targets is None:
        return np.zeros((T, 1, O)), np.zeros((T, 1), dtype=bool)
    Y_t = np.asarray(targets, dtype=np.float64).reshape(T, 1, -1)
    M = (np.ones((T, 1), dtype=bool) if mask is None
         else np.asarray(mask, dtype=bool).reshape(T, 1))
    return Y_t, M


def compact_forward(params, inputs: np.ndarray, targets: np.ndarray | None,
                    mask: np.ndarray | None, *, activation: str, output: str,
                    h0: np.ndarray | None = None, chunk: int = PASS_CHUNK):
    """The forward half of :func:`compact_pass`: a made ``chunk`` rows at a time (the input
    projection, then the forward loop on that block, carrying h), then the read-out and the
    losses for all steps as engine.model.run makes them. Returns (the Pass without its
    backward part, hs)."""
    from .cells.numerics import _input_projection, read_out_and_loss
    from .cells.rnn import Pass, _forward_loop
    from .types import ACTIVATIONS, OUTPUTS, ScenarioError
    if activation not in ACTIVATIONS:
        raise ScenarioError(f"unknown activation {activation!r}")
    if output not in OUTPUTS:
        raise ScenarioError(f"unknown output {output!r}")
    X = np.asarray(inputs, dtype=np.float64)
    T, I = X.shape
    H, O = params.hidden_size, params.output_size
    chunk = max(1, int(chunk))
    Y_t, M = _targets(T, O, targets, mask)
    hp = np.zeros((1, H)) if h0 is None else np.broadcast_to(np.asarray(h0, float), (1, H)).copy()
    hs = np.empty((T + 1, 1, H))
    h = hs[1:]
    y, out, per = np.empty((T, 1, O)), np.empty((T, 1, O)), np.empty((T, 1))
    work = np.empty((min(chunk, max(T, 1)), 1, H))  # a block of a
    X3 = X[:, None, :]
    with np.errstate(all="ignore"):
        hs[0] = hp
        for s in range(0, T, chunk):
            e = min(T, s + chunk)
            a = work[:e - s]
            _input_projection(X3[s:e], params.W_x, a)
            a += params.b
            _forward_loop(a, hs[s:e + 1], params.W_h, activation)
        y, out, per, loss, _ = read_out_and_loss(h, params, output, Y_t, M, (y, out, per))
    return Pass(a=None, h=h, y=y, out=out, losses=per, loss=loss, h0=hp), hs


def compact_backward(params, p, hs: np.ndarray, inputs: np.ndarray, targets, mask, *,
                     activation: str, output: str, chunk: int = PASS_CHUNK, should_stop=None):
    """The backward half of :func:`compact_pass`, into ``p`` (from :func:`compact_forward`;
    ``hs`` its h0 stacked on h, (T + 1, 1, H) or (T + 1, H)): dy, dh and the gradients.

    f'(a) and the flow back are made a block at a time by the backward loop from the last step
    down, carrying the flow into the block before. Every row of these depends on kept rows
    only, so a block gives the rows the whole pass gives (for relu f'(a) is read from
    h = max(a, 0): a > 0 exactly when h > 0, and a is NaN exactly when h is). dL/da is made
    whole (the weight gradients sum it over all steps in one product each, as the pass does)
    and dropped after them. ``should_stop()`` is asked between blocks (raises
    :class:`engine.analysis.Cancelled`)."""
    from .types import Cancelled
    from .cells.rnn import Params, _backward_loop
    X = np.asarray(inputs, dtype=np.float64)
    T, I = X.shape
    H, O = params.hidden_size, params.output_size
    chunk = max(1, int(chunk))
    Y_t, M = _targets(T, O, targets, mask)
    hs = hs.reshape(T + 1, 1, H)
    h = hs[1:]
    y, out = p.y, p.out
    n = int(np.count_nonzero(M))
    work = np.empty((min(chunk, max(T, 1)), 1, H))  # a block of f'(a)
    flow = np.empty_like(work)
    with np.errstate(all="ignore"):
        dy = np.empty((T, 1, O))
        dh = np.empty((T, 1, H))
        if output == "identity":
            np.subtract(y, Y_t, out=dy)
            np.multiply(2.0, dy, out=dy)
        else:
            np.subtract(out, Y_t, out=dy)
        dy *= (M / n)[..., None] if n else 0.0
        np.matmul(dy, params.W_y, out=dh)
        da = np.empty((T, 1, H))
        carry = None
        for e in range(T, 0, -chunk):
            if should_stop is not None and should_stop():
                raise Cancelled()
            s = max(0, e - chunk)
            slope, hw = work[:e - s], h[s:e]
            if activation == "tanh":
                np.multiply(hw, hw, out=slope)
                np.subtract(1.0, slope, out=slope)
            elif activation == "sigmoid":
                np.subtract(1.0, hw, out=slope)
                np.multiply(hw, slope, out=slope)
            else:
                np.greater(hw, 0.0, out=slope)
                np.copyto(slope, np.nan, where=np.isnan(hw))
            if carry is not None:  # what step e sends back, as the loop adds it
                np.add(dh[e - 1, 0], carry, dh[e - 1, 0])
            _backward_loop(dh[s:e], slope, da[s:e], flow[:e - s], params.W_h)
            carry = flow[0, 0].copy()
        da2 = da.reshape(T, H)
        dy2 = dy.reshape(T, O)
        grads = Params(
            W_x=da2.T @ X[:, None, :].reshape(T, -1),
            W_h=da2.T @ hs[:-1].reshape(T, H),
            b=da2.sum(axis=0),
            W_y=dy2.T @ h.reshape(T, H),
            b_y=dy2.sum(axis=0),
        )
    del da, da2
    p.dy, p.dh, p.grads = dy, dh, grads
    return p
