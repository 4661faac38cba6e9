"""Issue 25 (findings 10 and 12, the presenter's side): the texts a presenter sends its
followers (its lesson's file, its scenario's file) are read as those files are read when
loaded: regular files only, up to their size caps. A file swapped for a device, a FIFO or a
huge file after it was opened is not read in the UI thread and is not sent."""

from __future__ import annotations

import os
from types import SimpleNamespace

from rnntui.classroom import protocol as P
from rnntui.classroom.session import _scenario_bytes, lesson_state
from rnntui.lessons.loader import MAX_BYTES as LESSON_BYTES


def _screen(source: str):
    lesson = SimpleNamespace(source=source, name="mine")
    return SimpleNamespace(lessons=SimpleNamespace(lesson=lesson, active=True, index=0))


def test_a_lesson_file_that_became_a_device_is_not_read_or_sent():
    texts: dict = {}
    got = lesson_state(_screen(os.devnull), texts)
    assert got == {"name": "mine", "sha256": None, "step": 0}
    assert not any(isinstance(k, str) for k in texts)  # no text kept to send


def test_a_lesson_file_grown_past_the_lesson_cap_is_not_read_or_sent(tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (LESSON_BYTES + 1))
    texts: dict = {}
    assert lesson_state(_screen(str(big)), texts)["sha256"] is None
    small = tmp_path / "small.toml"
    small.write_bytes(b"# a lesson\n")
    assert lesson_state(_screen(str(small)), texts)["sha256"] == P.sha256(b"# a lesson\n")


def test_a_scenario_file_that_became_a_device_is_not_read_or_sent(tmp_path):
    assert _scenario_bytes(SimpleNamespace(source=os.devnull)) is None
    assert _scenario_bytes(SimpleNamespace(source=str(tmp_path))) is None  # a folder
    ok = tmp_path / "s.toml"
    ok.write_bytes(b"[scenario]\n")
    assert _scenario_bytes(SimpleNamespace(source=str(ok))) == b"[scenario]\n"
