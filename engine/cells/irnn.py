"""The IRNN: a vanilla RNN that is always ReLU and starts from the identity (Le, Jaitly and
Hinton 2015, "A simple way to initialize recurrent networks of rectified linear units").

    a_t = W_x x_t + W_h h_{t-1} + b        h_t = relu(a_t)        W_h = I, b = 0 at init

At the start each unit simply keeps its value from step to step (plus what the input adds), so
the gradient flows back through many steps undiminished, as along an LSTM's cell state. The
input and read-out weights start as the scenario's ``init`` says; ``[model].init_scale``'s W_h
scales the identity (the paper's "scaled identity"). The forward pass, BPTT and Jacobians are
the vanilla cell's (engine/cells/rnn.py) with relu.
"""

from __future__ import annotations

import numpy as np

from .rnn import Params, RNNCell


class IRNNCell(RNNCell):
    """The identity-initialised ReLU RNN."""

    name = "irnn"
    title = "IRNN"
    long_title = "IRNN (ReLU, W_h = I at the start)"
    takes_activation = False
    activation = "relu"
    partner = "lstm"
    cycles = False  # reached with --cell, --at or a file, not the c key

    def init(self, hidden, inputs, outputs, *, init="xavier", scales=None, seed=0, weights=None,
             forget_bias=1.0) -> Params:
        """W_x, W_y and b_y as the scenario's ``init`` draws them (the same numbers as the
        vanilla cell's), then W_h = scale * I and b = 0; arrays in ``weights`` win."""
        p = super().init(hidden, inputs, outputs, init=init, scales=scales, seed=seed)
        scale = (scales or {}).get("W_h")
        p.W_h = np.eye(hidden) * (1.0 if scale is None else scale)
        p.b = np.zeros(hidden)
        if weights:
            given = super().init(hidden, inputs, outputs, init="zeros", weights=weights)
            for name in weights:
                setattr(p, name, getattr(given, name))
        return p


CELL = IRNNCell()
