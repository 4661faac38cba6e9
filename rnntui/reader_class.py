"""Reader mode in class and after it: ``rnntui follow JOIN --reader`` and ``rnntui replay FILE
--reader`` (docs/reader.md).

The classroom's roles (rnntui.classroom.session.FollowerRole, and rnntui.replay.ReplayRole, the
follower fed from a recording) drive a main screen through a few hooks. :class:`ReaderScreen`
gives them those hooks over a :class:`rnntui.reader.Reader`, so the very code that checks and
applies a presenter's state (its scenario opened from the text sent, never a path; its epoch
checked against the limits; its lesson at its step) moves the reader's View. Each move the
presenter makes is said as one sentence, with its key number ("The presenter is at step 3,
forward, reading 'sits': the model predicts 'on' with probability 0.6117."); a lesson step is
read as reader mode reads lessons, and the class's answers (the poll) as counts. The learner's
own commands explore and detach as keys do in the app; ``f`` follows again.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import threading
from types import SimpleNamespace
from typing import Callable

from .classroom.session import FollowerRole
from .reader import (MAX_LINE, Reader, _abs, _cell_name, _pow10, _prompt, _StepRun, _token,
                     read_lines)
from .replay import ReplayRole
from .view import BACKWARD, View, view_at

__all__ = ["ReaderScreen", "move_sentence", "open_replay_reader", "run_follow_reader",
           "run_replay_reader"]


# ---------------------------------------------------------------------------------------------
# one sentence a move


def _where(view: View) -> str:
    """Where the cursor is and the number that matters there: the prediction going forward,
    the gradient reaching t going back."""
    from .widgets._draw import log10_safe
    t, tr = view.t, view.trace
    head = f"at step {t}, {view.phase}, reading {_token(view.label(t))}"
    if tr is None:
        return head
    if view.phase == BACKWARD:
        grad = tr.grad_state if tr.grad_state is not None else tr.grad_h
        return head + f": the gradient reaching it has size {_pow10(float(log10_safe(grad)[t]))}"
    if tr.output == "softmax":
        name, p = view.prediction(t)
        return head + f": the model predicts {_token(name)} with probability {_abs(p)}"
    if tr.output == "identity":
        return head + f": the prediction is {_abs(float(tr.out[t][0]))}"
    return head + f": the probability of a 1 is {_abs(float(tr.out[t][0]))}"


def move_sentence(old: View | None, new: View, who: str = "The presenter",
                  pane: str | None = None, old_pane: str | None = None) -> str | None:
    """The presenter's move from ``old`` to ``new`` as one sentence (None when nothing shown
    changed); ``old`` None: where it is, whole."""
    parts = []
    if old is None or old.scenario.name != new.scenario.name or old.source != new.source:
        parts.append(f"shows {new.scenario.name}, a {new.scenario.kind} scenario, with the "
                     f"{_cell_name(new.cell)} cell")
    else:
        if old.cell != new.cell:
            parts.append(f"switched to the {_cell_name(new.cell)} cell")
        was, now = old.scenario.train, new.scenario.train
        if was.mask != now.mask:  # (keys u and s: a padded scenario's own settings)
            parts.append(f"switched the mask {'on' if now.mask else 'off'}")
        if was.sort != now.sort:
            parts.append("sorted the batches by length" if now.sort else
                         "put the batches back in file order")
    if old is None or old.epoch != new.epoch or old.history is not new.history:
        losses = new.history.losses
        loss = f" (a training loss of {_abs(float(losses[new.epoch]))})" \
            if 0 <= new.epoch < len(losses) else ""
        parts.append(f"{'at' if parts else 'went to'} epoch {new.epoch} of "
                     f"{new.trained_epochs}{loss}")
    if (old is None and new.knob) or (old is not None and old.knob != new.knob):
        clicks = "1 click" if abs(new.knob) == 1 else f"{new.knob} clicks"
        parts.append(f"scaled W_h by {new.wh_scale:.3g} ({clicks})" if new.knob else
                     "turned the W_h knob back to 0 clicks (scale 1)")
    if old is None or (old.typed, old.example) != (new.typed, new.example):
        if new.typed is not None:
            parts.append(f"steps through a text of its own: {_token(new.typed)}")
        elif new.example is not None:
            parts.append(f"steps through training sequence {new.example + 1}")
        elif old is not None:
            parts.append("steps through the scenario's own sequence")
    if old is not None and (old.grads, old.target) != (new.grads, new.target):
        if new.grads == "loss":
            pinned = "pinned" if new.target is not None else "following the cursor"
            parts.append(f"follows the loss at target step tau {min(new.tau, new.T - 1)} "
                         f"alone ({pinned})")
        else:
            parts.append("shows the gradients of every loss")
    if pane != old_pane:
        parts.append(f"points at the {pane} pane (type {pane} to hear it)" if pane else
                     "shows every pane again")
    moved = old is None or (old.t, old.phase) != (new.t, new.phase)
    if not parts and not moved:
        return None
    where = _where(new)
    if not parts:
        return f"{who} is {where}."
    return f"{who} " + ", ".join(parts) + f", and is {where}."


def spoken_clock(seconds: float) -> str:
    """A time in a recording, in words a synthesiser reads well ("0:02" is read "zero zero
    two"): "2 seconds", "1 minute 5 seconds", "1 hour 2 minutes"."""
    s = int(seconds)
    parts = [(s // 3600, "hour"), (s // 60 % 60, "minute"), (s % 60, "second")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words[:2]) or "0 seconds"


_PICKS = re.compile(r"picked ((?:\d+:\d+ ?)+)")


def spoken_room(line: str) -> str:
    """The lesson strip's class line (rnntui.classroom.session.poll_line) in words:
    ``Class of 3: task done 2 · picked 1:0 2:2`` is "The class's answers: class of 3: task
    done 2; choice 1 picked by 0, choice 2 by 2"."""
    def picks(m: re.Match) -> str:
        pairs = [p.split(":") for p in m.group(1).split()]
        return "choice " + ", choice ".join(f"{i} picked by {n}" if k == 0 else f"{i} by {n}"
                                            for k, (i, n) in enumerate(pairs))
    text = _PICKS.sub(picks, line).replace(" · ", "; ")
    if "Class of" in text.split(":", 1)[0] + ":" or text.startswith("Recorded: Class of"):
        return "The class's answers: " + text.replace("Class of", "class of", 1) + "."
    return text


# ---------------------------------------------------------------------------------------------
# the main screen's hooks, over a Reader


class _Status:
    """The status line: its first part said when it changes to one not said otherwise."""

    def __init__(self, screen: "ReaderScreen") -> None:
        self.screen = screen
        self.extra: tuple = ()
        self.first: str | None = None

    def show(self, view) -> None:
        first = self.extra[0][0] if self.extra else None
        if first != self.first:
            before, self.first = self.first, first
            if first == "following" and before in (None, "connecting…", "no presenter at"):
                self.screen.reader.say("Following the presenter.")


class _Lessons:
    """What the roles use of the main screen's lesson session (rnntui.lessons.session), over
    the Reader's lesson: open a step (read as reader mode reads it), leave, the class's line."""

    def __init__(self, screen: "ReaderScreen") -> None:
        self.screen = screen
        self.hooks: list = []
        self.room: Callable[[], str | None] | None = None
        self._said_room: str | None = None

    @property
    def reader(self) -> Reader:
        return self.screen.reader

    @property
    def lesson(self):
        return self.reader.lesson

    @property
    def active(self) -> bool:
        return self.reader.lesson is not None

    @property
    def index(self) -> int:
        return self.reader.index

    @property
    def runs(self) -> dict:
        return self.reader.runs

    @property
    def run(self) -> _StepRun:
        return self.reader.runs.setdefault(self.reader.index, _StepRun())

    @property
    def step(self):
        return self.reader.lesson.steps[self.reader.index]

    @property
    def _progress(self):
        return self.reader._progress

    @_progress.setter
    def _progress(self, value) -> None:
        self.reader._progress = value

    def open(self, lesson, step: int = 0) -> None:
        r = self.reader
        if r.lesson is not lesson:
            r.lesson, r.runs = lesson, {}
            number = f" {lesson.number}" if lesson.number else ""
            r.say(f"Lesson{number}: {lesson.title}. {len(lesson)} steps.")
        self._said_room = None
        r.go(step)
        self.screen.lesson_opened = r.view

    def leave(self) -> None:
        if self.reader.lesson is not None:
            self.reader.say(f"The lesson {self.reader.lesson.title} is closed.")
        self.reader.lesson, self.reader.runs = None, {}

    def redraw(self) -> None:
        line = self.room() if self.room is not None and self.active else None
        if line != self._said_room:
            self._said_room = line
            if line:
                self.reader.say(spoken_room(line))

    def _show(self) -> None:
        self.redraw()


class ReaderScreen:
    """The hooks rnntui.classroom.session.FollowerRole (and rnntui.replay.ReplayRole) use of
    the main screen, over ``reader``."""

    def __init__(self, reader: Reader, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.reader = reader
        self.loop = loop
        self.view_hooks: list = []
        self.status = _Status(self)
        self.lessons = _Lessons(self)
        self.classroom = None
        self.draw_ahead = False
        self.maximized = None
        #: The View a lesson step opened at (what a move is said from after it is read).
        self.lesson_opened: View | None = None
        self._later: list = []
        #: The encoder-decoder the presenter opened, which reader mode does not read (None:
        #: none); their positions are not applied meanwhile.
        self._unread: str | None = None

    # -- the View ------------------------------------------------------------------------------
    @property
    def view(self) -> View:
        return self.reader.view

    @view.setter
    def view(self, new: View) -> None:
        old = self.reader.view
        self.reader.view = self.reader._traced(new)
        for hook in list(self.view_hooks):
            hook(old, self.reader.view)

    def apply_position(self, pos) -> None:
        """The presenter's position: its epoch trained to first (in the foreground, as reader
        mode trains), then its sequence, knob, pass, t and gradient view."""
        r = self.reader
        if self._unread is not None:
            return  # the presenter is on an encoder-decoder, which reader mode does not read
        if pos.epoch is not None and pos.epoch > r.view.trained_epochs:
            r._train_to(pos.epoch)
        view = view_at(r.view, pos, warn=r.say_data)
        if pos.epoch is not None:
            view = view.with_epoch(pos.epoch)
        r.view = r._traced(view)

    def use_scenario(self, scenario, source=None) -> None:
        from engine.kinds import is_seq2seq

        from .safe_text import visible
        r = self.reader
        if is_seq2seq(scenario):  # said once; the class is followed again on another scenario
            if self._unread != (source or scenario.name):
                self._unread = source or scenario.name
                r.say(f"The presenter opened {visible(self._unread)}, an encoder-decoder, "
                      f"which reader mode does not read yet; this app stays on "
                      f"{visible(r.view.source)} until they open another scenario.")
            return
        self._unread = None
        r._trained = {}
        r.view = r._open(scenario, source or scenario.name)

    # -- panes ---------------------------------------------------------------------------------
    def query_one(self, selector: str):
        return SimpleNamespace(id=selector.lstrip("#"), focus=lambda: None)

    def maximize(self, pane) -> None:
        self.maximized = pane

    def minimize(self) -> None:
        self.maximized = None

    # -- the app's services --------------------------------------------------------------------
    def notify(self, message, **_) -> None:
        self.reader.say_data(str(message).replace("press f", "type f"))

    def call_later(self, fn, *args) -> None:
        if self.loop is not None:
            self.loop.call_soon(fn, *args)
        else:
            self._later.append((fn, args))

    def call_after_refresh(self, fn, *args) -> None:
        self.call_later(fn, *args)

    def run_later(self) -> None:
        """What was asked to run later, now (without an event loop: the replay)."""
        while self._later:
            fn, args = self._later.pop(0)
            fn(*args)

    def set_interval(self, *_args, **_kw) -> None:
        return None  # (nothing is timed in reader mode: the learner steps)

    def watch(self, *_args, **_kw) -> None:
        return None

    @property
    def pane(self) -> str | None:
        return getattr(self.maximized, "id", None)

    # -- the learner's commands ----------------------------------------------------------------
    def command(self, line: str) -> bool:
        """One command of the learner's: the reader's, with the hooks told what changed (as
        the app's keys tell them). False when it asks to quit."""
        r = self.reader
        before = (r.view, r.lesson, r.index, self._run_key())
        keep = r.handle(line)
        if r.view is not before[0]:
            for hook in list(self.view_hooks):
                hook(before[0], r.view)
        if (r.lesson, r.index, self._run_key()) != before[1:] or r.lesson is not None:
            for hook in list(self.lessons.hooks):
                hook()
        self.run_later()
        return keep

    def _run_key(self):
        run = self.reader.runs.get(self.reader.index)
        return (run.done, run.picked) if run is not None else None


class _Saying:
    """A role whose applied states are said: one sentence a move (a lesson step is read)."""

    who = "The presenter"

    def _apply(self, state: dict) -> None:
        screen = self.screen
        old, pane = screen.view, screen.pane
        screen.lesson_opened = None
        first = self.applied == 0
        super()._apply(state)
        if screen.lesson_opened is not None:  # (read: a move is said from the step's view)
            old, first = screen.lesson_opened, False
        said = move_sentence(None if first else old, screen.view, self.who, screen.pane, pane)
        if said:
            screen.reader.say(said)


class ReaderFollower(_Saying, FollowerRole):
    """rnntui follow --reader's role."""


class ReaderReplay(_Saying, ReplayRole):
    """rnntui replay --reader's role: each event is announced before its move is said."""

    _jumping = False

    def replay(self, what: str, arg: int = 0) -> None:
        self._jumping = what == "mark"  # (a jump to a marker says its label itself)
        try:
            super().replay(what, arg)
        finally:
            self._jumping = False

    def go(self, index: int) -> None:
        rec = self.recording
        if rec.events:
            i = max(0, min(index, len(rec.events) - 1))
            event, state = rec.events[i], rec.states[i] or {}
            label = "" if self._jumping else f" '{event.get('label', '')}'"
            what = {"marker": f": the marker{label}",
                    "answer": f": answer {state.get('answer')} was picked",
                    "poll": ": the class's answers came in"}.get(event["type"], "")
            self.screen.reader.say(f"Event {i + 1} of {len(rec.events)}, at "
                                   f"{spoken_clock(event['t'])} of "
                                   f"{spoken_clock(rec.duration)}{what}.")
        super().go(index)
        self.screen.lessons.redraw()


def _in_memory_progress():
    from .replay import _kept_in_memory
    return _kept_in_memory()


# ---------------------------------------------------------------------------------------------
# follow --reader


FOLLOW_HELP = ("In class: f (or follow) follows the presenter again after you explored; "
               "every other command explores from where the presenter is.")


async def _follow(join, stdin, out, role: "ReaderFollower | None" = None) -> int:
    from engine.scenario import DEFAULT_SCENARIO, load
    loop = asyncio.get_running_loop()
    reader = Reader(load(DEFAULT_SCENARIO), source=DEFAULT_SCENARIO, out=out,
                    progress=_in_memory_progress())
    screen = ReaderScreen(reader, loop)
    role = role or ReaderFollower(join)
    screen.classroom = role
    reader.say(f"rnntui reader mode, following the presenter at {role._address}. Type help "
               f"for the commands, f to follow again after exploring, quit to end.")
    lines: asyncio.Queue = asyncio.Queue()
    prompt = stdin is None and sys.stdin.isatty()
    stream = stdin if stdin is not None else sys.stdin.buffer

    def feed() -> None:  # (a thread: reading a line blocks)
        try:
            for line in itertools.chain(read_lines(stream), [EOFError]):
                loop.call_soon_threadsafe(lines.put_nowait, line)
        except RuntimeError:  # the loop is closed: quit was typed
            pass
    role.start(screen)
    threading.Thread(target=feed, daemon=True, name="reader-input").start()
    _prompt(prompt)
    try:
        while True:
            line = await lines.get()
            if line is EOFError:
                return 0
            if line is None:
                reader.say(f"That line is longer than {MAX_LINE} characters: not a command.")
            elif line.strip().lower() in ("f", "follow"):
                role.reattach()
            else:
                if line.strip().lower() in ("help", "?"):
                    reader.say_data(FOLLOW_HELP)
                if not screen.command(line):
                    return 0
            _prompt(prompt)
    finally:
        await role.stop()


def run_follow_reader(join, *, stdin=None, out: Callable[[str], None] | None = None) -> int:
    """``rnntui follow JOIN --reader``: until ``quit`` or the end of ``stdin`` (a binary
    stream; default the standard input). Returns 0."""
    return asyncio.run(_follow(join, stdin, out))


# ---------------------------------------------------------------------------------------------
# replay --reader

REPLAY_HELP = ("In a replay: event next (or ')') and event back (or '(') step one event, mark "
               "next (K) and mark back (J) jump between markers and lesson steps, event N goes "
               "to event N, play reads every event to the end, f goes back to the replay after "
               "you explored; every other command explores from the event.")
_REPLAY = {")": ("step", 1), "(": ("step", -1), "event next": ("step", 1),
           "next event": ("step", 1), "event back": ("step", -1),
           "previous event": ("step", -1), "K": ("mark", 1), "J": ("mark", -1),
           "mark next": ("mark", 1), "next mark": ("mark", 1), "mark back": ("mark", -1),
           "previous mark": ("mark", -1)}


def open_replay_reader(path):
    """The replay role for ``rnntui replay FILE --reader`` (RecordingError when the file cannot
    be read)."""
    from .replay import open_replay
    return open_replay(path, play=False, cls=ReaderReplay)[2]


def run_replay_reader(role, *, stdin=None, out: Callable[[str], None] | None = None) -> int:
    """``rnntui replay FILE --reader``: the recording of ``role`` (open_replay_reader) stepped
    by commands until ``quit`` or the end of ``stdin``. Returns 0."""
    rec = role.recording
    first = next(s for s in rec.states if s is not None)
    sc = rec.scenarios[first["scenario"]["sha256"]]
    reader = Reader(sc, source=first["scenario"]["name"], out=out,
                    progress=_in_memory_progress())
    screen = ReaderScreen(reader)
    screen.classroom = role
    reader.say(f"rnntui reader mode, replaying a recording of {len(rec.events)} events, "
               f"{spoken_clock(rec.duration)} long. Type event next to step, help for the "
               f"commands, quit to end.")
    role.start(screen)
    screen.run_later()
    stream = stdin if stdin is not None else sys.stdin.buffer
    prompt = stdin is None and sys.stdin.isatty()
    _prompt(prompt)
    for line in read_lines(stream):
        words = " ".join((line or "").split())
        if line is None:
            reader.say(f"That line is longer than {MAX_LINE} characters: not a command.")
        elif words in _REPLAY or words.lower() in _REPLAY:
            role.replay(*_REPLAY.get(words) or _REPLAY[words.lower()])
        elif words.lower() in ("f", "follow", "replay"):
            role.reattach()
        elif words.lower() == "play":
            role.attached = True
            while role.index < len(rec.events) - 1:
                role.go(role.index + 1)
                screen.run_later()
            reader.say("The end of the recording.")
        elif re.fullmatch(r"event [0-9]{1,7}", words.lower()):
            role.attached = True
            role.go(int(words.split()[1]) - 1)
        else:
            if words.lower() in ("help", "?"):
                reader.say_data(REPLAY_HELP)
            if not screen.command(line):
                return 0
        screen.run_later()
        _prompt(prompt)
    return 0

