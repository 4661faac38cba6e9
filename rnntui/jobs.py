"""Background work for a screen: traces, the initial loss and training, in cancellable threads.

The screen asks; the answers come back as messages carrying what they were computed for, and
the screen uses an answer only if it is still wanted. A small trace is computed at once (it
takes less time than starting a thread). A bigger one comes in two parts: its forward and
backward numbers (everything but the exact step-Jacobian norms, ~10 ms at H = 64, T = 1000) at
once when that fits in a frame, else in a worker (a compact trace, engine.rows: its forward part
first, then its backward part); its Jacobian norms (the slow part) always in a worker, the panes
saying what is not yet computed until it comes. Traces made are kept (a few,
by size), and while the screen is idle the traces of the neighbouring settings (W_h knob one
click either way, the previous and next kept epoch) are computed ahead, norms included, so a
single press shows a finished picture at once. The newest request replaces any older one, and
every worker polls its cancellation, so quitting never waits for one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import get_current_worker

from engine import History, Scenario
from engine.analysis import Cancelled
from engine.trace import run_trace, with_backward, with_jacobians
from engine.train import dataset_loss, fit

from .safe_text import visible
from .view import TraceKey, Training, View

#: Traces with more cells than this (T x hidden units) are computed in parts (see above).
BIG_TRACE = 20_000
#: A trace that took longer than this (seconds) sends the next ones to a worker too.
SLOW_TRACE = 0.05
#: A big trace's forward and backward part is computed at once (in the UI thread) up to this
#: many cells (~10 ms at H = 64, T = 1000, within a 16 ms frame), while the last one took at
#: most SLOW_FAST seconds (a loaded machine); else in a worker.
FAST_TRACE = 200_000
SLOW_FAST = 0.03
#: Bytes of traces kept for coming back to (least recently used dropped first).
KEEP_BYTES = 96 << 20
#: Neighbouring traces are computed ahead only when one trace is at most this big.
AHEAD_BYTES = 16 << 20
#: Seconds a compact trace's worker waits for its forward part to be drawn at most.
FIRST_DRAW_WAIT = 0.5
#: Seconds between two progress messages of a training run (the loss curve's frame rate).
PROGRESS_EVERY = 0.1
#: Epochs that `t` trains when the scenario itself asks for none.
FALLBACK_EPOCHS = 100


@dataclass
class TraceReady(Message):
    """A trace computed in a worker for ``key`` (or the exception that stopped it). ``kind``:
    "trace" (the trace asked for, perhaps without its norms yet), "norms" (the same trace with
    its Jacobian norms added), "backward" (a compact trace shown with its forward part alone,
    its backward part added) or "ahead" (a neighbouring setting's, computed ahead)."""

    scenario: Scenario
    key: TraceKey
    trace: object
    owner: object = None
    kind: str = "trace"


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


def compute_trace(view: View, key: TraceKey | None = None, should_stop=None, *,
                  jacobians: bool = True, backward: bool = True):
    """The trace ``view`` wants (or the one for ``key``); without its step-Jacobian norms when
    ``jacobians`` is False (see :func:`engine.trace.with_jacobians`), and a compact one without
    its backward part too when ``backward`` is also False (:func:`engine.trace.with_backward`).
    Pure: safe in a thread."""
    key = key or view.wanted_key
    params = key.history.obj.params_at(key.epoch)  # type: ignore[attr-defined]
    if key.knob:
        from engine import knob_scale
        params = params.with_wh_scale(knob_scale(key.knob))
    sc = view.scenario
    if getattr(key.sequence.obj, "source", None) is not None:  # an encoder-decoder's pair
        from engine.seq2seq import trace
        return key, trace(params, key.sequence.obj, sc.vocab)  # type: ignore[arg-type]
    return key, run_trace(params, key.sequence.obj,  # type: ignore[arg-type]
                          activation=sc.model.activation, output=sc.model.output,
                          retention_steps=sc.retention_steps, jacobians=jacobians,
                          should_stop=should_stop, backward=backward)


def trace_bytes(trace) -> int:
    """The bytes of memory ``trace`` keeps alive: every array it holds counted once, at the
    size of the block it is a view of (arrays recomputed on demand: their cached rows)."""
    import numpy as np
    owners: dict[int, int] = {}
    extra = 0

    def count(value) -> None:
        nonlocal extra
        if isinstance(value, np.ndarray):
            while isinstance(value.base, np.ndarray):
                value = value.base
            owners[id(value)] = value.nbytes
        elif isinstance(value, dict):
            for v in value.values():
                count(v)
        elif hasattr(value, "nbytes") and hasattr(value, "shape"):  # engine.rows
            extra += int(value.nbytes)

    for value in vars(trace).values():
        count(value)
    return sum(owners.values()) + extra


def _same_weights(a: TraceKey, b: TraceKey) -> bool:
    """Whether two trace keys name the very same weights object, knob and sequence (a history
    replaced by one with the same weights, e.g. when the initial loss is known)."""
    if a.epoch != b.epoch or a.knob != b.knob or a.sequence != b.sequence:
        return False
    try:
        return a.history.obj.params_at(a.epoch) is b.history.obj.params_at(b.epoch)
    except (AttributeError, IndexError, TypeError):
        return False


def neighbours(view: View) -> list[View]:
    """The settings one press away whose traces are worth computing ahead: the W_h knob one
    click up and down, the next and the previous kept epoch (the likeliest next presses)."""
    out = []
    for other in (view.with_knob(view.knob + 1), view.with_knob(view.knob - 1),
                  view.scrubbed(1), view.scrubbed(-1)):
        if other is not view:
            out.append(other)
    return out

class Jobs:
    """The workers of one screen (``node``): see the module docstring."""

    def __init__(self, node: DOMNode, *, big_trace: int = BIG_TRACE, name: str = "",
                 ahead: bool = True) -> None:
        """``name`` sets several Jobs of one screen apart (their worker groups and messages:
        every message carries its ``owner``); ``ahead`` computes neighbouring traces while
        idle. A ``big_trace`` below the default lowers the fast-part bound with it (0: every
        trace in a worker)."""
        self.node = node
        self.name = name
        self.big_trace = big_trace
        self.fast_trace = min(FAST_TRACE, big_trace) if big_trace < BIG_TRACE else FAST_TRACE
        self.ahead_on = ahead
        self.pending: TraceKey | None = None  # the trace being computed in a worker
        self.norms_pending: TraceKey | None = None  # the trace whose norms a worker computes
        self.ahead_key: TraceKey | None = None  # the neighbour being computed ahead
        self.trace_seconds = 0.0  # how long the last whole trace computed here took
        self.fast_seconds = 0.0  # how long the last forward-and-backward part took here
        self.kept: OrderedDict[TraceKey, object] = OrderedDict()  # traces made, newest last
        self._keys: dict[TraceKey, TraceKey] = {}  # each kept key's own object (panes compare
        # a View's trace_key by identity)
        self._bytes: dict[TraceKey, int] = {}  # each kept trace's bytes (trace_bytes)
        self.run = 0  # numbers training runs; messages from older runs are ignored
        self.stop_requested = False
        self._deferred_loss: tuple | None = None  # an initial loss waiting for a trace worker
        self._alias: dict[TraceKey, TraceKey] = {}  # a key -> the key of the same weights now
        self._drawn: threading.Event | None = None  # set when the forward part is on screen

    def _start_deferred(self) -> None:
        if self._deferred_loss is not None and self.pending is None:
            scenario, history = self._deferred_loss
            self._deferred_loss = None
            self.initial_loss(scenario, history)

    # -- traces --------------------------------------------------------------------------------
    def trace(self, view: View) -> View:
        """``view`` with its wanted trace when that is quick to have here (made at once, or
        kept from before), else as it is (a worker is then computing it: :class:`TraceReady`
        follows). A trace without its Jacobian norms yet gets them from a worker."""
        if not view.needs_trace:
            self._follow_up(view)
            return view
        key = view.wanted_key
        old = view.trace_key
        if view.trace is not None and old is not None and _same_weights(old, key):
            # a new history with the very same weights (the initial loss came in): the trace
            # shown is this one's; work under way for it goes on under the new key
            self._alias[old] = key
            if old in self.kept:
                self._bytes.pop(old, None)
                self._keep(key, self.kept.pop(old))
                self._keys.pop(old, None)
            self.pending = key if self.pending == old else self.pending
            self.norms_pending = key if self.norms_pending == old else self.norms_pending
            view = view.with_trace(self._keys.get(key, key), view.trace)
            self._follow_up(view)
            return view
        kept = self.kept.get(key)
        if kept is not None:
            key = self._keys.get(key, key)  # the same key object: pictures drawn ahead match
            self.kept.move_to_end(key)
            self._drop_trace_worker()
            view = view.with_trace(key, kept)  # type: ignore[arg-type]
            self._follow_up(view)
            return view
        cells = view.T * view.scenario.model.hidden_size
        self._cancel_ahead()  # the CPU is wanted for this one
        if cells <= self.big_trace and self.trace_seconds < SLOW_TRACE:
            self._drop_trace_worker()
            started = time.perf_counter()
            try:
                key, trace = compute_trace(view, key)
            except Exception as err:  # keep the old picture rather than crash
                self.failed(err)
                return view
            finally:
                self.trace_seconds = time.perf_counter() - started
            return view.with_trace(key, trace)
        if self.big_trace < cells <= self.fast_trace and self.fast_seconds <= SLOW_FAST:
            self._drop_trace_worker()
            started = time.perf_counter()
            try:
                key, trace = compute_trace(view, key, jacobians=False)
            except Exception as err:
                self.failed(err)
                return view
            finally:
                self.fast_seconds = time.perf_counter() - started
            self._keep(key, trace)
            view = view.with_trace(key, trace)
            self._follow_up(view)
            return view
        self.fast_seconds *= 0.5  # (so that a slow moment does not send every later one here)
        if self.pending is not None and key != self.pending \
                and _same_weights(self.pending, key):  # the worker's trace is this one's
            self._alias[self.pending] = key
            if self.norms_pending == self.pending:
                self.norms_pending = key
            self.pending = key
        if key != self.pending:
            self.pending = key
            self.norms_pending = key  # the same worker goes on with them
            self.node.run_worker(lambda: self._trace_worker(view, key), thread=True,
                                 exclusive=True, group=self.name + "trace",
                                 exit_on_error=False)
        return view

    def _drop_trace_worker(self) -> None:
        """Stop the worker computing a trace no longer wanted (and its norms)."""
        if self.pending is not None:
            if self.norms_pending == self.pending:
                self.norms_pending = None
            self.pending = None
            self.node.app.workers.cancel_group(self.node, self.name + "trace")
            self._start_deferred()

    def _trace_worker(self, view: View, key: TraceKey) -> None:
        """The forward and backward part (posted at once; a compact trace's forward part alone
        first, then its backward part), then the Jacobian norms."""
        worker = get_current_worker()
        stop = (lambda: worker.is_cancelled)
        try:
            key, trace = compute_trace(view, key, should_stop=stop, jacobians=False,
                                       backward=False)
        except Cancelled:
            return
        except Exception as err:
            trace = err
        if worker.is_cancelled:
            return
        drawn = threading.Event()
        self._drawn = drawn
        self.node.post_message(TraceReady(view.scenario, key, trace, self))
        if not isinstance(trace, Exception):
            if not getattr(trace, "backward_done", True):
                # the screen draws the forward part first (this thread would slow it down)
                drawn.wait(FIRST_DRAW_WAIT)
                if worker.is_cancelled:
                    return
            self._norms_work(view.scenario, key, trace, worker)

    def _norms_work(self, scenario: Scenario, key: TraceKey, trace, worker) -> None:
        """What ``trace`` still lacks, each part posted when made: its backward part
        (kind "backward"), then its Jacobian norms ("norms")."""
        if not getattr(trace, "backward_done", True):
            try:
                trace = with_backward(trace, should_stop=lambda: worker.is_cancelled)
            except Cancelled:
                return
            except Exception as err:
                trace = err
            if worker.is_cancelled:
                return
            self.node.post_message(TraceReady(scenario, key, trace, self, "backward"))
            if isinstance(trace, Exception):
                return
        try:
            done = with_jacobians(trace, should_stop=lambda: worker.is_cancelled)
        except Cancelled:
            return
        except Exception as err:
            done = err
        if not worker.is_cancelled:
            self.node.post_message(TraceReady(scenario, key, done, self, "norms"))

    def _follow_up(self, view: View) -> None:
        """What the trace shown still needs: its norms from a worker, or (when it has them)
        the neighbouring traces computed ahead."""
        trace, key = view.trace, view.trace_key
        if trace is None or key is None:
            return
        if not getattr(trace, "jacobians_done", True) \
                or not getattr(trace, "backward_done", True):
            if self.norms_pending != key:
                self.norms_pending = key
                self._cancel_ahead()
                sc = view.scenario
                self.node.run_worker(
                    lambda: self._norms_work(sc, key, trace, get_current_worker()),
                    thread=True, exclusive=True, group=self.name + "norms",
                    exit_on_error=False)
            return
        self.ahead(view)

    def ahead(self, view: View) -> None:
        """Compute one neighbouring setting's whole trace in a worker while idle (the next one
        follows when it is in): only for traces made in parts, not too big, not while
        training (which needs the CPU)."""
        if not self.ahead_on or self.ahead_key is not None or self.pending is not None \
                or self.norms_pending is not None or view.training is not None \
                or view.trace is None:
            return
        small = view.T * view.scenario.model.hidden_size <= max(self.big_trace, BIG_TRACE) \
            and self.trace_seconds < SLOW_TRACE  # (quick whole: nothing to gain)
        if small or trace_bytes(view.trace) > AHEAD_BYTES:
            return
        for other in neighbours(view):
            key = other.wanted_key
            kept = self.kept.get(key)
            if kept is not None and getattr(kept, "jacobians_done", True):
                continue
            self.ahead_key = key
            sc = view.scenario

            def work(other=other, key=key) -> None:
                worker = get_current_worker()
                try:
                    key, trace = compute_trace(other, key,
                                               should_stop=lambda: worker.is_cancelled)
                except Cancelled:
                    return
                except Exception as err:
                    trace = err
                if not worker.is_cancelled:
                    self.node.post_message(TraceReady(sc, key, trace, self, "ahead"))

            self.node.run_worker(work, thread=True, exclusive=True, group=self.name + "ahead",
                                 exit_on_error=False)
            return

    def ready_neighbours(self, view: View) -> list[View]:
        """The neighbouring settings (see :func:`neighbours`) whose finished traces are kept,
        as Views with them: pictures worth drawing ahead."""
        out = []
        for other in neighbours(view):
            key = other.wanted_key
            kept = self.kept.get(key)
            if kept is not None and getattr(kept, "jacobians_done", True):
                out.append(other.with_trace(self._keys.get(key, key), kept))  # type: ignore
        return out

    def _cancel_ahead(self) -> None:
        if self.ahead_key is not None:
            self.ahead_key = None
            self.node.app.workers.cancel_group(self.node, self.name + "ahead")

    def _keep(self, key: TraceKey, trace) -> None:
        key = self._keys.setdefault(key, key)
        if self.kept:  # the trace shown until now: it may have grown (rows read on demand)
            last = next(reversed(self.kept))
            self._bytes[last] = trace_bytes(self.kept[last])
        self.kept[key] = trace
        self.kept.move_to_end(key)
        # (each trace measured when kept, not all of them at every keep: with hundreds of
        # small traces kept that was a tenth of a knob turn's time)
        self._bytes[key] = trace_bytes(trace)
        total = sum(self._bytes[k] for k in self.kept)
        while len(self.kept) > 1 and total > KEEP_BYTES:
            old_key, _old = self.kept.popitem(last=False)
            self._keys.pop(old_key, None)
            total -= self._bytes.pop(old_key)

    def take(self, view: View, msg: TraceReady) -> View | None:
        """The View with the worker's trace, or None if it is no longer wanted (a trace
        computed ahead is kept for later)."""
        if msg.owner not in (None, self) or msg.scenario is not view.scenario:
            return None  # from a scenario the user has left
        for _ in range(8):  # computed for the same weights under an older history
            if msg.key not in self._alias:
                break
            msg.key = self._alias[msg.key]
        if msg.kind == "ahead":
            if msg.key == self.ahead_key:
                self.ahead_key = None
            if not isinstance(msg.trace, Exception):
                self._keep(msg.key, msg.trace)
                self.ahead(view)  # the next neighbour
            return None
        if msg.kind in ("norms", "backward"):
            part = "jacobians_done" if msg.kind == "norms" else "backward_done"
            if msg.key == self.norms_pending and (msg.kind == "norms"
                                                  or isinstance(msg.trace, Exception)):
                self.norms_pending = None
            if isinstance(msg.trace, Exception):
                self.failed(msg.trace)
                return None
            self._keep(msg.key, msg.trace)
            shown = view.trace
            if msg.key == view.trace_key and shown is not None \
                    and not getattr(shown, part, True):
                return view.with_trace(msg.key, msg.trace)  # type: ignore[arg-type]
            if msg.kind == "norms":
                self.ahead(view)
            return None
        drawn, self._drawn = self._drawn, None
        if drawn is not None:  # the worker goes on once this is on screen (or at once)
            if msg.key == self.pending and msg.key == view.wanted_key:
                self.node.call_after_refresh(drawn.set)
            else:
                drawn.set()
        if msg.key != self.pending:
            return None  # a setting the user has left
        self.pending = None
        self._start_deferred()
        if isinstance(msg.trace, Exception):
            self.norms_pending = None
            self.failed(msg.trace)
            return None
        self._keep(msg.key, msg.trace)
        if msg.key != view.wanted_key:
            return None
        return view.with_trace(msg.key, msg.trace)  # type: ignore[arg-type]

    def failed(self, err: Exception) -> None:
        self.node.notify(f"Could not compute the trace: {visible(str(err))[:200]}", severity="error", timeout=8,
                         markup=False)

    # -- the initial loss ----------------------------------------------------------------------
    def initial_loss(self, scenario: Scenario, history: History) -> None:
        """Compute the loss of ``history``'s initial weights in a worker (:class:`LossReady`);
        after the trace a worker is computing, when there is one (two passes over a long
        sequence in two threads would share one interpreter and both come late)."""
        if self.pending is not None:
            self._deferred_loss = (scenario, history)
            return

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
        for group in ("train", "trace", "loss", "norms", "ahead"):
            workers.cancel_group(self.node, self.name + group)
        self.pending = self.norms_pending = self.ahead_key = None
        self._deferred_loss = None
        self._alias.clear()
