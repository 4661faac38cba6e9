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
    from .model import _dot, _input_projection
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
    from .model import _dot

    def make(rows: np.ndarray) -> np.ndarray:
        d = da[rows]
        out = np.empty_like(d)
        with np.errstate(all="ignore"):
            for k in range(len(d)):
                _dot(d[k], W_h, out[k])
        return out

    return make
