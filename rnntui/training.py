"""One home for training in the UI: how many epochs opening a scenario trains, the first
History of a scenario (from the training cache, or its untrained weights), and the History
once the untrained loss is known. The main screen, compare mode, reader mode and the command
line ask here instead of each building its own.

Training itself runs in :mod:`rnntui.jobs` (a worker, for ``t`` and training on open) and in
:mod:`rnntui.cache` (``trained``: the cache's run, or a fit that fills it).
"""

from __future__ import annotations

import math

from engine import History, Scenario, initial_params


def open_epochs(scenario: Scenario, train_on_open: bool, wanted: int | None = None) -> int:
    """The epochs opening ``scenario`` trains it from its initial weights: its own number
    (when training on open), or more when a position wants a later epoch."""
    epochs = scenario.train.epochs if train_on_open else 0
    return wanted if wanted is not None and wanted > epochs else epochs


def untrained(scenario: Scenario, *, exact: bool = True) -> History:
    """The History of ``scenario``'s initial weights, epoch 0 alone: its loss over the training
    set when ``exact``, else NaN (the loss is computed later, see :func:`with_first_loss`)."""
    p0 = initial_params(scenario)
    if exact:
        from engine.train import dataset_loss
        loss = dataset_loss(p0, scenario)
    else:
        loss = math.nan
    return History(losses=[loss], epochs=[0], weights=[p0])


def with_first_loss(history: History, loss: float) -> History:
    """The untrained ``history`` with its epoch-0 loss now known."""
    return History(losses=[loss], epochs=[0], weights=history.weights)


def cached(scenario: Scenario, epochs: int) -> History | None:
    """``scenario`` trained ``epochs`` from its initial weights, when the training cache has
    that run (rnntui.cache); else None (nothing is trained here)."""
    if epochs <= 0:
        return None
    from .cache import load
    return load(scenario, epochs)


def start_in_child(scenario: Scenario, wanted: int | None = None):
    """Start the training opening ``scenario`` does (training on open, up to ``wanted`` when it
    is later) in a forked child that fills the cache (rnntui.cache.train_in_child): call it
    before the UI is loaded, while the process has no threads; None when there is nothing to
    train or no fork. The caller waits for it (``.wait()``), then opens from the cache."""
    from .cache import train_in_child
    return train_in_child(scenario, open_epochs(scenario, True, wanted))
