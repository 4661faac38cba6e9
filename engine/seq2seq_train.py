"""Training an encoder-decoder (engine/seq2seq.py) with the epoch loop, History and optimiser
every trainer shares (engine/epochs.py); engine.train.fit hands a scenario of pairs here."""

from __future__ import annotations

from . import budget
from .epochs import History, _Optimizer, _Poll, run_epochs
from .seq2seq import batches, dataset_loss, initial, run
from .types import Cancelled


def fit(scenario, epochs: int | None = None, *, history=None, config=None, progress=None,
        should_stop=None):
    """Train the encoder-decoder of ``scenario`` (teacher forcing), as engine.train.fit does
    a cell: the same History, optimiser, snapshots and stops (engine/epochs.py)."""
    cfg = config or scenario.train
    n_epochs = cfg.epochs if epochs is None else int(epochs)
    p0 = initial(scenario) if history is None else history.weights[0]
    cap = budget.snapshot_cap(p0.size)
    data = batches(scenario.train_sequences, cfg.batch_size)
    poll = _Poll(should_stop)
    if history is None:
        history = History(losses=[dataset_loss(p0, scenario.train_sequences)], epochs=[0],
                          weights=[p0], every=budget.snapshot_spacing(n_epochs, p0.size))
    else:
        history = history.continued()

    def passes(params):
        for X, Y, S in data:
            if poll():
                raise Cancelled()
            yield run(params, X, Y, S)

    def evaluate(params):
        return dataset_loss(params, scenario.train_sequences), None

    return run_epochs(history, _Optimizer(cfg, history.opt_state), n_epochs=n_epochs,
                      cap=cap, passes=passes, evaluate=evaluate, progress=progress, quiet=True)
