"""Recordings: what a session showed, as a small file of events (docs/recording.md).

:class:`Recorder` hangs off a main screen (``--record FILE`` on the app, ``present`` and
``learn``) and writes one JSON line per change: the header first, then the text of each
scenario and lesson as it opens, and one event per change of position, lesson step, question
answered, and each marker the presenter drops (key M). Each line is written with one
``os.write`` on a file opened for appending, so a crash loses at most the event being written.

:func:`read_recording` reads one back as an UNTRUSTED file: its size is capped, every field is
checked (one line naming the line of the file and the field), the scenarios and lessons it
carries are opened from their text alone (never a file of the replaying machine), and every
position is checked against its scenario (epochs past the limit are refused). The result is a
:class:`Recording`: the header and, for every event, the whole state the class saw then
(rnntui.replay plays it).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .safe_text import clip

__all__ = ["FORMAT", "VERSION", "Recorder", "Recording", "RecordingError", "open_new",
           "read_recording"]

#: The first field of the header, and the version of the format this rnntui writes and reads.
FORMAT, VERSION = "rnntui-recording", 1
#: The largest recording read (its carried scenario and lesson texts included).
MAX_FILE = 16 * 1024 * 1024
#: The largest scenario or lesson text a recording carries (a bigger one is not recorded).
MAX_TEXT = 1024 * 1024
#: The most events read, and the longest recording (seconds: a week).
MAX_EVENTS = 200_000
MAX_SECONDS = 7 * 24 * 3600
#: The longest marker label and name kept.
MAX_LABEL = 200
#: The largest data file (a scenario's ``[data] file`` or ``csv``) a recording carries; a
#: bigger one is not carried, and the replay says the scenario cannot be opened without it.
MAX_DATA = 4 * 1024 * 1024
#: Event types ("poll": the class's answers to a presented lesson's step, as counts; "data":
#: the bytes of a scenario's data file, written before the scenario).
TYPES = ("data", "scenario", "lesson_text", "position", "step", "answer", "marker", "poll")
#: Seconds between two looks at the class's answers while presenting.
POLL_EVERY = 1.0
#: How many names NAME-1.EXT ... a recording tries when its file exists.
MAX_SUFFIX = 99
_SHA = re.compile(r"[0-9a-f]{64}")


class RecordingError(ValueError):
    """A recording that cannot be read: one line naming the line of the file and what is
    wrong."""


def open_new(path: str | os.PathLike) -> tuple[int, Path]:
    """A new file at ``path`` (or NAME-1.EXT, NAME-2.EXT ... when it exists: an existing file
    is never overwritten), opened for appending; (descriptor, path). OSError when none can be
    made."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    for n in range(MAX_SUFFIX + 1):
        candidate = path if n == 0 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        try:
            return os.open(candidate, flags, 0o644), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"{path} and {path.stem}-1 to -{MAX_SUFFIX} exist already")


def _line(obj: dict) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            + "\n").encode("utf-8")


class Recorder:
    """Write a screen's session to a recording (see the module docstring).

    ``attach(screen)`` before the app runs: it listens to the screen's ``view_hooks`` and the
    lesson session's ``hooks``; every change within one frame makes one event."""

    def __init__(self, path: str | os.PathLike, command: str = "app", *,
                 clock=time.monotonic) -> None:
        from . import __version__
        from .cache import engine_version
        self.fd, self.path = open_new(path)
        self._clock = clock
        self._start = clock()
        self.screen = None
        self.error: str | None = None
        self.events = 0
        self.markers = 0
        self._pending = False
        self._watching = False
        self._sent_texts: set[str] = set()
        self._last: dict[str, object] = {}
        self._lesson_texts: dict = {}
        self._answered: dict[tuple, int] = {}  # (lesson source, step) -> the choice written
        self._scenario: tuple | None = None  # (scenario object, source, sha256)
        self._digests: dict[int, tuple] = {}
        #: Called as hook(event) after each event is written (tests compare replays with it).
        self.hooks: list = []
        self._write({"format": FORMAT, "version": VERSION, "rnntui": __version__,
                     "engine": engine_version(), "command": command,
                     "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    # -- writing -------------------------------------------------------------------------------
    def _write(self, obj: dict) -> bool:
        if self.fd is None:
            return False
        try:
            os.write(self.fd, _line(obj))
        except (OSError, ValueError) as err:
            self.error = f"recording stopped: {getattr(err, 'strerror', None) or err}"
            self.close()
            if self.screen is not None:
                self.screen.notify(f"{clip(str(self.path), 60)}: {self.error}",
                                   severity="error", markup=False, timeout=10)
            return False
        return True

    def event(self, kind: str, **fields) -> None:
        """Write one event of type ``kind`` stamped with the seconds since the start."""
        obj = {"t": round(self._clock() - self._start, 3), "type": kind, **fields}
        if self._write(obj):
            self.events += 1
            for hook in self.hooks:
                hook(obj)

    def close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.close(fd)
            except OSError:
                pass

    # -- the screen ----------------------------------------------------------------------------
    def attach(self, screen) -> None:
        self.screen = screen
        screen.recorder = self
        screen.view_hooks.append(lambda old, new: self.changed())
        screen.lessons.hooks.append(self._lesson_event)

    def changed(self) -> None:
        """Something may have changed: write it once the screen shows it (one event a frame)."""
        screen = self.screen
        if screen is None or self.fd is None or self._pending:
            return
        if not self._watching:
            self._watching = True
            screen.watch(screen, "maximized", lambda *_: self.changed(), init=False)
            if hasattr(screen.classroom, "_poll"):  # presenting: answers come without a key
                screen.set_interval(POLL_EVERY, self.flush)
        self._pending = True
        screen.call_after_refresh(screen.call_later, self.flush)

    def _lesson_event(self) -> None:
        """The lesson strip changed (rnntui.lessons.session: its ``hooks``): a step, a task
        done, an answer picked, the lesson left."""
        ls = self.screen.lessons
        run = ls.runs.get(ls.index) if ls.active and ls.lesson is not None else None
        picked = run.picked if run is not None else None
        key = (ls.lesson.source if ls.lesson is not None else None, ls.index)
        if picked is not None and self._answered.get(key) != picked:
            self._answered[key] = picked
            self.flush()  # (the step it answers is written first)
            self.event("answer", step=int(ls.index), choice=int(picked))
        else:
            self.changed()

    def flush(self) -> None:
        """Write what changed since the last event."""
        from .classroom.session import _maximized, lesson_state
        self._pending = False
        screen = self.screen
        if screen is None or self.fd is None:
            return
        view = screen.view
        sha = self._scenario_sha(view)
        lesson = lesson_state(screen, self._lesson_texts)
        if lesson is not None and lesson["sha256"] and lesson["sha256"] not in self._sent_texts:
            text = self._lesson_texts.get(lesson["sha256"])
            if text is not None and len(text) <= MAX_TEXT:
                self._sent_texts.add(lesson["sha256"])
                self.event("lesson_text", name=lesson["name"], sha256=lesson["sha256"],
                           toml=text.decode("utf-8", "replace"))
        if lesson != self._last.get("step"):  # (a lesson opened, moved a step, or left)
            self._last["step"] = lesson
            self.event("step", lesson=lesson)
        from .classroom import protocol as P
        state = {"position": str(view.position), "scenario": sha,
                 "weights": {"epoch": view.epoch, "sha256": self._digest(view.base_params, P)},
                 "maximized": _maximized(screen)}
        last = self._last.get("position")
        poll = self._poll(lesson)
        if poll is not None and poll != self._last.get("poll"):
            self._last["poll"] = poll
            self.event("poll", counts=poll)
        if view.training is None and state != last:
            self._last["position"] = state
            # (what is as it was in the last position event is left out: it carries on)
            self.event("position", **{k: v for k, v in state.items()
                                      if k == "position" or last is None or last[k] != v})

    def _poll(self, lesson: dict | None) -> dict | None:
        """Presenting a lesson: the class's answers to its step, as counts
        ({step, of, done, picks}: rnntui.classroom.session.PresenterRole), else None."""
        role = getattr(self.screen, "classroom", None)
        if lesson is None or not hasattr(role, "_poll") or role._presented() is None:
            return None
        return role._poll(lesson)

    def _digest(self, params, P) -> str:
        got = self._digests.get(id(params))
        if got is None or got[0] is not params:
            if len(self._digests) > 64:
                self._digests.clear()
            got = self._digests[id(params)] = (params, P.weights_digest(P.weight_arrays(params)))
        return got[1]

    def _scenario_sha(self, view) -> str | None:
        """The digest of the scenario on screen, its text written first when it is new."""
        from .classroom import protocol as P
        from .classroom.session import _builtin_text, _scenario_bytes
        known = self._scenario
        if known is not None and known[0] is view.scenario and known[1] == view.source:
            return known[2]
        text = _scenario_bytes(view.scenario)
        builtin = _builtin_text(view.source) if isinstance(view.source, str) else None
        sha = P.sha256(text) if text is not None else None
        if sha is not None and sha not in self._sent_texts and len(text) <= MAX_TEXT:
            self._sent_texts.add(sha)
            own = builtin is not None and builtin == text  # (its data: the app's own files)
            for name, data in [] if own else _data_files(view.scenario, text):
                self.event("data", scenario=sha, name=name, sha256=P.sha256(data),
                           text=data.decode("utf-8"))
            self.event("scenario", name=str(view.source)[:MAX_LABEL], sha256=sha,
                       builtin=own,
                       toml=text.decode("utf-8", "replace"))
        self._scenario = (view.scenario, view.source, sha)
        return sha

    # -- markers and polls ---------------------------------------------------------------------
    def marker(self, label: str | None = None) -> str:
        """Drop a marker (key M): its label, 'marker N' unless given."""
        self.flush()
        self.markers += 1
        label = (label or f"marker {self.markers}")[:MAX_LABEL]
        self.event("marker", label=label)
        return label



def _data_files(scenario, text: bytes) -> list[tuple[str, bytes]]:
    """(the name its [data] gives, the bytes) of the data file ``scenario`` was read with:
    read again, as a data file is read, when it is UTF-8 and at most MAX_DATA bytes (else
    nothing: the replay then says the file is not carried)."""
    import tomllib

    from engine.files import FileReadError, read_regular
    from engine.scenario import FILE_KEYS
    try:
        data = tomllib.loads(text.decode("utf-8-sig")).get("data", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    out = []
    for key in FILE_KEYS:
        name, path = data.get(key), (getattr(scenario, "data", None) or {}).get(key)
        if not isinstance(name, str) or not isinstance(path, str):
            continue
        try:
            raw = read_regular(path, MAX_DATA)
            raw.decode("utf-8")
        except (FileReadError, OSError, UnicodeDecodeError, ValueError):
            continue
        out.append((name, raw))
    return out


# ---------------------------------------------------------------------------------------------
# reading


@dataclass
class Recording:
    """A recording read back: its header, every event, and the state at each event (what
    rnntui.replay applies): {position, scenario: {name, sha256, builtin}, weights, maximized,
    lesson, answer}; texts maps a sha256 to the scenario or lesson text carried."""

    path: str
    header: dict
    events: list[dict]
    states: list[dict | None]
    texts: dict[str, bytes] = field(default_factory=dict)
    note: str | None = None
    #: The scenarios (sha256 -> Scenario) and lessons (sha256 -> Lesson) opened from it.
    scenarios: dict = field(default_factory=dict)
    lessons: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.events[-1]["t"] if self.events else 0.0

    @property
    def marks(self) -> list[int]:
        """The indices of the markers and lesson steps (what J and K jump between)."""
        return [i for i, e in enumerate(self.events) if e["type"] in ("marker", "step")]


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number a recording may hold")


def _int_text(text: str) -> int:
    if len(text.lstrip("-")) > 18:
        raise ValueError(f"a number of {len(text)} digits")
    return int(text)


def _json(line: bytes | str):
    """One line of a recording, read as untrusted JSON (rnntui.safe_json)."""
    from .safe_json import read_json
    return read_json(line, parse_int=_int_text, parse_constant=_no_constant)


def read_recording(path: str | os.PathLike) -> Recording:
    """Read the recording at ``path`` (see the module docstring); RecordingError when it
    cannot be read, naming the line and what is wrong."""
    from engine.files import FileReadError, read_regular
    shown = clip(os.fspath(path), 80)
    try:
        data = read_regular(path, MAX_FILE)
    except FileReadError as err:
        raise RecordingError(f"{shown}: {err}") from None
    return parse_recording(data, shown)


def parse_recording(data: bytes, shown: str = "recording") -> Recording:
    lines = data.split(b"\n")
    note = None
    if lines and lines[-1] == b"":
        lines.pop()
    elif len(lines) > 1:  # the last line was cut off (the recording ended mid-write)
        try:
            _json(lines[-1])
        except ValueError:
            lines.pop()
            note = "the recording's last event was cut off; it ends at the one before"
    if not lines:
        raise RecordingError(f"{shown}: empty: not a recording")
    if len(lines) > MAX_EVENTS + 1:
        raise RecordingError(f"{shown}: {len(lines) - 1} events; at most {MAX_EVENTS} are read")

    def bad(n: int, what: str) -> RecordingError:
        return RecordingError(f"{shown}: line {n}: {what}")

    def obj(n: int, raw: bytes) -> dict:
        from .safe_json import JSONError
        try:
            value = _json(raw)
        except JSONError as err:
            raise bad(n, "not UTF-8 text" if err.detail == "not UTF-8 text" else
                      f"not a JSON object ({clip(err.detail, 80)})") from None
        if not isinstance(value, dict):
            raise bad(n, "not a JSON object")
        return value

    header = obj(1, lines[0])
    if header.get("format") != FORMAT:
        raise bad(1, f"not an rnntui recording (its header has no format "
                     f"\"{FORMAT}\")")
    version = header.get("version")
    if version != VERSION:
        raise bad(1, f"version {clip(repr(version), 20)}: this rnntui reads version {VERSION}")
    engine = header.get("engine")
    if not isinstance(engine, str) or not _SHA.fullmatch(engine):
        raise bad(1, "engine: not a sha256 digest")
    builder = _States(shown)
    for n, raw in enumerate(lines[1:], start=2):
        builder.add(n, obj(n, raw))
    return Recording(shown, header, builder.events, builder.states, builder.texts, note,
                     {sha: sc for sha, (_, sc) in builder.scenarios.items()}, builder.lessons)


def _text(ev: dict, key: str, n: int, shown: str, limit: int = MAX_LABEL,
          optional: bool = False) -> str | None:
    value = ev.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise RecordingError(f"{shown}: line {n}: {key}: not a text")
    if len(value) > limit:
        raise RecordingError(f"{shown}: line {n}: {key}: {len(value)} characters; at most "
                             f"{limit}")
    return value


class _States:
    """Checks each event and builds the state after it (see :class:`Recording`)."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.events: list[dict] = []
        self.states: list[dict | None] = []
        self.texts: dict[str, bytes] = {}
        self.data: dict[str, dict[str, bytes]] = {}  # scenario sha256 -> {name: bytes}
        self.scenarios: dict[str, tuple] = {}  # sha256 -> (info, Scenario)
        self.lessons: dict[str, object] = {}
        self.state: dict | None = None
        self.lesson: dict | None = None
        self.answers: dict[int, int] = {}
        self.poll: dict | None = None
        self.t = 0.0

    def bad(self, n: int, what: str) -> RecordingError:
        return RecordingError(f"{self.shown}: line {n}: {what}")

    def add(self, n: int, ev: dict) -> None:
        t = ev.get("t")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or \
                not 0 <= t <= MAX_SECONDS:
            raise self.bad(n, f"t: not a time from 0 to {MAX_SECONDS} seconds")
        if t < self.t:
            raise self.bad(n, f"t={t} goes back before the event before it (t={self.t})")
        self.t = float(t)
        kind = ev.get("type")
        if kind not in TYPES:
            raise self.bad(n, f"type {clip(repr(kind), 40)} is not an event type "
                              f"({', '.join(TYPES)})")
        getattr(self, f"_{kind}")(n, ev)
        clean = {"t": self.t, "type": kind}
        if kind == "marker":
            clean["label"] = ev["label"]
        elif kind == "step":
            clean["lesson"] = self.lesson
        self.events.append(clean)
        lesson = self.lesson
        if lesson is not None:
            poll = self.poll if self.poll is not None and \
                self.poll["step"] == lesson["step"] else None
            lesson = {**lesson, "poll": poll}
        self.states.append(None if self.state is None else
                           {**self.state, "lesson": lesson,
                            "answer": self.answers.get(lesson["step"]) if lesson else None})

    def _text_event(self, n: int, ev: dict) -> tuple[str, str, bytes]:
        name = _text(ev, "name", n, self.shown)
        sha = ev.get("sha256")
        if not isinstance(sha, str) or not _SHA.fullmatch(sha):
            raise self.bad(n, "sha256: not a sha256 digest")
        toml = _text(ev, "toml", n, self.shown, MAX_TEXT)
        data = toml.encode("utf-8", "surrogatepass")
        from .classroom import protocol as P
        if P.sha256(data) != sha:
            raise self.bad(n, "the text carried does not have the sha256 it names")
        self.texts[sha] = data
        return name, sha, data

    def _scenario(self, n: int, ev: dict) -> None:
        from engine.scenario import load, loads
        from engine.types import ScenarioError

        from .classroom import protocol as P
        from .classroom.session import _builtin_text, _sent_name
        name, sha, data = self._text_event(n, ev)
        builtin = ev.get("builtin") is True
        own = _builtin_text(name) if builtin else None
        try:
            if own is not None and P.sha256(own) == sha:
                sc = load(name)
            else:
                builtin = False
                # (its data files: the bytes carried before it, never a file of this machine)
                sc = loads(data.decode("utf-8"), source=f"recording:{_sent_name(name)}",
                           files=self.data.get(sha, {}))
        except (ScenarioError, UnicodeDecodeError) as err:
            raise self.bad(n, f"the scenario {clip(name, 40)} cannot be opened: "
                              f"{clip(str(err), 200)}") from None
        self.scenarios[sha] = ({"name": name, "sha256": sha, "builtin": builtin}, sc)

    def _data(self, n: int, ev: dict) -> None:
        name = _text(ev, "name", n, self.shown, 4096)
        scenario, sha = ev.get("scenario"), ev.get("sha256")
        for key, value in (("scenario", scenario), ("sha256", sha)):
            if not isinstance(value, str) or not _SHA.fullmatch(value):
                raise self.bad(n, f"{key}: not a sha256 digest")
        data = _text(ev, "text", n, self.shown, MAX_DATA).encode("utf-8", "surrogatepass")
        if len(data) > MAX_DATA:
            raise self.bad(n, f"text: {len(data)} bytes; at most {MAX_DATA}")
        from .classroom import protocol as P
        if P.sha256(data) != sha:
            raise self.bad(n, "the data carried does not have the sha256 it names")
        files = self.data.setdefault(scenario, {})
        if name not in files and len(files) >= 2:
            raise self.bad(n, "a scenario reads at most two data files")
        files[name] = data

    def _lesson_text(self, n: int, ev: dict) -> None:
        from .classroom.session import _sent_name
        from .lessons import loads_lesson
        from .lessons.loader import LessonError
        name, sha, data = self._text_event(n, ev)
        try:
            self.lessons[sha] = loads_lesson(data.decode("utf-8"),
                                             f"recording/{_sent_name(name)}.toml", sent=True)
        except (LessonError, UnicodeDecodeError) as err:
            raise self.bad(n, f"the lesson {clip(name, 40)} cannot be opened: "
                              f"{clip(str(err), 200)}") from None

    def _position(self, n: int, ev: dict) -> None:
        from .position import Position, PositionError, check_epoch
        from .position import MAX_LENGTH
        text = _text(ev, "position", n, self.shown, MAX_LENGTH)
        try:
            pos = Position.parse(text)
        except PositionError as err:
            raise self.bad(n, f"position: {err}") from None
        prev = self.state or {}
        sha = ev.get("scenario", prev.get("scenario", {}).get("sha256"))
        if sha not in self.scenarios:
            raise self.bad(n, "scenario: names no scenario the recording carried before it")
        info, sc = self.scenarios[sha]
        from engine.types import ScenarioError

        from .position import scenario_at
        try:
            sc = scenario_at(sc, pos)
        except ScenarioError as err:
            raise self.bad(n, f"position: {clip(str(err), 200)}") from None
        try:
            check_epoch(pos, sc)
        except PositionError as err:
            raise self.bad(n, f"position: {err}") from None
        w = ev.get("weights", prev.get("weights"))
        if not isinstance(w, dict) or not isinstance(w.get("epoch"), int) or \
                isinstance(w.get("epoch"), bool) or w["epoch"] < 0 or \
                not isinstance(w.get("sha256"), str) or not _SHA.fullmatch(w["sha256"]):
            raise self.bad(n, "weights: not {epoch, sha256}")
        from .classroom.protocol import PANES
        maximized = ev.get("maximized", prev.get("maximized"))
        if maximized is not None and maximized not in PANES:
            raise self.bad(n, f"maximized: {clip(repr(maximized), 40)} is not a pane")
        self.state = {"position": text, "scenario": info,
                      "weights": {"epoch": w["epoch"], "sha256": w["sha256"]},
                      "maximized": maximized}

    def _step(self, n: int, ev: dict) -> None:
        lesson = ev.get("lesson")
        if lesson is None:
            self.lesson = None
            return
        if not isinstance(lesson, dict):
            raise self.bad(n, "lesson: not {name, sha256, step}")
        name = _text(lesson, "name", n, self.shown)
        sha, step = lesson.get("sha256"), lesson.get("step")
        if sha not in self.lessons:
            from .classroom.session import builtin_lesson
            found = builtin_lesson(name, sha) if isinstance(sha, str) and \
                _SHA.fullmatch(sha) else None
            if found is None:
                raise self.bad(n, "lesson: names no lesson the recording carried before it")
            self.lessons[sha] = found
        if isinstance(step, bool) or not isinstance(step, int) or \
                not 0 <= step < len(self.lessons[sha]):
            raise self.bad(n, f"lesson: step {clip(repr(step), 20)} is not a step of "
                              f"{clip(name, 40)}")
        if self.lesson is None or self.lesson["sha256"] != sha:
            self.answers = {}
        self.lesson = {"name": name, "sha256": sha, "step": step}

    def _answer(self, n: int, ev: dict) -> None:
        step, choice = ev.get("step"), ev.get("choice")
        if self.lesson is None or step != self.lesson["step"] or isinstance(choice, bool) or \
                not isinstance(choice, int) or not 1 <= choice <= 4:
            raise self.bad(n, "answer: not {step, choice} of the lesson step shown")
        self.answers[step] = choice

    def _marker(self, n: int, ev: dict) -> None:
        _text(ev, "label", n, self.shown)

    def _poll(self, n: int, ev: dict) -> None:
        from .classroom.protocol import MAX_CHOICES, MAX_COUNT, MAX_STEP

        def count(v, high=MAX_COUNT, null=True) -> bool:
            return (v is None and null) or (type(v) is int and 0 <= v <= high)
        c = ev.get("counts")
        if not isinstance(c, dict) or set(c) != {"step", "of", "done", "picks"} or \
                not count(c["step"], MAX_STEP, False) or not count(c["of"], null=False) or \
                not count(c["done"]) or not (c["picks"] is None or (
                    isinstance(c["picks"], list) and len(c["picks"]) <= MAX_CHOICES and
                    all(count(p, null=False) for p in c["picks"]))):
            raise self.bad(n, "counts: not {step, of, done, picks} of small whole numbers")
        self.poll = dict(c)
