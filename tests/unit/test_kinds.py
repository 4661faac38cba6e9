"""The data-kind registry (engine/kinds/): one module per kind, and every place that asks
"can this scenario generate" or "how does this step read" asks the kind."""

from __future__ import annotations

import dataclasses

import pytest

import engine.kinds as kinds
from engine import load
from engine.kinds import KINDS, generation, get_kind
from engine.predict import exact_input, exact_target
from engine.types import ScenarioError
from rnntui.position import Generation
from rnntui.sequences import can_generate


def test_every_registered_kind_is_its_own_module():
    for name in KINDS:
        kind = get_kind(name)
        assert kind.name == name and kind.keys and kind.default_output
        assert set(kind.advice[""]) == {"trace", "train", "memory"}
    with pytest.raises(ScenarioError, match="unknown kind 'poem'; choose one of text, series"):
        get_kind("poem")


@pytest.mark.parametrize("scenario, makes", [("king", "text"), ("sine", "forecast"),
                                             ("weather", "forecast"), ("echo", "")])
def test_what_each_built_in_scenario_generates(scenario, makes):
    assert generation(load(scenario)) == makes


def test_a_kind_that_says_it_forecasts_is_asked_by_positions(monkeypatch):
    """The position check asks the kind: an echo kind that says it forecasts passes it."""
    echo = load("echo")
    forecast = Generation(length=5, start=1)
    with pytest.raises(ScenarioError, match="a forecast needs a series of one value a step"):
        can_generate(echo, forecast)
    changed = dataclasses.replace(get_kind("echo"), generates="forecast")
    monkeypatch.setitem(kinds._KINDS, "echo", changed)
    can_generate(echo, forecast)
    with pytest.raises(ScenarioError, match="text is written by text scenarios"):
        can_generate(echo, Generation(length=5, prime="1"))


def test_exact_values_come_from_the_kind():
    echo, king = load("echo"), load("king")
    t = int(echo.sequence.mask.argmax())
    assert exact_input(echo, echo.sequence, 0) in (0, 1)
    assert type(exact_target(echo, echo.sequence, t)) is int
    assert exact_target(echo, echo.sequence, 0) is None
    assert exact_input(king, king.sequence, 0) == king.sequence.tokens[0]
    assert exact_target(king, king.sequence, 0) == king.sequence.tokens[1]
