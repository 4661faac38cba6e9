"""Presenter and follower apps side by side (two Pilots in one loop, TCP on 127.0.0.1): steps,
knob turns, detaching and re-attaching, the presenter leaving and returning, a scenario and
weights the follower lacks, the maximised pane, lessons. Waits are for states, never times."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import quiet_app

from rnntui.classroom import follower as follower_mod
from rnntui.classroom import protocol as P
from rnntui.classroom.join import new_token
from rnntui.classroom.session import FollowerRole, PresenterRole

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

    async def present(self, scenario="king", token=None, port=0):
        self.token = token or new_token()
        app = quiet_app(scenario)
        role = PresenterRole(self.token, port=port)
        app.main_screen.classroom = role
        pilot = await self.stack.enter_async_context(app.run_test(size=SIZE))
        await until(lambda: role.presenter._server is not None, "the presenter listening")
        self.app, self.pilot, self.role = app, pilot, role
        return app, pilot, role

    async def follow(self):
        app = quiet_app("king")
        role = FollowerRole(self.role.join)
        app.main_screen.classroom = role
        pilot = await self.stack.enter_async_context(app.run_test(size=SIZE))
        self.followers.append((app, pilot, role))
        return app, pilot, role

    def same(self, app) -> bool:
        return str(app.view.position) == str(self.app.view.position) and settled(app)


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
