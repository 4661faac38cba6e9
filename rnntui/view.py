"""The View: everything the screen shows, as one immutable value that keys move to a new one.

A :class:`View` holds the scenario, the training history and the epoch looked at, the W_h knob,
the sequence stepped through, its trace, the cursor (t and the pass), and what is running
(training, playing). Panes are drawn from a View alone; a key press makes a new View
(``view.moved(+1)``, ``view.with_phase(...)``) and the screen shows it in one place. Drawing
ahead is drawing ``view.moved(+1)``: nothing is mutated, nothing put back.

Its *position* (:mod:`rnntui.position`) is the part a person navigates to: scenario, epoch, t,
phase, knob, typed text. It round-trips through a short string (``--at``, exports, lessons).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from engine import History, Params, Scenario, Sequence, Trace, knob_scale
from engine.predict import prediction as engine_prediction

from .position import BACKWARD, FORWARD, GRAD_VIEWS, KNOB_LIMIT, Generation, Position, WindowRef

__all__ = ["BACKWARD", "FORWARD", "KNOB_LIMIT", "Training", "TraceKey", "View", "Ref"]


class Ref:
    """An object compared by identity (for keys that name a history or a sequence)."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ref) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __repr__(self) -> str:
        return f"Ref({type(self.obj).__name__}@{id(self.obj):x})"


@dataclass(frozen=True)
class TraceKey:
    """What a trace depends on: the weights (history and epoch), the knob and the sequence."""

    history: Ref
    epoch: int
    knob: int
    sequence: Ref


@dataclass(frozen=True, eq=False)
class Training:
    """A training run in progress: the epoch it has reached of ``last``, and the loss curve so
    far (``losses[e]`` after e epochs, starting from the history it continues)."""

    epoch: int
    last: int
    losses: tuple[float, ...]

    @property
    def loss(self) -> float:
        return self.losses[-1] if self.losses else float("nan")


@dataclass(frozen=True, eq=False)
class View:
    """One picture's worth of state. Compared by identity: a new View is a new picture (panes
    compare the fields they read, see :meth:`key`)."""

    scenario: Scenario
    #: How the scenario was opened: a built-in name or a path (what a position names).
    source: str
    #: The training history: the loss per epoch and the weights at kept epochs.
    history: History
    #: The sequence stepped through: the scenario's own, or text the user typed (``typed``).
    sequence: Sequence
    #: The epoch whose weights are shown (a kept epoch of ``history``).
    epoch: int = 0
    #: W_h is scaled by 2**(knob/4): four clicks double it.
    knob: int = 0
    #: The text the user typed, when ``sequence`` is made from it; None for the scenario's own.
    typed: str | None = None
    #: Which training sequence ``sequence`` is (0-based), when it is one; None otherwise.
    example: int | None = None
    #: Where ``sequence`` came from when it is a text file's window (a WindowRef) or what the
    #: network wrote or forecast (a Generation); None otherwise (rnntui/windows.py).
    origin: WindowRef | Generation | None = None
    #: The cursor: the time step, 0-based (h_t is the state after input x_t).
    t: int = 0
    #: Which pass the cursor walks: forward (t up) or backward (BPTT, t down).
    phase: str = FORWARD
    #: The Gradients pane's view: "total" (dL/dh_t and the Jacobian from the last step) or
    #: "loss" (the loss at one target step τ followed back, and each input's influence on it).
    grads: str = "total"
    #: The target step τ of the per-loss view when pinned; None follows the cursor.
    target: int | None = None
    #: The trace shown, and what it was computed for (it may lag behind while a new one is made).
    trace: Trace | None = None
    trace_key: TraceKey | None = None
    #: The loss of the initial weights is still being computed (just after opening).
    loss_pending: bool = False
    #: The training run in progress, if any.
    training: Training | None = None
    #: Playing: the cursor moves on by itself.
    playing: bool = False

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def open(cls, scenario: Scenario, history: History, *, source: str | None = None,
             loss_pending: bool = False) -> "View":
        """The first View of a scenario (opened as ``source``, default its name): its own
        sequence, at t = 0, epoch 0."""
        return cls(scenario=scenario, source=source or scenario.name, history=history,
                   sequence=scenario.sequence, loss_pending=loss_pending)

    def _with(self, **changes) -> "View":
        return dataclasses.replace(self, **changes)

    # -- derived -------------------------------------------------------------------------------
    @property
    def T(self) -> int:
        """The number of steps of the sequence."""
        return len(self.sequence)

    @property
    def wh_scale(self) -> float:
        return knob_scale(self.knob)

    @property
    def trained_epochs(self) -> int:
        return self.history.trained_epochs

    @property
    def base_params(self) -> Params:
        """The weights at the epoch, before the knob."""
        return self.history.params_at(self.epoch)

    @property
    def params(self) -> Params:
        """The weights the trace uses: the epoch's, with W_h scaled by the knob."""
        p = self.base_params
        return p if self.knob == 0 else p.with_wh_scale(self.wh_scale)

    @property
    def wanted_key(self) -> TraceKey:
        return TraceKey(Ref(self.history), self.epoch, self.knob, Ref(self.sequence))

    @property
    def needs_trace(self) -> bool:
        """The trace shown is not (yet) the one for this epoch, knob and sequence."""
        return self.trace is None or self.trace_key != self.wanted_key

    @property
    def at_end(self) -> bool:
        """The cursor is at the last step of its pass."""
        return self.t == (self.T - 1 if self.phase == FORWARD else 0)

    @property
    def tau(self) -> int:
        """The target step of the per-loss view: the pinned one, else the cursor."""
        return min(self.target, self.T - 1) if self.target is not None else self.t

    @property
    def position(self) -> Position:
        """Where this View is, as a value that round-trips through a string."""
        gen = self.origin if isinstance(self.origin, Generation) else None
        window = self.origin if isinstance(self.origin, WindowRef) else None
        return Position(scenario=self.source, cell=self.cell_override,
                        attention=self.attention_override, mask=self.batching_override("mask"),
                        sort=self.batching_override("sort"), epoch=self.epoch,
                        t=self.t, phase=self.phase, knob=self.knob,
                        text=self.typed if gen is None else None,
                        grads=self.grads, target=self.target,
                        example=self.example if gen is None else gen.example, window=window,
                        gen=None if gen is None else gen.relative_to(self.epoch, self.knob))

    @property
    def cell(self) -> str:
        """The recurrent cell's name (one of engine.cells.CELLS)."""
        return self.scenario.model.cell

    @property
    def cell_override(self) -> str | None:
        """The cell when it is not the scenario file's own, else None."""
        origin = self.scenario.model.origin
        return self.cell if origin is not None and origin.cell != self.cell else None

    @property
    def attention_override(self) -> str | None:
        """An encoder-decoder's attention when it is not the scenario file's own, else None."""
        m = self.scenario.model
        return m.attention if m.origin is not None and m.origin.attention != m.attention \
            else None

    def batching_override(self, key: str) -> bool | None:
        """A padded scenario's ``mask`` or ``sort`` when it is not the file's own (keys u and
        s switch them), else None."""
        train = self.scenario.train
        value = getattr(train, key)
        return value if train.origin is not None and getattr(train.origin, key) != value \
            else None

    def label(self, t: int) -> str:
        return self.sequence.labels[t]

    def target_label(self, t: int) -> str | None:
        return self.sequence.target_labels[t]

    def prediction(self, t: int) -> tuple[str, float]:
        """The model's guess at step t and how sure it is (see engine.predict.prediction)."""
        assert self.trace is not None
        return engine_prediction(self.trace, self.scenario, t)

    # -- moving the cursor ---------------------------------------------------------------------
    def at(self, t: int) -> "View":
        """The cursor at step ``t`` (clamped to the sequence)."""
        t = max(0, min(int(t), self.T - 1))
        return self if t == self.t else self._with(t=t)

    def moved(self, direction: int = 1) -> "View":
        """One step along the pass: forward walks t up, the backward pass walks t down."""
        return self.at(self.t + (-direction if self.phase == BACKWARD else direction))

    def to_start(self) -> "View":
        """The first step of the pass: t = 0 forward, the last step backward."""
        return self.at(0 if self.phase == FORWARD else self.T - 1)

    def to_end(self) -> "View":
        return self.at(self.T - 1 if self.phase == FORWARD else 0)

    def with_phase(self, phase: str) -> "View":
        if phase not in (FORWARD, BACKWARD):
            raise ValueError(f"phase must be {FORWARD!r} or {BACKWARD!r}, not {phase!r}")
        return self if phase == self.phase else self._with(phase=phase)

    def toggled_phase(self) -> "View":
        return self.with_phase(BACKWARD if self.phase == FORWARD else FORWARD)

    def with_grads(self, grads: str) -> "View":
        if grads not in GRAD_VIEWS:
            raise ValueError(f"grads must be one of {', '.join(GRAD_VIEWS)}, not {grads!r}")
        return self if grads == self.grads else self._with(grads=grads)

    def with_target(self, target: int | None) -> "View":
        """Pin the per-loss view's target step (clamped), or follow the cursor (None)."""
        if target is not None:
            target = max(0, min(int(target), self.T - 1))
        return self if target == self.target else self._with(target=target)

    def pin_toggled(self) -> "View":
        """The x key: pin tau at the cursor (in the per-loss view), or, pinned, let it follow
        the cursor again."""
        if self.target is not None:
            return self.with_target(None)
        return self.with_target(self.t).with_grads("loss")

    # -- weights, knob, sequence ---------------------------------------------------------------
    def with_epoch(self, epoch: int) -> "View":
        """The nearest kept epoch at or before ``epoch`` (clamped to what was trained)."""
        e = self.history.nearest_epoch(max(0, min(int(epoch), self.trained_epochs)))
        return self if e == self.epoch else self._with(epoch=e)

    def scrubbed(self, direction: int) -> "View":
        """The previous or next kept epoch (``direction`` kept epochs away)."""
        kept = self.history.epochs
        i = kept.index(self.epoch) if self.epoch in kept else 0
        return self.with_epoch(kept[max(0, min(i + direction, len(kept) - 1))])

    def with_knob(self, knob: int) -> "View":
        k = max(-KNOB_LIMIT, min(KNOB_LIMIT, int(knob)))
        return self if k == self.knob else self._with(knob=k)

    def with_sequence(self, sequence: Sequence, typed: str | None = None,
                      origin: WindowRef | Generation | None = None) -> "View":
        """Step through another sequence under the same weights, from t = 0 (``origin``: the
        window or the generation it is, see the field)."""
        return self._with(sequence=sequence, typed=typed, example=None, t=0, target=None,
                          origin=origin)

    def with_example(self, k: int | None) -> "View":
        """Step through training sequence ``k`` (None: the scenario's own sequence), from t=0."""
        if k is None:
            return self._with(sequence=self.scenario.sequence, typed=None, example=None, t=0,
                              target=None, origin=None)
        seqs = self.scenario.train_sequences
        k = max(0, min(int(k), len(seqs) - 1))
        return self._with(sequence=seqs[k], typed=None, example=k, t=0, target=None,
                          origin=None)

    def next_example(self, direction: int) -> "View":
        """The next (or previous) training sequence, the scenario's own coming before the
        first one and after the last."""
        n = len(self.scenario.train_sequences)
        if n == 0:
            return self
        order = [None, *range(n)]
        i = order.index(self.example) if self.example in order else 0
        return self.with_example(order[(i + direction) % len(order)])

    def with_history(self, history: History, *, epoch: int | None = None,
                     loss_pending: bool = False) -> "View":
        """Adopt a training history and look at ``epoch`` (default: its last)."""
        e = history.nearest_epoch(history.trained_epochs if epoch is None else epoch)
        return self._with(history=history, epoch=e, loss_pending=loss_pending)

    def with_trace(self, key: TraceKey, trace: Trace) -> "View":
        """The View showing ``trace``, computed for ``key``."""
        return self._with(trace=trace, trace_key=key, t=min(self.t, max(len(trace) - 1, 0)))

    def with_training(self, training: Training | None) -> "View":
        return self if training is None and self.training is None else \
            self._with(training=training)

    def with_playing(self, playing: bool) -> "View":
        return self if playing == self.playing else self._with(playing=playing)

    # -- what a picture depends on -------------------------------------------------------------
    def key(self, fields: tuple[str, ...]) -> tuple:
        """The values of ``fields`` as a hashable tuple: equal keys give equal pictures.
        Objects (trace, history, ...) count by identity; numbers and strings by value."""
        out = []
        for name in fields:
            value = getattr(self, name)
            out.append(value if value is None or isinstance(value, (int, float, str, bool))
                       else Ref(value))
        return tuple(out)

    def reading(self, fields: tuple[str, ...], who: str = "a pane") -> "ViewReader":
        """This View seen through ``fields`` only: reading anything else raises, so a pane that
        forgets to declare what it reads fails loudly instead of showing a stale picture."""
        return ViewReader(self, frozenset(fields), who)


#: What each derived value of a View reads (for :class:`ViewReader`).
DERIVED: dict[str, frozenset[str]] = {
    "T": frozenset({"sequence"}),
    "wh_scale": frozenset({"knob"}),
    "trained_epochs": frozenset({"history"}),
    "base_params": frozenset({"history", "epoch"}),
    "params": frozenset({"history", "epoch", "knob"}),
    "wanted_key": frozenset({"history", "epoch", "knob", "sequence"}),
    "needs_trace": frozenset({"history", "epoch", "knob", "sequence", "trace", "trace_key"}),
    "at_end": frozenset({"t", "phase", "sequence"}),
    "tau": frozenset({"target", "t", "sequence"}),
    "cell": frozenset({"scenario"}),
    "cell_override": frozenset({"scenario"}),
    "position": frozenset({"source", "scenario", "epoch", "t", "phase", "knob", "typed", "grads",
                           "target", "example", "origin"}),
    "label": frozenset({"sequence"}),
    "target_label": frozenset({"sequence"}),
    "prediction": frozenset({"trace", "scenario"}),
}


class ViewReader:
    """A View restricted to some of its fields (see :meth:`View.reading`)."""

    __slots__ = ("_view", "_fields", "_who")

    def __init__(self, view: View, fields: frozenset[str], who: str) -> None:
        self._view, self._fields, self._who = view, fields, who

    def __getattr__(self, name: str):
        needs = DERIVED.get(name, frozenset((name,)))
        if not needs <= self._fields:
            missing = ", ".join(sorted(needs - self._fields))
            raise AttributeError(f"{self._who} reads View.{name} but does not declare "
                                 f"{missing} in its READS")
        return getattr(self._view, name)


def view_at(view: View, pos: Position, *, warn=None) -> View:
    """``view`` moved to ``pos`` within its scenario, cell and weights: the position's sequence
    (typed text, a training example, a text file's window, else the scenario's own), then its
    knob, pass, t, gradient view and target step. The one place a Position becomes a View: the
    main screen's ``--at`` and jumps, lessons' steps and reader mode use it; the epoch (which
    may still be training) is the caller's. A window that cannot be had goes to
    ``warn(message)`` and the rest still applies (without ``warn``: ScenarioError)."""
    if pos.text is not None:
        if view.typed != pos.text or view.origin is not None or view.example is not None:
            from engine.scenario import encode_text
            view = view.with_sequence(encode_text(view.scenario, pos.text), pos.text)
    elif pos.example is not None:
        view = view.with_example(pos.example)
    elif pos.window is not None:
        from engine.types import ScenarioError

        from .sequences import with_window
        try:
            view = with_window(view, pos.window)
        except ScenarioError as err:
            if warn is None:
                raise
            warn(err.message)
    elif view.typed is not None or view.origin is not None or view.example is not None:
        view = view.with_example(None)  # a position naming no sequence: the scenario's own
    return (view.with_knob(pos.knob).with_phase(pos.phase).at(pos.t)
            .with_grads(pos.grads).with_target(pos.target))


def at_position(view: View, pos: Position, should_stop=None) -> View:
    """``view`` at ``pos`` at once, with no screen: where :func:`view_at` puts it, at the
    position's epoch (which ``view``'s history must have trained to), and, for a generated
    sequence, that sequence made again there with those weights, its cursor at the position's
    t. What ``rnntui trace --at`` and reader mode show; the app does the same in steps (the
    epoch once training on open reaches it, the generation in a worker). ScenarioError for a
    window or a generation the scenario cannot have; compare mode (``cells=``) is the
    caller's."""
    view = view_at(view, pos)
    if pos.epoch is not None:
        view = view.with_epoch(pos.epoch)
    if pos.gen is not None:
        from .sequences import with_generated
        view = with_made(view, with_generated(view, pos.gen, should_stop)[0], pos)
    return view


def with_made(view: View, made: View, pos: Position) -> View:
    """``view`` stepping through the sequence ``made`` holds (one ``pos`` names with gen=,
    made again), at ``pos``'s t, pass, gradient view and target step."""
    return (view.with_sequence(made.sequence, made.typed, made.origin).at(pos.t)
            .with_phase(pos.phase).with_grads(pos.grads).with_target(pos.target))


def carried(new: View, old: View) -> View:
    """``new`` (the first View of ``old``'s scenario with another cell, mask or batch order)
    where ``old`` is: the same knob, pass and gradient view, the same typed text, training
    sequence or text window, then t and the pinned target step. The one place a switch of the
    model keeps where you are (keys c, u and s; the reader's cell, mask and sort)."""
    new = new.with_knob(old.knob).with_phase(old.phase).with_grads(old.grads)
    if old.typed is not None:
        new = new.with_sequence(old.sequence, old.typed)
    elif old.example is not None:
        new = new.with_example(old.example)
    elif isinstance(old.origin, WindowRef):
        from .sequences import with_window
        new = with_window(new, old.origin)
    return new.at(old.t).with_target(old.target)
