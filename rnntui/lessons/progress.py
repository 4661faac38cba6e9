"""Progress marks: which lessons a learner has finished, or how far they got, kept between runs.

One small JSON file in the user's data folder (``$XDG_DATA_HOME/rnntui/progress.json``, else
``~/.local/share/rnntui/progress.json``), written atomically (a temporary file in the same
folder, then ``os.replace``), so a crash never leaves half a file. Progress is a courtesy, never
a reason to fail: a file that cannot be read as ours (not a regular file, too big, not UTF-8,
not JSON, nested too deeply, not our shape) is set aside (renamed ``progress.json.bad-<time>``,
and :attr:`Progress.problem` says so in one line) and the learner starts afresh.

The file stays small whatever is recorded: a lesson's name is kept to ``MAX_NAME`` characters,
its steps to ``MAX_STEPS``, and at most ``MAX_OWN`` lessons are kept (the oldest of those not in
the built-in course dropped first; the course's are never dropped). Lessons a presenter sent
(read with ``loads_lesson(sent=True)`` by rnntui.classroom, or with a source named
``presenter:NAME``) are kept in a section of their own, ``presented``, of at most
``MAX_PRESENTED`` lessons: a presented lesson called ``memory`` never touches the marks of the
built-in ``memory``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from engine.files import FileReadError, read_regular

from ..safe_json import JSONError, read_json

__all__ = ["Progress", "data_dir", "is_presented", "progress_path"]

VERSION = 1
#: Files bigger than this are not ours (what is written stays far below it, see above).
MAX_BYTES = 1024 * 1024
#: How deeply the file's JSON may nest (ours nests 4 deep).
MAX_DEPTH = 16
#: The longest lesson name kept (longer ones are cut: their marks share an entry).
MAX_NAME = 120
#: Step numbers kept (a lesson has at most 50 steps, rnntui.lessons.loader.MAX_STEPS).
MAX_STEPS = 50
#: The most lessons of one's own kept (the built-in course's always among them).
MAX_OWN = 100
#: The most lessons a presenter opened that are kept.
MAX_PRESENTED = 20
#: How a presenter's lesson may name its source (rnntui.classroom's scenarios are so named).
PRESENTED_PREFIX = "presenter:"


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "rnntui"


def progress_path() -> Path:
    return data_dir() / "progress.json"


def is_presented(lesson) -> bool:
    """Whether ``lesson`` came from a presenter (kept apart from the learner's own marks)."""
    return bool(getattr(lesson, "sent", False)) or \
        str(getattr(lesson, "source", "")).startswith(PRESENTED_PREFIX)


def _count(value, below: int = MAX_STEPS) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and \
        0 <= value < below else 0


def _name(name: str) -> str:
    return str(name)[:MAX_NAME]


def _builtin_names() -> frozenset[str]:
    try:
        from . import builtin_lessons
        return frozenset(lesson.name for lesson in builtin_lessons())
    except Exception:  # noqa: BLE001 - a broken install: no entry is protected
        return frozenset()


def _entries(raw) -> dict[str, dict]:
    """The well-formed entries of one section (a malformed one starts afresh)."""
    out: dict[str, dict] = {}
    if not isinstance(raw, dict):
        return out
    for name, entry in raw.items():
        if not isinstance(name, str) or not isinstance(entry, dict):
            continue
        done, step = entry.get("done", []), entry.get("step", 0)
        if not isinstance(done, list) or _count(step) != step:
            continue  # not what this module writes: that lesson starts afresh
        done = sorted({d for d in done if _count(d) == d})
        at = entry.get("at", 0)
        at = at if isinstance(at, (int, float)) and not isinstance(at, bool) and \
            0 <= at < 1e12 else 0
        out[_name(name)] = {"done": done, "finished": entry.get("finished") is True,
                            "step": step, "seen": max(_count(entry.get("seen", 0), MAX_STEPS + 1),
                                                      step + 1), "at": at}
    return out


class Progress:
    """Per lesson: the steps done (their task or question, 0-based), the step last shown, the
    furthest reached (``seen``, a count), whether it was finished, when it was last recorded
    (``at``, seconds). ``lessons`` are the learner's own, ``presented`` a presenter's."""

    def __init__(self, path: Path | None = None, *, memory: bool = False) -> None:
        self.path = Path(path) if path is not None else progress_path()
        #: One line when the file could not be read and was set aside (else None).
        self.problem: str | None = None
        self._writable = True
        #: Kept in this process only: never read from nor written to a file (a browser tab of
        #: ``rnntui serve``, whose app runs as the teacher: one file would mix every student's).
        self.memory = memory
        self.lessons: dict[str, dict] = {}
        self.presented: dict[str, dict] = {}
        if not memory:
            self._read()

    def _read(self) -> None:
        try:
            data = read_regular(self.path, MAX_BYTES)
        except FileReadError as err:
            if os.path.lexists(self.path):
                self._set_aside(str(err))
            return
        try:
            doc = read_json(data, max_depth=MAX_DEPTH)
        except JSONError as err:
            why = str(err)
            self._set_aside(f"its JSON {why}" if why.startswith("nests") else f"it is {why}")
            return
        if not isinstance(doc, dict) or doc.get("version") != VERSION or \
                not isinstance(doc.get("lessons"), dict):
            self._set_aside(f"it is not a version {VERSION} progress file")
            return
        self.lessons = _entries(doc["lessons"])
        self.presented = _entries(doc.get("presented", {}))
        self._bound()

    def _set_aside(self, why: str) -> None:
        """Rename the unreadable file out of the way (never read again, never overwritten)."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        for n in range(100):
            aside = self.path.with_name(f"{self.path.name}.bad-{stamp}" + (f"-{n}" if n else ""))
            if os.path.lexists(aside):
                continue
            try:
                os.rename(self.path, aside)
            except OSError as err:
                self._writable = False
                self.problem = (f"{self.path}: the progress file cannot be read ({why}) nor set "
                                f"aside ({err.strerror or err}); progress is not saved this time")
                return
            self.problem = (f"{self.path}: the progress file could not be read ({why}); it "
                            f"was set aside as {aside.name} and progress starts afresh")
            return
        self._writable = False
        self.problem = f"{self.path}: the progress file cannot be read ({why})"

    # -- reading -------------------------------------------------------------------------------
    def _section(self, presented: bool) -> dict[str, dict]:
        return self.presented if presented else self.lessons

    def entry(self, name: str, *, presented: bool = False) -> dict:
        return self._section(presented).get(
            _name(name), {"done": [], "finished": False, "step": 0, "seen": 0, "at": 0})

    def mark(self, name: str, steps: int, *, presented: bool = False) -> str:
        """``✓`` finished, ``3/7`` started (the furthest step reached, of all), ``·`` not
        started."""
        e = self.entry(name, presented=presented)
        if e["finished"]:
            return "✓"
        seen = min(e["seen"], steps)
        return f"{seen}/{steps}" if seen else "·"

    def entry_of(self, lesson) -> dict:
        """The entry of a Lesson (a presenter's in its own section)."""
        return self.entry(lesson.name, presented=is_presented(lesson))

    # -- writing -------------------------------------------------------------------------------
    def record(self, name: str, *, step: int, done: int | None = None,
               finished: bool = False, presented: bool = False) -> None:
        """Note that ``step`` is shown, ``done`` was done (its task or question), the lesson was
        finished; written at once."""
        section = self._section(presented)
        key = _name(name)
        e = dict(self.entry(key, presented=presented))
        step = _count(step)
        e["step"] = step
        e["seen"] = max(e["seen"], step + 1)
        if done is not None and _count(done) == done and done not in e["done"]:
            e["done"] = sorted(set(e["done"]) | {done})
        e["finished"] = e["finished"] or finished
        # (an order more than a time: each record is later than every other one kept)
        e["at"] = max(int(time.time()), 1 + max((x["at"] for x in section.values()), default=0))
        section.pop(key, None)
        section[key] = e
        self._bound()
        self.save()

    def record_lesson(self, lesson, *, step: int, done: int | None = None,
                      finished: bool = False) -> None:
        """:meth:`record` for a Lesson (a presenter's in its own section)."""
        self.record(lesson.name, step=step, done=done, finished=finished,
                    presented=is_presented(lesson))

    def _bound(self) -> None:
        """Drop the oldest entries over the caps: a presenter's, then one's own lessons that
        are not the built-in course's (those are never dropped)."""
        def oldest(section: dict, keep=frozenset()):
            return sorted((name for name in section if name not in keep),
                          key=lambda name: section[name]["at"])

        over = len(self.presented) - MAX_PRESENTED
        if over > 0:
            for name in oldest(self.presented)[:over]:
                del self.presented[name]
        over = len(self.lessons) - MAX_OWN
        if over > 0:
            for name in oldest(self.lessons, _builtin_names())[:over]:
                del self.lessons[name]

    def reset(self, name: str | None = None) -> None:
        """Forget one lesson's marks, or all of them (a presenter's too)."""
        if name is None:
            self.lessons, self.presented = {}, {}
        else:
            self.lessons.pop(_name(name), None)
        self.save()

    def save(self) -> bool:
        """Write the file atomically; False (and nothing changed on disk) when it cannot be."""
        if self.memory:
            return True
        if not self._writable:
            return False
        data = json.dumps({"version": VERSION, "lessons": self.lessons,
                           "presented": self.presented}, indent=1, sort_keys=True)
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp",
                                       dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            return True
        except OSError:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            return False


def say_problem(progress: Progress, out=None) -> None:
    """Print the progress file's one-line problem, if any (on stderr by default)."""
    if progress.problem is None:
        return
    from ..safe_text import visible
    line = f"rnntui: {visible(progress.problem)}"
    try:
        (out or (lambda s: print(s, file=sys.stderr)))(line)
    except OSError:
        pass
