"""Padded batches: sequences of different lengths side by side, with or without the mask.

A batch must be a rectangle, (T, B, .) arrays, so sequences shorter than the longest are padded
on the right: row b holds its sequence at steps 0 .. lengths[b] - 1 and the pad token after it,
up to T = the longest length. The pad token is the zero vector (what "pad with zeros" means).

With the mask on (``masked=True``), a pad step counts for nothing: it has no target, its loss is
not in the mean, and the row's final state is the one at its last real step. Right padding
makes this exact without touching the cells' loops: a real step's state never depends on a
later step, so the states at real steps are those of the row run alone; a pad step has no
target, so dL/dy there is 0 and nothing flows back from it (dL/dh and every gradient part of
a pad step is exactly 0). The pads' own states are computed (the rectangle is run whole) but
belong to nothing: :func:`run_batch` shows them as the row's last real state carried on.

With the mask off (``masked=False``) the pads are steps like any other, as a network that is
not told where each row ends treats them: the pad token goes in, the state runs on through
the pads, and the row's answer (the target of its last real step, when it has one) is asked
after the pads, at the batch's last step T - 1, from the state there. That pad step's loss
counts, and its gradient reaches the weights through every pad step before it.

A bidirectional model (engine/cells/bidir.py) runs a forward and a backward direction. With
the mask, the backward direction of row b starts at its last real step L_b - 1 and reads back
to step 0, as ``pack_padded_sequence`` does, so both directions' states at real steps are the
row's single run; the forward direction's final state is the one at L_b - 1, the backward
one's the one at step 0 (the last it reads). Its pad steps are read after step 0 and belong
to nothing; :func:`run_batch` shows them, as the forward's, as the direction's final state
carried on. Without the mask the backward direction starts at the batch's last step T - 1 and
reads the pads first: every one of a short row's backward states, real steps included, has
been through T - L_b pad tokens (the forward direction meets the pads only after the real
steps, as a one-way model does). Its final state, at step 0, is then taken after the pads,
and the answer read at step T - 1 sees a backward state that has read only a pad.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cells import get_cell, run
from .cells.bidir import is_bidirectional, reverse_rows
from .types import Sequence

__all__ = ["Batch", "BatchPass", "batch_indices", "batch_sequences", "pad_batch", "packing",
           "padded_batches", "padded_lengths", "run_batch", "stepped_row", "training_batch"]


@dataclass
class Batch:
    """A padded batch: ``X`` (T, B, I) with the pad token (zeros) after each row's end,
    ``Y`` (T, B, O) and ``M`` (T, B) the targets and the steps whose loss counts (with the mask
    off a row's last target is moved to step T - 1, see the module's text), ``lengths`` (B,)
    the real lengths, ``masked`` whether the mask is on."""

    sequences: list[Sequence]
    X: np.ndarray
    Y: np.ndarray
    M: np.ndarray
    lengths: np.ndarray
    masked: bool

    @property
    def T(self) -> int:
        return int(self.X.shape[0])

    @property
    def B(self) -> int:
        return int(self.X.shape[1])

    @property
    def real(self) -> np.ndarray:
        """(T, B) True at a row's real steps, False at its pads."""
        return np.arange(self.T)[:, None] < self.lengths[None, :]

    @property
    def real_steps(self) -> int:
        return int(self.lengths.sum())

    @property
    def padded_steps(self) -> int:
        """The steps the rectangle runs: T x B (real ones and pads)."""
        return self.T * self.B

    def last(self) -> np.ndarray:
        """(B,) the step each row's final state is read at: its last real step with the mask,
        the batch's last step without it."""
        return self.lengths - 1 if self.masked else np.full(self.B, self.T - 1)


def pad_batch(sequences: list[Sequence], masked: bool = True) -> Batch:
    """The sequences as one right-padded batch (see the module's text)."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    T, B = int(lengths.max()), len(sequences)
    first = sequences[0]
    X = np.zeros((T, B, first.inputs.shape[1]))
    Y = np.zeros((T, B, first.targets.shape[1]))
    M = np.zeros((T, B), dtype=bool)
    for b, s in enumerate(sequences):
        n = len(s)
        X[:n, b], Y[:n, b], M[:n, b] = s.inputs, s.targets, s.mask
        if not masked and n < T and s.mask[n - 1]:
            # the answer is read after the pads, from the state at the batch's last step
            Y[T - 1, b], M[T - 1, b] = Y[n - 1, b], True
            Y[n - 1, b], M[n - 1, b] = 0.0, False
    return Batch(list(sequences), X, Y, M, lengths, masked)


def batch_indices(sequences: list[Sequence], size: int, sort: bool = False
                  ) -> list[list[int]]:
    """The training set cut into batches of ``size`` (indices into ``sequences``): in order,
    or with ``sort`` after a stable sort by length, longest first (neighbours then have nearly
    the same length, so few pads)."""
    order = list(range(len(sequences)))
    if sort:
        order.sort(key=lambda i: -len(sequences[i]))
    size = max(size, 1)
    return [order[i:i + size] for i in range(0, len(order), size)]


def batch_sequences(sequences: list[Sequence], size: int, sort: bool = False
                    ) -> list[list[Sequence]]:
    """The batches of :func:`batch_indices`, as sequences."""
    return [[sequences[i] for i in part] for part in batch_indices(sequences, size, sort)]


def stepped_row(scenario, example: int | None) -> int | None:
    """The training sequence a view steps through: ``example``, or when that is None (the
    scenario's own sequence) 0 if the scenario's own is its first training sequence."""
    if example is None and scenario.train_sequences \
            and scenario.sequence is scenario.train_sequences[0]:
        return 0
    return example


def training_batch(scenario, example: int | None) -> tuple[int, list[int], Batch]:
    """(k, indices, batch): the training batch of ``scenario`` (its ``[train]`` batching and
    mask) that holds training sequence ``example`` (None: the first batch), its place among
    the epoch's batches and the indices of its rows."""
    cfg = scenario.train
    parts = batch_indices(scenario.train_sequences, cfg.batch_size, cfg.sort)
    k = next((j for j, part in enumerate(parts) if example in part), 0)
    seqs = scenario.train_sequences
    return k, parts[k], pad_batch([seqs[i] for i in parts[k]], cfg.mask)


def padded_batches(sequences: list[Sequence], size: int, *, sort: bool = False,
                   masked: bool = True) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(X, Y, M) of every padded batch of an epoch, as ``engine.epochs.batches`` gives them."""
    out = []
    for part in batch_sequences(sequences, size, sort):
        b = pad_batch(part, masked)
        out.append((b.X, b.Y, b.M))
    return out


def padded_lengths(sequences: list[Sequence], size: int, *, sort: bool = False
                   ) -> list[np.ndarray]:
    """(B,) the real lengths of the rows of every batch of :func:`padded_batches` (what a
    bidirectional model's backward direction needs to start at each row's last real step)."""
    return [np.array([len(s) for s in part], dtype=np.int64)
            for part in batch_sequences(sequences, size, sort)]


def packing(sequences: list[Sequence], size: int, sort: bool = False) -> tuple[int, int]:
    """(real steps, padded steps) of an epoch's batches: what packing would run against what
    the padded rectangles run."""
    parts = batch_sequences(sequences, size, sort)
    real = sum(len(s) for part in parts for s in part)
    padded = sum(max(len(s) for s in part) * len(part) for part in parts)
    return real, padded


@dataclass
class BatchPass:
    """One padded batch run forward and back (:func:`run_batch`).

    ``p`` is the cell's own pass over the whole rectangle; ``h`` (T, B, H) is h_t as the
    batch shows it: with the mask, a pad step carries the row's last real state (it changes
    nothing); without it, the state the pads made. ``final[name]`` (B, H) is each row's final
    state part (``"h"``, and ``"c"`` for a cell with one) read at ``batch.last()``.
    ``losses`` (T, B) are the step losses that count (0 elsewhere), ``loss`` their mean;
    ``dh`` (T, B, H) dL/dh_t (None without the backward pass).

    A bidirectional model's ``h`` and ``dh`` are (T, B, 2H), [h→_t ; h←_t] in reading order,
    and ``final`` has the forward direction's parts as ``"h"``/``"c"`` and the backward one's
    as ``"h_bwd"``/``"c_bwd"`` (read at step 0 of the row: see the module's text)."""

    batch: Batch
    p: object
    h: np.ndarray
    final: dict
    losses: np.ndarray
    loss: float
    grads: object
    dh: np.ndarray | None = None


def run_batch(params, batch: Batch, *, activation: str = "tanh", output: str = "softmax",
              backward: bool = True) -> BatchPass:
    """Run ``batch`` under ``params`` (any cell), forward and (unless ``backward`` is False)
    back: see the module's text for what the mask changes."""
    both = is_bidirectional(params)
    p = run(params, batch.X, batch.Y, batch.M, activation=activation, output=output,
            backward=backward, lengths=batch.lengths if batch.masked else None)
    cell = get_cell(params.cell)
    rows = np.arange(batch.B)
    last = batch.last()
    final = {}
    # each direction's final state: its pass's step ``last`` in its own reading order (the
    # backward pass reads row b's step 0 at its step L_b - 1 with the mask, T - 1 without)
    for suffix, one in ((("", p.fwd), ("_bwd", p.bwd)) if both else (("", p),)):
        for name in cell.state:
            final[name + suffix] = getattr(one, name)[last, rows].copy()
    h = p.h.copy()
    if batch.masked:
        pads = ~batch.real
        carried = np.concatenate([final["h"], final["h_bwd"]], axis=-1) if both else final["h"]
        h[pads] = np.broadcast_to(carried[None], h.shape)[pads]
    dh = None
    if backward:
        dh = p.dh if not both else np.concatenate(
            [p.fwd.dh, reverse_rows(p.bwd.dh, p.rev)], axis=-1)
    return BatchPass(batch, p, h, final, p.losses, float(p.loss),
                     p.grads if backward else None, dh)
