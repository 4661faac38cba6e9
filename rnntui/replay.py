"""``rnntui replay FILE``: a recording (rnntui.recording) played back as a presenter that is a file.

:class:`ReplayRole` is the classroom's follower role (rnntui.classroom.session.FollowerRole) fed
from a recording instead of the network: each event's state is applied through the very path a
follower applies a presenter's (the scenario and lesson opened from the text the recording
carries, the position through ``apply_position``), so every number on screen is recomputed from
positions. It plays at the recorded pace (space pauses, * and / double and halve the speed), (
and ) step one event back and on, J and K jump between markers and lesson steps; any
navigation key detaches to explore from there with every key of the app, and f comes back to
the event it left. Weights that differ from the recorded ones (another engine) are said, never
shown silently.
"""

from __future__ import annotations

import os

from .classroom.session import FollowerRole
from .recording import Recording
from .safe_text import visible

#: Seconds between two looks at the replay clock while playing.
TICK = 0.1
#: The speeds * and / reach (x1/8 to x8).
SPEEDS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def clock(seconds: float) -> str:
    """0:07, 12:30, 1:02:03."""
    s = int(seconds)
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _FileFeed:
    """Stands in for the network follower: what the role asks for comes from the recording."""

    def __init__(self, role: "ReplayRole") -> None:
        self.role = role

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def request(self, msg: dict, arrays=None) -> bool:
        what = msg["type"].removeprefix("need_")
        if what == "weights":  # this app's own weights differ from the recorded ones: said
            self.role.screen.notify(
                f"The weights at epoch {msg['epoch']} differ from the recorded ones: the "
                f"numbers shown are not what was seen then.", severity="warning",
                markup=False, timeout=10)
            return True  # (asked: said once for these weights)
        data = self.role.recording.texts.get(msg.get("sha256"))
        if what not in ("scenario", "lesson") or data is None:
            return False
        self.role.screen.call_later(self.role._event, what, data)
        return True


def _kept_in_memory():
    """Lesson progress that is neither read from nor written to this machine: a replay opens
    the recorded lessons, which are not the replayer's own progress."""
    from .lessons.progress import Progress
    return Progress(path=os.devnull, memory=True)


class ReplayRole(FollowerRole):
    """Show a recording's events on the main screen (see the module docstring)."""

    def __init__(self, recording: Recording, *, play: bool = True) -> None:
        super().__init__(join=None)  # type: ignore[arg-type]
        self.recording = recording
        self.follower = _FileFeed(self)
        self.index = -1  # the event shown (-1: none yet)
        self.elapsed = 0.0
        self.speed = 1.0
        self.playing = play
        for sha, sc in recording.scenarios.items():  # (opened already: never asked for)
            self._scenarios[sha] = sc
        for sha, lesson in recording.lessons.items():
            self._lessons[sha] = lesson

    @property
    def takes_space(self) -> bool:
        return self.attached

    # -- the main screen's hooks ---------------------------------------------------------------
    def start(self, screen) -> None:
        from .cache import engine_version
        self.screen = screen
        screen.draw_ahead = False
        screen.lessons._progress = _kept_in_memory()
        screen.lessons.room = self._room
        screen.lessons.hooks.append(self._lesson_moved)
        screen.view_hooks.append(self._changed)
        self.link = "connected"
        rec = self.recording
        if rec.header.get("engine") != engine_version():
            screen.notify("This recording was made with another version of the engine: the "
                          "numbers shown are this engine's and may differ from what was seen "
                          "(each event whose weights differ says so).", severity="warning",
                          markup=False, timeout=12)
        if rec.note:
            screen.notify(visible(rec.note), severity="warning", markup=False, timeout=8)
        screen.set_interval(TICK, self._tick)
        self.go(self._first())

    def _first(self) -> int:
        """The first event with something to show."""
        for i, state in enumerate(self.recording.states):
            if state is not None:
                return i
        return -1

    def _show(self) -> None:
        if self.screen is None or not hasattr(self, "recording"):
            return
        rec = self.recording
        total = clock(rec.duration)
        state = ("replay ▶" if self.playing else "replay paused") if self.attached else \
            "exploring"
        parts = [(state, "reverse", 9),
                 (f"{clock(self.elapsed)}/{total}", "", 9),
                 (f"event {self.index + 1}/{len(rec.events)}", "", 6)]
        if self.speed != 1:
            parts.append((f"×{self.speed:g}", "", 7))
        if not self.attached:
            parts.append(("f replays", "", 5))
        status = self.screen.status
        status.extra = tuple(parts)
        status.show(self.screen.view)

    def _room(self) -> str | None:
        """The lesson strip's line: the class's recorded answers to this step (counts)."""
        from .classroom.session import poll_line
        lesson = (self.latest or {}).get("lesson")
        poll = lesson.get("poll") if lesson is not None and self.attached else None
        if poll is None or poll["step"] != self.screen.lessons.index:
            return None
        return "Recorded: " + poll_line(poll["of"], poll["done"], poll["picks"])

    def reattach(self) -> None:
        if self.attached:
            self.screen.notify("Already replaying: ( and ) step, space pauses.", markup=False,
                               timeout=3)
            return
        self.attached = True
        self.screen.notify("Back to the replay.", markup=False, timeout=3)
        self.go(self.index)

    def _changed(self, old, new) -> None:
        """A key that moved the screen detaches (the follower's rule, FollowerRole._own_work:
        training reaching an epoch is the app's own work); the replay waits at its event."""
        if self._applying or not self.attached:
            return
        po, pn = old.position, new.position
        if po != pn and self.latest is not None and not self._own_work(old, new, po, pn):
            self._detach()
            return
        self._check_weights()

    def _lesson_moved(self) -> None:
        """A lesson key (. , L) that took the screen off the recorded step detaches too."""
        if self._applying or not self.attached or self.latest is None:
            return
        ls, lesson = self.screen.lessons, self.latest["lesson"]
        if lesson is not None and (not ls.active or ls.index != lesson["step"]):
            self._detach()

    def _detach(self) -> None:
        self.attached = self.playing = False
        self.screen.notify("Exploring from this event; press f to go back to the replay.",
                           markup=False, timeout=5)
        self._show()

    # -- moving through the recording ----------------------------------------------------------
    def go(self, index: int) -> None:
        """Show event ``index`` (its state: the last position before it included)."""
        rec = self.recording
        if not rec.events:
            self._show()
            return
        index = max(0, min(index, len(rec.events) - 1))
        self.index = index
        self.elapsed = rec.events[index]["t"]
        state = rec.states[index]
        if state is not None:
            self.latest = state
            # the recorded step is opened again whatever this screen did meanwhile (a learner
            # exploring may have moved the lesson), and never told as the class moving on
            self._lesson_applied = None
            ls = getattr(self.screen, "lessons", None)
            if state["lesson"] is None and ls is not None and ls.active:
                ls.leave()
            self._apply(state)
            self._apply_answer(state)
        self._show()

    def _apply_answer(self, state: dict) -> None:
        ls = getattr(self.screen, "lessons", None)
        if ls is None or not ls.active or state.get("lesson") is None:
            return
        if ls.index == state["lesson"]["step"] and ls.run.picked != state.get("answer"):
            ls.run.picked = state.get("answer")
            ls._show()
        else:
            ls.redraw()  # (the class's recorded answers may have changed)

    def replay(self, what: str, arg: int = 0) -> None:
        """A replay key: pause, step (( and )), mark (J K) or speed (* /)."""
        if not self.attached:
            if what != "speed":
                self.attached = True
                self.screen.notify("Back to the replay.", markup=False, timeout=3)
            else:
                self._set_speed(arg)
                return
        rec = self.recording
        if what == "pause":
            if not self.playing and self.index >= len(rec.events) - 1:
                self.go(self._first())  # at the end: from the start again
            self.playing = not self.playing
        elif what == "step":
            self.playing = False
            self.go(max(self.index + arg, self._first()))
        elif what == "mark":
            self.playing = False
            marks = rec.marks
            later = [i for i in marks if i > self.index] if arg > 0 else \
                [i for i in marks if i < self.index]
            if not later:
                self.screen.notify("No marker or lesson step " +
                                   ("after" if arg > 0 else "before") + " this event.",
                                   markup=False, timeout=3)
            else:
                self.go(later[0] if arg > 0 else later[-1])
                event = rec.events[self.index]
                if event["type"] == "marker":
                    self.screen.notify(f"Marker: {visible(event['label'])}", markup=False,
                                       timeout=3)
        elif what == "speed":
            self._set_speed(arg)
        self._show()

    def _set_speed(self, arg: int) -> None:
        i = SPEEDS.index(self.speed)
        i = min(i + 1, len(SPEEDS) - 1) if arg > 0 else max(i - 1, 0)
        self.speed = SPEEDS[i]
        self._show()

    def _tick(self) -> None:
        if not self.playing or not self.attached:
            return
        rec = self.recording
        self.elapsed += TICK * self.speed
        nxt = self.index + 1
        while nxt < len(rec.events) and rec.events[nxt]["t"] <= self.elapsed:
            nxt += 1
        if nxt - 1 > self.index:
            self.go(nxt - 1)
        if self.index >= len(rec.events) - 1:
            self.elapsed = min(self.elapsed, rec.duration)
            self.playing = False
        self._show()


def open_replay(path: str | os.PathLike, *, play: bool = True, cls=None):
    """(scenario, position, role) to open the app on the recording at ``path``: its first
    state's scenario and position; RecordingError when it cannot be read. ``cls``: the role's
    class (a ReplayRole's; reader mode's says what it shows)."""
    from .position import Position
    from .recording import RecordingError, read_recording
    rec = read_recording(path)
    first = next((s for s in rec.states if s is not None), None)
    if first is None:
        raise RecordingError(f"{rec.path}: the recording shows nothing (no position)")
    role = (cls or ReplayRole)(rec, play=play)
    sha = first["scenario"]["sha256"]
    sc = rec.scenarios[sha]
    pos = Position.parse(first["position"])
    if pos.cell in (None, sc.model.cell) and pos.attention in (None, sc.model.attention):
        role._applied, role._applied_sha = sc, sha
    return sc, pos, role
