"""Recording a session driven by keys, and replaying it: the same positions and pane numbers at
every event, stepping both ways, detaching and coming back, lessons' steps and answers, and the
asciicast of it (rnntui.recording, rnntui.replay, rnntui.castfile)."""

from __future__ import annotations

import json
import re

import pytest

from _recordings import recording_bytes
from helpers import pane_texts, press_and_settle, quiet_app, settle, status, wait_until
from rnntui.recording import Recorder, read_recording
from rnntui.replay import open_replay

pytestmark = pytest.mark.usefixtures("_own_data")


@pytest.fixture
def _own_data(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # (lesson progress)


async def _record(app, path, keys):
    """Drive ``app`` with ``keys`` while recording to ``path``; what the screen showed after
    each key, by the number of events written by then: (position, pane texts)."""
    rec = Recorder(path)
    rec.attach(app.main_screen)
    seen = {}
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        for key in [None, *keys]:
            if key is not None:
                await press_and_settle(pilot, [key])
            rec.flush()
            seen[rec.events] = (str(app.view.position), pane_texts(app))
    rec.close()
    return rec, seen


def _said(app) -> str:
    """Every notification the app has up, as one text."""
    return " ".join(n.message for n in app._notifications)


def _replay_app(path):
    sc, pos, role = open_replay(path, play=False)
    app = quiet_app(sc, at=pos, source=pos.scenario, draw_ahead=False)
    app.main_screen.classroom = role
    return app, role


async def test_a_replay_shows_each_event_as_the_recorder_saw_it(tmp_path):
    keys = ["right", "right", "M", "b", "left", "plus", "plus", "v", "right", "m"]
    rec, seen = await _record(quiet_app("cat", draw_ahead=False), tmp_path / "k.rec", keys)
    recording = read_recording(rec.path)
    assert [e["type"] for e in recording.events].count("marker") == 1
    app, role = _replay_app(rec.path)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        compared = 0
        for count, (position, panes) in sorted(seen.items()):
            role.go(count - 1)
            await settle(pilot)
            assert str(app.view.position) == position, count
            assert pane_texts(app) == panes, count
            compared += 1
        assert compared >= 8  # (every key but M and the marker made its own event)
        # ) and ( step one event each way; J and K jump to the marker
        role.go(0)
        await press_and_settle(pilot, ["right_parenthesis", "right_parenthesis"])
        assert role.index == 2 and "event 3/" in status(app)
        await press_and_settle(pilot, ["left_parenthesis"])
        assert role.index == 1
        marker = recording.marks[0]
        await press_and_settle(pilot, ["K"])
        assert role.index == marker
        await press_and_settle(pilot, ["right_parenthesis", "right_parenthesis", "J"])
        assert role.index == marker
        # a navigation key explores from there; f comes back to the event
        at = str(app.view.position)
        await press_and_settle(pilot, ["right"])
        assert not role.attached and "exploring" in status(app)
        assert "Exploring from this event; press f" in _said(app)
        assert str(app.view.position) != at
        await press_and_settle(pilot, ["f"])
        assert role.attached and str(app.view.position) == at


async def test_replay_plays_at_its_pace_and_space_pauses(tmp_path):
    rec, seen = await _record(quiet_app("cat", draw_ahead=False), tmp_path / "c.rec",
                              ["right", "right", "right"])
    app, role = _replay_app(rec.path)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press_and_settle(pilot, ["asterisk", "asterisk", "slash"])
        assert role.speed == 2 and "×2" in status(app)
        # what space did, seen as it did it: a short recording at x2 can play to its end
        # before the press returns on a busy machine, so role.playing afterwards is a race
        # (it failed so in a CI run)
        toggled = []
        replay = role.replay

        def spy(what, arg=0):
            replay(what, arg)
            toggled.append((what, role.playing))
        role.replay = spy
        await pilot.press("space")
        await wait_until(pilot, lambda: toggled, "space reached the replay")
        assert toggled[0] == ("pause", True)
        last = len(role.recording.events) - 1
        await wait_until(pilot, lambda: role.index == last, "the replay reaches its end")
        await wait_until(pilot, lambda: not role.playing, "the replay stops at its end")
        assert str(app.view.position) == seen[max(seen)][0]
        total = role.recording.duration
        assert f"/{int(total) // 60}:{int(total) % 60:02d}" in status(app)


async def test_a_lesson_replays_its_steps_and_answers(tmp_path):
    from rnntui.lessons import builtin_lessons
    lesson = builtin_lessons()[0]
    asks = next(i for i, s in enumerate(lesson.steps) if s.question is not None)
    first = lesson.steps[0]
    app = quiet_app(first.scenario, at=first.position, source=first.scenario, draw_ahead=False)
    app.main_screen.lessons.open(lesson, 0)
    keys = ["full_stop"] * asks + ["2", "full_stop"]
    rec, _ = await _record(app, tmp_path / "l.rec", keys)
    recording = read_recording(rec.path)
    answer = next(i for i, e in enumerate(recording.events) if e["type"] == "answer")
    app, role = _replay_app(rec.path)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        ls = app.main_screen.lessons
        role.go(answer - 1)
        await settle(pilot)
        assert ls.active and ls.index == asks and ls.run.picked is None
        await press_and_settle(pilot, ["right_parenthesis"])
        assert ls.index == asks and ls.run.picked == 2
        await press_and_settle(pilot, ["right_parenthesis"])
        assert ls.index == asks + 1
        await press_and_settle(pilot, ["left_parenthesis", "left_parenthesis"])
        assert ls.index == asks and ls.run.picked is None
        # a lesson key explores too; f opens the recorded step again
        await press_and_settle(pilot, ["comma"])
        assert not role.attached and ls.index == asks - 1
        await press_and_settle(pilot, ["f"])
        assert role.attached and ls.index == asks
        assert "class" not in _said(app)  # (a replay is no class moving on)


#: asciicast v2's header keys (https://docs.asciinema.org/manual/asciicast/v2/): each with a
#: check of its value; version, width and height are required.
_HEADER = {"version": lambda v: v == 2, "width": lambda v: type(v) is int and v > 0,
           "height": lambda v: type(v) is int and v > 0,
           "timestamp": lambda v: type(v) is int, "duration": lambda v: _number(v),
           "idle_time_limit": lambda v: _number(v), "command": lambda v: isinstance(v, str),
           "title": lambda v: isinstance(v, str),
           "env": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
           "theme": lambda v: isinstance(v, dict)}


def _number(v) -> bool:
    return type(v) in (int, float) and v >= 0


def asciicast_v2_problems(text: str) -> list[str]:
    """What makes ``text`` not an asciicast v2 file, by the format's own description: a JSON
    object header line, then one event a line, ``[time, code, data]`` with time a number of
    seconds never going back, code o (output), i (input), m (marker) or r (resize: COLSxROWS)
    and data a string."""
    problems = []
    if not text.endswith("\n"):
        problems.append("the last line has no newline")
    lines = text.splitlines()
    try:
        head = json.loads(lines[0])
    except (IndexError, ValueError):
        return ["no JSON header line"]
    if not isinstance(head, dict):
        return ["the header is not a JSON object"]
    problems += [f"header: no {k}" for k in ("version", "width", "height") if k not in head]
    problems += [f"header: {k}={v!r}" for k, v in head.items()
                 if k not in _HEADER or not _HEADER[k](v)]
    last = 0.0
    for n, line in enumerate(lines[1:], start=2):
        try:
            ev = json.loads(line)
        except ValueError:
            problems.append(f"line {n}: not JSON")
            continue
        if not (isinstance(ev, list) and len(ev) == 3 and _number(ev[0]) and
                ev[1] in ("o", "i", "m", "r") and isinstance(ev[2], str)):
            problems.append(f"line {n}: not [time, code, data]: {line[:60]}")
            continue
        if ev[0] < last:
            problems.append(f"line {n}: time {ev[0]} before {last}")
        if ev[1] == "r" and not re.fullmatch(r"[0-9]+x[0-9]+", ev[2]):
            problems.append(f"line {n}: resize {ev[2]!r}")
        last = ev[0]
    return problems


def test_the_validator_finds_what_breaks_the_format():
    good = '{"version": 2, "width": 80, "height": 24}\n[0.5, "o", "hi"]\n[1, "m", "x"]\n'
    assert asciicast_v2_problems(good) == []
    assert asciicast_v2_problems(good.replace('"version": 2', '"version": 1')) == \
        ["header: version=1"]
    assert asciicast_v2_problems(good.replace("[1,", "[0.1,")) == ["line 3: time 0.1 before 0.5"]
    assert asciicast_v2_problems(good.replace('"m"', '"x"'))[0].startswith("line 3: not [time")
    assert asciicast_v2_problems(good[:-1]) == ["the last line has no newline"]
    assert asciicast_v2_problems('{"width": 80}\n') == ["header: no version", "header: no height"]


def test_the_asciicast_is_a_v2_file_with_a_screen_per_event_and_markers(tmp_path):
    from rnntui.cli import main
    path = tmp_path / "c.rec"
    events = [
        {"t": 1.5, "type": "position", "position": "scenario=cat,epoch=0,t=1"},
        {"t": 2.0, "type": "marker", "label": "look \x1b[31mhere"},
        {"t": 3.25, "type": "position", "position": "scenario=cat,epoch=0,t=2,phase=backward"},
    ]
    path.write_bytes(recording_bytes(events))
    assert main(["replay", str(path), "--asciicast", str(tmp_path / "o.cast"),
                 "--size", "80x24"]) == 0
    cast = (tmp_path / "o.cast").read_text(encoding="utf-8")
    assert asciicast_v2_problems(cast) == []
    lines = cast.splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and (header["width"], header["height"]) == (80, 24)
    body = [json.loads(line) for line in lines[1:]]
    assert all(isinstance(e, list) and len(e) == 3 and isinstance(e[0], float) and
               e[1] in ("o", "m") and isinstance(e[2], str) for e in body)
    times = [e[0] for e in body]
    assert times == sorted(times)
    screens = [e for e in body if e[1] == "o"]
    assert [e[0] for e in screens] == [0.0, 1.5, 3.25]
    assert "t=1" in screens[1][2] and "backward" in screens[2][2]
    assert [e for e in body if e[1] == "m"] == [[2.0, "m", "look ␛[31mhere"]]
    # never over an existing file
    assert main(["replay", str(path), "--asciicast", str(tmp_path / "o.cast")]) == 2


async def test_another_engine_and_other_weights_are_said_not_shown_silently(tmp_path):
    path = tmp_path / "old.rec"
    path.write_bytes(recording_bytes([
        {"t": 1.0, "type": "position", "position": "scenario=cat,epoch=0,t=1",
         "weights": {"epoch": 0, "sha256": "c" * 64}}], engine="0" * 64))
    app, role = _replay_app(path)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        assert "made with another version of the engine" in _said(app)
        assert "differ from the recorded" not in _said(app)  # (event 2's are the same)
        await press_and_settle(pilot, ["right_parenthesis"])
        assert str(app.view.position) == "scenario=cat,epoch=0,t=1"
        assert "The weights at epoch 0 differ from the recorded ones" in _said(app)


async def test_a_replayed_lesson_leaves_the_replayers_progress_alone(tmp_path):
    from rnntui.lessons import builtin_lessons
    from rnntui.lessons.progress import progress_path
    lesson = builtin_lessons()[0]
    first = lesson.steps[0]
    app = quiet_app(first.scenario, at=first.position, source=first.scenario, draw_ahead=False)
    app.main_screen.lessons.open(lesson, 0)
    rec, _ = await _record(app, tmp_path / "l.rec", ["full_stop", "full_stop"])
    progress_path().unlink()  # (the recording learner's own)
    app, role = _replay_app(rec.path)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press_and_settle(pilot, ["K", "K", "K"])
        assert app.main_screen.lessons.index == 2
    assert not progress_path().exists()


async def test_the_class_answers_recorded_show_on_the_lesson_strip(tmp_path):
    from pathlib import Path

    from rnntui.classroom.protocol import sha256
    from rnntui.lessons import builtin_lessons
    lesson = builtin_lessons()[0]
    ref = {"name": lesson.name, "sha256": sha256(Path(lesson.source).read_bytes()), "step": 0}
    path = tmp_path / "p.rec"
    path.write_bytes(recording_bytes([
        {"t": 1, "type": "step", "lesson": ref},
        {"t": 2, "type": "poll", "counts": {"step": 0, "of": 3, "done": 2, "picks": None}}]))
    app, role = _replay_app(path)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        role.go(2)
        await settle(pilot)
        assert app.main_screen.lessons.card().room is None
        role.go(3)
        await settle(pilot)
        assert app.main_screen.lessons.card().room == "Recorded: Class of 3: task done 2"
