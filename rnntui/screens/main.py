"""The main screen: the panes over one View, every key of the app, the play timer and training.

Every key makes a new :class:`~rnntui.view.View` and assigns it to :attr:`MainScreen.view`; the
setter is the one place the screen updates: it gets the trace the View needs (at once when
small, else from a worker), hands the View to every pane and the status line, and schedules
drawing the neighbouring steps ahead.
"""

from __future__ import annotations

import gc
import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Static

from engine import History, Scenario
from engine.cells import compare_pair, cycle_after, get_cell
from engine.kinds import is_seq2seq

from ..jobs import Jobs, LossReady, TraceReady, TrainDone, TrainProgress
from ..keys import BINDINGS
from ..position import Position
from ..view import BACKWARD, Training, View, carried, view_at, with_made
from ..widgets import PANES, pane_class
from ..widgets.base import Pane
from ..widgets.sequence import SequencePane
from ..widgets.step import StepPane
from ..widgets.lesson_strip import LessonStrip
from .lesson_keys import LessonKeys
from ..safe_text import visible
from ..training import cached, open_epochs, untrained, with_first_loss
from ..served import in_browser
from .guard import QuitGuard
from .keybar import KeyBar
from .status import join_parts
from .too_small import check_size

#: The keys the key bar leaves out, in this order, when it is too narrow for all of them: so
#: '? help' and 'q quit' (at the end) always show (help lists every key).
KEYS_DROPPED_FIRST = ("o", "c", "t", "b", "space")

#: Steps per second while playing.
PLAY_RATE = 4.0
#: Seconds between a screen update and drawing the neighbouring steps ahead.
AHEAD_DELAY = 0.02
#: Seconds after mounting that the work waiting for the first full frame starts at the latest
#: (it usually starts as soon as the first full frame is out).
FIRST_FRAME_WAIT = 1.0


def status_text(view: View, width: int = 120, extra: tuple = ()) -> Text:
    """Scenario, kind, epoch, t, phase, W_h scale and what is running, fitted to ``width``;
    ``extra`` parts (text, style, keep) come last (the classroom's: following, presenting),
    except those kept at 10 or more, which come first and are never cut (the presenter's join
    string); when even they do not fit, only those kept at 11 stay.

    When space is short the least needed parts go first (the kind, then the running loss); the
    rest is never dropped.
    """
    from ..sequences import sequence_title
    sc = view.scenario
    arrow = "←" if view.phase == BACKWARD else "→"
    # (text, style, keep): lower keeps are dropped first; a text starting with " " sticks to
    # the one before it instead of getting a separator
    training = view.training is not None
    parts: list[tuple[str, str, int]] = [
        (visible(sc.name), "bold", 9), (f" ({sc.kind})", "", 1),
        (get_cell(view.cell).title, "bold", 8 if training else 7),
        *([(" both ways", "bold", 6)] if view.scenario.model.bidirectional else []),
        # (while training, its own progress says the epoch better than 'epoch 0/0')
        (f"epoch {view.epoch}/{view.trained_epochs}", "", 4 if training else 9),
        *([(which, "bold", 8)] if (which := sequence_title(view, short=True)) else []),
        (f"t={view.t}", "bold", 9), (f" (0–{view.T - 1})", "", 2),
        (f"{view.phase} {arrow}", "bold", 9), (f"W_h ×{view.wh_scale:.3g}", "", 9),
    ]
    if view.training is not None:
        tr = view.training
        parts.append((f"training {tr.epoch}/{tr.last}", "reverse", 9))
        if math.isfinite(tr.loss):  # (not yet known when training starts from a fresh session)
            parts.append((f"loss {tr.loss:.4g}", "reverse", 3))
    if view.needs_trace:
        parts.append(("computing…", "reverse", 8))
    if view.playing:
        parts.append(("▶ playing", "reverse", 8))

    lead = [p for p in extra if p[2] >= 10]
    parts = lead + parts + [p for p in extra if p[2] < 10]
    if lead and join_parts(lead).cell_len > width:
        return join_parts([p for p in lead if p[2] >= 11])
    for level in range(8):  # parts kept at 8 and 9 stay; the ellipsis handles the rest
        text = join_parts([p for p in parts if p[2] > level])
        if text.cell_len <= width:
            break
    return text


class StatusLine(Static):
    """The top line: where you are in the scenario, and anything running."""

    _shown: Text | None = None
    _view: View | None = None
    #: Parts added at the end (see status_text), set by the classroom.
    extra: tuple = ()

    def show(self, view: View) -> None:
        self._view = view
        text = status_text(view, self.size.width or self.app.size.width, self.extra)
        if text != self._shown:  # one line docked at the top: its size never depends on it
            self._shown = text
            self.update(text, layout=False)

    def on_resize(self) -> None:
        if self._view is not None:  # the line's fit depends on the width
            self.show(self._view)


class MainScreen(LessonKeys, QuitGuard, Screen):
    """The panes: the sequence across the top, a grid of six below, the key hints at the bottom.

    Options: ``source`` (how the scenario was named), ``train`` (train on open when the scenario
    asks for epochs), ``at`` (a Position to open at), ``play_rate``, ``big_trace`` and
    ``draw_ahead`` (see :func:`rnntui.app.make_app`).
    """

    BINDINGS = BINDINGS
    #: Tall terminals give the sequence pane room for its header and summary lines too.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    #: A maximised pane keeps the lesson strip under it (the lesson may be what maximised it).
    ALLOW_IN_MAXIMIZED_VIEW = "KeyBar, #status, #lesson-strip"

    def __init__(self, scenario: Scenario, *, source: str | None = None, train: bool = True,
                 at: Position | None = None, play_rate: float = PLAY_RATE,
                 big_trace: int | None = None, draw_ahead: bool = True) -> None:
        super().__init__(id="main")
        self.train_on_open = train
        self.play_rate = play_rate
        self.draw_ahead = draw_ahead
        self.jobs = Jobs(self, **({} if big_trace is None else {"big_trace": big_trace}))
        self._play_timer = None
        self._started = False  # the work that waits for the first full frame has started
        self._ahead_pending = False  # _draw_ahead is scheduled
        self._lessons = None  # made when first asked for (see lessons)
        self._lessons_mounted = False
        self._wanted_epoch: int | None = None  # an epoch to show once training reaches it
        self._trained: dict[str, History] = {}  # each cell's training, kept while switching
        self._by_train: dict = {}  # (cell, mask, sort) -> training, kept while u or s switch
        self._at = at
        #: Called as hook(old, new) after each new View is shown (the classroom broadcasts).
        self.view_hooks: list = []
        #: The classroom role (rnntui.classroom.session), when presenting or following, or
        #: replaying a recording (rnntui.replay).
        self.classroom = None
        #: The recording being written (rnntui.recording), with --record.
        self.recorder = None
        if at is not None:  # a sequence the scenario cannot have: one line, before it opens
            from ..sequences import check_position
            check_position(scenario, at)
        wanted = at.epoch if at is not None and at.cells is None else None
        self._view = self._first_view(scenario, source, wanted)

    def _open_epochs(self, scenario: Scenario, wanted: int | None = None) -> int:
        """The epochs training on open trains ``scenario`` (rnntui.training)."""
        return open_epochs(scenario, self.train_on_open, wanted)

    def _first_view(self, scenario: Scenario, source: str | None,
                    wanted: int | None = None) -> View:
        """The first View of ``scenario``: trained at once when the training cache has the run
        that training on open would make (rnntui.cache), else untrained, saying "training" from
        the first frame when training on open will start; the loss of the initial weights (a
        forward pass over the training set) is then computed after the first frame."""
        epochs = self._open_epochs(scenario, wanted)
        history = cached(scenario, epochs)
        if history is not None:
            return View.open(scenario, history, source=source).with_history(history, epoch=wanted)
        history = untrained(scenario, exact=False)
        view = View.open(scenario, history, source=source, loss_pending=True)
        return view.with_training(Training(0, epochs, (float("nan"),))) if epochs > 0 else view

    @property
    def lessons(self):
        """The lesson open on this screen, if any (rnntui.lessons.session): made, and the
        lesson modules imported, the first time something asks (start-up needs none of it)."""
        if self._lessons is None:
            from ..lessons.session import LessonSession
            from .compare import CompareScreen
            from .lab import LabScreen
            from .lessons import LessonListScreen
            self._lessons = LessonSession(self, list_screen=LessonListScreen,
                                          compare_screen=CompareScreen, lab_screen=LabScreen)
            if self._lessons_mounted:
                self._lessons.mounted()
        return self._lessons

    # -- the View ------------------------------------------------------------------------------
    @property
    def view(self) -> View:
        """What the screen shows. Assigning a new View is how everything on screen changes."""
        return self._view

    @view.setter
    def view(self, new: View) -> None:
        new = self.jobs.trace(new)
        old, self._view = self._view, new
        self.set_class(is_seq2seq(new.scenario), "-s2s")
        if not self.panes:  # not composed yet (on_mount runs before is_mounted is True, and
            return  # the first picture, shown there, is the first frame's)
        for hook in self.view_hooks:  # first: a presenter's followers start on it at once
            hook(old, new)
        self.set_class(new.scenario.train.pad, "-batch")  # the Batch pane, not the Sequence
        for pane in self.panes:
            pane.show(new)
        self.status.show(new)
        if self._lessons is not None:
            self._lessons.on_view(new)
        if self.draw_ahead and not self._ahead_pending:
            self._ahead_pending = True
            # Once the screen is updated, and a moment later, when its output is written (the
            # writer thread needs the interpreter too): draw the neighbouring steps ahead.
            self.call_after_refresh(self.set_timer, AHEAD_DELAY, self._draw_ahead)

    def _draw_ahead(self) -> None:
        """Draw the panes one step on and one step back (only on while playing), the keys most
        often pressed next, so that pressing them only shows pictures that are ready."""
        self._ahead_pending = False
        view = self._view
        if view.needs_trace or not self.is_current:
            return
        for direction in (1,) if view.playing else (1, -1):
            ahead = view.moved(direction)
            if ahead is not view:
                for pane in self.panes:
                    pane.draw_ahead(ahead)
        if not view.playing:
            self._settings_ahead(view)

    def _settings_ahead(self, view: View) -> None:
        """Draw the panes for a neighbouring knob setting or epoch whose trace was computed
        ahead (rnntui.jobs), one setting per call, the next a moment later: a key pressed
        meanwhile waits for one picture at most."""
        if view is not self._view or view.needs_trace or not self.is_current:
            return
        for other in self.jobs.ready_neighbours(view):
            if not all(pane.has_picture(other) for pane in self.panes):
                for pane in self.panes:
                    pane.draw_ahead(other)
                if all(pane.has_picture(other) for pane in self.panes):  # (else: never again)
                    self.set_timer(AHEAD_DELAY, lambda: self._settings_ahead(view))
                return

    # -- layout --------------------------------------------------------------------------------
    status: StatusLine
    _panes: list[Pane] | None = None

    @property
    def panes(self) -> list[Pane]:
        """The panes, looked up once: the screen never adds or removes any."""
        if not self._panes:
            self._panes = list(self.query(Pane))
        return self._panes

    def compose(self) -> ComposeResult:
        self.status = StatusLine(id="status")
        yield self.status
        panes = [pane_class(pane_id) for pane_id in PANES]  # (rnntui.widgets: the pane list)
        for cls in panes:
            if cls.PLACE == "top":
                yield cls(id=cls.ID)
        with Grid(id="panes"):
            for cls in panes:
                if cls.PLACE == "grid":
                    yield cls(id=cls.ID)
        self.lesson_strip = LessonStrip(id="lesson-strip")
        yield self.lesson_strip
        yield KeyBar(drop_first=KEYS_DROPPED_FIRST)

    def on_mount(self) -> None:
        self._play_timer = self.set_interval(1 / self.play_rate, self._tick, pause=True)
        if self._at is not None:
            self._go_to(self._at)
        self.view = self._view  # the first picture
        self._lessons_mounted = True
        if self._lessons is not None:
            self._lessons.mounted()
        if self.classroom is not None:
            self.classroom.start(self)
        check_size(self.app, self.app.size)
        if self._at is not None and self._at.cells is not None:
            self._wanted_epoch = None
            share = 100 if self._at.epoch is None else self._at.epoch
            self.call_after_refresh(self.action_compare, self._at.cells, share)
        # Work that would delay the first full frame starts once it is out (training shares the
        # interpreter with the UI): when the key hints are in place, or after a second at most.
        self.set_timer(FIRST_FRAME_WAIT, self._after_first_frame)

    def on_key_bar_ready(self) -> None:
        self.call_after_refresh(self._after_first_frame)

    def on_resize(self, event) -> None:
        if self._lessons is not None:  # (no lesson was ever asked for: nothing to resize)
            self._lessons.resized()

    def _after_first_frame(self) -> None:
        if self._started:
            return
        self._started = True
        gc.freeze()  # the screen, its widgets and styles are long-lived too
        gc.enable()  # (rnntui.cli.main starts the app with it off)
        self._start_scenario_work()

    def _start_scenario_work(self) -> None:
        """What a new scenario needs beyond its first picture, in the background: the loss of
        the initial weights, and training (on open, or up to the epoch a position asks for)."""
        view = self._view
        if view.loss_pending:
            self.jobs.initial_loss(view.scenario, view.history)
        epochs = self._open_epochs(view.scenario, self._wanted_epoch)
        if epochs > 0 and view.trained_epochs == 0 and view.training is not None:
            # (the first View says "training" from the start; a reset before the first
            # frame took that back, and with it this run)
            self.start_training(epochs)
        else:  # nothing to train (or the cache had it): the epoch is as it is
            self._wanted_epoch = None
            if view.training is not None:
                self.view = view.with_training(None)
            if self._pending_gen is not None:
                self._make_pending_gen()
                self.view = self._view

    # -- positions -----------------------------------------------------------------------------
    def _go_to(self, pos: Position) -> None:
        """Move to ``pos`` within this scenario: the typed text, knob, phase and t at once; an
        epoch not trained yet once training reaches it (training is started for it)."""
        self._pending_gen = None
        # (a window that cannot be had is a presenter's or a lesson's: --at is checked)
        view = view_at(self._view, pos, warn=lambda message: self.notify(
            visible(message), severity="error", markup=False, timeout=8))
        # An epoch (0 included) is shown once training on open (or up to it) has run; an
        # epoch not named is the last one trained.
        self._wanted_epoch = pos.epoch if pos.cells is None else None
        if pos.epoch is not None and pos.epoch <= view.trained_epochs:
            view = view.with_epoch(pos.epoch)
        self._view = view
        if pos.gen is not None:  # made again once the weights it names are there
            self._pending_gen = pos
            if view.training is None and (pos.epoch is None or pos.epoch <= view.trained_epochs):
                self._make_pending_gen()

    #: A position's generated sequence waiting for its weights (training on open).
    _pending_gen: Position | None = None

    def _make_pending_gen(self) -> None:
        """Make the generated sequence the last position asked for, with the weights now on
        screen, in a worker (an LSTM's longest text takes about a second); it is shown when
        it is done unless the weights or the sequence changed meanwhile (a reason on screen
        when it cannot be made)."""
        pos, self._pending_gen = self._pending_gen, None
        if pos is None or pos.gen is None:
            return
        base = self._view
        self.run_worker(lambda: self._generate_for(base, pos), thread=True,
                        name="generate-at", group="generate-at", exclusive=True)

    def _generate_for(self, base: View, pos: Position) -> None:
        """In the worker: the sequence ``pos`` names, made with ``base``'s weights."""
        from textual.worker import get_current_worker

        from engine.analysis import Cancelled
        from engine.types import ScenarioError

        from ..sequences import with_generated
        worker = get_current_worker()

        def stop() -> bool:
            return worker.is_cancelled or getattr(self.app, "quitting", False)
        try:
            made: View | str = with_generated(base, pos.gen, should_stop=stop)[0]
        except Cancelled:
            return
        except ScenarioError as err:
            made = err.message
        if not stop():
            self.app.call_from_thread(self._generated_for, base, pos, made)

    def _generated_for(self, base: View, pos: Position, made: "View | str") -> None:
        if isinstance(made, str):
            self.notify(visible(f"The generated sequence is not made: {made}"),
                        severity="error", markup=False, timeout=8)
            return
        view = self._view
        if view.history is not base.history or view.sequence is not base.sequence or \
                (view.epoch, view.knob) != (base.epoch, base.knob):
            return  # moved on meanwhile: the position asked for is gone
        self.view = with_made(view, made, pos)

    def apply_position(self, pos: Position) -> None:
        """Show ``pos`` within this scenario (a presenter's, on a follower), training on in the
        background when it names an epoch not trained yet."""
        self._go_to(pos)
        view = self._view
        wanted = self._wanted_epoch
        if view.training is None and self._started:
            self._wanted_epoch = None
            if wanted is not None and wanted > view.trained_epochs:
                self._wanted_epoch = wanted
                self.view = view
                self.start_training(wanted - view.trained_epochs)
                return
        self.view = view

    def action_join(self) -> None:
        line = getattr(self.classroom, "join_line", None)
        if line is None:
            self.notify("j shows the join string while presenting ('rnntui present').",
                        markup=False, timeout=4)
            return
        from .join import JoinScreen
        self.app.push_screen(JoinScreen(line))

    def action_poll(self) -> None:
        show = getattr(self.classroom, "show_poll", None)
        if show is None:
            self.notify("a shows the class's answers while presenting a lesson ('rnntui "
                        "present LESSON').", markup=False, timeout=4)
            return
        show()

    def action_follow(self) -> None:
        if self.classroom is None:
            self.notify("f follows a presenter again; this app follows none (see "
                        "'rnntui follow --help').", markup=False, timeout=5)
        else:
            self.classroom.reattach()

    def action_marker(self) -> None:
        """M: drop a marker in the recording (--record)."""
        if self.recorder is None:
            self.notify("M drops a marker in a recording; this app records none (see "
                        "--record FILE).", markup=False, timeout=5)
            return
        label = self.recorder.marker()
        self.notify(f"Recording: {label} dropped.", markup=False, timeout=3)

    def action_replay(self, what: str, arg: int = 0) -> None:
        """( ) J K * / : a replay's keys (rnntui.replay)."""
        if not hasattr(self.classroom, "replay"):
            self.notify("( ) J K * and / move through a replay: see 'rnntui replay "
                        "--help'.", markup=False, timeout=5)
            return
        self.classroom.replay(what, arg)

    # -- workers' answers ----------------------------------------------------------------------
    def on_trace_ready(self, msg: TraceReady) -> None:
        new = self.jobs.take(self._view, msg)
        if new is not None:
            self.view = new
        else:
            self.status.show(self._view)
            if msg.kind == "ahead" and self.draw_ahead:  # a neighbour's trace: its pictures
                self.set_timer(AHEAD_DELAY, lambda: self._settings_ahead(self._view))

    def on_loss_ready(self, msg: LossReady) -> None:
        view = self._view
        if msg.history is not view.history or not view.loss_pending:
            return  # training replaced the history meanwhile
        view = view.with_history(with_first_loss(msg.history, msg.loss), epoch=view.epoch)
        if view.training is not None:  # (training on open started before this loss was in)
            view = view.with_training(self._first_loss_in(view.training, view))
        self.view = view

    @staticmethod
    def _first_loss_in(training: Training, view: View) -> Training:
        """``training`` with the initial weights' loss, once it is known, where the run began
        without it (training on open starts while it is computed; the run's curve then starts
        with NaN, and an encoder-decoder's slow first epoch read "loss nan: the loss is not
        finite here")."""
        known = view.history.losses
        losses = training.losses
        if losses and math.isnan(losses[0]) and len(known) == 1 and math.isfinite(known[0]):
            return Training(training.epoch, training.last, (known[0], *losses[1:]))
        return training

    # -- training ------------------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        return self._view.training is not None

    def start_training(self, epochs: int | None = None) -> None:
        self.view = self._view.with_training(self.jobs.train(self._view, epochs))

    def on_train_progress(self, msg: TrainProgress) -> None:
        if msg.run == self.jobs.run and self._view.training is not None:
            self.view = self._view.with_training(self._first_loss_in(
                Training(msg.epoch, msg.last, msg.losses), self._view))

    def on_train_done(self, msg: TrainDone) -> None:
        view = self._view
        if msg.run != self.jobs.run or view.training is None:
            return  # a run that was dropped (reset, another scenario)
        view = view.with_training(None)
        if msg.error:
            self.notify(visible(msg.error), severity="error", timeout=8, markup=False)
        elif msg.history is not None:
            view = view.with_history(msg.history, epoch=self._wanted_epoch)
            self._wanted_epoch = None
            if self._pending_gen is not None:
                self._view = view
                self._make_pending_gen()
                view = self._view
            if msg.history.stopped:
                self.notify(f"Training {msg.history.stopped}.", markup=False,
                            severity="warning" if "request" not in msg.history.stopped
                            else "information")
        self.view = view

    def _cancel_work(self) -> None:
        self.jobs.cancel()
        self._wanted_epoch = None
        self._view = self._view.with_training(None)

    # -- playing -------------------------------------------------------------------------------
    def _set_playing(self, on: bool) -> None:
        if self._play_timer is not None:
            (self._play_timer.resume if on else self._play_timer.pause)()
        self.view = self._view.with_playing(on)

    def _tick(self) -> None:
        view = self._view
        if not view.at_end:
            view = view.moved(1)
        self.view = view.with_playing(not view.at_end)
        if view.at_end and self._play_timer is not None:
            self._play_timer.pause()

    # -- actions -------------------------------------------------------------------------------
    def action_step(self, direction: int) -> None:
        view = self._view
        if direction > 0 and view.at_end and not view.playing:
            # → at the end of a pass did nothing, silently (after b at t = 0 it looked broken)
            if self._end_said is not view:
                self._end_said = view
                where = f"The {'forward' if view.phase != BACKWARD else 'backward'} pass ends " \
                        f"at t={view.t}"
                then = "b runs it backward from here" if view.phase != BACKWARD else \
                    "← walks back, b returns to the forward pass"
                self.notify(f"{where}: {then}.", markup=False, timeout=4)
            return
        self.view = view.moved(direction)

    #: The View whose end of pass a → last said (once, not at every key repeat).
    _end_said: View | None = None

    def action_to_start(self) -> None:
        self.view = self._view.to_start()

    def action_to_end(self) -> None:
        self.view = self._view.to_end()

    def action_play(self) -> None:
        if getattr(self.classroom, "takes_space", False):  # a replay, attached: its own pause
            self.classroom.replay("pause")
            return
        view = self._view
        if view.playing:
            self._set_playing(False)
            return
        if view.at_end:
            self.view = view.to_start()
        self._set_playing(True)

    def action_phase(self) -> None:
        self.view = self._view.toggled_phase()

    def action_train(self) -> None:
        if self.is_training:
            self.jobs.stop_training()
            self.notify("Stopping training after this epoch…")
        else:
            self.start_training()

    def action_epoch(self, direction: int) -> None:
        self.view = self._view.scrubbed(direction)

    def action_epoch_end(self, last: int) -> None:
        view = self._view
        self.view = view.with_epoch(view.trained_epochs if last else 0)

    def action_example(self, direction: int) -> None:
        from ..sequences import carried_note, has_windows, step_window, window_title
        view = self._view
        if has_windows(view.scenario):  # a text file: its windows, held-out ones first
            new = step_window(view, direction)
            self.view = new
            self.notify(f"Now stepping through {window_title(new)}; {carried_note(new)}.",
                        markup=False, timeout=3)
            return
        if not view.scenario.train_sequences:
            return
        new = view.next_example(direction)
        self.view = new
        n = len(view.scenario.train_sequences)
        which = ("the scenario's own sequence" if new.example is None
                 else f"training sequence {new.example + 1} of {n}")
        self.notify(f"Now stepping through {which}.", markup=False, timeout=3)

    def _padded(self) -> bool:
        """True when the scenario has padded batches; else says so and returns False."""
        if self._view.scenario.train.pad:
            return True
        self.notify("This scenario trains one length per batch; pad = true under [train] "
                    "makes padded batches (try the built-in 'pads').", markup=False,
                    timeout=5)
        return False

    def action_next_batch(self) -> None:
        """Key B: the next training batch, stepped from its longest row."""
        from engine.batch import batch_indices, stepped_row
        if not self._padded():
            return
        view = self._view
        sc = view.scenario
        parts = batch_indices(sc.train_sequences, sc.train.batch_size, sc.train.sort)
        row = stepped_row(sc, view.example)
        here = next((j for j, part in enumerate(parts) if row in part), -1)
        part = parts[(here + 1) % len(parts)]
        longest = max(part, key=lambda i: len(sc.train_sequences[i]))
        self.view = view.with_example(longest)
        self.notify(f"Training batch {parts.index(part) + 1} of {len(parts)}: stepping its "
                    f"longest row, training sequence {longest + 1}.", markup=False, timeout=3)

    def action_mask(self) -> None:
        """Key u: the same scenario with the mask switched, keeping where you are; each
        setting's training is kept, so coming back to one is instant."""
        if not self._padded():
            return
        masked = not self._view.scenario.train.mask
        kept = self._switch_train(mask=masked)
        what = ("on: a pad step counts for nothing" if masked
                else "off: the pads go in, and each answer is read after them")
        self.notify(f"Mask {what}" + ("" if kept or self._view.training is None
                                      else "; training with it now…"),
                    markup=False, timeout=5)

    def action_sort(self) -> None:
        """Key s: the same scenario with its batches sorted by length or in file order."""
        from engine.batch import packing
        if not self._padded():
            return
        sc = self._view.scenario
        ordered = not sc.train.sort
        real, steps = packing(sc.train_sequences, sc.train.batch_size, ordered)
        kept = self._switch_train(sort=ordered)
        what = "sorted by length" if ordered else "in file order"
        self.notify(f"Batches {what}: an epoch runs {steps} steps for {real} real"
                    + ("" if kept or self._view.training is None else "; training that way now…"),
                    markup=False, timeout=5)

    def _switch_train(self, **change) -> bool:
        """The same scenario with ``change`` made to its [train] table, keeping where you
        are: the training of each setting is kept, and one trained before comes back at once
        (True); else the new setting trains."""
        from engine.scenario import with_batching
        view = self._view
        sc = view.scenario
        if view.training is None:
            self._by_train[(view.cell, sc.train.mask, sc.train.sort)] = view.history
        new_sc = with_batching(sc, **change)  # (the file's own [train] kept: positions say so)
        train = new_sc.train
        self._cancel_work()
        new = carried(self._first_view(new_sc, view.source), view)
        kept = self._by_train.get((view.cell, train.mask, train.sort))
        if kept is not None:
            self.view = new.with_training(None).with_history(kept)
        else:
            self.view = new
            self._start_scenario_work()
        return kept is not None

    def action_generate(self) -> None:
        """Key w: the generation dialog over the weights on screen (engine/generate.py)."""
        from .generate import GenerateScreen
        view = self._view
        sc = view.scenario
        from engine.kinds import generation
        if not generation(sc):
            self.notify(f"The network writes in text scenarios and forecasts series; "
                        f"'{visible(sc.name)}' is an {sc.kind} scenario.", severity="warning",
                        markup=False)
            return
        self.app.push_screen(GenerateScreen(view, cursor_blink=self.app.cursor_blink),
                             self._written)

    def _written(self, written) -> None:
        if written is None:
            return
        if self._play_timer is not None:
            self._play_timer.pause()
        self.view = (self._view.with_playing(False)
                     .with_sequence(written.sequence, written.text, written.origin)
                     .at(written.t))
        self.notify(visible(written.message), markup=False, timeout=8)

    def action_describe(self) -> None:
        from .about import AboutScreen
        self.app.push_screen(AboutScreen(self._view.scenario))

    #: Set by a first r while there are trained epochs: a second r confirms.
    _reset_armed = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action != "reset":
            self._reset_armed = False  # any other key disarms a pending reset
        return super().check_action(action, parameters)

    def action_reset(self) -> None:
        trained = self._view.trained_epochs
        if trained and not self._reset_armed:
            self._reset_armed = True
            self.notify(f"Press r again to throw away {trained} trained epochs and go back to "
                        "the initial weights; any other key keeps them.",
                        title="Reset?", severity="warning", timeout=6, markup=False)
            return
        self._reset_armed = False
        if self.is_training:
            self._cancel_work()
        self.view = self._view.with_history(untrained(self._view.scenario), epoch=0)
        self.app.clear_notifications()  # (the question "Press r again..." is answered)
        self.notify("Back to the initial weights (epoch 0).")

    def action_knob(self, clicks: int) -> None:
        self.view = self._view.with_knob(self._view.knob + clicks)

    def action_knob_reset(self) -> None:
        self.view = self._view.with_knob(0)

    def action_cell(self) -> None:
        """The next cell on the same data, keeping where you are (t, pass, knob, sequence);
        each cell's training is kept, so coming back to one is instant."""
        from engine.scenario import weights_note, with_cell
        view = self._view
        if view.training is None:
            self._trained[view.cell] = view.history
        nxt = cycle_after(view.cell)
        from engine.types import ScenarioError
        try:  # a gated cell does several times the vanilla one's work: checked again
            sc = with_cell(view.scenario, nxt)
        except ScenarioError as err:
            self.notify(visible(f"The {get_cell(nxt).title} is not opened: {err.message}"),
                        title="Over budget", severity="warning", markup=False, timeout=10)
            return
        self._cancel_work()
        new = carried(self._first_view(sc, view.source), view)
        kept = self._trained.get(nxt)
        if kept is not None:
            self.view = new.with_training(None).with_history(kept)
        else:
            self.view = new
            self._start_scenario_work()
        note = weights_note(sc)
        self.notify(f"Cell: {get_cell(nxt).long_title}"
                    + (f" ({note})" if note else "")
                    + ("" if kept is not None or self._view.training is None
                       else "; training it now…"),
                    markup=False, timeout=5)

    def action_attention(self) -> None:
        """An encoder-decoder's attention off, or back on (the scenario's own, else
        additive), keeping where you are; each one's training is kept while switching."""
        view = self._view
        if not is_seq2seq(view.scenario):
            self.notify("A switches attention in an encoder-decoder (reverse, translate); "
                        "this scenario has none.", markup=False, timeout=5)
            return
        from engine.seq2seq import with_attention
        now = view.scenario.model.attention
        own = (view.scenario.model.origin or view.scenario.model).attention
        nxt = "none" if now != "none" else (own if own != "none" else "additive")
        if view.training is None:
            self._trained[f"{view.cell}:{now}"] = view.history
        sc = with_attention(view.scenario, nxt)
        self._cancel_work()
        new = self._first_view(sc, view.source).with_phase(view.phase).at(view.t)
        kept = self._trained.get(f"{view.cell}:{nxt}")
        if kept is not None:
            self.view = new.with_training(None).with_history(kept)
        else:
            self.view = new
            self._start_scenario_work()
        self.notify(f"Attention: {nxt}" + ("" if kept is not None or self._view.training is None
                                           else "; training it now…"), markup=False, timeout=5)

    def action_compare(self, cells: tuple[str, str] | None = None, share: int = 100) -> None:
        """Two cells side by side on this scenario (default: this one and its partner, as the
        registry says: the LSTM beside the others, the vanilla RNN beside the LSTM), starting
        where you are."""
        view = self._view
        s2s = is_seq2seq(view.scenario)
        if s2s:  # one cell with attention and without (rnntui.screens.compare)
            cells = (view.cell, view.cell)
        elif cells is None:
            cells = compare_pair(view.cell)
        trained = dict(self._trained)
        if view.training is None and view.trained_epochs > 0:
            key = f"{view.cell}:{view.scenario.model.attention}" if s2s else view.cell
            trained[key] = view.history
        from engine.scenario import with_cell
        from engine.types import ScenarioError

        from .compare import CompareScreen
        try:
            for cell in cells:
                with_cell(view.scenario, cell)
        except ScenarioError as err:
            self.notify(visible(f"Compare mode is not opened: {err.message}"),
                        title="Over budget", severity="warning", markup=False, timeout=10)
            return
        self.app.push_screen(CompareScreen(view.scenario, cells, source=view.source,
                                           trained=trained, at=view, share=share),
                             self._compared)

    def _compared(self, trained) -> None:
        if trained:
            self._trained.update(trained)

    def action_grads(self) -> None:
        view = self._view
        self.view = view.with_grads("loss" if view.grads == "total" else "total")

    def action_pin_target(self) -> None:
        self.view = self._view.pin_toggled()
        if self.view.target is None:
            self.notify("τ follows the cursor again.")
        else:
            self.notify(f"Target step pinned at τ={self.view.t}: step elsewhere to see what "
                        f"reaches it.", markup=False)

    def action_maximize(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        pane = self.focused if isinstance(self.focused, Pane) else None
        if pane is None or isinstance(pane, SequencePane):  # (one line: not worth it)
            pane = self.query_one(StepPane)
            pane.focus()
        self.maximize(pane)

    def action_legend(self) -> None:
        """k: the focused pane's legend (what its signs mean) as a notice."""
        from .help import PANE_LEGENDS
        pane = self.focused if isinstance(self.focused, Pane) else None
        if pane is None:
            self.notify("Focus a pane first (Tab), then k tells what its signs mean.",
                        markup=False, timeout=4)
            return
        legend = PANE_LEGENDS.get(pane.id or "", "")
        self.notify(legend, title=f"{pane.TITLE}: signs", markup=False, timeout=12)

    def action_help(self) -> None:
        from .help import HelpScreen
        titles = {p.id: p.TITLE for p in self.panes if p.id}
        self.app.push_screen(HelpScreen(self.BINDINGS, titles,
                                        visible(str(self._view.position)),
                                        join=getattr(self.classroom, "join_line", "")))

    def action_open(self) -> None:
        from .picker import PickerScreen
        self.app.push_screen(PickerScreen(self._view.scenario.name,
                                          cursor_blink=self.app.cursor_blink),
                             self._opened)

    def _opened(self, opened) -> None:
        if opened is not None:
            self.use_scenario(opened.scenario, opened.source)

    def use_scenario(self, scenario: Scenario, source: str | None = None) -> None:
        """Switch to another scenario: a fresh View, trained on open if it says so."""
        self._cancel_work()
        if self._play_timer is not None:
            self._play_timer.pause()
        self.jobs.trace_seconds = 0.0
        self._trained = {}
        self.app.title = f"rnntui: {visible(scenario.name)}"
        self.view = self._first_view(scenario, source)
        self._start_scenario_work()

    def action_type_text(self) -> None:
        from .text_input import TextInputScreen
        sc = self._view.scenario
        from engine.kinds import get_kind, typing_kinds
        if not get_kind(sc.kind).takes_text and not is_seq2seq(sc):
            kinds = typing_kinds().replace(" and ", ", ")
            self.notify(f"Typing your own input works for {kinds} and encoder-decoder "
                        f"scenarios; '{visible(sc.name)}' is a {sc.kind} scenario.",
                        severity="warning", markup=False)
            return
        self.app.push_screen(TextInputScreen(sc, cursor_blink=self.app.cursor_blink),
                             self._typed)

    def _typed(self, typed) -> None:
        if typed is not None:
            if self._play_timer is not None:
                self._play_timer.pause()
            self.view = self._view.with_playing(False).with_sequence(typed.sequence, typed.text)

    def action_export(self) -> None:
        from ..export import export_view
        view = self._view
        if view.needs_trace:  # never compute a big trace in the UI thread
            self.notify("The trace for this setting is still being computed; press e again "
                        "when the panes have updated.", title="Not exported yet", timeout=6)
            return
        svg = self.app.export_screenshot(title=self.app.title)
        if in_browser():  # a browser tab: its files go to the browser, never onto the server
            self._deliver(view, svg)
            return
        ok, message = export_view(view, svg, self.app.export_dir)
        self.notify(visible(message), title="Exported" if ok else "Export failed", markup=False,
                    severity="information" if ok else "error", timeout=6 if ok else 8)

    def _deliver(self, view, svg: str) -> None:
        """``e`` in a browser tab (rnntui serve): the SVG and JSON as the browser's downloads."""
        import io

        from ..export import export_files
        stem, files, note = export_files(view, svg)
        for suffix, text in files.items():
            self.app.deliver_text(io.StringIO(text), save_filename=stem + suffix,
                                  open_method="download", encoding="utf-8")
        names = " and ".join(stem + suffix for suffix in files)
        self.notify(visible(f"Sent {names} to your browser as downloads{note}"),
                    title="Exported", markup=False, timeout=6)

    # -- lessons (rnntui.lessons.session does the work; the keys: LessonKeys) ---------------
    def on_lesson_quantities(self, _msg) -> None:
        if self._lessons is not None:
            self._lessons.computed()  # (the lesson's worker computed what a step waited for)

    def on_screen_suspend(self) -> None:
        if self._lessons is not None:  # (no lesson was ever asked for: nothing to do)
            self._lessons.suspended()

    def on_screen_resume(self) -> None:
        if self._lessons is not None:
            self._lessons.resumed()

    async def action_quit(self) -> None:
        self.app.quitting = True  # type: ignore[attr-defined]
        self._cancel_work()
        self.app.exit(0)
