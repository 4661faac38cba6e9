"""Gradient flow and memory for any cell: state-Jacobian norms, the gated carry path, retention.

``||ds_{T-1}/ds_t||_2`` is the spectral norm of the true product J_{T-1} ... J_{t+1} of step
Jacobians of the whole state (h and c together for the LSTM). The carry path is the part of
that product that goes straight along the state without passing through any weight matrix:
for the LSTM dc_t/dc_{t-1} = diag(f_t), so it is ||diag(f_{T-1} ... f_{t+1})||_2 = the largest
product of forget gates over the units (the "conveyor belt"); for the GRU the same with the
update gate z.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..analysis import Cancelled, _certified_top


def state_jacobian_log10(mul: Callable[[np.ndarray, int], np.ndarray], T: int, S: int,
                         chunk: int = 64, should_stop=None) -> np.ndarray:
    """log10 ||ds_{T-1}/ds_t||_2 for t = 0..T-1 (0 at the last step, -inf where exactly 0).

    ``mul(M, k)`` returns M @ J_k for an (S, S) matrix M. The running product is renormalised
    at every step with its scale kept as a logarithm (so 1e-400 is still 1e-400), and its
    largest singular value comes from certified power steps, as in
    :func:`engine.analysis.jacobian_log10_norms`, or else from the largest eigenvalue of
    M M^T (batched ``eigvalsh``, about 1.5x faster than an SVD and as exact for the largest
    singular value). A gated cell's product keeps many directions of similar size (every unit
    forgets at a similar rate), so the power-step certificate rarely holds and the batched
    eigenvalues do most of the work. ``should_stop()`` is asked every ``chunk`` steps; True
    raises :class:`Cancelled`.
    """
    out = np.full(T, -np.inf)
    if T == 0:
        return out
    out[T - 1] = 0.0
    M = np.eye(S)
    log_scale = 0.0
    u = np.full(S, 1.0 / np.sqrt(S))
    stack = np.empty((min(chunk, max(T - 1, 1)), S, S))
    scales = np.empty(len(stack))
    pending: list[int] = []
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        for t in range(T - 2, -1, -1):
            M = mul(M, t + 1)
            size = float(np.max(np.abs(M)))
            if not np.isfinite(size) or size == 0.0:
                if size == 0.0:
                    break
                out[: t + 1] = np.inf
                break
            M /= size
            log_scale += np.log10(size)
            if should_stop is not None and t % chunk == 0 and should_stop():
                raise Cancelled()
            top = _certified_top(M, u)
            if top is not None:
                out[t] = log_scale + 0.5 * np.log10(top)
                continue
            stack[len(pending)] = M
            scales[len(pending)] = log_scale
            pending.append(t)
            if len(pending) == len(stack):
                _flush(stack, scales, pending, out)
        _flush(stack, scales, pending, out)
    return out


def _flush(stack: np.ndarray, scales: np.ndarray, pending: list[int], out: np.ndarray) -> None:
    """log10 sigma_1 of the pending products: half the log10 of the top eigenvalue of M M^T."""
    if not pending:
        return
    k = len(pending)
    M = stack[:k]
    top = np.linalg.eigvalsh(M @ M.transpose(0, 2, 1))[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[pending] = scales[:k] + 0.5 * np.log10(np.maximum(top, 0.0))
    pending.clear()


def carry_log10(gate: np.ndarray) -> np.ndarray:
    """log10 of max over units of gate_{t+1} * ... * gate_{T-1}, for t = 0..T-1 (0 at T-1).

    ``gate`` is (T, H) in [0, 1]: the forget gates f of an LSTM (or the update gates z of a
    GRU). Summed as logarithms, so a product far below 1e-308 keeps its exponent.
    """
    T = gate.shape[0]
    out = np.zeros(T)
    if T <= 1:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(gate[1:])
        tail = np.cumsum(logs[::-1], axis=0)[::-1]  # tail[t] = sum_{k=t+1}^{T-1}
        out[:T - 1] = tail.max(axis=1)
    return out


def retention(cell, params, first_input: np.ndarray, steps: int = 15,
              activation: str = "tanh") -> np.ndarray:
    """cos(s_1, s_{1+j}) for j = 1..steps: the state after the first input (from s = 0) and
    after j more blank (zero) inputs. The whole state is used (h and c for the LSTM); a state
    of norm 0 has no direction and gives 0."""
    x = np.asarray(first_input, dtype=np.float64)
    blank = np.zeros_like(x)
    S = cell.state_size(params.hidden_size)
    out = np.empty(steps)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        s1 = cell.step(params, x, np.zeros(S), activation)
        n1 = np.linalg.norm(s1)
        s = s1
        for j in range(steps):
            s = cell.step(params, blank, s, activation)
            nj = np.linalg.norm(s)
            ok = n1 > 0 and nj > 0 and np.isfinite(n1 * nj)
            out[j] = float(s1 @ s / (n1 * nj)) if ok else 0.0
    return out
