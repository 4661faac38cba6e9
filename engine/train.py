"""Training: fit a scenario's weights (SGD or Adam with gradient-norm clipping), keeping the
weights of every epoch. The epoch loop, the History and the optimiser are engine.epochs's
(re-exported here); a text file's scenario is handed to engine.tbptt."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import budget
from .budget import MAX_SNAPSHOTS
from .cells import run
from .cells.rnn import Params
from .epochs import (NON_FINITE, POLL_SECONDS, History, _keep, _Optimizer, _Poll, batches,
                     eval_batches, initial_params, run_epochs, training_batches)
from .types import Cancelled, Scenario, Sequence, TrainConfig

__all__ = ["MAX_SNAPSHOTS", "NON_FINITE", "POLL_SECONDS", "History", "batches", "dataset_loss",
           "eval_batches", "fit", "initial_params", "run_epochs"]
_SHARED = (_keep, _Optimizer, _Poll)  # re-exported for callers of the old names


def _corpus_of(scenario: Scenario):
    """engine.corpus.corpus_of, loading that module only for a scenario read from a text file
    (most scenarios are not: the app starts without it)."""
    if getattr(scenario, "data", {}).get("corpus") is None:
        return None
    from .corpus import corpus_of
    return corpus_of(scenario)


def dataset_loss(params: Params, scenario: Scenario, sequences: list[Sequence] | None = None,
                 prepared=None, should_stop: Callable[[], bool] | None = None) -> float:
    """Mean over sequences of each sequence's loss L (forward only).

    ``should_stop()`` is asked between batches (every ~50 ms); when it says True this raises
    :class:`engine.analysis.Cancelled`.
    """
    from .kinds import is_seq2seq
    if is_seq2seq(scenario):
        from . import seq2seq
        return seq2seq.dataset_loss(params, scenario.train_sequences if sequences is None
                                    else sequences)
    if sequences is None and prepared is None and _corpus_of(scenario) is not None:
        from .tbptt import stream_loss
        return stream_loss(params, scenario, "train", should_stop=should_stop)
    poll = _Poll(should_stop)
    total, count = 0.0, 0
    for X, Y, M in prepared or eval_batches(scenario, sequences):
        if poll():
            raise Cancelled()
        p = run(params, X, Y, M, activation=scenario.model.activation,
                output=scenario.model.output, backward=False)
        per_seq = p.losses.sum(axis=0) / np.maximum(M.sum(axis=0), 1)
        total += float(per_seq.sum())
        count += X.shape[1]
    return total / max(count, 1)


def _with_lengths(sequences: list[Sequence], cfg: TrainConfig) -> list:
    """The (X, Y, M) batches of one epoch over ``sequences``, each with its rows' lengths."""
    data = training_batches(sequences, cfg)
    # with the mask a bidirectional model's backward direction starts at each row's last real
    # step (engine/batch.py); without it, at the padded end like any step
    if not (cfg.pad and cfg.mask):
        return [(batch, None) for batch in data]
    from .batch import padded_lengths
    return list(zip(data, padded_lengths(sequences, cfg.batch_size, sort=cfg.sort)))


def fresh_batches(scenario: Scenario, cfg: TrainConfig, epoch: int) -> list:
    """The batches of epoch ``epoch`` under ``[train] fresh``: as many updates as the fixed
    training set has batches of ``cfg.batch_size``, each a batch of that size drawn anew from
    the kind's generator with a generator seeded by the data's seed, ``epoch`` and the batch's
    index (the same numbers in every process: a run is reproducible bit for bit)."""
    from .kinds import get_kind
    kind, data = get_kind(scenario.kind), scenario.data
    n, size = len(scenario.train_sequences), max(cfg.batch_size, 1)
    out = []
    for index, start in enumerate(range(0, n, size)):
        rng = np.random.default_rng([int(data.get("seed", 0)), epoch, index])
        out += _with_lengths(kind.draw(data, rng, min(size, n - start)), cfg)
    return out


def fit(scenario: Scenario, epochs: int | None = None, *, history: History | None = None,
        config: TrainConfig | None = None,
        progress: Callable[[int, float], bool | None] | None = None,
        should_stop: Callable[[], bool] | None = None) -> History:
    """Train for ``epochs`` (default: the scenario's) more epochs and return the history.

    Starts from the scenario's initial weights, or continues ``history`` (its optimiser state
    too, so two runs of 50 equal one of 100). ``progress(epoch, loss)`` is called after every
    epoch; returning False stops training there. ``should_stop()`` is asked between batches
    (every ~50 ms): True stops training at once, and the epoch under way is undone, so the
    history ends at the last whole epoch. A non-finite loss stops training and says so in
    ``History.stopped``; the last finite weights are kept. Running out of memory (MemoryError)
    stops it the same way, keeping every epoch learned so far.

    Weight snapshots are spaced so that at most MAX_SNAPSHOTS (plus the first and the last)
    are kept and they fit the snapshot budget (:mod:`engine.budget`); a continued run that
    would go over keeps every other one (``History.every`` doubles).
    """
    from .kinds import is_seq2seq
    if is_seq2seq(scenario):  # source -> target pairs: an encoder-decoder
        from .seq2seq_train import fit as fit_pairs
        return fit_pairs(scenario, epochs, history=history, config=config,
                         progress=progress, should_stop=should_stop)
    if _corpus_of(scenario) is not None:  # a text file: truncated BPTT over its windows
        from .tbptt import fit_tbptt
        return fit_tbptt(scenario, epochs, history=history, config=config, progress=progress,
                         should_stop=should_stop)
    cfg = config or scenario.train
    n_epochs = cfg.epochs if epochs is None else int(epochs)
    p0 = initial_params(scenario) if history is None else history.weights[0]
    n_params = sum(a.size for a in p0.arrays())
    cap = budget.snapshot_cap(n_params)
    fixed = _with_lengths(scenario.train_sequences, cfg)
    eval_data = eval_batches(scenario)
    if history is None:
        every = budget.snapshot_spacing(n_epochs, n_params)
        # (a stop asked for during this first loss raises Cancelled: nothing is learned yet)
        history = History(losses=[dataset_loss(p0, scenario, prepared=eval_data,
                                               should_stop=should_stop)], epochs=[0],
                          weights=[p0], every=every)
    else:
        history = history.continued()
    act, outf = scenario.model.activation, scenario.model.output
    poll = _Poll(should_stop)

    def passes(params):
        epoch = len(history.losses)  # the epoch under way (history holds those before it)
        data = fresh_batches(scenario, cfg, epoch) if cfg.fresh else fixed
        for (X, Y, M), L in data:
            if poll():
                raise Cancelled()
            yield run(params, X, Y, M, activation=act, output=outf, lengths=L)

    def evaluate(params):
        return dataset_loss(params, scenario, prepared=eval_data, should_stop=poll), None

    return run_epochs(history, _Optimizer(cfg, history.opt_state), n_epochs=n_epochs,
                      cap=cap, passes=passes, evaluate=evaluate, progress=progress)
