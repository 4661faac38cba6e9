"""A gated cell does several times the vanilla cell's work: its budget is checked on switching."""

from __future__ import annotations

import pytest

from engine import budget
from engine.scenario import with_cell
from engine.scenario import loads
from engine.types import ScenarioError

SERIES = """
[scenario]
name = "wide"
kind = "series"
[model]
hidden_size = 128
[train]
epochs = 0
[data]
points = 2000
"""


def test_the_lstm_counts_its_gates_and_its_double_state():
    sc = loads(SERIES)
    rnn = budget.estimate(sc)
    gru = budget.estimate(budget.Sizes(**{**budget.Sizes.of(sc).__dict__, "cell": "gru"}))
    lstm = budget.estimate(budget.Sizes(**{**budget.Sizes.of(sc).__dict__, "cell": "lstm"}))
    assert lstm.trace_ops > 8 * rnn.trace_ops  # (2H)^3 Jacobians with an eigen step each
    assert rnn.trace_ops < gru.trace_ops < lstm.trace_ops


def test_switching_to_a_cell_over_budget_is_one_clear_error():
    sc = loads(SERIES, source="wide.toml")
    with pytest.raises(ScenarioError) as err:
        with_cell(sc, "lstm")
    msg = str(err.value)
    assert msg.startswith("wide.toml:") and "RNNTUI_TRACE_BUDGET" in msg and "\n" not in msg
