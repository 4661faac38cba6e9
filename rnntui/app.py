"""The rnntui App: a screen of panes over a Session, its keys, and the workers that train and trace.

:func:`make_app` is the one factory the command line, the screenshot renderer and the tests use.
Every key only moves the Session's cursor or asks for work; after each change :meth:`RnnApp.
refresh_view` tells every pane to ``sync()`` and rewrites the status line. Training and big trace
computations run in thread workers that check for cancellation, so keys never wait and quitting
is prompt; a trace that arrives for a setting the user has already left is dropped.
"""

from __future__ import annotations

import gc
import json
import os
import time
from pathlib import Path

from textual import work
from textual.app import App
from textual.filter import Monochrome, NoColor
from textual.message import Message
from textual.reactive import Reactive
from textual.screen import Screen
from textual.worker import get_current_worker

from engine.analysis import Cancelled
from engine.types import Scenario, ScenarioError

from .keys import BINDINGS
from .main_screen import MainScreen
from .session import Session, TraceKey
from .widgets import Pane, StepPane

#: The theme: Textual's ANSI theme uses the terminal's own 16 colours, so it reads the same in a
#: 16-colour console, over SSH with 256 colours and in truecolor, on dark and light terminals.
DEFAULT_THEME = "ansi-dark"
#: Traces with more cells than this (T x hidden units) are computed in a worker thread.
BIG_TRACE = 20_000
#: A trace that took longer than this (seconds) sends the next ones to a worker too.
SLOW_TRACE = 0.05
#: Steps per second while playing.
PLAY_RATE = 4.0
#: Epochs that `t` trains when the scenario itself asks for none.
FALLBACK_EPOCHS = 100
#: Seconds between a screen update and drawing the neighbouring steps ahead (RnnApp._draw_ahead).
AHEAD_DELAY = 0.02
#: Seconds after mounting that training on open starts at the latest (it usually starts as soon
#: as the first full frame is out).
FIRST_FRAME_WAIT = 1.0
#: Below this many columns x rows the app shows a "too small" message instead of its panes.
MIN_SIZE = (60, 20)


class TrainProgress(Message):
    """Training run ``run`` finished an epoch (posted at most ~10 times a second)."""

    def __init__(self, run: int, epoch: int, last: int, loss: float) -> None:
        super().__init__()
        self.run, self.epoch, self.last, self.loss = run, epoch, last, loss


class TrainDone(Message):
    """Training run ``run`` finished, was stopped on request, or failed (``error``)."""

    def __init__(self, run: int, history, error: str | None = None) -> None:
        super().__init__()
        self.run, self.history, self.error = run, history, error


class LossReady(Message):
    """The loss of ``history``'s initial weights, computed in a worker."""

    def __init__(self, session: Session, history, loss: float) -> None:
        super().__init__()
        self.session, self.history, self.loss = session, history, loss


class TraceReady(Message):
    """A trace computed in a worker for ``key`` (or the exception that stopped it)."""

    def __init__(self, session: Session, key: TraceKey, trace) -> None:
        super().__init__()
        self.session, self.key, self.trace = session, key, trace


class RnnApp(App):
    """Step through a recurrent network: forward, backward and across training epochs."""

    CSS_PATH = "app.tcss"
    TITLE = "rnntui"
    ALLOW_IN_MAXIMIZED_VIEW = "Footer, #status"
    BINDINGS = BINDINGS
    #: Textual's own default theme is textual-dark; starting in ours (rather than setting it in
    #: __init__) spares a second parse of every stylesheet at start-up (~10 ms).
    theme: Reactive[str] = Reactive(DEFAULT_THEME)

    def __init__(self, scenario: Scenario, *, theme: str | None = None, train: bool = True,
                 export_dir: str | os.PathLike | None = None, cursor_blink: bool = True,
                 play_rate: float = PLAY_RATE, big_trace: int = BIG_TRACE,
                 draw_ahead: bool = True) -> None:
        # Everything imported so far (Textual, NumPy, the engine: ~50,000 objects) lives as long
        # as the app: freeze it out of the garbage collector's full scans, which otherwise take
        # 20-40 ms each, once during start-up and now and then later, in the middle of a step.
        gc.freeze()
        super().__init__()
        wanted = theme or os.environ.get("TEXTUAL_THEME") or DEFAULT_THEME
        if wanted != self.theme and wanted in self.available_themes:
            self.theme = wanted
        if self.no_color:
            # Textual chose its NO_COLOR filter for its own default theme before ours was set;
            # its greyscale filter turns an ANSI theme's colours into black on black. Plain
            # "no colour" keeps the terminal's own foreground and background, and bold/reverse.
            self._filters[:] = [f for f in self._filters
                                if not isinstance(f, (Monochrome, NoColor))] + [NoColor()]
        self.session = Session(scenario, evaluate_loss=False)  # see _start_session_work
        self.train_on_open = train
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.cursor_blink = cursor_blink
        self.play_rate = play_rate
        self.big_trace = big_trace
        self.draw_ahead = draw_ahead
        self.training: tuple[int, int, float] | None = None  # (epoch, last, loss) while running
        self._stop_training = False
        self._train_run = 0  # numbers training runs; messages from older runs are ignored
        self._last_progress = 0.0
        self._pending_key: TraceKey | None = None
        self._trace_seconds = 0.0  # how long the last trace computed here took
        self._play_timer = None
        self._playing = False
        self._started = False  # the work that waits for the first full frame has started
        self._ahead_pending = False  # _draw_ahead is scheduled
        self.title = f"rnntui: {scenario.name}"

    # -- screen and size -----------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        return MainScreen(id="main")

    @property
    def main_screen(self) -> MainScreen:
        return self.screen_stack[0]  # type: ignore[return-value]

    @property
    def panes(self) -> list[Pane]:
        return self.main_screen.panes

    def check_size(self, size) -> None:
        """Show the too-small message below MIN_SIZE; take it away when there is room again."""
        from .screens import TooSmallScreen
        small = size.width < MIN_SIZE[0] or size.height < MIN_SIZE[1]
        showing = isinstance(self.screen, TooSmallScreen)
        if small and not showing:
            self.push_screen(TooSmallScreen(size))
        elif small:
            self.screen.show_size(size)  # type: ignore[attr-defined]
        elif showing:
            self.pop_screen()

    def on_mount(self) -> None:
        self._play_timer = self.set_interval(1 / self.play_rate, self._tick, pause=True)
        self.refresh_view()
        # Work that would delay the first full frame starts once it is out (training shares the
        # interpreter with the UI): when the key hints are in place, or after a second at most.
        self.set_timer(FIRST_FRAME_WAIT, self._after_first_frame)

    def on_key_footer_ready(self) -> None:
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        if self._started:
            return
        self._started = True
        gc.freeze()  # the screen, its widgets and styles are long-lived too
        self._start_session_work()

    def _start_session_work(self) -> None:
        """What a new session needs beyond its first picture, in the background: the loss of
        the initial weights (one forward pass over the training set), and training on open."""
        s = self.session
        if s.loss_pending:
            self._loss_worker(s, s.history)
        if self.train_on_open and s.scenario.train.epochs > 0:
            self.start_training()

    @work(thread=True, exclusive=True, group="loss", exit_on_error=False)
    def _loss_worker(self, session: Session, history) -> None:
        try:
            loss = session.initial_loss(history)
        except Exception:  # a numerical failure: shown as nan, like a diverged loss
            loss = float("nan")
        if not get_current_worker().is_cancelled:
            self.post_message(LossReady(session, history, loss))

    def on_loss_ready(self, msg: LossReady) -> None:
        if msg.session is self.session and msg.session.set_initial_loss(msg.history, msg.loss):
            self.refresh_view()

    # -- the one place every change goes through ------------------------------------------------
    def refresh_view(self) -> None:
        """After any change to the session: get the right trace, sync the panes and status."""
        self._request_trace()
        for pane in self.panes:
            pane.sync()
        self._show_status()
        if self.draw_ahead and not self._ahead_pending:
            self._ahead_pending = True
            # Once the screen is updated, and a moment later, when its output is written (the
            # writer thread needs the interpreter too): draw the neighbouring steps ahead.
            self.call_after_refresh(self.set_timer, AHEAD_DELAY, self._draw_ahead)

    def _draw_ahead(self) -> None:
        """Once the screen is up to date: draw the panes for one step on and one step back (only
        on while playing), the keys most often pressed next, so that pressing them only shows
        pictures that are ready. Other keys draw as usual."""
        self._ahead_pending = False
        s = self.session
        if s.trace is None or s.needs_trace or self.screen is not self.main_screen:
            return
        for direction in (1,) if self._playing else (1, -1):
            with s.stepped(direction) as moved:
                if moved:
                    for pane in self.panes:
                        pane.draw_ahead()

    def _show_status(self) -> None:
        status = self.main_screen.status
        if status is not None:
            status.show(self)

    # -- traces --------------------------------------------------------------------------------
    def _request_trace(self) -> None:
        """Compute the wanted trace: here when it is small and quick; else in a worker, whose
        result is used only if it is still the one wanted when it arrives. Until the first trace
        of a big scenario arrives, the panes that need it say "computing…"."""
        s = self.session
        if not s.needs_trace and s.trace is not None:
            return
        key = s.wanted_key()
        small = s.T * s.scenario.model.hidden_size <= self.big_trace
        if small and self._trace_seconds < SLOW_TRACE:
            self._pending_key = None
            started = time.perf_counter()
            try:
                s.install_trace(*s.compute_trace(key))
            except Exception as err:  # keep the old picture rather than crash
                self._trace_failed(err)
            self._trace_seconds = time.perf_counter() - started
        elif key != self._pending_key:
            self._pending_key = key
            self._trace_worker(s, key)

    def _trace_failed(self, err: Exception) -> None:
        self.notify(f"Could not compute the trace: {err}", severity="error", timeout=8)

    @work(thread=True, exclusive=True, group="trace", exit_on_error=False)
    def _trace_worker(self, session: Session, key: TraceKey) -> None:
        worker = get_current_worker()
        try:  # polls the worker so that quitting never waits for a long trace
            key, trace = session.compute_trace(key, should_stop=lambda: worker.is_cancelled)
        except Cancelled:
            return
        except Exception as err:
            trace = err
        if not worker.is_cancelled:
            self.post_message(TraceReady(session, key, trace))

    def on_trace_ready(self, msg: TraceReady) -> None:
        if msg.session is not self.session or msg.key != self._pending_key:
            return  # from a scenario or a setting the user has left
        self._pending_key = None
        if isinstance(msg.trace, Exception):
            self._trace_failed(msg.trace)
            self._show_status()
        elif self.session.install_trace(msg.key, msg.trace):
            self.refresh_view()

    # -- training ------------------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        return self.training is not None

    def start_training(self, epochs: int | None = None) -> None:
        s = self.session
        n = epochs or s.scenario.train.epochs or FALLBACK_EPOCHS
        self._stop_training = False
        self._train_run += 1
        self.training = (s.trained_epochs, s.trained_epochs + n, s.history.losses[-1])
        self._train_worker(s, n, self._train_run)
        self._show_status()

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _train_worker(self, session: Session, epochs: int, run: int) -> None:
        worker = get_current_worker()
        last = session.trained_epochs + epochs

        def progress(epoch: int, loss: float) -> bool:
            if worker.is_cancelled or run != self._train_run:
                return False  # quitting, reset, another scenario or another run
            if self._stop_training:
                return False  # t again: stop here, keep what was learned
            now = time.monotonic()
            if now - self._last_progress > 0.1 or epoch == last:
                self._last_progress = now
                self.post_message(TrainProgress(run, epoch, last, loss))
            return True

        try:
            history = session.train(epochs, progress=progress)
        except Exception as err:  # a numerical failure must not take the app down
            self.post_message(TrainDone(run, None, f"training failed: {err}"))
            return
        if not worker.is_cancelled:
            self.post_message(TrainDone(run, history))

    def on_train_progress(self, msg: TrainProgress) -> None:
        if msg.run == self._train_run and self.training is not None:
            self.training = (msg.epoch, msg.last, msg.loss)
            self._show_status()

    def on_train_done(self, msg: TrainDone) -> None:
        if msg.run != self._train_run or self.training is None:
            return  # a run that was dropped (reset, another scenario)
        self.training = None
        if msg.error:
            self.notify(msg.error, severity="error", timeout=8)
        elif msg.history is not None:
            self.session.set_history(msg.history)
            if msg.history.stopped:
                self.notify(f"Training {msg.history.stopped}.",
                            severity="warning" if "request" not in msg.history.stopped
                            else "information")
        self.refresh_view()

    def stop_training(self) -> None:
        """Ask a running training worker to stop after its current epoch (its result is kept)."""
        self._stop_training = True

    def cancel_work(self) -> None:
        """Drop all running work (its results will be ignored)."""
        self._train_run += 1
        self.workers.cancel_group(self, "train")
        self.workers.cancel_group(self, "trace")
        self.workers.cancel_group(self, "loss")
        self.training = None
        self._pending_key = None

    # -- playing -------------------------------------------------------------------------------
    @property
    def is_playing(self) -> bool:
        return self._playing

    def _set_playing(self, on: bool) -> None:
        self._playing = on
        if self._play_timer is not None:
            (self._play_timer.resume if on else self._play_timer.pause)()
        self._show_status()

    def _tick(self) -> None:
        s = self.session
        if s.at_end:
            self._set_playing(False)
            return
        s.step(1)
        self.refresh_view()
        if s.at_end:
            self._set_playing(False)

    # -- actions -------------------------------------------------------------------------------
    def action_step(self, direction: int) -> None:
        self.session.step(direction)
        self.refresh_view()

    def action_to_start(self) -> None:
        self.session.to_start()
        self.refresh_view()

    def action_to_end(self) -> None:
        self.session.to_end()
        self.refresh_view()

    def action_play(self) -> None:
        if self._playing:
            self._set_playing(False)
            return
        if self.session.at_end:
            self.session.to_start()
            self.refresh_view()
        self._set_playing(True)

    def action_phase(self) -> None:
        self.session.toggle_phase()
        self.refresh_view()

    def action_train(self) -> None:
        if self.is_training:
            self.stop_training()
            self.notify("Stopping training after this epoch…")
        else:
            self.start_training()

    def action_epoch(self, direction: int) -> None:
        self.session.scrub(direction)
        self.refresh_view()

    def action_reset(self) -> None:
        if self.is_training:
            self.cancel_work()
        self.session.reset_training()
        self.refresh_view()
        self.notify("Back to the initial weights (epoch 0).")

    def action_knob(self, clicks: int) -> None:
        self.session.turn_knob(clicks)
        self.refresh_view()

    def action_knob_reset(self) -> None:
        self.session.reset_knob()
        self.refresh_view()

    def action_maximize(self) -> None:
        screen = self.main_screen
        if screen.maximized is not None:
            screen.minimize()
            return
        pane = screen.focused if isinstance(screen.focused, Pane) else None
        if pane is None:
            pane = screen.query_one(StepPane)
            pane.focus()
        screen.maximize(pane)

    def action_help(self) -> None:
        from .screens import HelpScreen
        self.push_screen(HelpScreen())

    def action_open(self) -> None:
        from .screens import PickerScreen
        self.push_screen(PickerScreen(self.session.scenario.name), self._opened)

    def _opened(self, scenario: Scenario | None) -> None:
        if scenario is not None:
            self.use_scenario(scenario)

    def use_scenario(self, scenario: Scenario) -> None:
        """Switch to another scenario: a fresh Session, trained on open if it says so."""
        self.cancel_work()
        self._set_playing(False)
        self.session = Session(scenario, evaluate_loss=False)
        self._trace_seconds = 0.0
        self.title = f"rnntui: {scenario.name}"
        self.refresh_view()
        self._start_session_work()

    def action_type_text(self) -> None:
        from .screens import TextInputScreen
        sc = self.session.scenario
        if sc.kind != "text":
            self.notify(f"Typing your own input works for text scenarios; '{sc.name}' is a "
                        f"{sc.kind} scenario.", severity="warning")
            return
        self.push_screen(TextInputScreen(sc), self._typed)

    def _typed(self, sequence) -> None:
        if sequence is not None:
            self._set_playing(False)
            self.session.set_sequence(sequence)
            self.refresh_view()

    def action_export(self) -> None:
        from .export import export_stem, write_file_set
        s = self.session
        if s.needs_trace or s.trace is None:  # never compute a big trace in the UI thread
            self.notify("The trace for this setting is still being computed; press e again "
                        "when the panes have updated.", title="Not exported yet", timeout=6)
            return
        folder = self.export_dir or Path.cwd()
        files: dict[str, str] = {".svg": self.export_screenshot(title=self.title)}
        note = ""
        try:
            from .tracejson import trace_to_json
            files[".json"] = json.dumps(trace_to_json(s), indent=1, allow_nan=False) + "\n"
        except ImportError:
            note = " (no JSON: the trace exporter is not available)"
        except Exception as err:  # never lose the picture because of the numbers
            note = f" (no JSON: {err})"
        try:
            paths = write_file_set(folder, export_stem(s.scenario.name, s.epoch, s.t), files)
        except OSError as err:
            reason = err.strerror or str(err)
            self.notify(f"Could not save in {folder}: {reason}. Nothing was overwritten.",
                        title="Export failed", severity="error", timeout=8)
            return
        names = " and ".join(p.name for p in paths)
        self.notify(f"Saved {names} in {folder}{note}", title="Exported", timeout=6)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Below the minimum size only quitting works: no dialog opens over the message."""
        from .screens import TooSmallScreen
        if isinstance(self.screen, TooSmallScreen) and action not in ("quit", "app.quit"):
            return False
        return super().check_action(action, parameters)

    async def action_quit(self) -> None:
        self.cancel_work()
        self.exit(0)


def load_scenario(scenario: str | os.PathLike | Scenario) -> Scenario:
    """A Scenario from a built-in name or a .toml path (raises ScenarioError), or as given."""
    if isinstance(scenario, Scenario):
        return scenario
    from engine.scenario import load
    return load(str(scenario))


def make_app(scenario: str | os.PathLike | Scenario = "king", **options) -> RnnApp:
    """The app for ``scenario`` (a built-in name, a .toml path or a Scenario).

    Options: ``theme`` (a Textual theme name; default ``$TEXTUAL_THEME`` if that names one,
    else ``ansi-dark``), ``train`` (train on open when the scenario has ``[train] epochs > 0``;
    default True), ``export_dir`` (default: the current folder), ``cursor_blink`` (False for
    snapshots), ``play_rate`` (steps per second), ``big_trace`` (T x hidden size above which
    traces are computed in a worker), ``draw_ahead`` (draw the panes one step on and back while
    idle; default True).
    Raises :class:`ScenarioError` when the scenario cannot be loaded.
    """
    return RnnApp(load_scenario(scenario), **options)


__all__ = ["DEFAULT_THEME", "MIN_SIZE", "RnnApp", "ScenarioError", "make_app"]
