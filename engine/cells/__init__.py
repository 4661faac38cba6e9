"""The recurrent cells behind one interface: the vanilla RNN, the LSTM and the GRU.

    from engine.cells import get_cell
    cell = get_cell("lstm")
    params = cell.init(hidden=8, inputs=5, outputs=5, seed=0)
    p = cell.run(params, X, Y, M)      # forward + BPTT, (T, B, .) arrays
    p.gates["f"], p.c, p.grads.named()["W_hf"]

See docs/cells.md for the equations and conventions.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..model import Params
from ..model import run as _run_rnn
from ..types import CELLS, ModelConfig, Scenario, ScenarioError
from .base import Cell, GatedParams, GatedPass

__all__ = ["CELLS", "Cell", "GatedParams", "GatedPass", "cell_of", "gate_saturation",
           "get_cell", "init_for", "run", "weight_shapes", "weights_note", "with_cell"]

_CELLS: dict[str, Cell] = {}


def get_cell(name: str) -> Cell:
    """The cell called ``name`` ("rnn", "lstm" or "gru")."""
    if not _CELLS:
        from .gru import CELL as gru
        from .lstm import CELL as lstm
        from .rnn import CELL as rnn
        _CELLS.update(rnn=rnn, lstm=lstm, gru=gru)
    try:
        return _CELLS[name]
    except KeyError:
        raise ScenarioError(f"unknown cell {name!r}; choose one of {', '.join(CELLS)}") from None


def cell_of(params) -> Cell:
    """The cell these parameters belong to."""
    return get_cell(getattr(params, "cell", "rnn"))


def run(params, inputs, targets=None, mask=None, *, activation: str = "tanh",
        output: str = "softmax", h0=None, backward: bool = True):
    """:func:`engine.model.run` for any cell's parameters (vanilla ones go straight there)."""
    if isinstance(params, Params):
        return _run_rnn(params, inputs, targets, mask, activation=activation, output=output,
                        h0=h0, backward=backward)
    return get_cell(params.cell).run(params, inputs, targets, mask, output=output,
                                     activation=activation, state0=h0, backward=backward)


def init_for(model: ModelConfig, inputs: int, outputs: int):
    """The seeded initial parameters ``model`` describes, for its cell."""
    return get_cell(model.cell).init(model.hidden_size, inputs, outputs, init=model.init,
                                     scales=model.init_scale, seed=model.seed,
                                     weights=model.weights, forget_bias=model.forget_bias)


def weight_shapes(cell: str, hidden: int, inputs: int, outputs: int) -> dict:
    """name -> (rows, cols or None, what the shape means) for every matrix of ``cell`` that a
    scenario's ``[model.weights]`` may give, in the order a file lists them."""
    meaning = {"W_x": "hidden_size x input size", "W_h": "hidden_size x hidden_size",
               "W_y": "output size x hidden_size", "b_y": "output size"}
    out = {}
    for name, shape in get_cell(cell).shapes(hidden, inputs, outputs).items():
        kind = name if name in ("W_y", "b_y") else name[:3] if name.startswith("W_") else "b"
        out[name] = (shape[0], shape[1] if len(shape) == 2 else None,
                     meaning.get(kind, "hidden_size"))
    return out


def with_cell(scenario: Scenario, cell: str) -> Scenario:
    """The same scenario (data, sizes, training) with another cell.

    The file's hand-chosen weights (``[model.weights]``, or the ``sine`` pattern with its
    scales) were made for the file's cell: another cell starts from seeded xavier weights
    instead, and ``model.weights_seeded`` says so. Switching back gives the file's model
    exactly (``model.origin`` keeps it). Raises ScenarioError when the scenario with that
    cell would go over a budget (engine.budget).
    """
    get_cell(cell)
    base = scenario.model.origin or scenario.model
    if cell == base.cell:
        return dataclasses.replace(scenario, model=base)
    hand_made = bool(base.weights) or base.init == "sine"
    model = dataclasses.replace(
        base, cell=cell, origin=base, weights_seeded=hand_made,
        weights=None if hand_made else base.weights,
        init="xavier" if hand_made else base.init,
        init_scale={k: None for k in base.init_scale} if hand_made else dict(base.init_scale))
    out = dataclasses.replace(scenario, model=model)
    from .. import budget
    budget.check(out)  # a gated cell does several times the work: ScenarioError when too much
    return out


def weights_note(scenario: Scenario) -> str | None:
    """One line for the screen when the weights are not the file's own, else None."""
    m = scenario.model
    if not m.weights_seeded:
        return None
    origin = m.origin.cell if m.origin is not None else "rnn"
    return (f"the file's weights are for the {origin} cell; the {m.cell} starts from seeded "
            f"xavier weights (seed {m.seed})")


#: The gates that read as shares in [0, 1] (keep / write / reveal; reset / update); the
#: candidates g and n are in [-1, 1] and are not gates.
SIGMOID_GATES = {"lstm": ("i", "f", "o"), "gru": ("r", "z")}


def gate_saturation(trace, t: int, low: float = 0.1, high: float = 0.9) -> dict[str, float]:
    """For each sigmoid gate at step ``t``: the share of units below ``low`` or above
    ``high`` (nearly shut or nearly open). Empty for the vanilla cell."""
    out = {}
    for name in SIGMOID_GATES.get(getattr(trace, "cell", "rnn"), ()):
        v = trace.gates[name][t]
        out[name] = float(np.count_nonzero((v < low) | (v > high)) / v.size) if v.size else 0.0
    return out
