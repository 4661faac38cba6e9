"""Reader mode in class and after it (rnntui/reader_class.py): ``follow JOIN --reader`` hears a
presenter app's moves as one sentence each, with the presenter's own numbers, a lesson step
read whole and the class's answers as counts; ``replay FILE --reader`` steps a recording event
by event. Transcripts are checked as a listener hears them (tests/unit/test_reader.py's rules).
Waits are for states, never times."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import math
import os

import numpy as np
import pytest
import helpers
from helpers import quiet_app

from _recordings import recording_bytes
from _spoken import check_plain, spoken
from engine import initial_params, load, trace_for
from rnntui.classroom.join import new_token
from rnntui.classroom.session import PresenterRole
from rnntui.reader_class import (ReaderFollower, _follow, open_replay_reader,
                                 run_replay_reader)
from rnntui.widgets._draw import fmt_abs, fmt_pow10

pytestmark = pytest.mark.warm_cache
BOUND = 60.0  # seconds: a bound for a busy machine, never a measurement
until = functools.partial(helpers.until, bound=BOUND)


@contextlib.asynccontextmanager
async def presenting(app):
    """``app`` running as a presenter: (its pilot, its role)."""
    role = PresenterRole(new_token())
    app.main_screen.classroom = role
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: role.presenter._server is not None, "the presenter listening")
        yield pilot, role


@contextlib.asynccontextmanager
async def follower_reader(join):
    """A reader-mode follower of ``join`` in this loop: (its lines, a function that types a
    command, its role)."""
    lines: list[str] = []
    r, w = os.pipe()
    role = ReaderFollower(join)
    task = asyncio.ensure_future(_follow(join, os.fdopen(r, "rb"), lines.append, role))
    try:
        yield lines, lambda command: os.write(w, command.encode() + b"\n"), role
        os.write(w, b"quit\n")
        assert await asyncio.wait_for(task, BOUND) == 0
    finally:
        os.close(w)
        task.cancel()


def said_since(lines: list[str], n: int) -> str:
    return "\n".join(lines[n:])


async def test_follow_reader_says_each_move_in_the_presenters_numbers():
    app = quiet_app("king")
    async with presenting(app) as (pilot, role):
        async with follower_reader(role.join) as (lines, type_, frole):
            await until(lambda: any("The presenter shows king" in s for s in lines), "joined")
            v = app.view
            assert "Following the presenter." in lines
            first = next(s for s in lines if "The presenter shows king" in s)
            assert f"at epoch {v.epoch} of {v.trained_epochs} (a training loss of " \
                   f"{spoken(fmt_abs(v.history.losses[v.epoch]))})" in first
            tr = trace_for(load("king"), v.history.params_at(v.epoch))
            sc = load("king")
            n = len(lines)
            await pilot.press("right")
            await until(lambda: "step 1" in said_since(lines, n), "the presenter's step")
            best = int(np.argmax(tr.out[1]))
            assert lines[n:] == [
                f"The presenter is at step 1, forward, reading '{sc.sequence.labels[1]}': the "
                f"model predicts '{sc.vocab[best]}' with probability "
                f"{spoken(fmt_abs(tr.out[1][best]))}."]
            n = len(lines)
            await pilot.press("b")
            await until(lambda: "backward" in said_since(lines, n), "the backward pass")
            assert lines[n:] == [
                f"The presenter is at step 1, backward, reading '{sc.sequence.labels[1]}': the "
                f"gradient reaching it has size {spoken(fmt_pow10(math.log10(tr.grad_h[1])))}."]
            # the learner's own command detaches: the presenter's moves are not said then
            type_("next")
            await until(lambda: "Stopped following" in said_since(lines, n), "detached")
            assert "Stopped following the presenter; type f to follow again." in lines
            n = len(lines)
            await pilot.press("left")  # (backward: the presenter goes to step 2)
            await until(lambda: "t=2" in frole.latest["position"], "the presenter's state")
            type_("where")
            await until(lambda: "Step 0 of the backward pass" in said_since(lines, n),
                        "the learner's own step")
            assert "The presenter" not in said_since(lines, n)
            type_("f")
            await until(lambda: "step 2, backward" in said_since(lines, n), "following again")
            assert "Following the presenter again." in lines
    check_plain(lines)


async def test_follow_reader_reads_the_lesson_step_and_the_class_answers():
    from rnntui.lessons import find_lesson
    lesson = find_lesson("prediction")
    first = lesson.steps[0]
    app = quiet_app(first.scenario, at=first.position, source=first.scenario)
    app.main_screen.lessons.open(lesson, 0)
    async with presenting(app) as (pilot, role):
        async with follower_reader(role.join) as (lines, type_, frole):
            await until(lambda: any("Type next step to go on." in s for s in lines), "step 1")
            assert f"Lesson {lesson.number}: {lesson.title}. {len(lesson)} steps." in lines
            assert f"Lesson step 1 of {len(lesson)}: {lesson.steps[0].title}." in lines
            await pilot.press("full_stop")
            await until(lambda: "Type answer 1 to answer 4." in lines, "step 2's question")
            assert "The class moved on to step 2." in lines
            type_("answer 2")
            await until(lambda: role.presenter.answers_taken == 1, "the answer counted")
            await pilot.press("a")  # the teacher shows the class's answers
            await until(lambda: any("class's answers" in s for s in lines), "the poll said")
            assert "The class's answers: class of 1: choice 1 picked by 0, choice 2 by 1, " \
                   "choice 3 by 0, choice 4 by 0." in lines
    check_plain(lines)


def test_replay_reader_steps_the_recording_and_explores(tmp_path):
    path = tmp_path / "c.rec"
    path.write_bytes(recording_bytes([
        {"t": 1.5, "type": "position", "position": "scenario=cat,epoch=0,t=1"},
        {"t": 2.0, "type": "marker", "label": "look \x1b[31mhere"},
        {"t": 65.0, "type": "position", "position": "scenario=cat,epoch=0,t=2,wh=+2"}]))
    lines: list[str] = []
    commands = ["event next", "K", "next", "f", "play", "quit", "never read"]
    stdin = io.BytesIO("".join(c + "\n" for c in commands).encode())
    assert run_replay_reader(open_replay_reader(path), stdin=stdin, out=lines.append) == 0
    check_plain(lines)
    sc = load("cat")
    tr = trace_for(sc, initial_params(sc))
    tr2 = trace_for(sc, initial_params(sc).with_wh_scale(2 ** 0.5))
    p1, p2 = int(np.argmax(tr.out[1])), int(np.argmax(tr2.out[2]))
    assert lines[0].startswith("rnntui reader mode, replaying a recording of 5 events, 1 "
                               "minute 5 seconds long.")
    assert lines[1] == "Event 2 of 5, at 0 seconds of 1 minute 5 seconds."
    assert lines[2].startswith("The presenter shows cat, a text scenario, with the vanilla RNN "
                               "cell, at epoch 0 of 0")
    assert lines[3:5] == [
        "Event 3 of 5, at 1 second of 1 minute 5 seconds.",
        f"The presenter is at step 1, forward, reading '{sc.sequence.labels[1]}': the model "
        f"predicts '{sc.vocab[p1]}' with probability {spoken(fmt_abs(tr.out[1][p1]))}."]
    # K jumps to the marker (its label said once), a command of the reader's explores from
    # there, f comes back to the event
    assert lines[5:7] == ["Event 4 of 5, at 2 seconds of 1 minute 5 seconds: the marker.",
                          "Marker: look ␛[31mhere"]
    assert "Exploring from this event; type f to go back to the replay." in lines
    back = lines.index("Back to the replay.")
    assert lines[back + 1] == \
        "Event 4 of 5, at 2 seconds of 1 minute 5 seconds: the marker 'look ␛[31mhere'."
    assert lines[back + 2:] == [
        f"The presenter is at step 1, forward, reading '{sc.sequence.labels[1]}': the model "
        f"predicts '{sc.vocab[p1]}' with probability {spoken(fmt_abs(tr.out[1][p1]))}.",
        "Event 5 of 5, at 1 minute 5 seconds of 1 minute 5 seconds.",
        f"The presenter scaled W h by 1.41 (2 clicks), and is at step 2, forward, reading "
        f"'{sc.sequence.labels[2]}': the model predicts '{sc.vocab[p2]}' with probability "
        f"{spoken(fmt_abs(tr2.out[2][p2]))}.", "The end of the recording.", "Bye."]


async def test_follow_reader_says_once_that_an_encoder_decoder_is_not_read():
    """The presenter opens reverse: one sentence (it ended in a traceback), nothing said for its
    moves, and the class is followed again when the presenter opens another scenario."""
    app = quiet_app("king")
    async with presenting(app) as (pilot, role):
        async with follower_reader(role.join) as (lines, type_, frole):
            await until(lambda: any("The presenter shows king" in s for s in lines), "joined")
            n = len(lines)
            app.main_screen.use_scenario(load("reverse"), "reverse")
            await until(lambda: "encoder-decoder" in said_since(lines, n), "the refusal")
            await pilot.press("right", "right")
            await until(lambda: "t=2" in frole.latest["position"], "the presenter's moves")
            assert lines[n:] == [
                "The presenter opened reverse, an encoder-decoder, which reader mode does not "
                "read yet; this app stays on king until they open another scenario."]
            app.main_screen.use_scenario(load("sine"), "sine")
            await until(lambda: "The presenter shows sine" in said_since(lines, n), "sine")
    check_plain(lines)
