"""mask= and sort=: a padded scenario's switches (keys u and s) in a position, so that --at, a
presenter's class, a recording and an export name the setting the screen shows."""

from __future__ import annotations

import pytest
from helpers import press_and_settle, quiet_app, settle, untrained_history

from engine import load
from engine.scenario import with_batching
from engine.types import ScenarioError
from rnntui import cache
from rnntui.position import Position, PositionError, scenario_at
from rnntui.view import View

pytestmark = pytest.mark.warm_cache


def test_mask_and_sort_round_trip_and_are_written_after_the_model():
    pos = Position.parse("scenario=pads,t=3,sort=on,mask=off")
    assert (pos.mask, pos.sort) == (False, True)
    assert str(pos) == "scenario=pads,mask=off,sort=on,t=3"
    assert Position.parse(str(pos)) == pos
    assert Position.parse("scenario=pads,mask=on").mask is True
    assert "mask" not in str(Position(scenario="pads"))  # (None: the file's own, not written)


@pytest.mark.parametrize("text, message", [
    ("scenario=pads,mask=no", "mask='no': mask is on or off"),
    ("scenario=pads,sort=1", "sort='1': sort is on or off"),
])
def test_a_bad_switch_is_one_line(text, message):
    with pytest.raises(PositionError) as err:
        Position.parse(text)
    assert str(err.value) == message


def test_the_switched_scenario_keeps_the_files_own_and_switching_back_is_exact():
    sc = load("pads")
    assert sc.train.pad and sc.train.mask and not sc.train.sort and sc.train.origin is None
    off = with_batching(sc, mask=False)
    assert not off.train.mask and off.train.origin is sc.train
    back = with_batching(off, mask=True)
    assert back.train == sc.train and back.train.origin is None
    assert with_batching(sc, mask=True) is sc  # no change: the same scenario
    # the training cache keys the setting, not how it was reached
    assert cache.key_for(back) == cache.key_for(sc) != cache.key_for(off)


def position_of(scenario) -> Position:
    return View.open(scenario, untrained_history(scenario)).position


def test_a_view_names_only_what_differs_from_the_file():
    sc = load("pads")
    both = with_batching(sc, mask=False, sort=True)
    assert (position_of(both).mask, position_of(both).sort) == (False, True)
    assert (position_of(sc).mask, position_of(sc).sort) == (None, None)
    half = with_batching(both, mask=True)
    assert (position_of(half).mask, position_of(half).sort) == (None, True)
    assert str(position_of(both)).startswith("scenario=pads,mask=off,sort=on,")


def test_a_scenario_without_padded_batches_refuses_them_in_one_line():
    with pytest.raises(ScenarioError) as err:
        scenario_at(load("king"), Position.parse("scenario=king,mask=off,sort=on"))
    assert str(err.value) == ("king: mask= and sort= are for padded batches, and this scenario "
                              "has none (pad = true under [train] makes them)")
    # the file's own value is no switch, even on such a scenario
    assert scenario_at(load("king"), Position.parse("scenario=king,mask=on")).train.mask


async def test_the_screen_after_u_and_s_is_the_screen_at_its_position():
    app = quiet_app("pads")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press_and_settle(pilot, ["right", "v", "u", "s", "right"])
        at = str(app.view.position)
        assert "mask=off,sort=on" in at
        assert app.view.grads == "loss"  # (u and s once dropped the per-loss view: views.carried)
        by_keys = app.export_screenshot()
    opened = quiet_app("pads", at=at)
    async with opened.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        assert str(opened.view.position) == at
        assert opened.export_screenshot() == by_keys


def test_a_replay_or_a_reader_follower_hears_the_switch():
    """What reader mode says for a presenter's (or a recording's) u and s."""
    from rnntui.reader_class import move_sentence
    sc = load("pads")
    old = View.open(sc, untrained_history(sc))
    off = with_batching(sc, mask=False)
    new = View.open(off, untrained_history(off))
    assert move_sentence(old, new).startswith("The presenter switched the mask off, at epoch 0")
    both = with_batching(off, sort=True)
    sorted_ = View.open(both, untrained_history(both))
    assert move_sentence(new, sorted_).startswith("The presenter sorted the batches by length, ")
    assert move_sentence(sorted_, old).startswith(
        "The presenter switched the mask on, put the batches back in file order, ")
