"""Progress marks: which lessons a learner has finished, or how far they got, kept between runs.

One small JSON file in the user's data folder (``$XDG_DATA_HOME/rnntui/progress.json``, else
``~/.local/share/rnntui/progress.json``), written atomically (a temporary file in the same
folder, then ``os.replace``), so a crash never leaves half a file. A file that cannot be read
or does not look like ours is ignored (and replaced on the next write): progress is a courtesy,
never a reason to fail.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["Progress", "data_dir", "progress_path"]

VERSION = 1
#: Files bigger than this are not ours.
MAX_BYTES = 1024 * 1024


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "rnntui"


def progress_path() -> Path:
    return data_dir() / "progress.json"


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and \
        0 <= value < 1000 else 0


class Progress:
    """Per lesson: the steps done (their task or question, 0-based), the step last shown, the
    furthest reached (``seen``, a count), whether it was finished."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else progress_path()
        self.lessons: dict[str, dict] = self._read()

    def _read(self) -> dict[str, dict]:
        try:
            if self.path.stat().st_size > MAX_BYTES:
                return {}
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        if not isinstance(doc, dict) or doc.get("version") != VERSION or \
                not isinstance(doc.get("lessons"), dict):
            return {}
        out = {}
        for name, entry in doc["lessons"].items():
            if not isinstance(name, str) or not isinstance(entry, dict):
                continue
            done, step = entry.get("done", []), entry.get("step", 0)
            if not isinstance(done, list) or _count(step) != step:
                continue  # not what this module writes: that lesson starts afresh
            done = sorted({d for d in done if _count(d) == d})
            out[name] = {"done": done, "finished": entry.get("finished") is True,
                         "step": step, "seen": max(_count(entry.get("seen", 0)), step + 1)}
        return out

    # -- reading -------------------------------------------------------------------------------
    def entry(self, name: str) -> dict:
        return self.lessons.get(name, {"done": [], "finished": False, "step": 0, "seen": 0})

    def mark(self, name: str, steps: int) -> str:
        """``✓`` finished, ``3/7`` started (the furthest step reached, of all), ``·`` not
        started."""
        e = self.entry(name)
        if e["finished"]:
            return "✓"
        seen = min(e["seen"], steps)
        return f"{seen}/{steps}" if seen else "·"

    # -- writing -------------------------------------------------------------------------------
    def record(self, name: str, *, step: int, done: int | None = None,
               finished: bool = False) -> None:
        """Note that ``step`` is shown, ``done`` was done (its task or question), the lesson was
        finished; written at once."""
        e = dict(self.entry(name))
        e["step"] = step
        e["seen"] = max(e["seen"], step + 1)
        if done is not None and done not in e["done"]:
            e["done"] = sorted(set(e["done"]) | {done})
        e["finished"] = e["finished"] or finished
        self.lessons[name] = e
        self.save()

    def reset(self, name: str | None = None) -> None:
        """Forget one lesson's marks, or all of them."""
        if name is None:
            self.lessons = {}
        else:
            self.lessons.pop(name, None)
        self.save()

    def save(self) -> bool:
        """Write the file atomically; False (and nothing changed on disk) when it cannot be."""
        data = json.dumps({"version": VERSION, "lessons": self.lessons}, indent=1,
                          sort_keys=True)
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
