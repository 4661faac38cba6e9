"""Background work for a screen: traces, the initial loss and training, in cancellable threads.

The screen asks; the answers come back as messages carrying what they were computed for, and
the screen uses an answer only if it is still wanted. A small trace is computed at once (it
takes less time than starting a thread); a big one in a worker, the newest request replacing
any older one. Every worker polls its cancellation, so quitting never waits for one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import get_current_worker

from engine import History, Scenario, trace_for
from engine.analysis import Cancelled
from engine.train import dataset_loss, fit

from .safe_text import visible
from .view import TraceKey, Training, View

#: Traces with more cells than this (T x hidden units) are computed in a worker thread.
BIG_TRACE = 20_000
#: A trace that took longer than this (seconds) sends the next ones to a worker too.
SLOW_TRACE = 0.05
#: Seconds between two progress messages of a training run (the loss curve's frame rate).
PROGRESS_EVERY = 0.1
#: Epochs that `t` trains when the scenario itself asks for none.
FALLBACK_EPOCHS = 100


@dataclass
class TraceReady(Message):
    """A trace computed in a worker for ``key`` (or the exception that stopped it)."""

    scenario: Scenario
    key: TraceKey
    trace: object
    owner: object = None


@dataclass
class LossReady(Message):
    """The loss of ``history``'s initial weights, computed in a worker."""

    history: History
    loss: float
    owner: object = None


@dataclass
class TrainProgress(Message):
    """Training run ``run`` has reached ``epoch`` of ``last``; ``losses`` is the curve so far."""

    run: int
    epoch: int
    last: int
    losses: tuple[float, ...]
    owner: object = None


@dataclass
class TrainDone(Message):
    """Training run ``run`` finished, was stopped on request, or failed (``error``)."""

    run: int
    history: History | None
    error: str | None = None
    owner: object = None


def compute_trace(view: View, key: TraceKey | None = None, should_stop=None):
    """The trace ``view`` wants (or the one for ``key``). Pure: safe in a thread."""
    key = key or view.wanted_key
    params = key.history.obj.params_at(key.epoch)  # type: ignore[attr-defined]
    if key.knob:
        from engine import knob_scale
        params = params.with_wh_scale(knob_scale(key.knob))
    return key, trace_for(view.scenario, params, key.sequence.obj,  # type: ignore[arg-type]
                          should_stop=should_stop)


class Jobs:
    """The workers of one screen (``node``): see the module docstring."""

    def __init__(self, node: DOMNode, *, big_trace: int = BIG_TRACE, name: str = "") -> None:
        """``name`` sets several Jobs of one screen apart (their worker groups and messages:
        every message carries its ``owner``)."""
        self.node = node
        self.name = name
        self.big_trace = big_trace
        self.pending: TraceKey | None = None  # the trace being computed in a worker
        self.trace_seconds = 0.0  # how long the last trace computed here took
        self.run = 0  # numbers training runs; messages from older runs are ignored
        self.stop_requested = False

    # -- traces --------------------------------------------------------------------------------
    def trace(self, view: View) -> View:
        """``view`` with its wanted trace when that is quick to make here, else as it is (a
        worker is then computing it: :class:`TraceReady` follows)."""
        if not view.needs_trace:
            return view
        key = view.wanted_key
        small = view.T * view.scenario.model.hidden_size <= self.big_trace
        if small and self.trace_seconds < SLOW_TRACE:
            self.pending = None
            started = time.perf_counter()
            try:
                key, trace = compute_trace(view, key)
            except Exception as err:  # keep the old picture rather than crash
                self.failed(err)
                return view
            finally:
                self.trace_seconds = time.perf_counter() - started
            return view.with_trace(key, trace)
        if key != self.pending:
            self.pending = key
            self.node.run_worker(lambda: self._trace_worker(view, key), thread=True,
                                 exclusive=True, group=self.name + "trace",
                                 exit_on_error=False)
        return view

    def _trace_worker(self, view: View, key: TraceKey) -> None:
        worker = get_current_worker()
        try:
            key, trace = compute_trace(view, key, should_stop=lambda: worker.is_cancelled)
        except Cancelled:
            return
        except Exception as err:
            trace = err
        if not worker.is_cancelled:
            self.node.post_message(TraceReady(view.scenario, key, trace, self))

    def take(self, view: View, msg: TraceReady) -> View | None:
        """The View with the worker's trace, or None if it is no longer wanted."""
        if msg.owner not in (None, self) or msg.scenario is not view.scenario \
                or msg.key != self.pending:
            return None  # from a scenario or a setting the user has left
        self.pending = None
        if isinstance(msg.trace, Exception):
            self.failed(msg.trace)
            return None
        if msg.key != view.wanted_key:
            return None
        return view.with_trace(msg.key, msg.trace)  # type: ignore[arg-type]

    def failed(self, err: Exception) -> None:
        self.node.notify(f"Could not compute the trace: {visible(str(err))[:200]}", severity="error", timeout=8,
                         markup=False)

    # -- the initial loss ----------------------------------------------------------------------
    def initial_loss(self, scenario: Scenario, history: History) -> None:
        """Compute the loss of ``history``'s initial weights in a worker (:class:`LossReady`)."""

        def work() -> None:
            try:
                loss = dataset_loss(history.weights[0], scenario)
            except Exception:  # a numerical failure: shown as nan, like a diverged loss
                loss = float("nan")
            if not get_current_worker().is_cancelled:
                self.node.post_message(LossReady(history, loss, self))

        self.node.run_worker(work, thread=True, exclusive=True, group=self.name + "loss",
                             exit_on_error=False)

    # -- training ------------------------------------------------------------------------------
    def train(self, view: View, epochs: int | None = None) -> Training:
        """Start training ``view``'s scenario for ``epochs`` more epochs (default: the
        scenario's own number) from its history; returns the run's state at its start
        (:class:`TrainProgress` and :class:`TrainDone` follow)."""
        sc = view.scenario
        n = epochs or sc.train.epochs or FALLBACK_EPOCHS
        self.stop_requested = False
        self.run += 1
        run = self.run
        start = view.history if view.trained_epochs > 0 else None
        first = view.trained_epochs
        last = first + n
        known = tuple(view.history.losses)

        def work() -> None:
            worker = get_current_worker()
            losses = list(known)
            posted = [0.0]

            def progress(epoch: int, loss: float) -> bool:
                if worker.is_cancelled or run != self.run:
                    return False  # quitting, reset, another scenario or another run
                if self.stop_requested:
                    return False  # t again: stop here, keep what was learned
                losses.append(loss)
                now = time.monotonic()
                if now - posted[0] > PROGRESS_EVERY or epoch == last:
                    posted[0] = now
                    self.node.post_message(TrainProgress(run, epoch, last, tuple(losses),
                                                         self))
                return True

            try:
                history = fit(sc, n, history=start, progress=progress)
            except Exception as err:  # a numerical failure must not take the app down
                self.node.post_message(TrainDone(run, None, f"training failed: {err}", self))
                return
            if start is None:  # a run from the initial weights: the next start opens trained
                from . import cache
                cache.store(sc, history, n)  # (refuses runs stopped on request)
            if not worker.is_cancelled:
                self.node.post_message(TrainDone(run, history, None, self))

        self.node.run_worker(work, thread=True, exclusive=True, group=self.name + "train",
                             exit_on_error=False)
        return Training(first, last, known)

    def stop_training(self) -> None:
        """Ask the running training to stop after its current epoch (its result is kept)."""
        self.stop_requested = True

    def cancel(self) -> None:
        """Drop all running work (its results will be ignored)."""
        self.run += 1
        workers = self.node.app.workers
        for group in ("train", "trace", "loss"):
            workers.cancel_group(self.node, self.name + group)
        self.pending = None
