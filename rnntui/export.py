"""Saving files safely: through a temporary file and an atomic rename, never overwriting silently.

Every file is written to a temporary file in the destination folder first and moved into place
with :func:`os.replace`, so a reader never sees half a file and a failed write (a read-only
folder, a full disk) leaves whatever was there before untouched. A new name is first reserved
with ``O_CREAT | O_EXCL``, so two exports in the same second cannot take the same name either.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

#: How many numbered alternatives (``-1``, ``-2``, ...) to try before giving up.
MAX_SUFFIX = 999


def export_stem(scenario_name: str, epoch: int, t: int) -> str:
    """The base name of an export: ``rnntui-king-e200-t3`` (a name safe in any folder)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario_name).strip("-.") or "scenario"
    return f"rnntui-{safe}-e{epoch}-t{t}"


def _write_temp(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to a new temporary file in ``folder`` and return its path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _remove_quietly(Path(tmp))
        raise
    return Path(tmp)


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _reserve(path: Path) -> bool:
    """Create ``path`` empty if it does not exist; False if it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _as_bytes(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else text


def _place(tmp: Path, path: Path) -> None:
    """Move a finished temporary file onto ``path`` atomically, keeping the usual file mode."""
    try:
        os.chmod(tmp, 0o644)
    except OSError:
        pass
    os.replace(tmp, path)


def write_new_file(path: str | os.PathLike, text: str | bytes, *, overwrite: bool = False,
                   rename: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically and return the path written.

    When ``path`` exists: with ``overwrite`` it is replaced (atomically: the old file stays whole
    if anything fails); with ``rename`` the first free ``NAME-1.EXT``, ``NAME-2.EXT``, ... is
    used instead; otherwise :class:`FileExistsError` is raised. Any other failure raises
    :class:`OSError` and leaves no new file behind.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    data = _as_bytes(text)
    if overwrite:
        tmp = _write_temp(folder, path.name, data)
        try:
            _place(tmp, path)
        except BaseException:
            _remove_quietly(tmp)
            raise
        return path
    candidates = ([path] + [path.with_name(f"{path.stem}-{n}{path.suffix}")
                            for n in range(1, MAX_SUFFIX + 1)]) if rename else [path]
    tmp = _write_temp(folder, path.name, data)
    try:
        for candidate in candidates:
            if _reserve(candidate):
                try:
                    _place(tmp, candidate)
                except BaseException:
                    _remove_quietly(candidate)  # our empty reservation, nobody else's file
                    raise
                return candidate
    finally:
        _remove_quietly(tmp)
    raise FileExistsError(errno.EEXIST, "already exists", str(path))


def write_file_set(folder: str | os.PathLike, stem: str,
                   contents: Mapping[str, str | bytes]) -> list[Path]:
    """Write several files that belong together (``stem.svg``, ``stem.json``) under one free name.

    ``contents`` maps a suffix (``".svg"``) to the file's text. The first ``n`` for which every
    ``stem[-n].suffix`` is free is used, so the files of one export always share a name and no
    existing file is touched. Either all files are written or, on an :class:`OSError`, none is
    (any already placed are removed again) and the error is raised.
    """
    folder = Path(folder)
    temps: dict[str, Path] = {}
    placed: list[Path] = []
    try:
        for suffix, text in contents.items():
            temps[suffix] = _write_temp(folder, stem + suffix, _as_bytes(text))
        for n in range(MAX_SUFFIX + 1):
            name = stem if n == 0 else f"{stem}-{n}"
            targets = {sfx: folder / (name + sfx) for sfx in contents}
            if any(p.exists() for p in targets.values()):
                continue
            reserved: list[Path] = []
            for p in targets.values():
                if not _reserve(p):
                    break
                reserved.append(p)
            if len(reserved) != len(targets):  # lost a race for one of the names
                for p in reserved:
                    _remove_quietly(p)
                continue
            try:
                for sfx, p in targets.items():
                    _place(temps[sfx], p)
                    placed.append(p)
            except BaseException:
                for p in reserved:
                    _remove_quietly(p)
                placed.clear()
                raise
            return placed
        raise FileExistsError(errno.EEXIST, "no free name left", str(folder / stem))
    finally:
        for tmp in temps.values():
            _remove_quietly(tmp)


def export_files(view, svg: str) -> tuple[str, dict[str, str], str]:
    """What ``e`` saves: (the file stem, {".svg": the screen, ".json": ``view``'s trace with its
    position}, a note saying why the JSON is missing, or "")."""
    import json

    files: dict[str, str] = {".svg": svg}
    note = ""
    try:
        from .tracejson import view_to_json
        data = view_to_json(view)
        files[".json"] = json.dumps(data, indent=1, allow_nan=False) + "\n"
    except Exception as err:  # never lose the picture because of the numbers
        note = f" (no JSON: {err})"
    return export_stem(view.scenario.name, view.epoch, view.t), files, note


def export_view(view, svg: str, folder: str | os.PathLike | None = None) -> tuple[bool, str]:
    """Save the screen (``svg``) and ``view``'s trace as JSON, with its position, in ``folder``
    (default: the current folder) under a fresh name; returns (saved, a sentence saying what
    happened). Never overwrites a file; nothing is left half-written."""
    folder = Path(folder) if folder is not None else Path.cwd()
    stem, files, note = export_files(view, svg)
    try:
        paths = write_file_set(folder, stem, files)
    except OSError as err:
        reason = err.strerror or str(err)
        return False, f"Could not save in {folder}: {reason}. Nothing was overwritten."
    names = " and ".join(p.name for p in paths)
    return True, f"Saved {names} in {folder}{note}"
