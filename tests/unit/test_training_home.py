"""rnntui.training (the first History of a scenario, the epochs opening it trains) and
rnntui.view.view_at (the one place a Position becomes a View)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import initial_params, load
from engine.train import dataset_loss
from engine.types import ScenarioError
from rnntui.position import Position, WindowRef
from rnntui.training import open_epochs, untrained, with_first_loss
from rnntui.view import View, view_at


@pytest.fixture(scope="module")
def king():
    return load("king")


def test_open_epochs_is_the_scenarios_own_or_a_later_epoch_a_position_wants(king):
    own = king.train.epochs
    assert open_epochs(king, True) == own
    assert open_epochs(king, False) == 0
    assert open_epochs(king, True, wanted=own + 5) == own + 5
    assert open_epochs(king, True, wanted=1) == own
    assert open_epochs(king, False, wanted=3) == 3


def test_the_untrained_history_is_the_initial_weights_and_their_loss(king):
    p0 = initial_params(king)
    h = untrained(king)
    assert h.epochs == [0] and h.losses == [dataset_loss(p0, king)]
    assert all(np.array_equal(a, b) for a, b in zip(h.weights[0].arrays(), p0.arrays()))
    pending = untrained(king, exact=False)
    assert math.isnan(pending.losses[0])
    known = with_first_loss(pending, 1.25)
    assert known.losses == [1.25] and known.weights is pending.weights


def _view(sc):
    h = untrained(sc, exact=False)
    return View.open(sc, h, source=sc.name).with_history(h)


def test_view_at_applies_every_part_of_a_position(king):
    view = _view(king)
    pos = Position(scenario="king", t=1, phase="backward", knob=2, grads="loss", target=1)
    moved = view_at(view, pos)
    assert (moved.t, moved.phase, moved.knob, moved.target) == (1, "backward", 2, 1)
    assert moved.sequence is king.sequence and moved.typed is None


def test_view_at_back_to_the_scenarios_own_sequence(king):
    view = _view(king).with_example(0)
    assert view.example == 0
    moved = view_at(view, Position(scenario="king"))
    assert moved.example is None and moved.sequence is king.sequence


def test_a_window_that_cannot_be_had_is_warned_and_the_rest_applies(king):
    view = _view(king)
    pos = Position(scenario="king", window=WindowRef("train", 2), t=2)
    with pytest.raises(ScenarioError, match="no windows"):
        view_at(view, pos)
    said = []
    moved = view_at(view, pos, warn=said.append)
    assert len(said) == 1 and "no windows" in said[0] and moved.t == 2
