"""The Session: which scenario, which epoch, which step and phase, which knob setting; and the trace.

It holds NumPy arrays and plain state, never widgets, so the app keeps a single ``version``
counter reactive and every pane reads what it needs from here. Moving the cursor (t, phase) is
O(1); changing the epoch, the W_h scale or the sequence asks for a new trace (``needs_trace``),
which the app computes (in a worker when it is big) with :meth:`compute_trace` and installs with
:meth:`install_trace`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from engine import History, Params, Scenario, Sequence, Trace, fit, initial_params, run_trace

FORWARD, BACKWARD = "forward", "backward"
#: One press of + or - multiplies W_h by this (four presses double it); the scale is 2**(k/4)
#: for an integer k, so pressing + then - lands exactly back on the same weights.
KNOB_STEPS_PER_DOUBLING = 4
KNOB_LIMIT = 40  # |k| at most: x1024 or x1/1024


@dataclass(frozen=True)
class TraceKey:
    """What a trace depends on: the weights' epoch, the W_h knob and the sequence."""

    epoch: int
    knob: int
    sequence_id: int
    history_id: int


class Session:
    """Navigation state over a scenario's trace. See the module docstring."""

    def __init__(self, scenario: Scenario, *, evaluate_loss: bool = True):
        """``evaluate_loss=False`` leaves the loss of the initial weights (a forward pass over
        the whole training set) for later: :attr:`loss_pending` until :meth:`set_initial_loss`."""
        self.scenario = scenario
        p0 = initial_params(scenario)
        loss = _loss_of(scenario, p0) if evaluate_loss else float("nan")
        self.history: History = History(losses=[loss], epochs=[0], weights=[p0])
        self.loss_pending = not evaluate_loss
        self.epoch = 0
        self.t = 0
        self.phase = FORWARD
        self.knob = 0
        self.sequence: Sequence = scenario.sequence
        self._sequence_id = 0
        self._history_id = 0
        self.trace: Trace | None = None
        self.trace_key: TraceKey | None = None
        self.version = 0
        self.message: str | None = None

    # -- derived -------------------------------------------------------------------------------
    @property
    def T(self) -> int:
        return len(self.sequence)

    @property
    def wh_scale(self) -> float:
        return 2.0 ** (self.knob / KNOB_STEPS_PER_DOUBLING)

    @property
    def trained_epochs(self) -> int:
        return self.history.trained_epochs

    @property
    def base_params(self) -> Params:
        """The weights at the current epoch, before the W_h knob."""
        return self.history.params_at(self.epoch)

    def params(self) -> Params:
        """The weights the trace uses: the epoch's, with W_h scaled by the knob."""
        p = self.base_params
        return p if self.knob == 0 else p.with_wh_scale(self.wh_scale)

    def wanted_key(self) -> TraceKey:
        return TraceKey(self.epoch, self.knob, self._sequence_id, self._history_id)

    @property
    def needs_trace(self) -> bool:
        return self.trace_key != self.wanted_key()

    # -- trace ---------------------------------------------------------------------------------
    def compute_trace(self, key: TraceKey | None = None,
                      should_stop=None) -> tuple[TraceKey, Trace]:
        """Compute the trace for ``key`` (default: the wanted one). Pure: safe in a thread.

        ``should_stop()`` is polled during the long part; when it says True the computation
        raises ``engine.analysis.Cancelled``.
        """
        key = key or self.wanted_key()
        p = self.history.params_at(key.epoch)
        if key.knob:
            p = p.with_wh_scale(2.0 ** (key.knob / KNOB_STEPS_PER_DOUBLING))
        sc = self.scenario
        tr = run_trace(p, self.sequence, activation=sc.model.activation, output=sc.model.output,
                       retention_steps=sc.retention_steps, should_stop=should_stop)
        return key, tr

    def install_trace(self, key: TraceKey, trace: Trace) -> bool:
        """Use a computed trace if it is still the one wanted; returns whether it was used."""
        if key != self.wanted_key():
            return False
        self.trace, self.trace_key = trace, key
        self.t = min(self.t, max(self.T - 1, 0))
        self.version += 1
        return True

    def ensure_trace(self) -> Trace:
        """Compute the wanted trace now, in this thread (small scenarios, tests, the CLI)."""
        if self.needs_trace or self.trace is None:
            self.install_trace(*self.compute_trace())
        assert self.trace is not None
        return self.trace

    # -- cursor --------------------------------------------------------------------------------
    def _moved(self) -> None:
        self.version += 1

    def step(self, direction: int = 1) -> None:
        """One step along the current phase: forward walks t up, the backward pass walks t down."""
        if self.phase == BACKWARD:
            direction = -direction
        self.goto(self.t + direction)

    def goto(self, t: int) -> None:
        t = max(0, min(int(t), self.T - 1))
        if t != self.t:
            self.t = t
            self._moved()

    def to_start(self) -> None:
        """The first step of the current phase: t = 0 forward, t = T-1 backward."""
        self.goto(0 if self.phase == FORWARD else self.T - 1)

    def to_end(self) -> None:
        self.goto(self.T - 1 if self.phase == FORWARD else 0)

    @contextmanager
    def stepped(self, direction: int = 1):
        """The session as :meth:`step` would leave it, inside a ``with`` block (to draw that
        ahead of time); t is put back afterwards. Yields False when the step would not move."""
        t = self.t
        if self.phase == BACKWARD:
            direction = -direction
        self.t = max(0, min(t + direction, self.T - 1))
        try:
            yield self.t != t
        finally:
            self.t = t

    @property
    def at_end(self) -> bool:
        return self.t == (self.T - 1 if self.phase == FORWARD else 0)

    def set_phase(self, phase: str) -> None:
        if phase not in (FORWARD, BACKWARD):
            raise ValueError(phase)
        if phase != self.phase:
            self.phase = phase
            self._moved()

    def toggle_phase(self) -> None:
        self.set_phase(BACKWARD if self.phase == FORWARD else FORWARD)

    # -- epochs, knob, sequence ----------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Jump to the nearest kept epoch at or before ``epoch`` (clamped to what was trained)."""
        epoch = self.history.nearest_epoch(max(0, min(int(epoch), self.trained_epochs)))
        if epoch != self.epoch:
            self.epoch = epoch
            self._moved()

    def scrub(self, direction: int) -> None:
        """Move to the previous or next kept epoch."""
        kept = self.history.epochs
        i = kept.index(self.epoch) if self.epoch in kept else 0
        i = max(0, min(i + direction, len(kept) - 1))
        self.set_epoch(kept[i])

    def turn_knob(self, clicks: int) -> None:
        k = max(-KNOB_LIMIT, min(KNOB_LIMIT, self.knob + clicks))
        if k != self.knob:
            self.knob = k
            self._moved()

    def reset_knob(self) -> None:
        self.turn_knob(-self.knob)

    def set_history(self, history: History, *, epoch: int | None = None) -> None:
        """Adopt a new training history (after training) and jump to its last epoch."""
        self.history = history
        self.loss_pending = False
        self._history_id += 1
        self.epoch = history.nearest_epoch(history.trained_epochs if epoch is None else epoch)
        self._moved()

    def initial_loss(self, history: History) -> float:
        """The loss of ``history``'s initial weights. Pure: safe in a thread."""
        return _loss_of(self.scenario, history.weights[0])

    def set_initial_loss(self, history: History, loss: float) -> bool:
        """Fill in the initial loss computed later for ``history``, if that is still the history
        shown (training may have replaced it meanwhile); returns whether it was used."""
        if history is not self.history or not self.loss_pending:
            return False
        self.history = History(losses=[loss], epochs=[0], weights=history.weights)
        self.loss_pending = False
        self._moved()
        return True

    def reset_training(self) -> None:
        """Back to the seeded initial weights: the same numbers as on first open."""
        p0 = initial_params(self.scenario)
        self.set_history(History(losses=[_loss_of(self.scenario, p0)], epochs=[0], weights=[p0]),
                         epoch=0)

    def train(self, epochs: int | None = None, progress=None) -> History:
        """Train (or continue) and return the new history; does not adopt it (see set_history).

        Pure with respect to the session: safe to call from a worker thread.
        """
        start = self.history if self.trained_epochs > 0 else None
        return fit(self.scenario, epochs, history=start, progress=progress)

    def set_sequence(self, sequence: Sequence) -> None:
        """Step through a different sequence (text the user typed) under the same weights."""
        self.sequence = sequence
        self._sequence_id += 1
        self.t = 0
        self._moved()

    # -- what the panes read -------------------------------------------------------------------
    def label(self, t: int) -> str:
        return self.sequence.labels[t]

    def target_label(self, t: int) -> str | None:
        return self.sequence.target_labels[t]


def _loss_of(scenario: Scenario, params: Params) -> float:
    from engine.train import dataset_loss
    return dataset_loss(params, scenario)


def prediction(session: Session, t: int) -> tuple[str, float]:
    """The model's guess at step t and how sure it is: (token, p) / (value, nan) / (bit, P(bit))."""
    tr = session.trace
    assert tr is not None
    sc = session.scenario
    out = tr.out[t]
    if sc.model.output == "softmax":
        i = int(np.argmax(out))
        name = sc.vocab[i] if sc.vocab and i < len(sc.vocab) else str(i)
        return name, float(out[i])
    if sc.model.output == "sigmoid":
        p1 = float(out[0])
        return ("1", p1) if p1 >= 0.5 else ("0", 1.0 - p1)
    return f"{float(out[0]):+.3f}", float("nan")
