"""The classroom on the main screen: a presenter role that sends the screen's state, and a
follower role that shows the presenter's, detaches on a navigation key and re-attaches on f.

Each role hangs off :attr:`MainScreen.classroom` and uses only the screen's hooks:
``view_hooks`` (told of every new View), ``apply_position``, ``use_scenario`` and the status
line's ``extra`` parts. The lesson open (``screen.lessons``, rnntui.lessons) is sent as its name, file digest and
step; a follower opens the same lesson at the same step (a built-in one of the same text, or
the text sent) and answers its questions on its own screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import socket
from collections import OrderedDict
from pathlib import Path

from ..position import Position, PositionError, check_epoch, scenario_at
from ..safe_text import visible
from . import protocol as P
from .follower import Follower
from .join import Join, is_loopback
from .presenter import Presenter

#: Seconds between the presenter's checks for changes that come without a new View.
STATE_POLL = 0.25
#: Scenarios and lessons a follower keeps of those sent to it (the least recently used go).
SENT_KEPT = 4
#: Digests a follower remembers having asked for, failed to open, or checked weights of.
REMEMBERED = 64
#: Seconds after which a request held back by the follower's pace is asked again.
RETRY = 1.0


class Lru(OrderedDict):
    """A dict of at most ``most`` entries: reading or writing one makes it the newest, and
    the oldest goes when there are too many."""

    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.most:
            self.popitem(last=False)


# ---------------------------------------------------------------------------------------------
# lessons (rnntui.lessons: screen.lessons is the LessonSession of the main screen)


def _lesson_session(screen):
    return getattr(screen, "lessons", None)


def lesson_state(screen, texts: dict) -> dict | None:
    """The lesson part of the state, {name, sha256, step}, while a lesson is open on the
    screen; ``texts`` keeps each lesson's file text by digest (read once per lesson), for
    followers that lack it."""
    ls = _lesson_session(screen)
    lesson = getattr(ls, "lesson", None)
    if lesson is None or not getattr(ls, "active", False):
        return None
    known = texts.get(id(lesson))
    if known is None or known[0] is not lesson:
        text = _lesson_bytes(lesson)
        digest = P.sha256(text) if text is not None else None
        known = texts[id(lesson)] = (lesson, digest)
        if digest is not None:
            texts[digest] = text
    return {"name": str(lesson.name)[:4096], "sha256": known[1], "step": int(ls.index)}


def _lesson_bytes(lesson) -> bytes | None:
    """The text of ``lesson``'s file as a lesson file is read (a regular file, up to the
    loader's size cap), or None: the UI thread never waits on a FIFO or reads a device."""
    from engine.files import FileReadError, read_regular

    from ..lessons.loader import MAX_BYTES
    try:
        return read_regular(lesson.source, MAX_BYTES)
    except (FileReadError, TypeError, ValueError):
        return None


def builtin_lesson(name: str, digest: str | None):
    """The built-in lesson called ``name`` whose file has ``digest``, else None."""
    try:
        from ..lessons import builtin_lessons
        for lesson in builtin_lessons():
            if lesson.name == name and (digest is None or
                                        P.sha256(_lesson_bytes(lesson) or b"") == digest):
                return lesson
    except Exception:  # noqa: BLE001 - no course here (or a broken one): ask for the text
        return None
    return None


def poll_line(of: int, done: int | None, picks: list[int] | None) -> str:
    """The class's answers for one step, as counts (never who): ``Class of 3: task done 2 ·
    picked 1:0 2:2 3:1``."""
    parts = [f"task done {done}"] if done is not None else []
    if picks:
        parts.append("picked " + " ".join(f"{i}:{n}" for i, n in enumerate(picks, start=1)))
    return f"Class of {of}: " + (" · ".join(parts) or "no task or question here")


def version_line(theirs: int, presenter: bool = False) -> str:
    """What a follower (or, ``presenter``, the teacher) is told when the other side speaks
    version ``theirs`` of the classroom protocol and this app another (one line)."""
    if presenter:
        return (f"A follower with {'a newer' if theirs > P.VERSION else 'an older'} rnntui "
                f"(classroom protocol {theirs}; yours is {P.VERSION}) was turned away: it "
                f"can follow once it runs the same version of rnntui as yours.")
    return (f"The presenter runs {'a newer' if theirs > P.VERSION else 'an older'} rnntui "
            f"(classroom protocol {theirs}; this app's is {P.VERSION}): follow it with the "
            f"same version of rnntui as the presenter's. This app keeps trying.")


def _maximized(screen) -> str | None:
    w = getattr(screen, "maximized", None)
    return w.id if w is not None and w.id in P.PANES else None


def _scenario_bytes(scenario) -> bytes | None:
    """The text of the file a scenario was loaded from, read as a scenario file is (a regular
    file, up to its size cap); None when it came from no file or cannot be read so."""
    from engine.files import FileReadError, read_regular
    from engine.scenario import LIMITS
    from engine.types import ScenarioError

    from ..labrun import is_run, run_text
    if is_run(scenario.source):  # a lab run: the scenario file its name stands for
        try:
            return run_text(scenario.source).encode("utf-8")
        except ScenarioError:
            return None
    try:
        return read_regular(scenario.source, LIMITS["file_bytes"])
    except (FileReadError, TypeError, ValueError):
        return None


def _builtin_text(name: str) -> bytes | None:
    """The text of the built-in scenario ``name`` (None for any other name: never a path)."""
    from engine.scenario import _builtin_files, builtin_names
    if name not in builtin_names():
        return None
    try:
        return dict(_builtin_files())[name].read_bytes()
    except OSError:
        return None


def _sent_name(name: str) -> str:
    """A name from the network as a plain label, never a path: letters, digits, ``. - _``
    (no folder, no leading dot)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).name)[:60].lstrip("._") or "sent"


# ---------------------------------------------------------------------------------------------
# presenting


class PresenterRole:
    """Serve this screen's state to followers (see rnntui.classroom.presenter)."""

    def __init__(self, token: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.presenter = Presenter(token, host=host, port=port, state=self.state,
                                   scenario_text=self._text, lesson_text=self._text,
                                   weights=self._weights,
                                   on_count=lambda n: self._counted(),
                                   answer_ok=self._answer_ok, on_answers=self._answers_came,
                                   on_version=self._other_version)
        self.token = token
        self.screen = None
        self._texts: dict[str, bytes] = {}
        self._lesson_texts: dict = {}
        self._info: tuple | None = None  # (scenario, {name, sha256, builtin})
        self._digests: dict[int, tuple] = {}
        self._sent: dict | None = None
        self._flush_pending = False
        self._versions_told: set[int] = set()
        self.error: str | None = None
        #: The step whose answers the class is shown: (lesson file digest, step) or None.
        self.poll_shown: tuple[str, int] | None = None
        self._poll_pending = False

    @property
    def join(self) -> Join:
        host = self.presenter.host
        if host in ("0.0.0.0", "::", ""):
            with contextlib.suppress(OSError):
                host = socket.gethostbyname(socket.gethostname())
        return Join(host, self.presenter.port, self.token)

    def start(self, screen) -> None:
        self.screen = screen
        screen.view_hooks.append(lambda old, new: self.send())
        screen.watch(screen, "maximized", lambda *_: self.send(), init=False)
        # what changes without a new View (a lesson step, leaving the lesson) is seen here
        screen.set_interval(STATE_POLL, self._flush)
        ls = _lesson_session(screen)
        if ls is not None:
            ls.room = self._room
        asyncio.ensure_future(self._serve())

    async def _serve(self) -> None:
        try:
            await self.presenter.start()
        except OSError as err:
            self.error = f"cannot listen on {self.presenter.host}:{self.presenter.port}: " \
                         f"{err.strerror or err}"
            self.screen.notify(self.error, severity="error", timeout=15, markup=False)
            self._show()
            return
        self._show()
        self.screen.notify("Students join with the line in the status bar: j shows it whole.",
                           title="Presenting", timeout=10, markup=False)
        self._flush()

    async def stop(self) -> None:
        await self.presenter.stop()

    @property
    def join_line(self) -> str:
        """What students type: ``rnntui follow HOST:PORT/TOKEN.CHECK`` (one line)."""
        return f"rnntui follow {self.join}"

    def reattach(self) -> None:
        self.screen.notify(f"You are presenting: {self.presenter.followers} following. "
                           f"j shows the join string.", markup=False, timeout=8)

    def _other_version(self, theirs: int) -> None:
        """A follower with the token and another protocol was turned away: told once per
        version (a class of thirty would say it thirty times)."""
        if theirs in self._versions_told or self.screen is None:
            return
        self._versions_told.add(theirs)
        self.screen.notify(version_line(theirs, presenter=True), severity="warning",
                           markup=False, timeout=15)

    def _counted(self) -> None:
        self._show()
        self._answers_came()  # (the class's size is part of the poll)

    def _show(self) -> None:
        if self.error:
            parts = (("not presenting", "reverse", 9),)
        else:  # first, and never cut (keep 10 and 11: rnntui.screens.main.status_text)
            parts = (("presenting", "reverse", 10), (str(self.join), "bold", 11),
                     (f"{self.presenter.followers} following", "", 11))
        status = self.screen.status
        status.extra = parts
        status.show(self.screen.view)

    # -- the state -----------------------------------------------------------------------------
    def _scenario_info(self, scenario, source: str) -> dict:
        if self._info is None or self._info[0] is not scenario or self._info[1]["name"] != source:
            text = _scenario_bytes(scenario)
            builtin = _builtin_text(source)
            builtin_ok = builtin is not None and text == builtin
            digest = P.sha256(text if text is not None else source.encode())
            if text is not None:
                self._texts[digest] = text
            self._info = (scenario, {"name": source, "sha256": digest, "builtin": builtin_ok})
        return self._info[1]

    def _digest(self, params) -> str:
        key = id(params)
        got = self._digests.get(key)
        if got is None or got[0] is not params:
            if len(self._digests) > 64:
                self._digests.clear()
            got = self._digests[key] = (params, P.weights_digest(P.weight_arrays(params)))
        return got[1]

    def state(self) -> dict:
        view = self.screen.view
        lesson = lesson_state(self.screen, self._lesson_texts)
        if lesson is not None:
            lesson["poll"] = self._poll(lesson) if self.poll_shown == \
                (lesson["sha256"], lesson["step"]) else None
        return {"position": str(view.position),
                "scenario": self._scenario_info(view.scenario, view.source),
                "weights": {"epoch": view.epoch, "sha256": self._digest(view.base_params)},
                "maximized": _maximized(self.screen), "lesson": lesson}

    # -- the poll: followers' answers, as counts -----------------------------------------------
    def _presented(self):
        """(lesson, its file's digest) of the lesson presented now, or None."""
        ls = _lesson_session(self.screen) if self.screen is not None else None
        lesson = lesson_state(self.screen, self._lesson_texts) if ls is not None else None
        if lesson is None or lesson["sha256"] is None:
            return None
        return ls.lesson, lesson["sha256"]

    def _answer_ok(self, msg: dict) -> bool:
        """An answer for a step that exists in the lesson presented now, with a pick among
        that step's choices and ``done`` only where it has a task."""
        got = self._presented()
        if got is None or msg["lesson"] != got[1] or not msg["step"] < len(got[0].steps):
            return False
        step = got[0].steps[msg["step"]]
        if msg["done"] and step.task is None:
            return False
        pick = msg["pick"]
        return pick is None or (step.question is not None and
                                pick <= len(step.question.choices))

    def _tally(self, lesson, sha: str, index: int) -> tuple[int, int | None, list[int] | None]:
        step = lesson.steps[index]
        choices = len(step.question.choices) if step.question is not None else 0
        of, done, picks = self.presenter.tally(sha, index, choices)
        return of, done if step.task is not None else None, picks if choices else None

    def _poll(self, lesson: dict) -> dict:
        got = self._presented()
        of, done, picks = self._tally(got[0], lesson["sha256"], lesson["step"])
        return {"step": lesson["step"], "of": min(of, P.MAX_COUNT),
                "done": done, "picks": picks}

    def _room(self) -> str | None:
        """The presenter's strip line: this step's answers (counts, never who)."""
        got = self._presented()
        ls = _lesson_session(self.screen)
        if got is None or self.error:
            return None
        of, done, picks = self._tally(got[0], got[1], ls.index)
        if done is None and picks is None:
            return None  # (nothing to answer at this step)
        shown = self.poll_shown == (got[1], ls.index)
        return poll_line(of, done, picks) + (" · shown (a hides)" if shown else
                                             " · a shows the class")

    def _answers_came(self) -> None:
        """An answer was counted or a follower went: draw the strip again (once a frame)."""
        if self._poll_pending or self.screen is None:
            return
        self._poll_pending = True
        self.screen.call_later(self._poll_changed)

    def _poll_changed(self) -> None:
        self._poll_pending = False
        ls = _lesson_session(self.screen)
        if ls is not None and getattr(ls, "active", False):
            ls.redraw()
        if self.poll_shown is not None:
            self.send()

    def show_poll(self) -> None:
        """a: show this step's answers to the class (their strips), or stop showing them."""
        got = self._presented()
        ls = _lesson_session(self.screen)
        if got is None:
            self.screen.notify("a shows the class's answers while you present a lesson "
                               "(L opens one).", markup=False, timeout=4)
            return
        here = (got[1], ls.index)
        self.poll_shown = None if self.poll_shown == here else here
        self.screen.notify("The class sees this step's answers." if self.poll_shown else
                           "The class's answers are hidden again.", markup=False, timeout=3)
        ls.redraw()
        self.send()

    def send(self) -> None:
        """Send the state, once the presenter's own screen shows it: the teacher's key is
        answered first, and every change within one frame makes one message."""
        if self.screen is None or self.presenter._server is None or self._flush_pending:
            return
        self._flush_pending = True
        self.screen.call_after_refresh(self.screen.call_later, self._flush)

    def _flush(self) -> None:
        """Send the state now if it changed."""
        self._flush_pending = False
        state = self.state()
        if state != self._sent:
            self._sent = state
            try:
                self.presenter.broadcast(state)
            except ValueError as err:  # over the control cap (a very long typed text)
                self.screen.notify(f"Not sent to the followers: {err}", severity="warning",
                                   markup=False, timeout=6)

    def _text(self, digest: str) -> bytes | None:
        got = self._texts.get(digest)
        return got if got is not None else self._lesson_texts.get(digest)

    def _weights(self, epoch: int, digest: str):
        view = self.screen.view
        if epoch > view.trained_epochs:
            return None
        params = view.history.params_at(epoch)
        return params if self._digest(params) == digest else None


# ---------------------------------------------------------------------------------------------
# following


class FollowerRole:
    """Show the presenter's state on this screen while attached."""

    def __init__(self, join: Join) -> None:
        self.follower = Follower(join, self._event)
        self.join = join
        self.screen = None
        self.attached = True
        # connecting, connected, left, lost (unreadable), refused, version (another protocol)
        self.link = "connecting"
        self.latest: dict | None = None
        self._applying = False
        # What the presenter sent is kept in small caches (the least recently used go), and
        # nothing kept depends on this machine's files.
        self._scenarios = Lru(SENT_KEPT)  # sha256 -> Scenario (sent, or a built-in)
        self._variants = Lru(SENT_KEPT)  # (sha256, cell) -> the Scenario with that cell
        self._failed = Lru(REMEMBERED)  # sha256 -> why it cannot be opened
        self._asked = Lru(REMEMBERED)  # what was asked for on this connection -> True
        self._checked = Lru(REMEMBERED)  # (history id, epoch) -> digest of own weights
        self._applied = None  # the Scenario object last given to use_scenario (or adopted)
        self._applied_sha: str | None = None
        self._lessons = Lru(SENT_KEPT)  # sha256 -> Lesson received
        self._lesson_applied: dict | None = None
        self._said: str | None = None  # the last problem shown (not shown again and again)
        #: How many states were applied (tests and benchmarks wait on it).
        self.applied = 0
        #: The presented lesson, as opened here (a Lesson), and whether this learner has moved
        #: on its own within the class's step (then only the class moving on moves it).
        self._lesson_obj = None
        self._own_in_step = False
        self._answers_sent = Lru(REMEMBERED)  # (lesson digest, step) -> (done, pick) sent
        self.unreachable: str | None = None  # why no presenter answers at the address
        self.other_version: int | None = None  # the presenter's protocol, when not this one's
        #: What a request held back by the follower's pace wanted ("text" or "weights"): it
        #: is asked again in RETRY seconds.
        self._held: str | None = None

    def start(self, screen) -> None:
        self.screen = screen
        # a class shares one server's cores: drawing the neighbouring steps ahead in every
        # follower (measured: twice the work per step with 50) would slow everyone's updates
        screen.draw_ahead = False
        screen.view_hooks.append(self._changed)
        ls = _lesson_session(screen)
        if ls is not None:
            ls.room = self._room
            ls.hooks.append(self._lesson_changed)
        self._show()
        self.follower.start()

    async def stop(self) -> None:
        await self.follower.stop()

    # -- status --------------------------------------------------------------------------------
    def _show(self) -> None:
        # (keep 10 and 11: first on the line and never cut, see rnntui.screens.main.status_text;
        # only "following" is at the end, as all is well)
        if self.link == "connected":
            parts = (("following", "reverse", 9),) if self.attached else \
                (("not following", "reverse", 11), ("f follows", "", 11))
        elif self.link == "left":
            parts = (("presenter left", "reverse", 11), ("reconnecting…", "", 10))
        elif self.link == "lost":
            parts = (("connection lost", "reverse", 11), ("reconnecting…", "", 10))
        elif self.link == "refused":
            parts = (("refused by the presenter", "reverse", 11),
                     ("check the join string", "", 10))
        elif self.link == "version":
            newer = (self.other_version or 0) > P.VERSION
            parts = ((f"the presenter's rnntui is {'newer' if newer else 'older'}", "reverse",
                      11), ("the same version is needed", "", 10))
        elif self.unreachable:  # first, and never cut (as the presenter's join string)
            parts = (("no presenter at", "reverse", 11), (f" {self._address}", "reverse", 11),
                     ("check host and port", "", 10))
        else:
            parts = (("connecting…", "reverse", 11), (self._address, "", 11))
        status = self.screen.status
        status.extra = parts
        status.show(self.screen.view)

    @property
    def _address(self) -> str:
        return str(self.join).rsplit("/", 1)[0]

    def _event(self, event: str, detail) -> None:
        before = self.link
        if event == "connected":
            self.link = "connected"
            self.unreachable = None
            self._asked.clear()  # (asked of the last connection: asked again when needed)
            self._answers_sent.clear()  # (this learner's answer is told the new connection)
            if before in ("left", "lost"):
                self.screen.notify("The presenter is back.", markup=False, timeout=4)
        elif event == "state":
            first, self.latest = self.latest is None, detail
            if first and not self.attached:  # (its learner moved before the class was here)
                self.screen.notify("The presenter is here; press f to follow it.",
                                   markup=False, timeout=8)
            if self.attached:
                self._apply(detail)
                if self._in_lesson():
                    self._send_answer()  # (once per change: again after a reconnection)
        elif event in ("scenario", "lesson"):
            self._received_text(event, detail)
        elif event == "weights":
            self._received_weights(*detail)
        elif event == "error":  # something unreadable: that connection is closed, tried again
            self.link = "lost"
            if before == "connected":
                self.screen.notify(visible(f"The presenter sent a message this app cannot read "
                                           f"({detail}); reconnecting."),
                                   severity="warning", markup=False, timeout=8)
        elif event in ("left", "lost"):
            if before == "connected":
                self.link = "left"
                why = "" if event == "left" else f" ({detail})"
                self.screen.notify(f"The presenter left{visible(why)}; this app stays usable "
                                   f"and follows again when the presenter is back.",
                                   severity="warning", markup=False, timeout=8)
            elif before == "connecting" and event == "left":
                self.link = "left"
            elif before == "connecting" and event == "lost" and detail != self.unreachable:
                self.unreachable = str(detail)
                self.screen.notify(visible(
                    f"No presenter answers at {self._address} ({detail}). Check the host and "
                    f"port against the join string the presenter printed, and that the "
                    f"presenter is running; this app keeps trying."),
                    severity="warning", markup=False, timeout=12)
        elif event == "version":
            if before != "version" or detail != self.other_version:
                self.screen.notify(version_line(detail), severity="error", markup=False,
                                   timeout=12)
            self.link, self.other_version = "version", detail
        elif event == "refused":
            if before != "refused":
                self.screen.notify("The presenter refused this join string's token. Check "
                                   "that it is this presenter's join string today, copied whole "
                                   "on one line as printed.", severity="error", markup=False,
                                   timeout=10)
            self.link = "refused"
        self._show()

    # -- detaching and re-attaching ------------------------------------------------------------
    def reattach(self) -> None:
        if self.attached:
            self.screen.notify("Already following the presenter." if self.link == "connected"
                               else "Waiting for the presenter: this app follows it as soon "
                                    "as it is reachable.", markup=False, timeout=3)
            return
        self.attached = True
        self._own_in_step = False
        self.screen.notify("Following the presenter again.", markup=False, timeout=3)
        if self.latest is not None:
            self._apply(self.latest)
        self._show()

    def _detach(self, text: str) -> None:
        self.attached = False
        self.screen.notify(text, markup=False, timeout=5)
        self._show()
        ls = _lesson_session(self.screen)
        if ls is not None and getattr(ls, "active", False):
            ls.redraw()

    def _in_lesson(self) -> bool:
        """The presenter presents a lesson and this screen shows it: a sync point, where this
        learner's own keys keep it in the class (the class moving on moves it)."""
        ls = _lesson_session(self.screen)
        return (self.latest is not None and self.latest["lesson"] is not None
                and self._lesson_obj is not None and ls is not None
                and getattr(ls, "active", False) and ls.lesson is self._lesson_obj)

    def _lesson_changed(self) -> None:
        """The lesson session showed a change: a step, a task done, a pick, or leaving."""
        if self._applying or not self.attached or self._lesson_obj is None or \
                self.latest is None or self.latest["lesson"] is None:
            return
        if not self._in_lesson():  # L (or . past the last step): left the class's lesson
            self._detach("You left the class's lesson; press f to follow the class again.")
            return
        ls = _lesson_session(self.screen)
        if ls.index != self.latest["lesson"]["step"]:
            self._own_in_step = True  # (. or , of its own: back with the class's next step)
        self._send_answer()

    def _send_answer(self) -> None:
        """Tell the presenter this learner's answer at its step (the task done, the choice
        picked), once per change."""
        ls = _lesson_session(self.screen)
        sha = self.latest["lesson"]["sha256"] if self.latest and self.latest["lesson"] else None
        run = ls.runs.get(ls.index) if ls is not None and sha else None
        if run is None:
            return
        got = (bool(run.done), run.picked)
        key = (sha, ls.index)
        if got == (False, None) or self._answers_sent.get(key) == got:
            return
        if self.follower.answer({"lesson": sha, "step": ls.index, "done": got[0],
                                 "pick": got[1]}):
            self._answers_sent[key] = got

    def _room(self) -> str | None:
        """The follower's strip line: how to follow again, or the answers the presenter shows."""
        lesson = (self.latest or {}).get("lesson")
        ls = _lesson_session(self.screen)
        if lesson is None or ls is None:
            return None
        if not self.attached:
            return f"Not following the class (it is at step {lesson['step'] + 1}): f follows again."
        poll = lesson["poll"]
        if poll is None or poll["step"] != ls.index or not self._in_lesson():
            return None
        return poll_line(poll["of"], poll["done"], poll["picks"])

    def _changed(self, old, new) -> None:
        if self._applying or not self.attached:
            return
        if self._in_lesson():
            ls = _lesson_session(self.screen)
            if new.source != ls.step.scenario:  # o: another scenario, out of the lesson
                self._detach("You left the class's lesson; press f to follow the class again.")
            else:  # its own keys explore the step: it stays with the class
                self._own_in_step = True
            return
        po, pn = old.position, new.position
        # (a key before the presenter's first state detaches too: with a warm training cache
        # the screen takes keys before the connection is made, and the first state would
        # otherwise take the learner's move back without a word)
        if po != pn and not self._own_work(old, new, po, pn):
            self.attached = False
            self.screen.notify("Stopped following the presenter; press f to follow again."
                               if self.latest is not None else
                               "You moved on your own: this screen will not follow the "
                               "presenter until you press f.", markup=False, timeout=5)
            self._show()
            return
        self._check_weights()

    def _own_work(self, old, new, po: Position, pn: Position) -> bool:
        """A change that is the app's own work, not a key: training (on open, or up to the
        presenter's epoch) ending and showing its epoch."""
        if dataclasses.replace(po, epoch=pn.epoch) != pn:
            return False
        return old.training is not None or old.loss_pending or new.history is not old.history

    # -- applying the presenter's state --------------------------------------------------------
    def _apply(self, state: dict) -> None:
        try:
            pos = Position.parse(state["position"])
        except PositionError as err:
            self._problem(f"the presenter sent a position this app cannot read: {err}")
            return
        if pos.cells is not None:
            return  # compare mode is not followed (its screen is the presenter's own)
        scenario = self._scenario_for(state["scenario"])
        if scenario is None:
            return  # asked for it (or it cannot be opened here: said so)
        try:
            check_epoch(pos, self._variant(scenario, state["scenario"]["sha256"], pos))
        except PositionError as err:
            self._problem(f"the presenter's position is refused here: {err}")
            return
        screen = self.screen
        if self._holding(state["lesson"]):  # its learner explores the class's step: only the
            self._lesson_applied = state["lesson"]  # class's line changes
            ls = _lesson_session(screen)
            ls.redraw()
            self.applied += 1
            return
        self._applying = True
        try:
            if state["lesson"] != self._lesson_applied and not self._apply_lesson(state["lesson"]):
                return  # the lesson's text is asked for
            self._switch(scenario, state["scenario"]["sha256"], pos)
            screen.apply_position(pos)
            self._maximize(state["maximized"])
        except ValueError as err:  # ScenarioError: e.g. a typed text this scenario cannot read
            self._problem(f"the presenter's position cannot be shown here: {err}")
            return
        finally:
            self._applying = False
        self.applied += 1
        self._said = None  # (a problem coming back after a good state is said again)
        self._check_weights()

    def _switch(self, base, sha: str, pos: Position) -> None:
        """Open the presenter's scenario (and cell, attention) unless this screen shows it
        already."""
        from engine.types import ScenarioError
        screen = self.screen
        view = screen.view
        want_cell = pos.cell or base.model.cell
        want = _setting_at(base, pos)
        if view.scenario is not self._applied and view.source == pos.scenario and \
                _setting_of(view.scenario) == want and self._same_builtin(view.source, sha):
            self._applied, self._applied_sha = view.scenario, sha  # open already (a lesson's)
        if view.scenario is self._applied and sha == self._applied_sha and \
                _setting_of(view.scenario) == want:
            return
        sc = base
        if want != _setting_of(base):
            try:
                sc = scenario_at(base, pos)
            except ScenarioError as err:
                self._problem(f"the presenter's {want_cell.upper() if pos.cell else pos.setting()} "
                              f"is not opened here: {err.message}")
        self._applied, self._applied_sha = sc, sha
        screen.use_scenario(sc, pos.scenario)

    def _variant(self, base, sha: str, pos: Position):
        """``base`` with the cell, attention, mask and sorting of ``pos`` (itself when it has
        them, or cannot have them)."""
        key = (sha, *_setting_at(base, pos))
        if key[1:] == _setting_of(base):
            return base
        if key not in self._variants:
            from engine.types import ScenarioError
            try:
                self._variants[key] = scenario_at(base, pos)
            except ScenarioError:
                return base  # (_switch says why)
        return self._variants[key]

    @staticmethod
    def _same_builtin(source: str, sha: str) -> bool:
        """The scenario open (``source``, as the screen names it) is the built-in whose text
        has ``sha``: a presented lesson opens built-ins only. Only the app's own files are
        read, never the follower's."""
        text = _builtin_text(source) if isinstance(source, str) else None
        return text is not None and P.sha256(text) == sha

    def _maximize(self, pane_id: str | None) -> None:
        screen = self.screen
        if _maximized(screen) == pane_id:
            return
        if pane_id is None:
            screen.minimize()
            return
        with contextlib.suppress(Exception):
            pane = screen.query_one(f"#{pane_id}")
            pane.focus()
            screen.maximize(pane)

    def _scenario_for(self, info: dict):
        """The presenter's scenario: a built-in of the same text, one received, or None (it is
        asked for, or cannot be opened here)."""
        sha = info["sha256"]
        if sha in self._scenarios:
            return self._scenarios[sha]
        if sha in self._failed:
            return None
        text = _builtin_text(info["name"]) if info["builtin"] else None
        if text is not None and P.sha256(text) == sha:
            from engine.scenario import load
            sc = self._scenarios[sha] = load(info["name"])
            return sc
        if sha not in self._asked and self._ask({"type": "need_scenario", "sha256": sha}):
            self._asked[sha] = True
            self.screen.notify("Fetching the presenter's scenario…", markup=False, timeout=3)
        return None

    def _holding(self, lesson: dict | None) -> bool:
        """This learner moved on its own within the class's step, which the presenter has not
        left: keep its screen (the presenter changing step moves it)."""
        was = self._lesson_applied
        return (self._own_in_step and lesson is not None and was is not None
                and (was["name"], was["sha256"], was["step"]) ==
                (lesson["name"], lesson["sha256"], lesson["step"]) and self._in_lesson())

    def _apply_lesson(self, lesson: dict | None) -> bool:
        """Open the presenter's lesson at its step (or leave the one open); False while its
        text is asked for. Each follower answers the lesson's questions on its own screen."""
        ls = _lesson_session(self.screen)
        if ls is None:
            return True
        if lesson is None:
            if getattr(ls, "active", False):
                ls.leave()
            self._lesson_applied = self._lesson_obj = None
            return True
        sha = lesson["sha256"]
        found = self._lessons.get(sha) if sha else None
        if found is None:
            found = builtin_lesson(lesson["name"], sha)
        if found is None:
            if sha and sha in self._failed:
                self._lesson_applied = lesson  # said why already: follow the rest
                return True
            if sha and sha not in self._asked:
                if self._ask({"type": "need_lesson", "sha256": sha}):
                    self._asked[sha] = True
                return False
            if not sha:
                self._problem(f"the presenter's lesson {lesson['name']!r} is not here, and "
                              f"its file cannot be sent")
                self._lesson_applied = lesson
                return True
            return False
        step = max(0, min(lesson["step"], len(found) - 1))
        was = self._lesson_applied
        moved = (was is not None and self._lesson_obj is found and was["step"] != step)
        if ls.lesson is not found or not ls.active or ls.index != step:
            ls.open(found, step)
        if moved or self._lesson_obj is not found:
            self._own_in_step = False  # a new step: this learner starts it with the class
        if moved:
            self.screen.notify(f"The class moved on to step {step + 1}." if step > was["step"]
                               else f"The class went back to step {step + 1}.",
                               markup=False, timeout=4)
        self._lesson_obj = found
        self._lesson_applied = lesson
        if ls.active:
            ls.redraw()  # (the class's line: the answers the presenter shows, or none)
        return True

    def _received_text(self, what: str, data: bytes) -> None:
        from engine.scenario import loads
        from engine.types import ScenarioError
        sha = P.sha256(data)
        if what == "lesson":
            self._received_lesson(sha, data)
            return
        if sha in self._scenarios:
            return
        name = self.latest["scenario"]["name"] if self.latest else "scenario"
        try:
            text = data.decode("utf-8")
            # files=False: a sent scenario never reads a file of this machine (its [data]
            # naming one is refused before any path is made)
            self._scenarios[sha] = loads(text, source=f"presenter:{_sent_name(name)}",
                                         files=False)
        except (UnicodeDecodeError, ScenarioError) as err:
            self._failed[sha] = str(err)
            self._problem(f"the presenter's scenario cannot be opened here: {err}")
            return
        if self.attached and self.latest is not None:
            self._apply(self.latest)

    def _received_lesson(self, sha: str, data: bytes) -> None:
        if sha in self._lessons:
            return
        name = (self.latest or {}).get("lesson") or {}
        try:
            from ..lessons import loads_lesson
            from ..lessons.loader import LessonError
        except ImportError:
            return
        try:
            # sent=True: it may name built-in scenarios only (names never become paths)
            self._lessons[sha] = loads_lesson(
                data.decode("utf-8"), f"presenter/{_sent_name(name.get('name', 'lesson'))}.toml",
                sent=True)
        except (UnicodeDecodeError, LessonError) as err:
            self._failed[sha] = str(err)
            self._problem(f"the presenter's lesson cannot be opened here: {err}")
        if self.attached and self.latest is not None:
            self._apply(self.latest)

    # -- weights -------------------------------------------------------------------------------
    def _check_weights(self) -> None:
        """Ask for the presenter's weights when this app's own for the epoch differ."""
        state = self.latest
        if not self.attached or state is None or state["weights"] is None:
            return
        w = state["weights"]
        view = self.screen.view
        if view.training is not None or view.epoch != w["epoch"] or \
                view.scenario is not self._applied:
            return
        key = (id(view.history), view.epoch)
        if key not in self._checked:
            self._checked[key] = P.weights_digest(P.weight_arrays(view.base_params))
        ask = (w["epoch"], w["sha256"])
        shapes = [(n, a.shape) for n, a in P.weight_arrays(view.base_params)]
        if self._checked[key] != w["sha256"] and ask not in self._asked and \
                self._ask({"type": "need_weights", **w}, shapes):
            self._asked[ask] = True

    def _ask(self, msg: dict, arrays=None) -> bool:
        """Ask the presenter for something; a request held back by the follower's pace is
        asked again once there is room (the newest state's, then)."""
        if self.follower.request(msg, arrays):
            return True
        if self.link == "connected":
            if self._held is None:
                asyncio.get_running_loop().call_later(RETRY, self._retry)
            if self._held != "text":  # (a text held back: the state is applied again)
                self._held = "weights" if msg["type"] == "need_weights" else "text"
        return False

    def _retry(self) -> None:
        held, self._held = self._held, None
        if not self.attached or self.latest is None or self.link != "connected":
            return
        if held == "weights":
            self._check_weights()  # (the state is shown: only its weights were wanted)
        else:
            self._apply(self.latest)  # (not shown: its scenario's or lesson's text was wanted)

    def _received_weights(self, epoch: int, arrays: list) -> None:
        screen = self.screen
        view = screen.view
        if view.training is not None or epoch not in view.history.epochs:
            return
        own = view.history.params_at(epoch)
        mine = P.weight_arrays(own)
        if [(n, a.shape) for n, a in mine] != [(n, a.shape) for n, a in arrays]:
            self._problem("the presenter's weights have other shapes than this scenario's")
            return
        from engine.cells.base import with_weights
        params = with_weights(own, dict(arrays))
        h = view.history
        weights = list(h.weights)
        weights[h.epochs.index(epoch)] = params
        history = dataclasses.replace(h, weights=weights)
        self._checked[(id(history), epoch)] = P.weights_digest(arrays)
        self._applying = True
        try:
            screen.view = view.with_history(history, epoch=view.epoch)
        finally:
            self._applying = False

    def _problem(self, text: str) -> None:
        if text == self._said:
            return  # (said already: a presenter repeating it does not fill the screen)
        self._said = text
        self.screen.notify(visible(text), severity="warning", markup=False, timeout=10)


def check_bind(host: str) -> str | None:
    """A warning when ``host`` reaches beyond this machine, else None."""
    if is_loopback(host):
        return None
    return (f"warning: listening on {host}, beyond this machine: anyone who can reach it and "
            f"has the join string can follow (the connection is not encrypted)")


def _setting_of(scenario) -> tuple:
    """What a presenter's position may switch in a scenario: its cell, its attention, and its
    padded batches' mask and sorting."""
    return (scenario.model.cell, scenario.model.attention, scenario.train.mask,
            scenario.train.sort)


def _setting_at(base, pos: Position) -> tuple:
    """The setting of ``base`` as ``pos`` switches it (:func:`_setting_of`)."""
    cell, attention, mask, sort = _setting_of(base)
    return (pos.cell or cell, pos.attention or attention,
            mask if pos.mask is None else pos.mask, sort if pos.sort is None else pos.sort)
