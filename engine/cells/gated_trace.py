"""The Trace of one sequence under an LSTM's or a GRU's weights (engine.trace dispatches here)."""

from __future__ import annotations

import numpy as np

from .. import analysis
from ..trace import Trace, row_norms
from ..types import Sequence
from . import get_cell
from .base import GatedParams
from .flow import carry_log10, retention, state_jacobian_log10


def gated_trace(params: GatedParams, sequence: Sequence, *, output: str = "softmax",
                retention_steps: int = 15, jacobians: bool = True, should_stop=None,
                activation: str = "tanh") -> Trace:
    """Every per-step array of the gated pass, for the first (only) sequence, as a Trace.

    ``spectral_norm`` is ||W_h||_2 of the stacked recurrent blocks (G*H x H) and
    ``spectral_radius`` is nan: a non-square matrix has no eigenvalues.
    """
    cell = get_cell(params.cell)
    from ..tbptt import carried_state  # a text file's window starts from the carried state
    p = cell.run(params, sequence.inputs, sequence.targets, sequence.mask, output=output,
                 state0=carried_state(params, sequence, activation, output))
    T = len(sequence)
    H = params.hidden_size
    h = np.ascontiguousarray(p.h[:, 0])
    h_prev = np.vstack([p.h0, h[:-1]]) if T else np.zeros((0, H))
    gates = {k: np.ascontiguousarray(p.gates[k][:, 0]) for k in cell.gates}
    pre = {k: np.ascontiguousarray(v[:, 0]) for k, v in cell.pre_activations(p).items()}
    dpre = {k: np.ascontiguousarray(p.dpre[k][:, 0]) for k in pre}
    c = c_prev = dc = dc_carry = grad_c = None
    with np.errstate(over="ignore", invalid="ignore"):
        dh = p.dh[:, 0]
        grad_h = row_norms(dh)
        if p.c is not None:
            c = np.ascontiguousarray(p.c[:, 0])
            c_prev = np.vstack([p.c0, c[:-1]]) if T else np.zeros((0, H))
            dc = p.dc[:, 0]
            grad_c = row_norms(dc)
            dc_carry = np.zeros_like(dc)
            np.multiply(gates["f"][1:], dc[1:], out=dc_carry[:-1])
            grad_state = row_norms(np.hstack([dh, dc_carry]))
        else:
            grad_state = grad_h.copy()
    S = cell.state_size(H)
    jac = (state_jacobian_log10(cell.right_multiplier(params, p), T, S, should_stop=should_stop)
           if jacobians else np.full(T, np.nan))
    first = sequence.inputs[0] if T else np.zeros(params.input_size)
    return Trace(
        params=params, activation=activation, output=output, sequence=sequence,
        x=np.asarray(sequence.inputs, dtype=np.float64), a=None, h=h, h_prev=h_prev,
        y=p.y[:, 0], out=p.out[:, 0], step_loss=p.losses[:, 0], loss=p.loss,
        dy=p.dy[:, 0], dh=dh, da=None, flow=p.flow[:, 0], grads=p.grads,
        grad_h=grad_h, jacobian_log10=jac,
        spectral_norm=analysis.spectral_norm(params.W_h), spectral_radius=float("nan"),
        retention=retention(cell, params, first, retention_steps),
        cell=params.cell, c=c, c_prev=c_prev, dc=dc, dc_carry=dc_carry, gates=gates, gate_pre=pre, gate_grad=dpre,
        carry_log10=carry_log10(cell.carry_gate(p)) if T else np.zeros(0),
        grad_c=grad_c, grad_state=grad_state,
    )
