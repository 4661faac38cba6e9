"""The recurrent cells, one module each, and the registry everything else asks about them.

    from engine.cells import get_cell
    cell = get_cell("lstm")
    params = cell.init(hidden=8, inputs=5, outputs=5, seed=0)
    p = cell.run(params, X, Y, M)      # forward + BPTT, (T, B, .) arrays
    p.gates["f"], p.c, p.grads.named()["W_hf"]

A cell is one module here (``rnn.py``, ``lstm.py``, ...) that defines ``CELL``, an instance of
:class:`engine.cells.base.Cell`: its parameters, init, forward/BPTT, Jacobians, gates, display
names, Step-pane rows and capabilities. Adding one is that module plus one line in ``CELLS``
below (docs/architecture.md). Outside this folder no code names a cell: the CLI's choices,
positions, panes, lessons and compare mode ask the registry. See docs/cells.md for the
equations and conventions.
"""

from __future__ import annotations

import numpy as np

from .._registry import member
from ..types import ModelConfig, ScenarioError
from .base import Cell, GatedParams, GatedPass, is_bidirectional

#: The registry: one line per cell, the name of its module in this folder (which defines CELL).
#: This is the order of ``--cell`` choices; the ``c`` key cycles, in this order, through the
#: cells whose ``cycles`` is set. The first is the default cell of a scenario.
CELLS = (
    "rnn",
    "lstm",
    "gru",
    "irnn",
)

#: The cell a scenario has when its file names none.
DEFAULT = CELLS[0]

__all__ = ["CELLS", "DEFAULT", "Cell", "GatedParams", "GatedPass", "cell_of", "cells_where",
           "compare_pair", "cycle_after", "gate_saturation", "get_cell", "init_for", "run", "weight_shapes"]

_CELLS: dict[str, Cell] = {}


def get_cell(name: str) -> Cell:
    """The cell called ``name`` (one of :data:`CELLS`); ScenarioError for any other name."""
    return member(__name__, CELLS, _CELLS, name, "cell", "CELL")


def cell_of(params) -> Cell:
    """The cell these parameters belong to."""
    return get_cell(params.cell)


def cells_where(test) -> tuple[str, ...]:
    """The names of the cells for which ``test(cell)`` is true, in registry order."""
    return tuple(name for name in CELLS if test(get_cell(name)))


def cycle_after(name: str) -> str:
    """The cell the ``c`` key goes to from ``name``: the next one that cycles (from a cell that
    does not cycle, the first that does)."""
    ring = cells_where(lambda c: c.cycles)
    if name not in ring:
        return ring[0]
    return ring[(ring.index(name) + 1) % len(ring)]


def compare_pair(name: str) -> tuple[str, str]:
    """The two cells compare mode shows by default for cell ``name``: it and its ``partner``;
    two cells that are each other's partner in registry order, so either opens the same."""
    partner = get_cell(name).partner
    if get_cell(partner).partner == name and CELLS.index(partner) < CELLS.index(name):
        return partner, name
    return name, partner


def run(params, inputs, targets=None, mask=None, *, activation: str = "tanh",
        output: str = "softmax", h0=None, backward: bool = True, lengths=None):
    """Forward (and unless ``backward`` is False, BPTT) for any cell's parameters: the cell's
    own ``run`` (for the vanilla cell, :func:`engine.model.run`), or both directions of a
    bidirectional model (:func:`engine.cells.bidir.run`; it starts from zero states, and its
    backward direction starts at each row's ``lengths[b] - 1``, default T - 1). A one-way
    run needs no lengths: right padding never reaches a real step's state."""
    if is_bidirectional(params):
        from . import bidir
        return bidir.run(cell_of(params), params, inputs, targets, mask, output=output,
                         activation=activation, backward=backward, lengths=lengths)
    return cell_of(params).run(params, inputs, targets, mask, output=output,
                               activation=activation, state0=h0, backward=backward)


def init_for(model: ModelConfig, inputs: int, outputs: int):
    """The seeded initial parameters ``model`` describes, for its cell (both directions'
    when it is bidirectional)."""
    if model.bidirectional:
        from .bidir import init
    else:
        def init(cell, *args, **kw):
            return cell.init(*args, **kw)
    return init(get_cell(model.cell), model.hidden_size, inputs, outputs, init=model.init,
                scales=model.init_scale, seed=model.seed, weights=model.weights,
                forget_bias=model.forget_bias)


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


def gate_saturation(trace, t: int, low: float = 0.1, high: float = 0.9) -> dict[str, float]:
    """For each sigmoid gate at step ``t``: the share of units below ``low`` or above
    ``high`` (nearly shut or nearly open). Empty for a cell without gates."""
    out = {}
    for name in get_cell(trace.cell).sigmoid_gates:
        v = trace.gates[name][t]
        out[name] = float(np.count_nonzero((v < low) | (v > high)) / v.size) if v.size else 0.0
    return out
