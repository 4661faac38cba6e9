"""The epoch loop every trainer shares, and what it keeps: the History of losses and weights,
the optimiser (SGD or Adam with gradient-norm clipping), batches, and the clock-paced stop.

engine.train.fit (whole sequences) and engine.tbptt.fit_tbptt (a text file's windows) differ
only in their passes and their evaluation; both hand them to :func:`run_epochs`.
"""

from __future__ import annotations

import time
from contextlib import nullcontext as _nothing
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import budget
from .cells import init_for
from .cells.rnn import Params
from .types import Cancelled, Scenario, Sequence, TrainConfig

#: How often (seconds) long loops ask their ``should_stop`` callback.
POLL_SECONDS = 0.05


@dataclass
class History:
    """What training did: the loss at every epoch and the weights at kept epochs.

    ``losses[e]`` is the mean sequence loss over the training set under the weights after e
    epochs (``losses[0]``: the initial weights). ``epochs`` lists the kept epochs in order, with
    ``weights[i]`` the weights after ``epochs[i]`` epochs. ``stopped`` says why training ended
    early (a non-finite loss, or a request to stop), else None.
    """

    losses: list[float]
    epochs: list[int]
    weights: list[Params]
    every: int = 1
    stopped: str | None = None
    opt_state: dict = field(default_factory=dict)
    tip: Params | None = None  # the newest weights, where continued training picks up
    #: Held-out loss per epoch, like ``losses`` (text read from a file, engine/tbptt.py);
    #: empty when the scenario has no validation part.
    val_losses: list[float] = field(default_factory=list)

    @property
    def trained_epochs(self) -> int:
        return len(self.losses) - 1

    @property
    def last_epoch(self) -> int:
        return self.epochs[-1]

    def continued(self) -> "History":
        """A copy to train on from where this one ended (the optimiser's state too), leaving
        this one as it is."""
        return History(losses=list(self.losses), epochs=list(self.epochs),
                       weights=list(self.weights), every=self.every,
                       opt_state={k: [a.copy() for a in v] if isinstance(v, list) else v
                                  for k, v in self.opt_state.items()},
                       tip=self.tip)

    def params_at(self, epoch: int) -> Params:
        """The weights at the latest kept epoch not after ``epoch``."""
        i = int(np.searchsorted(self.epochs, epoch, side="right")) - 1
        return self.weights[max(i, 0)]

    def nearest_epoch(self, epoch: int) -> int:
        i = int(np.searchsorted(self.epochs, epoch, side="right")) - 1
        return self.epochs[max(i, 0)]


def initial_params(scenario: Scenario) -> Params:
    """The scenario's seeded starting weights for its cell (the same numbers every time).

    ``scenario.model.weights_seeded`` tells when these are seeded instead of the file's own
    (the file's weights were for another cell, see ``engine.with_cell``).
    """
    from .kinds import is_seq2seq
    if is_seq2seq(scenario):
        from . import seq2seq
        return seq2seq.initial(scenario)
    return init_for(scenario.model, scenario.input_size, scenario.output_size)


def batches(sequences: list[Sequence], size: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Stack sequences of equal length into (T, B, .) arrays, at most ``size`` per batch."""
    by_len: dict[int, list[Sequence]] = {}
    for s in sequences:
        by_len.setdefault(len(s), []).append(s)
    out = []
    for group in by_len.values():
        for i in range(0, len(group), max(size, 1)):
            part = group[i:i + size]
            out.append((np.stack([s.inputs for s in part], axis=1),
                        np.stack([s.targets for s in part], axis=1),
                        np.stack([s.mask for s in part], axis=1)))
    return out


def training_batches(sequences: list[Sequence], cfg: TrainConfig):
    """The (X, Y, M) batches of one training epoch: sequences of one length each, or with
    ``cfg.pad`` padded batches of ``cfg.batch_size`` (engine/batch.py, the mask and the sort
    as ``cfg`` says)."""
    if cfg.pad:
        from .batch import padded_batches
        return padded_batches(sequences, cfg.batch_size, sort=cfg.sort, masked=cfg.mask)
    return batches(sequences, cfg.batch_size)


def eval_batches(scenario: Scenario, sequences: list[Sequence] | None = None):
    """The batches :func:`dataset_loss` runs: up to 256 sequences each, fewer for long ones so
    one batch stays within ``budget.EVAL_BATCH_BYTES``."""
    seqs = scenario.train_sequences if sequences is None else sequences
    longest = max((len(s) for s in seqs), default=1)
    size = budget.eval_batch_size(longest, scenario.model.hidden_size, scenario.output_size)
    return batches(seqs, size)


class _Poll:
    """Calls ``should_stop`` at most every POLL_SECONDS (by the clock, not by step count)."""

    def __init__(self, should_stop: Callable[[], bool] | None):
        self.should_stop = should_stop
        self.next = time.monotonic() + POLL_SECONDS

    def __call__(self) -> bool:
        if self.should_stop is None:
            return False
        now = time.monotonic()
        if now < self.next:
            return False
        self.next = now + POLL_SECONDS
        return bool(self.should_stop())


NON_FINITE = "the loss became non-finite (try a smaller learning rate or clipping)"


def run_epochs(history: History, opt: "_Optimizer", *, n_epochs: int, cap: int, passes,
               evaluate, progress=None, quiet: bool = False) -> History:
    """The epoch loop both trainers share (``fit`` and ``engine.tbptt.fit_tbptt``), continuing
    ``history`` in place for ``n_epochs`` epochs and returning it.

    ``passes(params)`` yields one pass per minibatch of an epoch, each computed for the weights
    as they are at that moment (they are updated in place after each pass), and raises
    :class:`engine.analysis.Cancelled` when a stop was asked for. ``evaluate(params)`` gives
    the epoch's (loss, validation loss or None). A stop, a non-finite loss or running out of
    memory undoes the epoch under way; ``quiet`` silences NumPy's floating-point warnings
    during the passes (the loss is checked for finiteness anyway)."""
    params = (history.tip or history.weights[-1]).copy()
    start = len(history.losses) - 1
    for epoch in range(start + 1, start + n_epochs + 1):
        before, opt_before = params.copy(), opt.snapshot()
        try:
            with np.errstate(all="ignore") if quiet else _nothing():
                for p in passes(params):
                    if not np.isfinite(p.loss) or not p.grads.is_finite():
                        history.stopped = f"stopped at epoch {epoch}: {NON_FINITE}"
                        params = before
                        break
                    opt.step(params, p.grads)
                    del p
            if history.stopped:
                break
            loss, val = evaluate(params)
        except Cancelled:
            params, opt = before, opt.restored(opt_before)
            history.stopped = f"stopped during epoch {epoch} on request"
            break
        except MemoryError:
            params, opt = before, opt.restored(opt_before)
            history.stopped = (f"stopped during epoch {epoch}: out of memory (the epochs before "
                               f"it are kept; use smaller batches or a smaller model)")
            break
        if not np.isfinite(loss) or not params.is_finite():
            history.stopped = f"stopped at epoch {epoch}: {NON_FINITE}"
            params = before
            break
        history.losses.append(loss)
        if val is not None:
            history.val_losses.append(val)
        if epoch % history.every == 0 or epoch == start + n_epochs:
            _keep(history, epoch, params, cap)
        if progress is not None and progress(epoch, loss) is False:
            history.stopped = f"stopped at epoch {epoch} on request"
            _keep(history, epoch, params, cap)  # (nothing when this epoch is kept already)
            break
    if history.epochs[-1] != len(history.losses) - 1 and history.stopped:
        # stopped early: the last whole epoch is kept, so the history ends where training did
        _keep(history, len(history.losses) - 1, params, cap)
    opt.save(history.opt_state)
    history.tip = params.copy()
    return history


def _keep(history: History, epoch: int, params: Params, cap: int) -> None:
    """Keep the weights of ``epoch``; past ``cap`` snapshots, drop every other kept one (the
    first and the newest stay) and double the spacing."""
    if history.epochs and history.epochs[-1] == epoch:
        return
    history.epochs.append(epoch)
    history.weights.append(params.copy())
    while len(history.weights) > cap:
        history.every *= 2
        keep = [i for i, e in enumerate(history.epochs)
                if i == 0 or i == len(history.epochs) - 1 or e % history.every == 0]
        if len(keep) == len(history.epochs):  # spacing cannot thin more: drop the middle ones
            keep = [0, len(history.epochs) - 1]
        history.epochs = [history.epochs[i] for i in keep]
        history.weights = [history.weights[i] for i in keep]


class _Optimizer:
    """SGD or Adam on the five parameter arrays, with optional global gradient-norm clipping."""

    def __init__(self, cfg: TrainConfig, state: dict):
        self.cfg = cfg
        self.t = int(state.get("t", 0))
        self.m = state.get("m")
        self.v = state.get("v")

    def step(self, params: Params, grads: Params) -> None:
        g = grads.arrays()
        if self.cfg.clip:
            norm = float(np.sqrt(sum(float(np.sum(x * x)) for x in g)))
            if norm > self.cfg.clip:
                g = [x * (self.cfg.clip / norm) for x in g]
        lr = self.cfg.learning_rate
        if self.cfg.optimizer == "adam":
            if self.m is None:
                self.m = [np.zeros_like(x) for x in g]
                self.v = [np.zeros_like(x) for x in g]
            self.t += 1
            b1, b2, eps = 0.9, 0.999, 1e-8
            c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
            for w, gi, m, v in zip(params.arrays(), g, self.m, self.v):
                m *= b1
                m += (1 - b1) * gi
                v *= b2
                v += (1 - b2) * gi * gi
                w -= lr * (m / c1) / (np.sqrt(v / c2) + eps)
        else:
            for w, gi in zip(params.arrays(), g):
                w -= lr * gi

    def snapshot(self) -> tuple:
        """The optimiser's state, to undo an epoch that was cut short."""
        copy = (lambda xs: None if xs is None else [x.copy() for x in xs])
        return self.t, copy(self.m), copy(self.v)

    def restored(self, snap: tuple) -> "_Optimizer":
        self.t, self.m, self.v = snap
        return self

    def save(self, state: dict) -> None:
        state["t"] = self.t
        if self.m is not None:
            state["m"], state["v"] = self.m, self.v
