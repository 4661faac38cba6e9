"""How much one step reaches another: the gradient of one step's loss at every earlier state, the
influence of each input on one prediction, and what the first input changes in the state later.

The sequence loss L is the mean of the step losses, so ``dL/dh_t`` (``Trace.dh``) mixes the loss
at t itself with every later one: a step can show a large gradient although nothing from far
ahead reaches it. These functions separate them: :func:`loss_gradient_log10` follows the loss of
one step τ back alone, :func:`connectivity_log10` the target's logit at τ back to each input.
Both walk back from τ, renormalising as they go, so values far below 1e-308 keep their exponent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cells import cell_of, get_cell
from .cells.numerics import activate, activation_slope, output_gradient
from .cells.rnn import Params
from .trace import Trace


@dataclass(frozen=True)
class Reach:
    """What reaches back from step ``tau`` to the steps ``first``..``tau``.

    ``grad_log10[i]`` is log10 ‖∂ℓ_τ/∂h_t‖ and ``input_log10[i]`` log10 ‖∂y_τ[k]/∂x_t‖ for
    t = first + i, where ℓ_τ is the loss at τ alone and k is the output the connectivity follows
    (the target's, or the prediction's where τ has no target). -inf means exactly zero.

    For a gated cell h_t is the whole state s_t (h and c for the LSTM), ``input_log10`` is
    all NaN (not computed), and ``carry_log10[i]`` is log10 of the largest product over units
    of the carry gates f_(t+1)···f_τ (LSTM forget gates; GRU update gates z): the conveyor
    belt from t to τ, which is 1 (0 here) when the gates are fully open. None for the vanilla
    cell.
    """

    tau: int
    first: int
    output: int
    has_target: bool
    grad_log10: np.ndarray
    input_log10: np.ndarray
    carry_log10: np.ndarray | None = None


def _log10_norm(v: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        m = float(np.max(np.abs(v))) if v.size else 0.0
        if not np.isfinite(m):
            return m if m == m else float("nan")
        if m == 0.0:
            return float("-inf")
        return float(np.log10(m) + np.log10(np.linalg.norm(v / m)))


#: Steps walked back between two looks at ``should_stop``.
STOP_EVERY = 256


def _stop(should_stop, t: int) -> None:
    if should_stop is not None and t % STOP_EVERY == 0 and should_stop():
        from .analysis import Cancelled
        raise Cancelled()


def _walk_back(params: Params, slopes: np.ndarray, g: np.ndarray, tau: int, first: int,
               inputs: bool, should_stop=None) -> tuple[np.ndarray, np.ndarray]:
    """From g = ∂s/∂h_τ back to t = first: log10 ‖∂s/∂h_t‖ and (if ``inputs``) ‖∂s/∂x_t‖.

    ∂s/∂a_t = f'(a_t) ⊙ ∂s/∂h_t, ∂s/∂x_t = W_xᵀ ∂s/∂a_t, ∂s/∂h_(t-1) = W_hᵀ ∂s/∂a_t. The vector
    is divided by its largest entry at every step and the factor kept as a log10."""
    n = tau - first + 1
    gl = np.full(n, np.nan)
    xl = np.full(n, np.nan)
    scale = 0.0
    g = np.array(g, dtype=np.float64)
    with np.errstate(all="ignore"):
        for t in range(tau, first - 1, -1):
            _stop(should_stop, t)
            i = t - first
            gl[i] = scale + _log10_norm(g)
            da = slopes[t] * g
            if inputs:
                xl[i] = scale + _log10_norm(params.W_x.T @ da)
            g = params.W_h.T @ da
            m = float(np.max(np.abs(g))) if g.size else 0.0
            if m > 0 and np.isfinite(m):
                g /= m
                scale += float(np.log10(m))
    return gl, xl


def reach(trace: Trace, tau: int, first: int = 0, *, inputs: bool = True,
          should_stop=None) -> Reach:
    """What reaches back from step ``tau`` to steps ``first``..``tau`` (see :class:`Reach`).
    ``inputs=False`` leaves ``input_log10`` all NaN (not computed: half the work);
    ``should_stop`` (a callable) lets a caller in another thread abandon a long walk
    (engine.analysis.Cancelled is raised)."""
    T = len(trace)
    tau = max(0, min(int(tau), T - 1))
    first = max(0, min(int(first), tau))
    p = trace.params
    if get_cell(trace.cell).gated:
        return _gated_reach(trace, tau, first, should_stop)
    slopes = activation_slope(trace.activation, trace.a, trace.h)
    has = bool(trace.mask[tau])
    with np.errstate(all="ignore"):
        if has:
            dl_dy = output_gradient(trace.output, trace.y[tau], trace.out[tau],
                                    trace.targets[tau])
            k = int(np.argmax(trace.targets[tau])) if trace.output == "softmax" else 0
        else:
            dl_dy = np.zeros(p.output_size)
            k = int(np.nanargmax(trace.out[tau])) if trace.output == "softmax" and \
                np.isfinite(trace.out[tau]).any() else 0
        grad, _ = _walk_back(p, slopes, p.W_y.T @ dl_dy, tau, first, inputs=False,
                             should_stop=should_stop)
    if inputs:
        _, inp = _walk_back(p, slopes, p.W_y[k], tau, first, inputs=True,
                            should_stop=should_stop)
    else:
        inp = np.full(tau - first + 1, np.nan)
    return Reach(tau=tau, first=first, output=k, has_target=has, grad_log10=grad,
                 input_log10=inp)


def _target_output(trace: Trace, tau: int) -> tuple[bool, np.ndarray, int]:
    """Whether τ has a target, dℓ_τ/dy_τ (zero without one) and the output k followed."""
    has = bool(trace.mask[tau])
    with np.errstate(all="ignore"):
        if has:
            dl_dy = output_gradient(trace.output, trace.y[tau], trace.out[tau],
                                    trace.targets[tau])
            k = int(np.argmax(trace.targets[tau])) if trace.output == "softmax" else 0
        else:
            dl_dy = np.zeros(trace.y.shape[1])
            k = int(np.nanargmax(trace.out[tau])) if trace.output == "softmax" and \
                np.isfinite(trace.out[tau]).any() else 0
    return has, dl_dy, k


def _gated_reach(trace: Trace, tau: int, first: int, should_stop=None) -> Reach:
    """:func:`reach` for an LSTM or a GRU: ∂ℓ_τ/∂s_t by exact vector-Jacobian products of the
    cell's step Jacobians (engine.cells), renormalised as it walks back; the carry path from
    the gates."""
    cell = get_cell(trace.cell)
    p = trace.params
    seq = trace.sequence
    run = cell.run(p, seq.inputs[: tau + 1], seq.targets[: tau + 1], seq.mask[: tau + 1],
                   output=trace.output)
    mul = cell.right_multiplier(p, run)
    has, dl_dy, k = _target_output(trace, tau)
    H = p.hidden_size
    S = cell.state_size(H)
    g = np.zeros((1, S))
    with np.errstate(all="ignore"):
        g[0, :H] = p.W_y.T @ dl_dy
    n = tau - first + 1
    grad = np.full(n, np.nan)
    scale = 0.0
    with np.errstate(all="ignore"):
        for t in range(tau, first - 1, -1):
            _stop(should_stop, t)
            grad[t - first] = scale + _log10_norm(g[0])
            if t > first:
                g = mul(g, t)
                m = float(np.max(np.abs(g)))
                if m > 0 and np.isfinite(m):
                    g /= m
                    scale += float(np.log10(m))
        gate = trace.gates[cell.carry_gate_name][first: tau + 1]
        logs = np.log10(gate[1:])
        carry = np.zeros(n)
        if n > 1:
            carry[:-1] = np.cumsum(logs[::-1], axis=0)[::-1].max(axis=1)
    return Reach(tau=tau, first=first, output=k, has_target=has, grad_log10=grad,
                 input_log10=np.full(n, np.nan), carry_log10=carry)


@dataclass(frozen=True)
class FirstInputEffect:
    """What the first input changes in the state over blank steps.

    Two runs from h = 0: one with the first input then ``steps`` blank (zero) inputs, one with a
    blank first input too. ``diff[j]`` = h_j(with) - h_j(without), j = 0..steps, is what the
    first input changed; ``ratio[j]`` = ‖diff_j‖ / ‖diff_0‖ and ``cosine[j]`` = cos(diff_0,
    diff_j). ``start_norm`` = ‖diff_0‖ (0: the first input changes nothing).
    """

    diff: np.ndarray
    ratio: np.ndarray
    cosine: np.ndarray
    start_norm: float


def first_input_effect(params, first_input: np.ndarray, steps: int,
                       activation: str = "tanh") -> FirstInputEffect:
    """See :class:`FirstInputEffect`. For a gated cell the state is the whole state (h and c
    for the LSTM), stepped by the cell's own formulas."""
    x = np.asarray(first_input, dtype=np.float64)
    cell = cell_of(params)
    if not cell.gated:
        act = cell.activation_for(activation)

        def step(x_in, s):
            return activate(act, params.W_h @ s + params.W_x @ x_in + params.b)
        S = params.hidden_size
    else:
        S = cell.state_size(params.hidden_size)

        def step(x_in, s):
            return cell.step(params, x_in, s, activation)
    blank = np.zeros_like(x)
    with np.errstate(all="ignore"):
        a = step(x, np.zeros(S))
        b = step(blank, np.zeros(S))
        diffs = np.empty((steps + 1, S))
        diffs[0] = a - b
        for j in range(1, steps + 1):
            a = step(blank, a)
            b = step(blank, b)
            diffs[j] = a - b
        norms = np.linalg.norm(diffs, axis=1)
        d0 = norms[0]
        ratio = norms / d0 if d0 > 0 else np.full(steps + 1, np.nan)
        cosine = (diffs @ diffs[0]) / (norms * d0) if d0 > 0 else np.full(steps + 1, np.nan)
        cosine = np.where(norms > 0, cosine, np.nan)
    return FirstInputEffect(diff=diffs, ratio=ratio, cosine=cosine, start_norm=float(d0))
