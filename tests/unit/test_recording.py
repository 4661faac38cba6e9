"""Recordings as files (rnntui.recording): written new, flushed per event and small; read back
as untrusted input, every bad part refused in one line naming the line of the file."""

from __future__ import annotations

import json
import os

import pytest

from _recordings import header, position_event, recording_bytes, scenario_event
from rnntui.recording import (MAX_FILE, Recorder, RecordingError, parse_recording,
                              read_recording)


def _error(data: bytes) -> str:
    with pytest.raises(RecordingError) as got:
        parse_recording(data, "x.rec")
    text = str(got.value)
    assert "\n" not in text and "\x1b" not in text and len(text) < 400, text
    return text


def _lines(*objs) -> bytes:
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs).encode()


def test_a_good_recording_reads_into_one_state_per_event():
    rec = parse_recording(recording_bytes([
        {"t": 1.0, "type": "position", "position": "scenario=cat,epoch=0,t=2"},
        {"t": 2.0, "type": "marker", "label": "here"},
        {"t": 3.5, "type": "position", "position": "scenario=cat,epoch=0,t=3,wh=+4"}]))
    assert [e["type"] for e in rec.events] == ["scenario", "position", "position", "marker",
                                               "position"]
    assert rec.states[0] is None
    assert [s["position"] for s in rec.states[1:]] == [
        "scenario=cat,epoch=0,t=0", "scenario=cat,epoch=0,t=2", "scenario=cat,epoch=0,t=2",
        "scenario=cat,epoch=0,t=3,wh=+4"]
    # what a later event leaves out carries on from the event before
    assert rec.states[4]["scenario"] == rec.states[1]["scenario"]
    assert rec.states[4]["weights"] == rec.states[1]["weights"]
    assert rec.duration == 3.5 and rec.marks == [3]


def test_a_cut_off_last_line_loses_that_event_only():
    whole = recording_bytes([{"t": 1.0, "type": "position",
                              "position": "scenario=cat,epoch=0,t=2"}])
    rec = parse_recording(whole[:-10])
    assert len(rec.events) == 2 and "cut off" in rec.note
    # cut in the middle: that line is named
    lines = whole.split(b"\n")
    lines[1] = lines[1][:50]
    assert "line 2: not a JSON object" in _error(b"\n".join(lines))


@pytest.mark.parametrize("head, why", [
    ({"format": "asciicast"}, "not an rnntui recording"),
    ({"version": 2}, "version 2: this rnntui reads version 1"),
    ({"version": "1"}, "version '1'"),
    ({"engine": "\x1b]0;pwned\x07"}, "engine: not a sha256"),
])
def test_a_bad_header_is_refused(head, why):
    assert why in _error(_lines(header(**head)))


def test_empty_and_not_json_and_not_utf8():
    assert "empty" in _error(b"")
    assert "line 1: not a JSON object" in _error(b"[1, 2]\n")
    assert "line 1: not UTF-8" in _error(b"\xff\xfe{}\n")


def _bad_event(event) -> str:
    return _error(recording_bytes([event]))


@pytest.mark.parametrize("event, why", [
    ({"t": -1, "type": "marker", "label": "a"}, "line 4: t: not a time"),
    ({"t": 10 ** 9, "type": "marker", "label": "a"}, "line 4: t: not a time"),
    ({"t": True, "type": "marker", "label": "a"}, "line 4: t: not a time"),
    ('{"t": NaN, "type": "marker", "label": "a"}', "NaN is not a number"),
    ('{"t": 1' + "0" * 5000 + ', "type": "marker"}', "a number of 5001 digits"),
    ({"t": 1, "type": "sudo", "label": "a"}, "'sudo' is not an event type"),
    ({"t": 1, "type": "position", "position": "scenario=cat,t=-1"},
     "line 4: position: t=-1: t is at least 0"),
    ({"t": 1, "type": "position", "position": "scenario=cat,epoch=" + "9" * 5000},
     "line 4: position: epoch='99999"),
    ({"t": 1, "type": "position", "position": "scenario=cat,epoch=99999999"},
     "past the limit of 100000 epochs"),
    ({"t": 1, "type": "position", "position": "scenario=cat,t=1", "scenario": "0" * 64},
     "names no scenario the recording carried"),
    ({"t": 1, "type": "position", "position": "scenario=cat,t=1", "maximized": "\x1b[2J"},
     "maximized: '\\x1b[2J' is not a pane"),
    ({"t": 1, "type": "marker", "label": "x" * 201}, "label: 201 characters; at most 200"),
    ({"t": 1, "type": "answer", "step": 0, "choice": 1}, "answer: not {step, choice}"),
    ({"t": 1, "type": "step", "lesson": {"name": "\x1b[31mrecurrence", "sha256": "0" * 64,
                                         "step": 0}}, "names no lesson"),
    ('{"t": 1, "type": "marker", "label": ' + "[" * 100_000, "line 4: not a JSON object"),
    ({"t": 1, "type": "data", "scenario": "0" * 64, "name": "d.csv", "sha256": "0" * 64,
      "text": "v\n1\n"}, "line 4: the data carried does not have the sha256 it names"),
    ({"t": 1, "type": "data", "scenario": "\x1b[2J", "name": "d.csv", "sha256": "0" * 64,
      "text": ""}, "line 4: scenario: not a sha256 digest"),
    ({"t": 1, "type": "data", "scenario": "0" * 64, "name": "x" * 4097, "sha256": "0" * 64,
      "text": ""}, "line 4: name: 4097 characters; at most 4096"),
    ({"t": 1, "type": "data", "scenario": "0" * 64, "name": "d.csv", "sha256": "0" * 64,
      "text": "é" * (2 * 1024 * 1024 + 1)}, "line 4: text: 4194306 bytes; at most 4194304"),
])
def test_a_bad_event_is_refused_naming_its_line(event, why):
    if isinstance(event, str):
        data = recording_bytes([]) + event.encode() + b"\n"
        assert why in _error(data)
    else:
        assert why in _bad_event(event)


def test_time_never_goes_back():
    data = recording_bytes([{"t": 5.0, "type": "marker", "label": "a"},
                            {"t": 4.0, "type": "marker", "label": "b"}])
    assert "line 5: t=4.0 goes back before the event before it (t=5.0)" in _error(data)


def test_a_scenario_text_must_match_its_digest_and_never_reads_a_file():
    ev = scenario_event("cat")
    ev["toml"] = ev["toml"].replace("cat", "dog", 1)
    assert "does not have the sha256 it names" in _error(_lines(header(), ev))
    import hashlib
    text = '[scenario]\nname = "\x1b[31mx"\nkind = "text"\n[data]\nfile = "/etc/passwd"\n'
    ev = {"t": 0, "type": "scenario", "name": "\x1b]0;x\x07evil", "builtin": False,
          "sha256": hashlib.sha256(text.encode()).hexdigest(), "toml": text}
    why = _error(_lines(header(), ev))
    assert "line 2: the scenario ␛]0;x\\x07evil cannot be opened" in why
    # a name claiming a built-in, with another text: opened from its own text, not the built-in
    ev = scenario_event("cat")
    ev["name"] = "king"
    rec = parse_recording(_lines(header(), ev))
    (sc,) = rec.scenarios.values()
    assert sc.name == "cat"


CSV_SCENARIO = """
[scenario]
name = "mine"
kind = "series"
[data]
csv = "d.csv"
column = "v"
window = 3
"""


def test_a_csv_scenarios_data_is_carried_and_the_replay_reads_no_file(tmp_path, monkeypatch):
    """The trust-boundaries rule: a recording carries its data files' bytes, and reading it
    back never reads the replayer's disk (here a d.csv with other numbers lies where the name
    would lead)."""
    from types import SimpleNamespace

    import numpy as np

    from engine.scenario import load
    from rnntui.classroom import protocol as P
    made = tmp_path / "made"
    made.mkdir()
    (made / "d.csv").write_text("v\n" + "".join(f"{(i * 7) % 11}.5\n" for i in range(20)))
    (made / "s.toml").write_text(CSV_SCENARIO)
    sc = load(made / "s.toml")
    csv_sha = P.sha256((made / "d.csv").read_bytes())
    rec = Recorder(tmp_path / "r.rec")
    sha = rec._scenario_sha(SimpleNamespace(scenario=sc, source=str(made / "s.toml")))
    rec.event("position", position="scenario=s.toml,epoch=0,t=1", scenario=sha,
              weights={"epoch": 0, "sha256": "a" * 64})
    rec.close()
    for f in made.iterdir():
        f.unlink()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("v\n" + "9\n" * 20)
    got = read_recording(tmp_path / "r.rec")
    assert [e["type"] for e in got.events] == ["data", "scenario", "position"]
    (replayed,) = got.scenarios.values()
    assert np.array_equal(replayed.data["original"], sc.data["original"])
    assert replayed.data["csv"] == "d.csv" and replayed.source == "recording:s.toml"
    # not carried (over the cap, or cut out): refused in one line, no file read instead
    lines = (tmp_path / "r.rec").read_bytes().split(b"\n")
    assert json.loads(lines[1])["sha256"] == csv_sha
    why = _error(b"\n".join(lines[:1] + lines[2:]))
    assert "line 2: the scenario " in why and " cannot be opened: recording:s.toml: " in why
    assert "its data file 'd.csv' is not carried with it" in why


def test_a_file_too_big_or_not_regular_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.rec"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE + 1)
    with pytest.raises(RecordingError, match=f"at most {MAX_FILE} are read"):
        read_recording(big)
    with pytest.raises(RecordingError, match="is a directory"):
        read_recording(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(RecordingError, match="not a regular file"):
        read_recording(fifo)


def test_the_recorder_never_overwrites_and_writes_each_event_at_once(tmp_path):
    path = tmp_path / "class.rec"
    path.write_text("mine")
    rec = Recorder(path)
    assert rec.path == tmp_path / "class-1.rec" and path.read_text() == "mine"
    rec.event("marker", label="one")
    # read while the recorder is still open: everything written so far is in the file
    got = parse_recording(rec.path.read_bytes())
    assert got.events == [{"t": got.events[0]["t"], "type": "marker", "label": "one"}]
    assert got.header["version"] == 1
    rec.close()
    rec.event("marker", label="after close")  # (nothing: closed)
    assert len(parse_recording(rec.path.read_bytes()).events) == 1


def test_a_class_hour_stays_well_under_a_megabyte(tmp_path):
    """A synthetic hour, busier than a class: a position every second, new weights every
    minute, a lesson step every two minutes, a marker every five, a new scenario every ten."""
    now = [0.0]
    rec = Recorder(tmp_path / "hour.rec", clock=lambda: now[0])
    texts = 0
    for second in range(3600):
        now[0] = float(second)
        if second % 600 == 0:
            ev = scenario_event("king")
            texts += len(json.dumps(ev))
            rec.event("scenario", **{k: v for k, v in ev.items() if k not in ("t", "type")})
        if second % 120 == 0:
            rec.event("step", lesson={"name": "vanishing", "sha256": "a" * 64,
                                      "step": second // 120 % 9})
        if second % 300 == 0:
            rec.marker()
        fields = {"position": f"scenario=king,epoch={second // 60},t={second % 7},"
                              f"phase=backward,wh={second % 9 - 4:+d}"}
        if second % 60 == 0:
            fields["weights"] = {"epoch": second // 60, "sha256": "b" * 64}
        rec.event("position", **fields)
    rec.close()
    size = os.path.getsize(rec.path)
    assert rec.events > 3600
    assert size - texts < 400_000, size - texts  # (measured: 340 KB, 4,000 events)


def _lesson_events(*after):
    from rnntui.classroom.protocol import sha256
    from rnntui.lessons import builtin_lessons
    from pathlib import Path
    lesson = builtin_lessons()[0]
    sha = sha256(Path(lesson.source).read_bytes())
    step = {"t": 1, "type": "step", "lesson": {"name": lesson.name, "sha256": sha, "step": 2}}
    return [step, *after]


def test_the_class_answers_presented_are_kept_with_their_step():
    counts = {"step": 2, "of": 3, "done": None, "picks": [1, 2, 0]}
    rec = parse_recording(recording_bytes(_lesson_events(
        {"t": 2, "type": "poll", "counts": counts},
        {"t": 3, "type": "answer", "step": 2, "choice": 2})))
    assert rec.states[-1]["lesson"]["poll"] == counts and rec.states[-1]["answer"] == 2
    assert rec.states[-3]["lesson"]["poll"] is None  # (before the counts came)


@pytest.mark.parametrize("counts", [
    [1], {"step": 2, "of": 3}, {"step": 2, "of": -1, "done": None, "picks": None},
    {"step": 2, "of": 3, "done": None, "picks": [1, 2, 3, 4, 5]},
    {"step": 2, "of": 10 ** 6, "done": None, "picks": None},
    {"step": 2, "of": 3, "done": "\x1b[2J", "picks": None},
])
def test_bad_class_answers_are_refused(counts):
    why = _error(recording_bytes(_lesson_events({"t": 2, "type": "poll", "counts": counts})))
    assert "line 5: counts: not {step, of, done, picks}" in why


def test_a_position_naming_another_cell_is_checked_with_that_cell():
    rec = parse_recording(recording_bytes([
        {"t": 1, "type": "position", "position": "scenario=cat,cell=lstm,epoch=0,t=1"}]))
    assert rec.states[-1]["position"] == "scenario=cat,cell=lstm,epoch=0,t=1"
    assert "past the limit" in _bad_event(
        {"t": 1, "type": "position", "position": "scenario=cat,cell=gru,epoch=200000,t=1"})
