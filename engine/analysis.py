"""Numbers that explain memory, for every cell: spectral norm and radius, the exact norms of
products of step Jacobians (one loop for all cells), the gated carry path, cosine retention.

``||ds_{T-1}/ds_t||_2`` is the spectral norm of the true product J_{T-1} ... J_{t+1} of step
Jacobians of the whole state (h and c together for the LSTM). The carry path is the part of
that product that goes straight along the state without passing through any weight matrix:
for the LSTM dc_t/dc_{t-1} = diag(f_t), so it is ||diag(f_{T-1} ... f_{t+1})||_2 = the largest
product of forget gates over the units (the "conveyor belt"); for the GRU the same with the
update gate z.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from .budget import jacobian_chunk
from .cells.numerics import _dot, activate
from .cells.rnn import Params
from .types import Cancelled


def spectral_norm(W: np.ndarray) -> float:
    """||W||_2, the largest singular value: the most any vector can be stretched by W."""
    if not np.isfinite(W).all():
        return float("inf")
    return float(np.linalg.svd(W, compute_uv=False)[0]) if W.size else 0.0


def spectral_radius(W: np.ndarray) -> float:
    """The largest |eigenvalue| of W: the growth rate of W^k v for large k. Never above ||W||_2."""
    if not np.isfinite(W).all():
        return float("inf")
    return float(np.max(np.abs(np.linalg.eigvals(W)))) if W.size else 0.0


def seed_power_estimate(W: np.ndarray, iterations: int = 20) -> float:
    """The "approximate spectral norm" printed by seed 000: ||W v|| after 20 power iterations.

    Power iteration on W (not on W^T W) tends to the spectral radius only when one real eigenvalue
    dominates; with a complex pair on top (as in the ``cat`` scenario) v keeps rotating and the
    printed figure is neither ||W||_2 nor the spectral radius. Kept to explain that difference.
    """
    n = W.shape[0]
    v = np.full(n, 1.0 / np.sqrt(n))
    for _ in range(iterations):
        mv = W @ v
        norm = np.linalg.norm(mv)
        if norm > 1e-10:
            v = mv / norm
    return float(np.linalg.norm(W @ v))


#: How often (seconds) the Jacobian loop asks its ``should_stop`` callback (and before its
#: first step): a cancelled worker gives the interpreter back to the UI within this.
POLL_SECONDS = 0.01


def jacobian_log10_norms(W_h: np.ndarray, slope: np.ndarray, chunk: int | None = None,
                         should_stop=None) -> np.ndarray:
    """log10 ||dh_{T-1}/dh_t||_2 for every t of a cell without gates (0 at the last step; -inf
    where it is exactly 0): :func:`state_jacobian_log10` with the step Jacobians
    J_k = diag(f'(a_k)) W_h, ``slope[k]`` = f'(a_k) of shape (T, H), and the largest singular
    values of the products that the power steps cannot certify from batched SVDs. Up to
    ``chunk`` products wait for one batched SVD (default: as many as fit in
    ``budget.JACOBIAN_STACK_BYTES``, at most 256).
    """
    T, H = slope.shape
    chunk = jacobian_chunk(H) if chunk is None else max(1, int(chunk))
    return state_jacobian_log10(lambda M, k: (M * slope[k]) @ W_h, T, H, chunk=chunk,
                                should_stop=should_stop, top=_svd_tops)


def state_jacobian_log10(mul: Callable[[np.ndarray, int], np.ndarray], T: int, S: int,
                         chunk: int = 64, should_stop=None, top=None) -> np.ndarray:
    """log10 ||ds_{T-1}/ds_t||_2 for t = 0..T-1 (0 at the last step, -inf where exactly 0): the
    one loop every cell's exact gradient-flow norms come from.

    ds_{T-1}/ds_t is the product J_{T-1} ... J_{t+1} of step Jacobians of the whole state (h
    and c together for the LSTM); ``mul(M, k)`` returns M @ J_k for an (S, S) matrix M. The
    running product is renormalised at every step and its scale kept as a logarithm, so
    products far below 1e-308 or above 1e308 still get their true exponent. Its largest
    singular value comes from a few warm-started power steps on M M^T when they can be
    *certified* (see :func:`_certified_top`); the others wait, up to ``chunk`` of them, for one
    batched ``top(stack, scales, pending, out)`` (default: the largest eigenvalue of M M^T,
    :func:`_eig_tops`). Long products quickly have one direction ahead of the others, where the
    certificate holds after a few products (for a 1000-step LSTM at H = 64, about 97% of the
    steps); the first steps back, whose directions are still of similar size, wait for the
    batched eigenvalues.
    ``should_stop()``, if given, is asked every ~10 ms (by the clock, so as often at H = 1024
    as at H = 4, and before the first step); when it says True the computation raises
    :class:`Cancelled` (so quitting never waits for it).
    """
    flush = _eig_tops if top is None else top
    out = np.full(T, -np.inf)
    if T == 0:
        return out
    clock = time.monotonic
    next_poll = clock()
    out[T - 1] = 0.0
    M = np.eye(S)
    log_scale = 0.0
    u = np.full(S, 1.0 / np.sqrt(S))
    stack = np.empty((min(chunk, max(T - 1, 1)), S, S))
    scales = np.empty(len(stack))
    pending: list[int] = []
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        for t in range(T - 2, -1, -1):
            M = mul(M, t + 1)  # d s_{T-1} / d s_t = (d s_{T-1} / d s_{t+1}) J_{t+1}
            size = float(np.max(np.abs(M)))
            if not np.isfinite(size) or size == 0.0:
                if size == 0.0:
                    break  # the product is exactly zero, so is every earlier one
                out[: t + 1] = np.inf
                break
            M /= size
            log_scale += np.log10(size)
            if should_stop is not None and clock() >= next_poll:
                if should_stop():
                    raise Cancelled()
                next_poll = clock() + POLL_SECONDS
            top1 = _certified_top(M, u)
            if top1 is not None:
                out[t] = log_scale + 0.5 * np.log10(top1)
                continue
            i = len(pending)
            stack[i] = M
            scales[i] = log_scale
            pending.append(t)
            if len(pending) == len(stack):
                flush(stack, scales, pending, out)
        flush(stack, scales, pending, out)
    return out


def _certified_top(M: np.ndarray, u: np.ndarray, steps: int = 16, tol: float = 1e-13):
    """The largest eigenvalue of G = M M^T (= sigma_1(M)^2), or None if it cannot be certified.

    From the unit vector ``u`` (updated in place, so the next, longer product starts from this
    one's top direction), rounds of two products with G: the best vector of the plane of v and
    its residual (a two-step Lanczos), then one power step, at most ``steps`` products in all.
    For a unit vector y with rho = y.G y and r = ||G y - rho y||, G has an eigenvalue within r
    of rho; if rho - r exceeds half the trace of G (= ||M||_F^2), that eigenvalue must be the
    largest, because two eigenvalues above trace/2 cannot both fit in the trace. We accept rho
    when also its error is at most tol * rho, i.e. sigma_1 to about 13 significant digits: when
    r <= tol * rho, or by the Kato-Temple bound. Every other eigenvalue is at most
    mu = trace - (rho - r) (all are >= 0 and sum to the trace), below rho, and then
    rho <= lambda_1 <= rho + r^2 / (rho - mu): the error is second order in r, so a product
    whose top direction is a little ahead of the others (an LSTM's, typically) is certified
    after a few products instead of waiting for an eigenvalue computation.
    """
    trace = float(np.einsum("ij,ij->", M, M))
    half_trace = 0.5 * trace
    dot, sqrt = _dot, math.sqrt

    def certified(y: np.ndarray, gy: np.ndarray):
        """(rho, d, r) for the unit vector y and G y, and whether rho is certified."""
        rho = float(dot(y, gy))
        d = gy - rho * y
        r = sqrt(float(dot(d, d)))
        ok = rho - r > half_trace and (r <= tol * rho
                                       or r * r <= tol * rho * (rho - (trace - (rho - r))))
        return rho, d, r, ok

    v = u
    g = dot(M, dot(v, M))  # G v = M (M^T v)
    done = 1
    while True:
        rho, d, r, ok = certified(v, g)
        if ok:
            u[:] = v
            return rho
        if done + 2 > steps or not r > 0 or not math.isfinite(r):
            break
        # the best vector of span{v, q}, q = d / r (orthogonal to v): G's 2 x 2 projection
        # [[rho, r], [r, c]] has its top eigenvector (r, theta - rho)
        q = d / r
        gq = dot(M, dot(q, M))
        c = float(dot(q, gq))
        theta = 0.5 * (rho + c) + math.hypot(0.5 * (rho - c), r)
        s0, s1 = r, theta - rho
        y, gy = s0 * v + s1 * q, s0 * g + s1 * gq
        n = sqrt(float(dot(y, y)))
        if not n > 0 or not math.isfinite(n):
            return None
        y /= n
        gy /= n
        rho, _, _, ok = certified(y, gy)
        if ok:
            u[:] = y
            return rho
        n = sqrt(float(dot(gy, gy)))  # then a power step from y: G y is already there
        if not n > 0 or not math.isfinite(n):
            return None
        v = gy / n
        g = dot(M, dot(v, M))
        done += 2
    u[:] = v
    return None


def _svd_tops(stack: np.ndarray, scales: np.ndarray, pending: list[int],
              out: np.ndarray) -> None:
    """log10 sigma_1 of the pending products, from one batched SVD."""
    if not pending:
        return
    k = len(pending)
    s = np.linalg.svd(stack[:k], compute_uv=False)[:, 0]
    with np.errstate(divide="ignore"):
        out[pending] = scales[:k] + np.log10(s)
    pending.clear()


def _eig_tops(stack: np.ndarray, scales: np.ndarray, pending: list[int],
              out: np.ndarray) -> None:
    """log10 sigma_1 of the pending products: half the log10 of the top eigenvalue of M M^T
    (batched ``eigvalsh``, about 1.5x faster than an SVD and as exact for sigma_1)."""
    if not pending:
        return
    k = len(pending)
    M = stack[:k]
    top = np.linalg.eigvalsh(M @ M.transpose(0, 2, 1))[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[pending] = scales[:k] + 0.5 * np.log10(np.maximum(top, 0.0))
    pending.clear()


def retention(params: Params, first_input: np.ndarray, steps: int = 15,
              activation: str = "tanh") -> np.ndarray:
    """Cosine between h after the first input (from h = 0) and h after j blank inputs, j=1..steps.

    A blank input is all zeros, so each blank step is h <- f(W_h h + b). A state of norm 0 has no
    direction: its cosine is reported as 0.
    """
    x = np.asarray(first_input, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        h1 = activate(activation, params.W_x @ x + params.b)
        h = h1.copy()
        out = np.empty(steps)
        n1 = np.linalg.norm(h1)
        for j in range(steps):
            h = activate(activation, params.W_h @ h + params.b)
            nj = np.linalg.norm(h)
            out[j] = float(h1 @ h / (n1 * nj)) if n1 > 0 and nj > 0 and np.isfinite(n1 * nj) else 0.0
    return out


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


def cell_retention(cell, params, first_input: np.ndarray, steps: int = 15,
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
