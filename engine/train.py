"""Training: SGD or Adam with gradient-norm clipping, keeping the weights of every epoch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .model import Params, init_params, run
from .types import Scenario, Sequence, TrainConfig

#: Long runs keep about this many weight snapshots, evenly spaced, plus the first and the last.
MAX_SNAPSHOTS = 1000


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

    @property
    def trained_epochs(self) -> int:
        return len(self.losses) - 1

    @property
    def last_epoch(self) -> int:
        return self.epochs[-1]

    def params_at(self, epoch: int) -> Params:
        """The weights at the latest kept epoch not after ``epoch``."""
        i = int(np.searchsorted(self.epochs, epoch, side="right")) - 1
        return self.weights[max(i, 0)]

    def nearest_epoch(self, epoch: int) -> int:
        i = int(np.searchsorted(self.epochs, epoch, side="right")) - 1
        return self.epochs[max(i, 0)]


def initial_params(scenario: Scenario) -> Params:
    """The scenario's seeded starting weights (the same numbers every time)."""
    m = scenario.model
    return init_params(m.hidden_size, scenario.input_size, scenario.output_size, init=m.init,
                       scales=m.init_scale, seed=m.seed, weights=m.weights)


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


def dataset_loss(params: Params, scenario: Scenario, sequences: list[Sequence] | None = None,
                 prepared=None) -> float:
    """Mean over sequences of each sequence's loss L (forward only)."""
    seqs = scenario.train_sequences if sequences is None else sequences
    total, count = 0.0, 0
    for X, Y, M in prepared or batches(seqs, 256):
        p = run(params, X, Y, M, activation=scenario.model.activation,
                output=scenario.model.output, backward=False)
        per_seq = p.losses.sum(axis=0) / np.maximum(M.sum(axis=0), 1)
        total += float(per_seq.sum())
        count += X.shape[1]
    return total / max(count, 1)


def fit(scenario: Scenario, epochs: int | None = None, *, history: History | None = None,
        config: TrainConfig | None = None,
        progress: Callable[[int, float], bool | None] | None = None) -> History:
    """Train for ``epochs`` (default: the scenario's) more epochs and return the history.

    Starts from the scenario's initial weights, or continues ``history`` (its optimiser state
    too, so two runs of 50 equal one of 100). ``progress(epoch, loss)`` is called after every
    epoch; returning False stops training there. A non-finite loss stops training and says so in
    ``History.stopped``; the last finite weights are kept.
    """
    cfg = config or scenario.train
    n_epochs = cfg.epochs if epochs is None else int(epochs)
    data = batches(scenario.train_sequences, cfg.batch_size)
    eval_data = batches(scenario.train_sequences, 256)
    if history is None:
        p0 = initial_params(scenario)
        total = n_epochs
        every = max(1, -(-total // MAX_SNAPSHOTS))
        history = History(losses=[dataset_loss(p0, scenario, prepared=eval_data)], epochs=[0],
                          weights=[p0], every=every)
    else:
        history = History(losses=list(history.losses), epochs=list(history.epochs),
                          weights=list(history.weights), every=history.every,
                          opt_state={k: [a.copy() for a in v] if isinstance(v, list) else v
                                     for k, v in history.opt_state.items()},
                          tip=history.tip)
    params = (history.tip or history.weights[-1]).copy()
    start = len(history.losses) - 1
    opt = _Optimizer(cfg, history.opt_state)
    act, outf = scenario.model.activation, scenario.model.output
    for epoch in range(start + 1, start + n_epochs + 1):
        for X, Y, M in data:
            p = run(params, X, Y, M, activation=act, output=outf)
            if not np.isfinite(p.loss) or not p.grads.is_finite():
                history.stopped = (f"stopped at epoch {epoch}: the loss became non-finite "
                                   f"(try a smaller learning rate or clipping)")
                break
            opt.step(params, p.grads)
        if history.stopped:
            break
        loss = dataset_loss(params, scenario, prepared=eval_data)
        if not np.isfinite(loss) or not params.is_finite():
            history.stopped = (f"stopped at epoch {epoch}: the loss became non-finite "
                               f"(try a smaller learning rate or clipping)")
            break
        history.losses.append(loss)
        last = epoch == start + n_epochs
        if epoch % history.every == 0 or last:
            history.epochs.append(epoch)
            history.weights.append(params.copy())
        if progress is not None and progress(epoch, loss) is False:
            history.stopped = f"stopped at epoch {epoch} on request"
            if history.epochs[-1] != epoch:
                history.epochs.append(epoch)
                history.weights.append(params.copy())
            break
    opt.save(history.opt_state)
    history.tip = params.copy()
    return history


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

    def save(self, state: dict) -> None:
        state["t"] = self.t
        if self.m is not None:
            state["m"], state["v"] = self.m, self.v
