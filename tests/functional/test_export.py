"""Safe saving: atomic writes, numbered names instead of overwriting, nothing left on failure."""

from __future__ import annotations

import errno
import os

import pytest

from rnntui import export
from rnntui.export import export_stem, write_file_set, write_new_file


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_export_stem_is_a_safe_file_name():
    assert export_stem("king", 200, 3) == "rnntui-king-e200-t3"
    assert export_stem("my/odd name*", 0, 0) == "rnntui-my-odd-name-e0-t0"
    assert export_stem("///", 1, 2) == "rnntui-scenario-e1-t2"


def test_write_new_file_refuses_to_overwrite_by_default(tmp_path):
    path = tmp_path / "a.svg"
    assert write_new_file(path, "one") == path
    with pytest.raises(FileExistsError):
        write_new_file(path, "two")
    assert path.read_text() == "one"
    assert names(tmp_path) == ["a.svg"]


def test_write_new_file_renames_when_asked(tmp_path):
    path = tmp_path / "a.svg"
    path.write_text("old")
    assert write_new_file(path, "new", rename=True) == tmp_path / "a-1.svg"
    assert write_new_file(path, "newer", rename=True) == tmp_path / "a-2.svg"
    assert path.read_text() == "old"
    assert (tmp_path / "a-1.svg").read_text() == "new"
    assert names(tmp_path) == ["a-1.svg", "a-2.svg", "a.svg"]


def test_write_new_file_overwrites_atomically_when_asked(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")
    write_new_file(path, "new", overwrite=True)
    assert path.read_text() == "new" and names(tmp_path) == ["a.json"]


def test_a_failed_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    path.write_text("old")

    def replace(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        write_new_file(path, "new", overwrite=True)
    assert path.read_text() == "old" and names(tmp_path) == ["a.json"]


def test_a_failed_new_file_leaves_nothing(tmp_path, monkeypatch):
    def replace(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        write_new_file(tmp_path / "a.svg", "x")
    assert names(tmp_path) == []


def test_a_read_only_folder_is_an_oserror(tmp_path, monkeypatch):
    def mkstemp(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(export.tempfile, "mkstemp", mkstemp)
    with pytest.raises(OSError):
        write_file_set(tmp_path, "x", {".svg": "a", ".json": "b"})
    assert names(tmp_path) == []


def test_file_set_shares_one_free_name(tmp_path):
    (tmp_path / "x.json").write_text("mine")  # only the JSON name is taken
    paths = write_file_set(tmp_path, "x", {".svg": "<svg/>", ".json": "{}"})
    assert [p.name for p in paths] == ["x-1.svg", "x-1.json"]
    assert (tmp_path / "x.json").read_text() == "mine"
    assert not (tmp_path / "x.svg").exists()
    paths = write_file_set(tmp_path, "x", {".svg": "<svg/>", ".json": "{}"})
    assert [p.name for p in paths] == ["x-2.svg", "x-2.json"]


def test_file_set_is_all_or_nothing(tmp_path, monkeypatch):
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the second file fails after the first was placed
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        write_file_set(tmp_path, "x", {".svg": "<svg/>", ".json": "{}"})
    assert names(tmp_path) == []


def test_a_name_taken_between_check_and_write_is_not_overwritten(tmp_path, monkeypatch):
    real = export._reserve

    def reserve(path):
        if path.name == "x.svg":  # someone else creates it just before we reserve it
            path.write_text("theirs")
        return real(path)

    monkeypatch.setattr(export, "_reserve", reserve)
    paths = write_file_set(tmp_path, "x", {".svg": "ours", ".json": "{}"})
    assert [p.name for p in paths] == ["x-1.svg", "x-1.json"]
    assert (tmp_path / "x.svg").read_text() == "theirs"
    assert not (tmp_path / "x.json").exists()


def test_written_files_are_complete_and_readable(tmp_path):
    text = "é" * 10_000
    path = write_new_file(tmp_path / "big.svg", text)
    assert path.read_text(encoding="utf-8") == text
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
