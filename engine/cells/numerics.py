"""The numerics every cell shares: activations, the read-out and its loss, one-hot rows, row
norms, the input projection, and the one-block allocation of a pass's arrays.

Nothing here knows which cell runs: the cell modules (engine/cells/rnn.py, lstm.py, gru.py, ...)
and the trace, the analysis and training build on these.
"""

from __future__ import annotations

import math

import numpy as np

from ..types import ACTIVATIONS, OUTPUTS, ScenarioError

def sine_matrix(rows: int, cols: int, scale: float) -> np.ndarray:
    """Entry (i, j) is sin((i*cols + j) * 1.618 + 0.5) * scale: seed 000's deterministic init."""
    k = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols)
    return np.sin(k * 1.618 + 0.5) * scale


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
        # 1 where a > 0, else 0; nan stays nan, so an overflowed state never looks like a
        # clean zero gradient (which would read as "vanishing")
        return np.where(np.isnan(a), np.nan, (a > 0.0).astype(np.float64))
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


def _carve(shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Uninitialised C-contiguous float64 arrays of these shapes, all views of one new block.

    One allocation instead of ten matters more than it looks: freeing a pass's arrays together
    lets malloc hand the memory back to the kernel, so the next pass page-faults on every 4 KiB
    of fresh memory (~1 us each here: about a third of a whole H = 64 pass). A single block of
    the same size is reused by malloc from one call to the next. Offsets are multiples of 64
    bytes.
    """
    sizes = [math.prod(s) for s in shapes]
    padded = [(n + 7) // 8 * 8 for n in sizes]
    block = np.empty(sum(padded))
    views, at = [], 0
    for shape, n, step in zip(shapes, sizes, padded):
        views.append(block[at:at + n].reshape(shape))
        at += step
    return views


def _input_projection(X: np.ndarray, W_x: np.ndarray, out: np.ndarray) -> None:
    """out = X @ W_x^T for (T, B, I) inputs, the same numbers bit for bit whichever path runs.

    One-hot rows (every text scenario) select a column of W_x: x @ W_x^T is exactly W_x[:, k]
    there (1.0 * w plus exact zeros), so a row gather replaces the matmul. Rows with at most one
    nonzero entry have single-term sums, the same in any order, so one 2-D matmul (one BLAS
    call) does them all. Dense rows keep the stacked (T, B, I) product of the plain formula.
    """
    T, B, I = X.shape
    n = T * B
    X2 = X.reshape(n, I)
    out2 = out.reshape(n, out.shape[-1])
    if n and I > 1:
        nonzero = np.count_nonzero(X2)
        if nonzero == n:
            k = X2.argmax(axis=1)
            # n nonzeros and a 1.0 at every row's maximum: exactly one nonzero per row, 1.0
            if bool((X2[np.arange(n), k] == 1.0).all()) and bool(np.isfinite(W_x).all()):
                np.take(np.ascontiguousarray(W_x.T), k, axis=0, out=out2)
                return
        if nonzero > n or int(np.count_nonzero(X2, axis=1).max()) > 1:
            np.matmul(X, W_x.T, out=out)
            return
    np.matmul(X2, W_x.T, out=out2)


def _read_out_and_losses(output: str, y: np.ndarray, targets: np.ndarray, out: np.ndarray,
                         per: np.ndarray) -> None:
    """out = ``read_out(output, y)`` and per = ``step_losses(output, y, targets)``.

    The same operations in the same order as those two functions, so the same numbers; for
    softmax the exponentials are computed once for both.
    """
    if output != "softmax":
        out[...] = read_out(output, y)
        per[...] = step_losses(output, y, targets)
        return
    m = np.max(y, axis=-1, keepdims=True)
    np.subtract(y, m, out=out)
    np.exp(out, out=out)
    s = np.sum(out, axis=-1, keepdims=True)
    lse = m[..., 0] + np.log(s[..., 0])
    out /= s
    ty = np.multiply(targets, y)
    np.subtract(lse, np.sum(ty, axis=-1), out=per)


def read_out_and_loss(h: np.ndarray, params, output: str, Y: np.ndarray, M: np.ndarray,
                      bufs=None):
    """The tail of every cell's forward pass: y = h W_y^T + b_y, what the output function makes
    of it, the per-step losses (0 where ``M`` has no target), their mean over the targets and
    the count of targets: (y, out, per, loss, n). ``bufs`` = (y, out, per) arrays to fill,
    else new ones."""
    T, B, _ = h.shape
    O = params.output_size
    y, out, per = bufs or (np.empty((T, B, O)), np.empty((T, B, O)), np.empty((T, B)))
    np.matmul(h, params.W_y.T, out=y)
    y += params.b_y
    _read_out_and_losses(output, y, Y, out, per)
    np.copyto(per, 0.0, where=~M)
    n = int(np.count_nonzero(M))
    return y, out, per, (float(per.sum() / n) if n else 0.0), n


#: np.dot without its __array_function__ dispatch wrapper (~0.15 us per call): the loops only
#: ever pass it plain float64 ndarrays.
_dot = getattr(np.dot, "_implementation", np.dot)


def output_gradient(output: str, y: np.ndarray, out: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """d(per-step loss)/dy for each step, before the 1/n of the mean and the mask."""
    if output == "softmax":
        return out - targets
    if output == "identity":
        return 2.0 * (y - targets)
    return out - targets  # sigmoid + binary cross-entropy


def onehot(ids: np.ndarray, V: int) -> np.ndarray:
    """(..., V) one-hot rows of the integer array ``ids``."""
    out = np.zeros(ids.shape + (V,))
    np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
    return out


#: Rows :func:`row_norms` works on at a time (its temporaries are a block, not the whole).
NORM_ROWS = 4096


def row_norms(v: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row, scaled first so 1e-300 or 1e300 entries neither underflow to
    0 nor overflow to inf when squared. (Row by row arithmetic: blocks of rows give the numbers
    the whole gives.)"""
    if len(v) > NORM_ROWS:
        return np.concatenate([row_norms(v[s:s + NORM_ROWS])
                               for s in range(0, len(v), NORM_ROWS)])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        big = np.max(np.abs(v), axis=1, keepdims=True) if v.size else np.zeros((len(v), 1))
        safe = np.where((big > 0) & np.isfinite(big), big, 1.0)
        out = np.linalg.norm(v / safe, axis=1) * safe[:, 0]
        return np.where(np.isfinite(big[:, 0]), out, big[:, 0])
