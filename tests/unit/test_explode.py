"""The W_h knob teaches both sides: relu `count` explodes when W_h grows, tanh `long` does not."""

from __future__ import annotations

import numpy as np

from engine import fit, knob_scale, load, trace_for


def _trained(name):
    sc = load(name)
    return sc, fit(sc).weights[-1]


def test_count_explodes_as_w_h_grows_and_fades_as_it_shrinks():
    sc, p = _trained("count")
    assert sc.model.activation == "relu"
    jac = {k: float(trace_for(sc, p.with_wh_scale(knob_scale(k))).jacobian_log10[0])
           for k in (-4, 0, 4)}
    assert jac[4] >= 3  # the Gradients pane's "exploding"
    assert jac[-4] < 0  # shrinking
    assert jac[-4] < jac[0] < jac[4]
    grads = trace_for(sc, p.with_wh_scale(knob_scale(4))).grad_h
    assert grads.max() > 100 * trace_for(sc, p).grad_h.max()


def test_tanh_long_saturates_instead_of_exploding():
    """Why help no longer promises explosions from +: with tanh, a bigger W_h drives |a| up,
    f'(a) = 1 - h^2 towards 0, and the product of step Jacobians shrinks further."""
    sc, p = _trained("long")
    j0 = float(trace_for(sc, p).jacobian_log10[0])
    tr4 = trace_for(sc, p.with_wh_scale(knob_scale(4)))
    assert float(tr4.jacobian_log10[0]) < 1  # not growing, let alone exploding
    slope = 1 - tr4.h ** 2
    slope0 = 1 - trace_for(sc, p).h ** 2
    assert np.mean(slope) < np.mean(slope0)  # saturation: smaller slopes at a bigger W_h
    assert j0 < 1
