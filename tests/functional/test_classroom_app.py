"""Presenter and follower apps side by side (two Pilots in one loop, TCP on 127.0.0.1): steps,
knob turns, detaching and re-attaching, the presenter leaving and returning, a scenario and
weights the follower lacks, the maximised pane, lessons. Waits are for states, never times."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import quiet_app

from rnntui.classroom import follower as follower_mod
from rnntui.classroom import protocol as P
from rnntui.classroom.join import new_token
from rnntui.classroom.session import FollowerRole, PresenterRole

#: Every scenario opens trained, as from a warm training cache (conftest.py: trained once per
#: test process, not once per test), except where training is the point (cold_cache).
pytestmark = pytest.mark.warm_cache


BOUND = 60.0
SIZE = (120, 40)


async def until(cond, what: str, bound: float = BOUND) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > bound:
            raise AssertionError(f"still waiting after {bound:.0f} s for {what}")
        await asyncio.sleep(0.02)


def status(app) -> str:
    shown = app.main_screen.status._shown
    return shown.plain if shown is not None else ""


def settled(app) -> bool:
    v = app.view
    return v.training is None and not v.needs_trace and not v.loss_pending


class Class:
    """A presenter app and its followers, all running."""

    def __init__(self, stack: contextlib.AsyncExitStack) -> None:
        self.stack = stack
        self.followers: list[tuple] = []

    async def present(self, scenario="king", token=None, port=0, size=SIZE):
        self.token = token or new_token()
        app = quiet_app(scenario)
        role = PresenterRole(self.token, port=port)
        app.main_screen.classroom = role
        pilot = await self.stack.enter_async_context(app.run_test(size=size))
        await until(lambda: role.presenter._server is not None, "the presenter listening")
        self.app, self.pilot, self.role = app, pilot, role
        return app, pilot, role

    async def follow(self, size=SIZE, join=None):
        app = quiet_app("king")
        role = FollowerRole(join or self.role.join)
        app.main_screen.classroom = role
        pilot = await self.stack.enter_async_context(app.run_test(size=size))
        self.followers.append((app, pilot, role))
        return app, pilot, role

    def same(self, app) -> bool:
        """``app`` shows the presenter's position, having been sent it: a follower opens at the
        same first position as the presenter, and with a warm cache it is settled there before
        it has heard from the presenter at all."""
        role = next(r for a, _, r in self.followers if a is app)
        return role.applied > 0 and str(app.view.position) == str(self.app.view.position) \
            and settled(app)


@contextlib.asynccontextmanager
async def classroom(monkeypatch):
    """A Class whose apps all end with the block (in the test's own context: Textual's
    context variables cannot be reset from a fixture's teardown)."""
    monkeypatch.setattr(follower_mod, "MAX_BACKOFF", 0.5)
    async with contextlib.AsyncExitStack() as stack:
        yield Class(stack)


async def test_followers_show_each_step_and_knob_turn(monkeypatch):
    async with classroom(monkeypatch) as room:
        pres, pp, prole = await room.present()
        (f1, fp1, r1), (f2, fp2, r2) = await room.follow(), await room.follow()
        await until(lambda: prole.presenter.followers == 2, "two followers")
        await until(lambda: settled(pres) and room.same(f1) and room.same(f2), "both in step")
        assert "presenting" in status(pres) and "2 following" in status(pres)
        assert "following" in status(f1) and "not following" not in status(f1)
        for keys in (["right", "right"], ["plus"], ["b"], ["left_square_bracket"], ["minus", "l"]):
            await pp.press(*keys)
            await until(lambda: settled(pres) and room.same(f1) and room.same(f2),
                        f"the followers after {keys}")
        # the same numbers, computed by each app from the same seed
        t = pres.view.t
        assert np.array_equal(f1.view.trace.h[t], pres.view.trace.h[t])
        assert f1.view.epoch == pres.view.epoch < pres.view.trained_epochs


async def test_a_navigation_key_detaches_and_f_follows_again(monkeypatch):
    async with classroom(monkeypatch) as room:
        pres, pp, prole = await room.present()
        f, fp, role = await room.follow()
        await until(lambda: settled(pres) and room.same(f), "in step")
        await fp.press("right")
        await until(lambda: not role.attached, "detached")
        assert f.view.t == pres.view.t + 1  # the key acted too
        assert "not following" in status(f) and "f follows" in status(f)
        await pp.press("right", "right", "right")
        await until(lambda: pres.view.t == 3 and role.latest is not None and
                    "t=3" in role.latest["position"], "the presenter's state reached the follower")
        assert f.view.t == 1  # it stays where its learner went
        await fp.press("f")
        await until(lambda: role.attached and room.same(f), "following again")
        assert "following" in status(f) and "not following" not in status(f)


async def test_the_presenter_leaves_and_comes_back(monkeypatch):
    async with classroom(monkeypatch) as room:
        pres, pp, prole = await room.present()
        f, fp, role = await room.follow()
        await until(lambda: settled(pres) and room.same(f), "in step")
        token, port = room.token, prole.presenter.port
        await prole.stop()
        await until(lambda: "presenter left" in status(f), "'presenter left'")
        await fp.press("right")  # still usable
        await until(lambda: f.view.t == 1, "the follower steps on its own")
        await fp.press("f")
        pres2, pp2, prole2 = await room.present(token=token, port=port)
        await pp2.press("right", "right")
        await until(lambda: role.link == "connected" and settled(pres2) and room.same(f),
                    "following the returned presenter")
        assert "following" in status(f) and f.view.t == 2


async def test_a_key_before_the_presenters_first_state_is_kept(monkeypatch):
    """With a warm cache the follower takes keys before it has heard from the presenter (here:
    one not started yet). Its learner's move detaches it, and the first state neither takes
    the move back nor passes without a word."""
    from rnntui.classroom.join import Join
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # (nothing listens there until the presenter below)
    async with classroom(monkeypatch) as room:
        token = new_token()
        f, fp, role = await room.follow(join=Join("127.0.0.1", port, token))
        await until(lambda: settled(f) and role.unreachable, "no presenter yet")
        await fp.press("right")
        await until(lambda: not role.attached, "detached by its learner's key")
        assert f.view.t == 1 and told(f, "You moved on your own")
        pres, pp, prole = await room.present(token=token, port=port)
        await until(lambda: role.latest is not None and "not following" in status(f),
                    "the presenter's first state")
        assert f.view.t == 1 and told(f, "The presenter is here; press f to follow it.")
        await pp.press("right", "right")
        await until(lambda: "t=2" in role.latest["position"], "the presenter's next state")
        assert f.view.t == 1
        await fp.press("f")
        await until(lambda: role.attached and room.same(f) and f.view.t == 2, "following")


async def test_a_scenario_the_follower_lacks_is_sent_and_checked(monkeypatch, tmp_path):
    async with classroom(monkeypatch) as room:
        from engine.scenario import _builtin_files
        text = dict(_builtin_files())["king"].read_text()
        own = tmp_path / "kings_own.toml"
        own.write_text(text.replace('name = "king"', 'name = "kings own"', 1))
        assert 'name = "kings own"' in own.read_text()
        pres, pp, prole = await room.present(str(own))
        f, fp, role = await room.follow()
        await pp.press("right")
        await until(lambda: f.view.scenario.name == "kings own" and settled(pres) and room.same(f),
                    "the sent scenario open")
        assert f.view.scenario.source == "presenter:kings_own.toml"
        # a bad text is refused by the same loader, and nothing else changes
        before = str(f.view.position)
        role._event("scenario", b'[scenario]\nname = "x"\nkind = "nonsense"\n')
        assert str(f.view.position) == before and f.is_running


async def test_weights_are_fetched_when_the_followers_own_differ(monkeypatch):
    async with classroom(monkeypatch) as room:
        pres, pp, prole = await room.present()
        f, fp, role = await room.follow()
        await until(lambda: settled(pres) and room.same(f), "in step")
        view = f.view
        own = view.base_params
        bent = dataclasses.replace(own, W_h=own.W_h + 1e-3)
        h = view.history
        weights = list(h.weights)
        weights[h.epochs.index(view.epoch)] = bent
        role._applying = True  # (as if this app had trained differently)
        f.main_screen.view = view.with_history(dataclasses.replace(h, weights=weights),
                                               epoch=view.epoch)
        role._applying = False
        role._checked.clear()
        mine = lambda: P.weights_digest(P.weight_arrays(f.view.base_params))  # noqa: E731
        theirs = P.weights_digest(P.weight_arrays(pres.view.base_params))
        assert mine() != theirs
        await pp.press("right")
        await until(lambda: mine() == theirs and settled(f) and room.same(f),
                    "the presenter's weights installed")
        t = pres.view.t
        assert np.array_equal(f.view.trace.h[t], pres.view.trace.h[t])


async def test_the_maximised_pane_follows(monkeypatch):
    async with classroom(monkeypatch) as room:
        pres, pp, prole = await room.present()
        f, fp, role = await room.follow()
        await until(lambda: settled(pres) and room.same(f), "in step")
        await pp.press("m")
        await until(lambda: f.main_screen.maximized is not None, "maximised on the follower")
        assert f.main_screen.maximized.id == pres.main_screen.maximized.id
        await pp.press("m")
        await until(lambda: f.main_screen.maximized is None, "restored on the follower")


async def test_a_lesson_step_follows(monkeypatch):
    async with classroom(monkeypatch) as room:
        lessons = pytest.importorskip("rnntui.lessons")
        pres, pp, prole = await room.present()
        if not hasattr(pres.main_screen, "lessons"):
            pytest.skip("the main screen has no lesson session yet")
        f, fp, role = await room.follow()
        await until(lambda: settled(pres) and room.same(f), "in step")
        first = lessons.builtin_lessons()[0]
        pres.main_screen.lessons.open(first, 1)
        await until(lambda: getattr(f.main_screen.lessons.lesson, "name", None) == first.name
                    and f.main_screen.lessons.index == 1, "the lesson open at step 2")
        await until(lambda: settled(pres) and room.same(f), "in step at the lesson's step")


@pytest.mark.cold_cache
async def test_the_presenter_training_on_is_followed(monkeypatch):
    """t on the presenter trains further; each follower trains itself up to that epoch."""
    async with classroom(monkeypatch) as room:
        pres, pp, prole = await room.present()
        f, fp, role = await room.follow()
        await until(lambda: settled(pres) and room.same(f), "in step")
        first = pres.view.trained_epochs
        await pp.press("t")
        await until(lambda: settled(pres) and pres.view.trained_epochs > first,
                    "the presenter trained on")
        await until(lambda: room.same(f), "the follower trained to the same epoch")
        assert f.view.trained_epochs == pres.view.trained_epochs
        assert P.weights_digest(P.weight_arrays(f.view.base_params)) == \
            P.weights_digest(P.weight_arrays(pres.view.base_params))


async def test_a_cell_switch_is_followed(monkeypatch):
    async with classroom(monkeypatch) as room:
        pres, pp, prole = await room.present()
        f, fp, role = await room.follow()
        await until(lambda: settled(pres) and room.same(f), "in step")
        await pp.press("right", "c")
        await until(lambda: pres.view.cell == "lstm" and settled(pres), "the presenter's LSTM")
        await until(lambda: f.view.cell == "lstm" and room.same(f), "the follower's LSTM")
        assert "following" in status(f) and role.attached


def told(app, text: str) -> bool:
    """A notification saying ``text`` was shown."""
    return any(text in str(n.message) for n in app._notifications)


def strip(app) -> str:
    """The lesson strip's body as shown (the class's line first)."""
    card = app.main_screen.lesson_strip.card
    return card.room or "" if card is not None else ""


async def join_string_stays(pres, pp, prole) -> None:
    """The join string on one line at 80x24: whole in the status line, behind j, and at the
    top of ? help."""
    from rnntui.screens.help import HelpScreen
    from rnntui.screens.join import JoinScreen
    line = prole.join_line
    assert line == f"rnntui follow {prole.join}" and f"{prole.token}." in line
    await until(lambda: str(prole.join) in status(pres)[:79], "the join string in the status")
    await pp.press("j")
    await until(lambda: isinstance(pres.screen, JoinScreen), "the join string dialog")
    await pp.pause()
    shown = pres.screen.query_one("#join-line")
    assert shown.size.width >= len(line) and shown.size.height == 1
    assert line in shown.render().plain
    await pp.press("escape")
    await until(lambda: pres.screen is pres.main_screen, "back")
    await pp.press("question_mark")
    await until(lambda: isinstance(pres.screen, HelpScreen), "help")
    await pp.pause()
    top = pres.screen.query_one("#help-join")
    assert line in top.render().plain and top.region.y <= 2 and \
        top.region.width >= len(line)
    await pp.press("escape")
    await until(lambda: pres.screen is pres.main_screen, "back from help")


async def test_a_presented_lesson_is_a_sync_point_and_answers_come_back(monkeypatch):
    """Issue 19, done when: two followers at 80x24 go through a presented lesson, one doing
    the tasks and one not; both end on the presenter's last step, and the presenter's strip
    shows the task counts and the poll for a question both answered (counts, never who)."""
    async with classroom(monkeypatch) as room:
        lessons = pytest.importorskip("rnntui.lessons")
        recurrence = lessons.builtin_lessons()[0]  # 1 task (→→), 2 question, 3 task (G)
        assert recurrence.steps[1].task and recurrence.steps[2].question and \
            recurrence.steps[3].task and len(recurrence) == 5
        pres, pp, prole = await room.present(size=(80, 24))
        await join_string_stays(pres, pp, prole)
        ls = pres.main_screen.lessons
        ls.open(recurrence, 0)
        doer, dp, drole = await room.follow(size=(80, 24))

        def at(app, index: int) -> bool:
            fls = app.main_screen.lessons
            return fls.active and fls.lesson is recurrence and fls.index == index

        await until(lambda: at(doer, 0), "the doer in the lesson at step 1")
        await pp.press("full_stop")
        await until(lambda: ls.index == 1 and at(doer, 1), "the class at step 2")
        assert told(doer, "The class moved on to step 2.")
        # a late joiner lands on the presenter's current step
        idle, ip, irole = await room.follow(size=(80, 24))
        await until(lambda: at(idle, 1) and prole.presenter.followers == 2, "the late joiner")
        # the doer's own keys do the task and keep it in the lesson
        await dp.press("right", "right")
        await until(lambda: doer.main_screen.lessons.run.done, "the doer's task done")
        assert drole.attached and "not following" not in status(doer)
        await until(lambda: "Class of 2: task done 1" in strip(pres), "the count on the strip")
        await pp.press("full_stop")  # the question
        await until(lambda: at(doer, 2) and at(idle, 2), "both at the question")
        assert told(doer, "The class moved on to step 3.") and drole.attached
        assert doer.view.t == pres.view.t  # brought back from its own t=2
        await dp.press("2")
        await ip.press("3")
        await until(lambda: "picked 1:0 2:1 3:1" in strip(pres), "the poll on the strip")
        assert "a shows the class" in strip(pres) and strip(doer) == ""
        await pp.press("a")  # the teacher shows the counts to the class
        await until(lambda: "picked 1:0 2:1 3:1" in strip(doer) and
                    "picked 1:0 2:1 3:1" in strip(idle), "the poll on the class's strips")
        await dp.pause()
        for app in (doer, idle, pres):  # on its own line, not scrolled away by the pick
            line = app.main_screen.query_one("#lesson-room")
            assert line.display and line.region.height == 1 and \
                "picked 1:0 2:1 3:1" in line.render().plain
        await pp.press("full_stop")
        await until(lambda: at(doer, 3) and at(idle, 3), "both at the second task")
        await dp.press("G")
        await until(lambda: "Class of 2: task done 1" in strip(pres), "the second count")
        await pp.press("full_stop")
        await until(lambda: at(doer, 4) and at(idle, 4) and settled(pres) and
                    room.same(doer) and room.same(idle), "both on the last step, in step")
        assert drole.attached and irole.attached
        sha = pres.main_screen.classroom.state()["lesson"]["sha256"]
        tally = prole.presenter.tally
        assert tally(sha, 1, 0) == (2, 1, []) and tally(sha, 2, 3) == (2, 0, [0, 1, 1])
        assert tally(sha, 3, 0) == (2, 1, [])
        # only a follower who leaves the lesson stays behind, and is told how to come back
        await ip.press("L")
        await until(lambda: not irole.attached, "the idle one left the lesson")
        assert status(idle).startswith(" not following · f follows")  # first: never cut
        await pp.press("comma")
        await until(lambda: at(doer, 3), "the doer back at step 4")
        assert told(doer, "The class went back to step 4.")
        assert not idle.main_screen.lessons.active
        await ip.press("f")
        await until(lambda: at(idle, 3) and irole.attached, "the idle one following again")


async def test_an_encoder_decoder_and_its_attention_switch_are_followed(monkeypatch):
    """On reverse a follower shows the presenter's encoder or decoder step and the same
    attention row; A (attention off) is followed: the follower shows the bottleneck too."""
    async with classroom(monkeypatch) as room:
        pres, pp, prole = await room.present("reverse")
        f, fp, role = await room.follow()
        await until(lambda: settled(pres) and room.same(f), "in step on reverse")
        S = pres.view.sequence.source_len
        await pp.press(*["right"] * (S + 2))  # the decoder's third step
        await until(lambda: settled(pres) and room.same(f) and f.view.t == S + 2,
                    "the follower at the decoder's step")
        rows = pres.view.trace.attention_rows()
        assert rows is not None and np.array_equal(f.view.trace.attention_rows(), rows)
        await pp.press("A")
        await until(lambda: pres.view.scenario.model.attention == "none" and settled(pres),
                    "the presenter without attention")
        await until(lambda: f.view.scenario.model.attention == "none" and room.same(f),
                    "the follower without attention")
        assert "attention=none" in str(f.view.position) and f.view.t == S + 2
        assert f.view.trace.attention_rows() is None and role.attached


async def test_a_mask_and_sort_switch_is_followed(monkeypatch):
    """Keys u and s on a padded scenario: the follower trains and shows the same setting (the
    position names it: mask=off,sort=on), not the presenter's weights under its own mask."""
    async with classroom(monkeypatch) as room:
        pres, pp, prole = await room.present("pads")
        f, fp, role = await room.follow()
        await until(lambda: settled(pres) and room.same(f), "in step")
        assert f.view.scenario.train.mask and not f.view.scenario.train.sort
        for key, want in (("u", "mask=off"), ("s", "sort=on")):
            await pp.press(key)
            await until(lambda: want in str(pres.view.position) and settled(pres),
                        f"the presenter's {want}")
            await until(lambda: room.same(f), f"the follower's {want}")
        train = f.view.scenario.train
        assert (train.mask, train.sort) == (False, True) and role.attached
        t = pres.view.t
        assert np.array_equal(f.view.trace.h[t], pres.view.trace.h[t])
        assert f.view.trace.loss == pres.view.trace.loss
