"""A bidirectional model of any cell: a forward and a backward copy of the cell, each with its own
weights, and one read-out of their states side by side.

    h→_t = cell(x_t, h→_{t-1})      (reads x_0 .. x_t: the past)
    h←_t = cell(x_t, h←_{t+1})      (reads x_t .. x_{L-1}: the future; L the sequence's length)
    y_t  = W_y [h→_t ; h←_t] + b_y   (W_y is O x 2H)

Each direction is a plain cell run through the composite interface (``Cell.forward`` and
``Cell.backward_from``): the backward copy runs the cell over each sequence reversed, from its
last real step, as PyTorch's ``pack_padded_sequence`` does, and its states are put back in
reading order before the read-out. The loss and its mean are those of a one-way model; BPTT
goes back through the read-out into both directions.

A direction's parameters are the cell's own, with a read-out of 0 rows: the read-out belongs to
the model (:class:`BiParams`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Weights, is_bidirectional, output_backward, prepare  # noqa: F401
from .numerics import read_out_and_loss

#: the two directions, in the order their states are concatenated
DIRECTIONS = ("fwd", "bwd")


def _cell_arrays(p) -> list[np.ndarray]:
    """A direction's trainable arrays: its cell's, without the (empty) read-out."""
    return [a for a in p.arrays() if a is not p.W_y and a is not p.b_y]


@dataclass
class BiParams(Weights):
    """The weights of a bidirectional model: ``fwd`` and ``bwd`` (each the cell's parameters,
    with a 0-row read-out) and the read-out ``W_y`` (O, 2H), ``b_y`` (O,) of both states.

    ``W_x``, ``W_h``, ``b`` and ``cell`` are the forward direction's (the sizes are the same);
    :meth:`with_wh_scale` scales both directions."""

    fwd: object
    bwd: object
    W_y: np.ndarray
    b_y: np.ndarray

    bidirectional = True

    @property
    def cell(self) -> str:
        return self.fwd.cell

    @property
    def W_x(self) -> np.ndarray:
        return self.fwd.W_x

    @property
    def W_h(self) -> np.ndarray:
        return self.fwd.W_h

    @property
    def b(self) -> np.ndarray:
        return self.fwd.b

    def direction(self, which: str):
        """The parameters of one direction, ``"fwd"`` or ``"bwd"``."""
        return self.fwd if which == "fwd" else self.bwd

    def arrays(self) -> list[np.ndarray]:
        """The trainable arrays in a fixed order: the forward cell's, the backward cell's, then
        W_y and b_y."""
        return _cell_arrays(self.fwd) + _cell_arrays(self.bwd) + [self.W_y, self.b_y]

    def as_dict(self) -> dict[str, np.ndarray]:
        """Every parameter by name: a direction's as ``fwd.W_h`` / ``bwd.W_hf``, then W_y, b_y."""
        out = {}
        for which in DIRECTIONS:
            p = self.direction(which)
            out |= {f"{which}.{k}": v for k, v in p.as_dict().items() if k not in ("W_y", "b_y")}
        return out | {"W_y": self.W_y, "b_y": self.b_y}

    named = as_dict

    def copy(self) -> "BiParams":
        return BiParams(self.fwd.copy(), self.bwd.copy(), self.W_y.copy(), self.b_y.copy())

    def with_wh_scale(self, factor: float) -> "BiParams":
        """Both directions' recurrent matrices times ``factor`` (the W_h knob)."""
        return BiParams(self.fwd.with_wh_scale(factor), self.bwd.with_wh_scale(factor),
                        self.W_y.copy(), self.b_y.copy())


def init(cell, hidden: int, inputs: int, outputs: int, **kw) -> BiParams:
    """Seeded bidirectional weights: the forward direction starts as the one-way model of the
    same seed would (its read-out is the left half of W_y), the backward one from seed + 1."""
    seed = kw.pop("seed", 0)
    if kw.get("weights"):
        from ..types import ScenarioError
        raise ScenarioError("[model.weights] cannot be given for a bidirectional model")
    f = cell.init(hidden, inputs, outputs, seed=seed, **kw)
    b = cell.init(hidden, inputs, outputs, seed=seed + 1, **kw)
    W_y = np.hstack([f.W_y, b.W_y])
    b_y = f.b_y.copy()
    for p in (f, b):
        p.W_y, p.b_y = np.zeros((0, hidden)), np.zeros(0)
    return BiParams(f, b, W_y, b_y)


def reversal(T: int, lengths=None, B: int = 1) -> np.ndarray:
    """(T, B) step indices that read each row backwards from its last real step: row r's step
    t is ``L_r - 1 - t`` for t < L_r (its length), and pad steps stay where they are. Applying
    it twice gives the identity."""
    L = np.full(B, T) if lengths is None else np.asarray(lengths, dtype=np.intp).reshape(B)
    t = np.arange(T)[:, None]
    return np.where(t < L[None, :], L[None, :] - 1 - t, t)


def reverse_rows(A: np.ndarray, rev: np.ndarray) -> np.ndarray:
    """``A`` (T, B, ...) with each row's steps in the order ``rev`` (from :func:`reversal`)."""
    return A[rev, np.arange(A.shape[1])[None, :]]


@dataclass
class BiPass:
    """One pass of a bidirectional model (T steps, B sequences).

    ``fwd`` and ``bwd`` are the two cells' passes, each in its own reading order (``bwd`` step
    k of row r is step ``rev[k, r]``); ``h`` (T, B, 2H) is [h→_t ; h←_t] in reading order.
    ``y``/``out``/``dy`` (T, B, O), ``losses`` (T, B), ``loss`` as a one-way pass; ``grads``
    the BiParams of dL/dparam."""

    fwd: object
    bwd: object
    rev: np.ndarray
    h: np.ndarray
    y: np.ndarray
    out: np.ndarray
    losses: np.ndarray
    loss: float
    dy: np.ndarray | None = None
    grads: BiParams | None = None

    def h_bwd(self) -> np.ndarray:
        """h←_t in reading order (T, B, H)."""
        return self.h[..., self.h.shape[-1] // 2:]


def run(cell, params: BiParams, inputs, targets=None, mask=None, *, output: str = "softmax",
        activation: str = "tanh", lengths=None, backward: bool = True) -> BiPass:
    """Forward (and unless ``backward`` is False, BPTT) through both directions of ``cell``.
    ``lengths`` (B,) are the rows' real lengths (default: all T); a row's backward direction
    starts at its last real step."""
    X, Y, M = prepare(inputs, targets, mask, output, params.output_size)
    T, B, _ = X.shape
    H = params.hidden_size
    rev = reversal(T, lengths, B)
    Xr = reverse_rows(X, rev)
    pf = cell.forward(params.fwd, X, activation=activation)
    pb = cell.forward(params.bwd, Xr, activation=activation)
    h = np.empty((T, B, 2 * H))
    h[..., :H] = pf.h
    h[..., H:] = reverse_rows(pb.h, rev)
    with np.errstate(all="ignore"):
        y, out, per, loss, n = read_out_and_loss(h, params, output, Y, M)
    p = BiPass(pf, pb, rev, h, y, out, per, loss)
    if backward:
        with np.errstate(all="ignore"):
            dy, dh = output_backward(y, out, Y, M, n, output, params.W_y)
            gf, _ = cell.backward_from(params.fwd, pf, X, dh[..., :H], activation=activation)
            gb, _ = cell.backward_from(params.bwd, pb, Xr, reverse_rows(dh[..., H:], rev),
                                       activation=activation)
            dy2 = dy.reshape(T * B, -1)
            p.grads = BiParams(gf, gb, dy2.T @ h.reshape(T * B, 2 * H), dy2.sum(axis=0))
        p.dy = dy
    return p
