"""The vanilla RNN's old home, kept so that notebooks and scripts keep working: ``engine.model.
Params``, ``engine.model.run(...)``, ``init_params`` and the shared numerics are re-exported from
where they live now, engine/cells/rnn.py (the cell) and engine/cells/numerics.py (what every
cell shares)."""

from __future__ import annotations

from .cells.numerics import (activate, activation_slope, output_gradient, read_out, sine_matrix,
                             softmax, step_losses)
from .cells.rnn import Params, Pass, init_params, run

__all__ = ["Params", "Pass", "activate", "activation_slope", "init_params", "output_gradient",
           "read_out", "run", "sine_matrix", "softmax", "step_losses"]
