"""Numbers that explain memory: spectral norm and radius, step-Jacobian norms, cosine retention."""

from __future__ import annotations

import time

import numpy as np

from .model import Params, activate


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


class Cancelled(Exception):
    """A long computation was asked to stop (its ``should_stop`` callback returned True)."""


#: How often (seconds) the Jacobian loop asks its ``should_stop`` callback (and before its
#: first step): a cancelled worker gives the interpreter back to the UI within this.
POLL_SECONDS = 0.01


def jacobian_log10_norms(W_h: np.ndarray, slope: np.ndarray, chunk: int | None = None,
                         should_stop=None) -> np.ndarray:
    """log10 ||dh_{T-1}/dh_t||_2 for every t (0 at the last step; -inf where it is exactly 0).

    dh_{T-1}/dh_t is the product J_{T-1} ... J_{t+1} of step Jacobians J_k = diag(f'(a_k)) W_h,
    with ``slope[k]`` = f'(a_k) of shape (T, H). The running product is renormalised at every
    step and its scale kept as a logarithm, so products far below 1e-308 or above 1e308 still get
    their true exponent. ``should_stop()``, if given, is asked every ~50 ms (by the clock, so as
    often at H = 1024 as at H = 4, and before the first step); when it says True the computation
    raises :class:`Cancelled`
    (so quitting never waits for it). Up to ``chunk`` products wait for one batched SVD
    (default: as many as fit in ``budget.JACOBIAN_STACK_BYTES``, at most 256).

    The largest singular value comes from a few warm-started power steps on M M^T when they can
    be *certified* (see :func:`_certified_top`), else from a full SVD (batched in chunks). Long
    products quickly become nearly rank one, where the certificate holds after a step or two.
    """
    from .budget import jacobian_chunk
    T, H = slope.shape
    chunk = jacobian_chunk(H) if chunk is None else max(1, int(chunk))
    out = np.full(T, -np.inf)
    if T == 0:
        return out
    clock = time.monotonic
    next_poll = clock()
    out[T - 1] = 0.0
    M = np.eye(H)
    log_scale = 0.0
    u = np.full(H, 1.0 / np.sqrt(H))
    stack = np.empty((min(chunk, max(T - 1, 1)), H, H))
    scales = np.empty(len(stack))
    pending: list[int] = []
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        for t in range(T - 2, -1, -1):
            # d h_{T-1} / d h_t = (d h_{T-1} / d h_{t+1}) J_{t+1};  M J = (M * f'(a)) @ W_h
            M = (M * slope[t + 1]) @ W_h
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
            top = _certified_top(M, u)
            if top is not None:
                out[t] = log_scale + 0.5 * np.log10(top)
                continue
            i = len(pending)
            stack[i] = M
            scales[i] = log_scale
            pending.append(t)
            if len(pending) == len(stack):
                _flush(stack, scales, pending, out)
        _flush(stack, scales, pending, out)
    return out


def _certified_top(M: np.ndarray, u: np.ndarray, steps: int = 4, tol: float = 1e-13):
    """The largest eigenvalue of G = M M^T (= sigma_1(M)^2), or None if it cannot be certified.

    Power steps on G from the unit vector ``u`` (updated in place, so the next, longer product
    starts from this one's top direction). With rho = u.G u and r = ||G u - rho u||, G has an
    eigenvalue within r of rho; if rho - r exceeds half the trace of G (= ||M||_F^2), that
    eigenvalue must be the largest, because two eigenvalues above trace/2 cannot both fit in the
    trace. We accept rho when also r <= tol * rho, i.e. sigma_1 to about 13 significant digits.
    """
    half_trace = 0.5 * float(np.einsum("ij,ij->", M, M))
    v = u
    for _ in range(steps):
        g = M @ (v @ M)  # G v = M (M^T v)
        rho = float(v @ g)
        r = float(np.linalg.norm(g - rho * v))
        if rho - r > half_trace and r <= tol * rho:
            u[:] = v
            return rho
        n = float(np.linalg.norm(g))
        if not n > 0 or not np.isfinite(n):
            return None
        v = g / n
    u[:] = v
    return None


def _flush(stack: np.ndarray, scales: np.ndarray, pending: list[int], out: np.ndarray) -> None:
    if not pending:
        return
    k = len(pending)
    s = np.linalg.svd(stack[:k], compute_uv=False)[:, 0]
    with np.errstate(divide="ignore"):
        out[pending] = scales[:k] + np.log10(s)
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

