"""Truncated backpropagation through time over a corpus, the way char-rnn trains.

The training stream is cut into ``batch`` equal streams side by side (engine/corpus.py); each
minibatch is the next window of ``window`` steps of every stream, run forward and back as one
batched NumPy pass. The hidden state at the end of a window is where the next window starts
(the state is carried, the gradient is not: it stops at the window's first step). The state
starts at zero at the start of every epoch. After each epoch the loss over the whole
training stream and the whole validation stream is measured the same way, forward only, with
the state carried through (the per-token cross-entropy in nats).

``fit_tbptt`` keeps the contract of :func:`engine.train.fit` (which hands corpus scenarios to
it): ``History.losses[e]`` is the training loss after e epochs, ``History.val_losses[e]`` the
validation loss, and ``should_stop`` is asked between minibatches.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import numpy as np

from . import budget
from .cells import run
from .cells.numerics import onehot
from .corpus import Corpus, corpus_of
from .epochs import History, _Optimizer, _Poll, initial_params, run_epochs
from .types import Cancelled, Scenario, ScenarioError, TrainConfig

__all__ = ["carried_state", "end_state", "fit_tbptt", "onehot", "stream_loss", "window_step"]


def end_state(p):
    """The state after the last step of a pass, to start the next window from: h (B, H), or
    for the LSTM the pair (h, c)."""
    h = p.h[-1].copy()
    c = getattr(p, "c", None)
    return (h, c[-1].copy()) if c is not None else h


#: Carried states kept: (weights digest, activation, part) -> {offset: state}, newest last.
_CARRIED: dict[tuple, dict[int, object]] = {}
_CARRIED_KEEP = 8
_CARRIED_LOCK = threading.Lock()


def _digest(params) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(str(params.cell).encode())
    for a in params.arrays():
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def carried_state(params, sequence, activation: str = "tanh", output: str = "softmax"):
    """The state a window of a corpus part starts from: h (1, H), or (h, c) for the LSTM,
    after reading the part from its first token up to the window from h = 0 (one stream, the
    state carried window after window as training carries it). None for a sequence that is
    not such a window, or a part's first window: it starts from h = 0.

    The states at window starts are kept per weights (a few sets of weights), so stepping
    to the next window runs one window more; a window far in is one pass from the nearest
    kept start."""
    stream = getattr(sequence, "stream", None)
    offset = int(getattr(sequence, "offset", 0) or 0)
    if stream is None or offset == 0:
        return None
    w = int(getattr(sequence, "width", 0) or 0) or offset
    key = (_digest(params), activation, output, id(stream), stream.shape, w)
    with _CARRIED_LOCK:
        known = _CARRIED.pop(key, None) or {0: None}
        _CARRIED[key] = known
        while len(_CARRIED) > _CARRIED_KEEP:
            del _CARRIED[next(iter(_CARRIED))]
        at = max(o for o in known if o <= offset)
        state = known[at]
    if at < offset:  # one pass from the nearest kept window start, keeping each on the way
        with np.errstate(all="ignore"):
            p = run(params, stream[at:offset, None, :], activation=activation, output=output,
                    h0=state, backward=False)
        c = getattr(p, "c", None)
        with _CARRIED_LOCK:
            for k in range(w, offset - at + 1, w):
                known[at + k] = (p.h[k - 1].copy() if c is None
                                 else (p.h[k - 1].copy(), c[k - 1].copy()))
        state = end_state(p)
    return state


def window_step(params, X_ids: np.ndarray, Y_ids: np.ndarray, state, V: int, *,
                activation: str = "tanh", output: str = "softmax", backward: bool = True):
    """One minibatch: the pass over a (w, B) window of input and target indices starting
    from ``state`` (None: zeros). Returns (pass, the state after it). With ``backward`` the
    pass's ``grads`` are dL/dparams of the window's mean loss, ``state`` held constant."""
    X = onehot(X_ids, V)
    Y = onehot(Y_ids, V)
    p = run(params, X, Y, None, activation=activation, output=output, h0=state,
            backward=backward)
    return p, end_state(p)


def _corpus(scenario: Scenario) -> Corpus:
    c = corpus_of(scenario)
    if c is None:
        raise ScenarioError(f"'{scenario.name}' is not a text scenario read from a file "
                            f"([data].file): it has no corpus to train by truncated BPTT")
    return c


def stream_loss(params, scenario: Scenario, part: str = "train", batch: int | None = None,
                should_stop: Callable[[], bool] | None = None) -> float:
    """Mean per-token loss over the whole ``part`` ("train" or "validation") of the corpus,
    forward only, in the layout training uses (``batch`` streams, default the scenario's
    batch size) with the state carried from window to window. ``should_stop()`` is asked
    between windows; True raises :class:`engine.analysis.Cancelled`."""
    corpus = _corpus(scenario)
    B = scenario.train.batch_size if batch is None else batch
    V = len(corpus.vocab)
    poll = _Poll(should_stop) if not isinstance(should_stop, _Poll) else should_stop
    total, count, state = 0.0, 0, None
    act, outf = scenario.model.activation, scenario.model.output
    with np.errstate(all="ignore"):
        for X_ids, Y_ids in corpus.windows(part, B):
            if poll():
                raise Cancelled()
            p, state = window_step(params, X_ids, Y_ids, state, V, activation=act,
                                   output=outf, backward=False)
            total += float(p.losses.sum())
            count += X_ids.size
    return total / max(count, 1)


def fit_tbptt(scenario: Scenario, epochs: int | None = None, *, history=None,
              config: TrainConfig | None = None,
              progress: Callable[[int, float], bool | None] | None = None,
              should_stop: Callable[[], bool] | None = None):
    """Train a corpus scenario by truncated BPTT for ``epochs`` more epochs (default: the
    scenario's); the arguments and the returned History are those of engine.train.fit, with
    ``History.val_losses`` filled in."""
    corpus = _corpus(scenario)
    cfg = config or scenario.train
    n_epochs = cfg.epochs if epochs is None else int(epochs)
    B = cfg.batch_size
    V = len(corpus.vocab)
    p0 = initial_params(scenario) if history is None else history.weights[0]
    n_params = sum(a.size for a in p0.arrays())
    cap = budget.snapshot_cap(n_params)
    poll = _Poll(should_stop)

    def losses_of(params) -> tuple[float, float]:
        return (stream_loss(params, scenario, "train", B, should_stop=poll),
                stream_loss(params, scenario, "validation", B, should_stop=poll))

    if history is None:
        train0, val0 = losses_of(p0)  # a stop asked for here raises Cancelled: nothing learned
        history = History(losses=[train0], epochs=[0], weights=[p0],
                          every=budget.snapshot_spacing(n_epochs, n_params), val_losses=[val0])
    else:
        vals = list(getattr(history, "val_losses", []) or [])
        if len(vals) != len(history.losses):  # a history made without them (epoch 0 only)
            vals = (vals + [float("nan")] * len(history.losses))[:len(history.losses)]
            if len(history.losses) == 1:
                vals[0] = stream_loss(p0, scenario, "validation", B, should_stop=poll)
        history = History(losses=list(history.losses), epochs=list(history.epochs),
                          weights=list(history.weights), every=history.every,
                          opt_state={k: [a.copy() for a in v] if isinstance(v, list) else v
                                     for k, v in history.opt_state.items()},
                          tip=history.tip, val_losses=vals)
    act, outf = scenario.model.activation, scenario.model.output
    windows = corpus.windows("train", B)

    def passes(params):
        state = None
        for X_ids, Y_ids in windows:
            if poll():
                raise Cancelled()
            p, state = window_step(params, X_ids, Y_ids, state, V, activation=act,
                                   output=outf)
            yield p

    return run_epochs(history, _Optimizer(cfg, history.opt_state), n_epochs=n_epochs,
                      cap=cap, passes=passes, evaluate=losses_of, progress=progress,
                      quiet=True)
