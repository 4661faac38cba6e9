"""Helpers the tests share: quiet apps, Views built with no App, a cursor over Views, text of panes.

Kept apart from conftest.py (which only holds fixtures), and imported as ``from helpers import``.
"""

from __future__ import annotations

import asyncio
import io
import time
from functools import lru_cache

from rich.cells import cell_len
from rich.console import Console

from engine import History, Scenario, fit, initial_params
from engine.scenario import load
from engine.train import dataset_loss
from rnntui import cache as _cache
from rnntui.jobs import compute_trace
from rnntui.screenshot import busy as _product_busy
from rnntui.screenshot import settle as _product_settle
from rnntui.view import FORWARD, View

#: Snapshots and Pilot tests use this theme whatever the app's default becomes.
TEST_THEME = "ansi-dark"


def assert_batch_is_its_rows(bp, singles, tol: float = 1e-12):
    """A masked batch's loss and gradient (``bp`` from engine.batch.run_batch) are the single
    runs' (``singles``, one pass per row with its own mask) weighted by their target counts,
    and nothing flows back from a pad step (dL/dh exactly 0 there)."""
    import numpy as np
    counts = [int(s.mask.sum()) for s in bp.batch.sequences]
    n = sum(counts)
    assert abs(bp.loss - sum(one.loss * m for one, m in zip(singles, counts)) / n) <= tol
    for k, ours in enumerate(bp.grads.arrays()):
        want = sum(one.grads.arrays()[k] * (m / n) for one, m in zip(singles, counts))
        assert np.abs(ours - want).max() <= tol
    assert not bp.dh[~bp.batch.real].any()


def central_differences(arr, loss, eps: float = 1e-6):
    """d loss() / d arr by central differences, one entry at a time (``arr`` is nudged in
    place and put back)."""
    import numpy as np
    num = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        up = loss()
        arr[idx] = old - eps
        down = loss()
        arr[idx] = old
        num[idx] = (up - down) / (2 * eps)
    return num


def quiet_app(scenario="king", **options):
    """An app with no blinking cursor, no animation and a fixed theme."""
    from rnntui.app import make_app
    options.setdefault("cursor_blink", False)
    options.setdefault("theme", TEST_THEME)
    app = make_app(scenario, **options)
    app.animation_level = "none"
    return app


# ---------------------------------------------------------------------------------------------
# Views with no App


def traced(view: View) -> View:
    """``view`` with the trace it wants, computed here."""
    return view if not view.needs_trace else view.with_trace(*compute_trace(view))


def untrained_history(scenario: Scenario) -> History:
    p0 = initial_params(scenario)
    return History(losses=[dataset_loss(p0, scenario)], epochs=[0], weights=[p0])


#: Runs trained by :func:`trained_run`, by training-cache key.
_RUNS: dict[str, History | None] = {}

#: A folder the whole test run shares (tests/conftest.py makes it in the first process, before
#: the xdist workers start, and they inherit it): a run one worker trained is read there by
#: the others, in the training cache's own format (rnntui/cache.py), instead of being trained
#: again in each of them.
SHARED_RUNS_ENV = "RNNTUI_TEST_RUNS"
#: The cache's own reading and writing, taken before any test replaces them (a ``warm_cache``
#: test's load calls trained_run; a test of a failing disk replaces store).
_CACHE_LOAD, _CACHE_STORE = _cache.load, _cache.store


def trained_run(scenario: Scenario, epochs: int | None = None) -> History | None:
    """``scenario`` trained ``epochs`` (default: its own) from its initial weights by ``fit``,
    once per test run for every test that asks (keyed as the training cache keys runs:
    rnntui.cache.key_for; see SHARED_RUNS_ENV). Read only: fit copies a history it continues.
    None when training raises (or the scenario cannot be keyed: then it is trained each time)."""
    from rnntui.cache import key_for
    n = scenario.train.epochs if epochs is None else int(epochs)
    key = key_for(scenario, n)
    if key is None:
        return fit(scenario, n)
    if key not in _RUNS:
        try:
            _RUNS[key] = _shared_run(scenario, n, key)
        except Exception:  # noqa: BLE001 - the caller trains it again and meets the error
            _RUNS[key] = None
    return _RUNS[key]


def _shared_run(scenario: Scenario, n: int, key: str) -> History:
    """``fit(scenario, n)``, or the same run as another test process trained it and wrote it to
    the shared folder (bit for bit: the cache's round trip is exact, test_cache.py). A lock per
    run: a second process asking while the first trains waits for it rather than training too."""
    import fcntl
    import os
    from pathlib import Path

    folder = os.environ.get(SHARED_RUNS_ENV, "")
    if not folder or not _cache.enabled():
        return fit(scenario, n)
    with open(Path(folder) / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        history = _CACHE_LOAD(scenario, n, folder=Path(folder))
        if history is None:
            history = fit(scenario, n)
            try:  # (refuses a run stopped early: it is not shared, each process trains it)
                _CACHE_STORE(scenario, history, n, folder=Path(folder))
            except Exception:  # noqa: BLE001 - e.g. a test's bad RNNTUI_CACHE_MAX: not shared
                pass
    return history


@lru_cache(maxsize=None)
def trained_history(name: str) -> History:
    """A built-in (or file) scenario trained as it says, once per test process (fit copies the
    history it continues, so sharing it is safe)."""
    sc = load(name)
    history = trained_run(sc)
    return history if history is not None else fit(sc)  # (raises what training raised)


def make_view(scenario: str | Scenario, *, train: bool = False, t: int = 0,
              phase: str = FORWARD) -> View:
    """A View of a scenario (a name or a Scenario), trained as it says if ``train``, with its
    trace, at step ``t`` (clamped) of ``phase``. A scenario named is trained once per process."""
    sc = load(scenario) if isinstance(scenario, str) else scenario
    if train and sc.train.epochs > 0:
        history = trained_history(scenario) if isinstance(scenario, str) else fit(sc)
    else:
        history = untrained_history(sc)
    view = View.open(sc, history).with_history(history)
    return traced(view).at(t).with_phase(phase)


class Nav:
    """A cursor over Views for tests written as moves: reads come from the current View
    (``nav.t``, ``nav.trace``, ...); each move makes a new View and shows it, on the app's main
    screen when there is one (``Nav(app=app)``), else here with its trace computed at once."""

    def __init__(self, view: View | None = None, *, app=None) -> None:
        object.__setattr__(self, "_app", app)
        object.__setattr__(self, "_view", view)

    @property
    def view(self) -> View:
        return self._app.view if self._app is not None else self._view

    def show(self, view: View) -> None:
        if self._app is not None:
            self._app.main_screen.view = view
        else:
            object.__setattr__(self, "_view", traced(view))

    def __getattr__(self, name: str):
        return getattr(self.view, name)

    def __setattr__(self, name: str, value) -> None:
        if name == "trace":  # a hand-made trace, shown as the one for the current setting
            v = self.view
            self.show(v.with_trace(v.wanted_key, value))
        else:
            raise AttributeError(f"a Nav has no settable {name!r}: make a new View")

    # the moves
    def goto(self, t: int) -> None:
        self.show(self.view.at(t))

    def step(self, direction: int = 1) -> None:
        self.show(self.view.moved(direction))

    def set_phase(self, phase: str) -> None:
        self.show(self.view.with_phase(phase))

    def set_epoch(self, epoch: int) -> None:
        self.show(self.view.with_epoch(epoch))

    def turn_knob(self, clicks: int) -> None:
        self.show(self.view.with_knob(self.view.knob + clicks))

    def reset_knob(self) -> None:
        self.show(self.view.with_knob(0))

    def set_history(self, history: History, *, epoch: int | None = None) -> None:
        self.show(self.view.with_history(history, epoch=epoch))

    def set_sequence(self, sequence, text: str | None = None) -> None:
        self.show(self.view.with_sequence(sequence, text))

    def ensure_trace(self):
        if self.view.needs_trace:
            self.show(traced(self.view))
        return self.view.trace

    def train(self, epochs: int | None = None) -> History:
        v = self.view
        return fit(v.scenario, epochs, history=v.history if v.trained_epochs else None)


# ---------------------------------------------------------------------------------------------
# text


def render_text(renderable, width: int) -> str:
    """What a Rich renderable looks like as plain text at ``width`` columns."""
    console = Console(width=max(width, 1), file=io.StringIO(), color_system=None,
                      legacy_windows=False, force_terminal=False)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def pane_text(pane) -> str:
    """The text a pane shows now (its drawing at its current content size)."""
    return render_text(pane.render(), pane.content_size.width)


def static_text(widget) -> str:
    """The plain text of a Static (whatever it was given: a str, Text, or a Rich table)."""
    content = widget.content
    if isinstance(content, str):
        return content
    return render_text(content, max(widget.content_size.width, 40))


def draw_pane(view: View, pane_cls, width: int, height: int) -> str:
    """A pane's picture of ``view`` as plain text, drawn with no App (checked to fit)."""
    pane = pane_cls()
    if width <= 0 or height <= 0:
        return ""
    if pane.NEEDS_TRACE and view.trace is None:
        return ""
    if view.trace is not None and not pane_cls.draws(view.trace):
        return ""  # (the main screen hides it on this model: an encoder-decoder's, or not)
    text = render_text(pane.draw(view.reading(pane.READS, pane_cls.__name__), width, height),
                       width).rstrip("\n")
    check_fits(text, width, height)
    return text


def check_fits(text: str, width: int, height: int) -> None:
    lines = text.split("\n") if text else []
    assert len(lines) <= max(height, 1), (len(lines), height, text)
    for line in lines:
        assert cell_len(line) <= width, (cell_len(line), width, line)


# ---------------------------------------------------------------------------------------------
# a running app: waiting for the state a test asserts, never for time

#: Rounds of (let the app handle what is queued, look again) before ``settle`` gives up. Each
#: round lasts as long as the machine needs, so only an app that never settles reaches it.
SETTLE_ROUNDS = 15_000  # (at least 30 s of POLL)
#: How long one round lets worker threads run (polling, not a deadline). Each settle waits at
#: least two of them: 2 ms rather than 10 took 8% off the app tests' time.
POLL = 0.002


# What the app is still doing in the background: the product's own answer (rnntui screenshot
# waits on it too), so the tests and the renderer agree on when the screen is done.
busy = _product_busy


async def settle(pilot, rounds: int = SETTLE_ROUNDS) -> None:
    """rnntui.screenshot.settle, polling every POLL, raising AssertionError if the app is still
    busy after ``rounds`` rounds."""
    await _product_settle(pilot, poll=POLL, rounds=rounds, strict=True)


async def press_and_settle(pilot, keys) -> None:
    """Press each key in turn, letting the work it starts finish before the next."""
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def wait_until(pilot, condition, what: str, rounds: int = SETTLE_ROUNDS) -> None:
    """Let the app run until ``condition()`` holds (polled, with a generous round limit)."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(POLL)
    raise AssertionError(f"never happened: {what}")


def status(app) -> str:
    """The main screen's status line as plain text."""
    return static_text(app.main_screen.query_one("#status"))


def pane_texts(app) -> dict[str, str]:
    """Every pane's text, by pane id."""
    return {p.id: pane_text(p) for p in app.main_screen.panes}


# ---------------------------------------------------------------------------------------------
# one pane, mounted


def pane_app(pane_cls, view: View | None = None):
    """A tiny App showing one ``pane_cls`` filling the screen, handed ``view`` once mounted."""
    from textual.app import App

    class PaneApp(App):
        CSS = "Screen { layout: vertical; }"

        def compose(self):
            yield pane_cls()

        def on_mount(self) -> None:
            if view is not None:
                self.query_one(pane_cls).show(view)

    return PaneApp()


async def shown(view: View, pane_cls, size=(80, 24)) -> tuple[str, object]:
    """Mount ``pane_cls`` alone at ``size``, hand it ``view`` (``pane.show``) and return (its
    text, checked to fit its content area, and the pane)."""
    app = pane_app(pane_cls, view)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        pane = app.query_one(pane_cls)
        w, h = pane.content_size.width, pane.content_size.height
        text = render_text(pane.render(), w).rstrip("\n")
        check_fits(text, w, h)
        return text, pane


async def until(cond, what: str, bound: float = 30.0) -> None:
    """Wait until ``cond()`` holds, giving the loop its turns; after ``bound`` seconds (a bound
    for a busy machine, never a measurement) an AssertionError naming ``what``."""
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > bound:
            raise AssertionError(f"still waiting after {bound:.0f} s for {what}")
        await asyncio.sleep(0.01)


# -- a lab's sweep without worker processes (lesson steps on the lab screen) ---------------
#: The stand-in's metric for (length, cell, seed) of the lab `memory`: the shares `rnntui lab
#: memory --json -` measured here (medians at length 20: 0.816 for rnn, 0.0154 for lstm).
METRIC = {(5, "rnn", 0): 0.0181, (5, "rnn", 1): 0.0381, (5, "lstm", 0): 0.0035,
          (5, "lstm", 1): 0.0041, (10, "rnn", 0): 0.1591, (10, "rnn", 1): 0.2,
          (10, "lstm", 0): 0.0102, (10, "lstm", 1): 0.0129, (20, "rnn", 0): 0.9176,
          (20, "rnn", 1): 0.7140, (20, "lstm", 0): 0.01437, (20, "lstm", 1): 0.01646}


class StandIn:
    """A sweep whose runs end at once with METRIC's values (0.1 elsewhere); with ``hold`` set,
    they wait for it."""

    def __init__(self, lab, hold: threading.Event | None = None) -> None:
        self.lab, self.hold, self.stopped = lab, hold, False

    def stop(self) -> None:
        self.stopped = True
        if self.hold is not None:
            self.hold.set()

    def run(self, done=None):
        if self.hold is not None:
            self.hold.wait(30)
        out = []
        jobs = self.lab.jobs()
        for i, job in enumerate(jobs):
            if self.stopped:
                break
            key = (job["value"], job["cell"], job["seed"])
            record = {"task": self.lab.task, "parameter": job["parameter"],
                      "value": job["value"], "cell": job["cell"], "seed": job["seed"],
                      "metric": METRIC.get(key, 0.1), "baseline": 1.0, "loss": None,
                      "accuracy": None, "epochs": 12, "stopped": False, "seconds": 0.0,
                      "position": ""}
            out.append(record)
            if done is not None:
                done(record, i + 1, len(jobs), False)
        return out


def lab_text(app) -> str:
    screen = app.lab
    parts = [screen.query_one(f"#{i}") for i in ("lab-status", "lab-head", "lab-info")]
    return "\n".join(render_text(p.render(), p.content_size.width) for p in parts)


