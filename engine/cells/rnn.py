"""The vanilla RNN as a cell: a thin face over engine/model.py, which keeps its fused loops.

    a_t = W_x x_t + W_h h_{t-1} + b        h_t = f(a_t)        (f: tanh, sigmoid or relu)

Every call goes straight to :func:`engine.model.run` and :func:`engine.model.init_params`, so
the vanilla numbers and speed are exactly those of the model module.
"""

from __future__ import annotations

import numpy as np

from ..model import Params, Pass, activate, activation_slope, init_params, run
from .base import Cell


class RNNCell(Cell):
    """The Elman RNN with a chosen activation (the only cell that has one)."""

    name = "rnn"
    state = ("h",)
    gates = ()
    recurrent = ("W_h",)

    def shapes(self, hidden: int, inputs: int, outputs: int) -> dict[str, tuple[int, ...]]:
        return {"W_x": (hidden, inputs), "W_h": (hidden, hidden), "b": (hidden,),
                "W_y": (outputs, hidden), "b_y": (outputs,)}

    def init(self, hidden, inputs, outputs, *, init="xavier", scales=None, seed=0, weights=None,
             forget_bias=1.0) -> Params:
        return init_params(hidden, inputs, outputs, init=init, scales=scales, seed=seed,
                           weights=weights)

    def run(self, params: Params, inputs, targets=None, mask=None, *, output="softmax",
            activation="tanh", state0=None, backward=True) -> Pass:
        return run(params, inputs, targets, mask, activation=activation, output=output,
                   h0=state0, backward=backward)

    def pre_activations(self, p: Pass) -> dict[str, np.ndarray]:
        return {"a": p.a}

    def step(self, params: Params, x, s, activation="tanh") -> np.ndarray:
        return activate(activation, params.W_x @ x + params.W_h @ s + params.b)

    def _slope(self, p: Pass, activation: str) -> np.ndarray:
        return p.slope if p.slope is not None else activation_slope(activation, p.a, p.h)

    def step_jacobians(self, params: Params, p: Pass, lo=0, hi=None,
                       activation: str = "tanh") -> np.ndarray:
        """diag(f'(a_t)) W_h for t in [lo, hi): (n, H, H), first sequence."""
        hi = len(p.h) if hi is None else hi
        return self._slope(p, activation)[lo:hi, 0, :, None] * params.W_h

    def right_multiplier(self, params: Params, p: Pass, activation: str = "tanh"):
        slope = self._slope(p, activation)[:, 0]
        return lambda M, t: (M * slope[t]) @ params.W_h

    def carry_gate(self, p):
        return None


CELL = RNNCell()
