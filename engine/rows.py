"""Per-step arrays of a long trace that are recomputed, exactly, a window at a time.

A trace of T = 100,000 steps at H = 64 would keep six T x H arrays of float64 (307 MB). A
compact trace (see :func:`engine.trace.run_trace`) keeps h (with h_{t-1} as a view of the same
block) and dL/dh, and recomputes a, dL/da and the flow back to t-1 from them when a row is read,
with the very NumPy calls the pass made, so every number is the one the pass computed, bit for
bit (tests/unit/test_trace_parts.py checks it against the whole trace):

    a_t    = (x_t W_x^T + b) + h_{t-1} W_h^T      (engine.model's input projection, then the
                                                   loop's gemv-then-add)
    da_t   = dL/dh_t * f'(a_t)                     (f' from h for tanh and sigmoid, from a for relu)
    flow_t = da_t W_h                              (one gemv per row, as the backward pass)

:class:`RecomputedRows` looks like a read-only (T, H) float64 array to the code that indexes it
(``rows[t]``, ``rows[a:b]``, ``rows[index_array]``, ``.shape``, ``len``); anything else gets the
whole array through ``__array__``, made when asked for (and not kept).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np

#: Rows recomputed together (and cached together).
WINDOW = 2048
#: Windows kept per array (least recently used dropped).
KEEP_WINDOWS = 4


class RecomputedRows:
    """A (T, H) float64 array whose rows ``make(start, stop)`` computes on demand."""

    dtype = np.dtype(np.float64)
    ndim = 2

    def __init__(self, T: int, H: int, make: Callable[[int, int], np.ndarray]) -> None:
        self.shape = (int(T), int(H))
        self._make = make
        self._windows: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        """What this array keeps (its cached windows), not what it stands for."""
        return sum(w.nbytes for w in self._windows.values())

    def _window(self, w: int) -> np.ndarray:
        rows = self._windows.get(w)
        if rows is None:
            start = w * WINDOW
            rows = self._make(start, min(start + WINDOW, self.shape[0]))
            rows.flags.writeable = False
            self._windows[w] = rows
            while len(self._windows) > KEEP_WINDOWS:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(w)
        return rows

    def _range(self, start: int, stop: int) -> np.ndarray:
        if stop <= start:
            return np.empty((0, self.shape[1]))
        first, last = start // WINDOW, (stop - 1) // WINDOW
        if first == last:
            return self._window(first)[start - first * WINDOW: stop - first * WINDOW]
        return np.concatenate([self._window(w)[max(start - w * WINDOW, 0):
                                               min(stop - w * WINDOW, WINDOW)]
                               for w in range(first, last + 1)])

    def __getitem__(self, index):
        T = self.shape[0]
        rest = ()
        if isinstance(index, tuple):
            index, rest = index[0], index[1:]
        if isinstance(index, (int, np.integer)):
            t = int(index) + (T if index < 0 else 0)
            if not 0 <= t < T:
                raise IndexError(f"index {index} is out of bounds for axis 0 with size {T}")
            out = self._window(t // WINDOW)[t % WINDOW]
        elif isinstance(index, slice):
            start, stop, step = index.indices(T)
            if step == 1:
                out = self._range(start, stop)
            else:
                out = self[np.arange(start, stop, step)]
        else:
            idx = np.asarray(index)
            if idx.dtype == bool:
                idx = np.flatnonzero(idx)
            idx = np.where(idx < 0, idx + T, idx).astype(np.intp)
            out = np.empty((len(idx), self.shape[1]))
            for w in np.unique(idx // WINDOW):
                sel = np.flatnonzero(idx // WINDOW == w)
                out[sel] = self._window(int(w))[idx[sel] - w * WINDOW]
        return out[rest] if rest else out

    def __array__(self, dtype=None, copy=None):
        whole = self._range(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype)

    def __iter__(self):
        for t in range(self.shape[0]):
            yield self[t]

    def __repr__(self) -> str:
        return f"RecomputedRows(shape={self.shape}, windows kept={len(self._windows)})"


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
    """``make(start, stop)`` for a_t: the input projection of engine.model.run for those rows,
    plus b, then h_{t-1} W_h^T added row by row (``hs[t]`` is h_{t-1})."""
    from .model import _dot, _input_projection
    WhT = np.ascontiguousarray(params.W_h.T)
    H = params.hidden_size

    def make(start: int, stop: int) -> np.ndarray:
        X = np.asarray(inputs[start:stop], dtype=np.float64)[:, None, :]
        a = np.empty((stop - start, 1, H))
        buf = np.empty(H)
        with np.errstate(all="ignore"):
            _input_projection(X, params.W_x, a)
            a += params.b
            rows = a[:, 0]
            for k in range(stop - start):
                _dot(hs[start + k], WhT, buf)
                np.add(rows[k], buf, rows[k])
        return rows

    return make


def slopes(activation: str, a: RecomputedRows, h: np.ndarray) -> Callable:
    """``make(start, stop)`` for f'(a_t) as the backward pass computes it."""

    def make(start: int, stop: int) -> np.ndarray:
        hw = h[start:stop]
        with np.errstate(all="ignore"):
            if activation == "tanh":
                s = np.multiply(hw, hw)
                np.subtract(1.0, s, out=s)
            elif activation == "sigmoid":
                s = np.subtract(1.0, hw)
                np.multiply(hw, s, out=s)
            else:
                aw = a[start:stop]
                s = np.greater(aw, 0.0).astype(np.float64)
                np.copyto(s, np.nan, where=np.isnan(aw))
        return s

    return make


def pre_activation_grads(dh: np.ndarray, slope: Callable) -> Callable:
    """``make(start, stop)`` for dL/da_t = dL/dh_t * f'(a_t)."""

    def make(start: int, stop: int) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.multiply(dh[start:stop], slope(start, stop))

    return make


def flows(W_h: np.ndarray, da: RecomputedRows) -> Callable:
    """``make(start, stop)`` for W_h^T da_t, one gemv per row as the backward pass."""
    from .model import _dot

    def make(start: int, stop: int) -> np.ndarray:
        d = da[start:stop]
        out = np.empty_like(d)
        with np.errstate(all="ignore"):
            for k in range(len(d)):
                _dot(d[k], W_h, out[k])
        return out

    return make
