"""The engine against independent truths: finite differences, hand-worked steps, explicit products."""

import math

import numpy as np
import pytest

from engine import analysis
from engine.model import Params, init_params, run, sine_matrix
from engine.trace import run_trace
from engine.types import Sequence
from seed000 import seed000_reference

ACTS = ["tanh", "sigmoid", "relu"]
OUTS = ["softmax", "identity", "sigmoid"]


def _problem(output, T=6, B=1, I=3, H=4, O=3, seed=0):
    rng = np.random.default_rng(seed)
    params = init_params(H, I, O, init="normal", scales={k: 0.7 for k in
                                                         ("W_x", "W_h", "b", "W_y", "b_y")},
                         seed=seed)
    X = rng.normal(size=(T, B, I))
    if output == "softmax":
        Y = np.eye(O)[rng.integers(0, O, size=(T, B))]
    elif output == "sigmoid":
        Y = rng.integers(0, 2, size=(T, B, O)).astype(float)
    else:
        Y = rng.normal(size=(T, B, O))
    M = np.ones((T, B), dtype=bool)
    M[0, 0] = False  # a step without a target must not count
    return params, X, Y, M


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("output", OUTS)
@pytest.mark.parametrize("batch", [1, 3])
def test_gradients_match_central_differences(activation, output, batch):
    params, X, Y, M = _problem(output, B=batch, seed=ACTS.index(activation) + 3 * batch)
    p = run(params, X, Y, M, activation=activation, output=output)
    eps = 1e-6
    for name, arr, grad in zip(("W_x", "W_h", "b", "W_y", "b_y"), params.arrays(),
                               p.grads.arrays()):
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            lp = run(params, X, Y, M, activation=activation, output=output, backward=False).loss
            arr[idx] = old - eps
            lm = run(params, X, Y, M, activation=activation, output=output, backward=False).loss
            arr[idx] = old
            num[idx] = (lp - lm) / (2 * eps)
        scale = max(np.abs(num).max(), np.abs(grad).max(), 1e-8)
        assert np.abs(num - grad).max() / scale < 1e-6, (name, num, grad)


@pytest.mark.parametrize("activation", ACTS)
def test_dh_is_the_full_derivative_through_later_steps(activation):
    # dL/dh_t checked by perturbing h_t itself: rerun the tail from a nudged state.
    params, X, Y, M = _problem("softmax", T=5, seed=11)
    p = run(params, X, Y, M, activation=activation, output="softmax")
    t, eps = 1, 1e-6
    n = M.sum()

    def tail_loss(h_t):
        head = run(params, X[: t + 1], Y[: t + 1], M[: t + 1], activation=activation,
                   output="softmax", backward=False)
        # losses up to t-1 do not depend on h_t; loss at t depends on h_t through the read-out
        y = params.W_y @ h_t + params.b_y
        lt = (np.log(np.exp(y - y.max()).sum()) + y.max() - Y[t, 0] @ y) * M[t, 0]
        rest = run(params, X[t + 1:], Y[t + 1:], M[t + 1:], activation=activation,
                   output="softmax", h0=h_t, backward=False)
        return (head.losses[:t].sum() + lt + rest.losses.sum()) / n

    h_t = p.h[t, 0].copy()
    num = np.zeros_like(h_t)
    for i in range(len(h_t)):
        d = np.zeros_like(h_t)
        d[i] = eps
        num[i] = (tail_loss(h_t + d) - tail_loss(h_t - d)) / (2 * eps)
    assert np.allclose(num, p.dh[t, 0], rtol=1e-6, atol=1e-9)
    assert np.allclose(p.da[t, 0], p.dh[t, 0] * p.slope[t, 0])
    assert np.allclose(p.flow[t, 0], params.W_h.T @ p.da[t, 0])


def test_seed_001_scalar_step():
    # h = tanh(0.9 * 0.5 + 1.0 * 1.0 + 0.1) = tanh(1.55), worked by hand
    params = Params(W_x=np.array([[1.0]]), W_h=np.array([[0.9]]), b=np.array([0.1]),
                    W_y=np.array([[1.0]]), b_y=np.array([0.0]))
    p = run(params, np.array([[1.0]]), activation="tanh", output="identity", h0=np.array([0.5]),
            backward=False)
    assert p.h[0, 0, 0] == pytest.approx(math.tanh(1.55), abs=1e-15)
    assert round(p.h[0, 0, 0], 4) == 0.9138


def test_seed_001_two_dimensional_step():
    params = Params(W_x=np.eye(2), W_h=np.array([[0.9, 0.1], [0.1, 0.9]]), b=np.array([0.1, 0.1]),
                    W_y=np.eye(2), b_y=np.zeros(2))
    p = run(params, np.array([[1.0, 1.0]]), activation="tanh", output="identity",
            h0=np.array([0.5, 0.5]), backward=False)
    # each unit: 0.9*0.5 + 0.1*0.5 + 1 + 0.1 = 1.6
    assert np.allclose(p.h[0, 0], [math.tanh(1.6)] * 2, atol=1e-15)


def test_sigmoid_echo_cell_true_values_not_the_seeds_printed_ones():
    # Seed 002's hand-set echo cell: W_x = 1, W_h = 0.5, b = 0, sigmoid, y = h, inputs 0 1 0 1.
    params = Params(W_x=np.array([[1.0]]), W_h=np.array([[0.5]]), b=np.zeros(1),
                    W_y=np.array([[1.0]]), b_y=np.zeros(1))
    p = run(params, np.array([[0.0], [1.0], [0.0], [1.0]]), activation="sigmoid",
            output="identity", backward=False)
    s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    h1 = s(0.0)
    h2 = s(0.5 * h1 + 1)
    h3 = s(0.5 * h2)
    h4 = s(0.5 * h3 + 1)
    got = p.y[:, 0, 0]
    assert np.allclose(got, [h1, h2, h3, h4], atol=1e-15)
    assert np.round(got, 4).tolist() == [0.5, 0.7773, 0.596, 0.7855]
    # the seed printed roughly [0.5, 0.73, 0.62, 0.69]: not what these weights give
    assert not np.allclose(got, [0.5, 0.73, 0.62, 0.69], atol=0.01)


def test_cat_setup_reproduces_seed_000():
    Wh, Wx, seq, hs, ret = seed000_reference()
    params = Params(W_x=sine_matrix(3, 4, 0.5), W_h=sine_matrix(3, 3, 0.3), b=np.zeros(3),
                    W_y=np.zeros((5, 3)), b_y=np.zeros(5))
    assert np.allclose(params.W_h, Wh, atol=1e-15) and np.allclose(params.W_x, Wx, atol=1e-15)
    p = run(params, np.array(seq, float), activation="tanh", output="softmax", backward=False)
    assert np.allclose(p.h[:, 0], hs, atol=1e-14)
    # the printout's 4-decimal figures
    assert [f"{v:+.4f}" for v in p.h[0, 0]] == ["+0.2352", "+0.3075", "+0.3667"]
    assert [f"{v:+.4f}" for v in p.h[5, 0]] == ["-0.5872", "-0.5125", "-0.5698"]
    r = analysis.retention(params, np.array(seq[0], float), 15, "tanh")
    assert np.allclose(r, ret, atol=1e-14)


def test_spectral_numbers_and_the_seeds_power_estimate_differ():
    W = sine_matrix(3, 3, 0.3)
    sn, sr = analysis.spectral_norm(W), analysis.spectral_radius(W)
    est = analysis.seed_power_estimate(W)
    # independent: sqrt of the largest eigenvalue of W^T W; |lambda| from the characteristic poly
    assert sn == pytest.approx(math.sqrt(max(np.linalg.eigvalsh(W.T @ W))), rel=1e-12)
    coeffs = np.poly(W)  # characteristic polynomial, roots are the eigenvalues
    assert sr == pytest.approx(max(abs(np.roots(coeffs))), rel=1e-9)
    assert sr < sn
    assert abs(est - sn) > 1e-3 and abs(est - sr) > 1e-2  # the seed's figure is neither


@pytest.mark.parametrize("activation", ACTS)
def test_jacobian_norms_equal_explicit_products(activation):
    rng = np.random.default_rng(5)
    params = init_params(5, 2, 2, init="normal", scales={"W_h": 0.8, "W_x": 1.0, "b": 0.3},
                         seed=5)
    T = 7
    seq = Sequence(inputs=rng.normal(size=(T, 2)), targets=np.eye(2)[rng.integers(0, 2, T)],
                   mask=np.ones(T, bool), labels=["x"] * T, target_labels=["y"] * T)
    tr = run_trace(params, seq, activation=activation, output="softmax")
    slope = {"tanh": 1 - tr.h ** 2, "sigmoid": tr.h * (1 - tr.h),
             "relu": (tr.a > 0).astype(float)}[activation]
    for t in range(T):
        P = np.eye(5)
        for k in range(t + 1, T):  # dh_{T-1}/dh_t = J_{T-1} ... J_{t+1}
            P = (np.diag(slope[k]) @ params.W_h) @ P
        want = np.linalg.norm(P, 2)
        got = tr.jacobian_norm[t]
        assert got == pytest.approx(want, rel=1e-10, abs=1e-300), t
    assert tr.jacobian_norm[-1] == 1.0


def test_jacobian_log_scale_survives_underflow():
    # 400 steps of a contracting map: the true norm is far below the smallest float64
    H, T = 3, 400
    slope = np.full((T, H), 0.5)
    W = 0.1 * np.eye(H)
    logs = analysis.jacobian_log10_norms(W, slope)
    assert logs[-1] == 0
    assert logs[0] == pytest.approx((T - 1) * math.log10(0.05), rel=1e-9)
    assert np.all(np.diff(logs) > 0)


def test_retention_matches_manual_loop_with_bias():
    params = init_params(4, 3, 2, init="normal", scales={"W_h": 0.9, "W_x": 1, "b": 0.2}, seed=3)
    x0 = np.array([1.0, 0.0, -1.0])
    h1 = np.tanh(params.W_x @ x0 + params.b)
    h, want = h1, []
    for _ in range(6):
        h = np.tanh(params.W_h @ h + params.b)
        want.append(h1 @ h / np.linalg.norm(h1) / np.linalg.norm(h))
    assert np.allclose(analysis.retention(params, x0, 6, "tanh"), want, atol=1e-15)


def test_overflow_never_raises():
    params = init_params(4, 2, 2, init="normal", scales={"W_h": 1e300, "W_x": 1e300}, seed=1)
    seq = Sequence(inputs=np.ones((5, 2)), targets=np.eye(2)[[0, 1, 0, 1, 0]],
                   mask=np.ones(5, bool), labels=list("abcde"), target_labels=list("babab"))
    for act in ACTS:
        with np.errstate(all="raise"):  # the engine must silence its own overflow
            tr = run_trace(params, seq, activation=act, output="softmax")
        assert tr.h.shape == (5, 4)


def test_zero_targets_give_zero_loss_and_gradients():
    params = init_params(3, 2, 2, seed=0)
    p = run(params, np.ones((4, 2)), np.zeros((4, 2)), np.zeros(4, bool))
    assert p.loss == 0.0 and all(not g.any() for g in p.grads.arrays())


def test_init_is_seeded_and_shapes_are_right():
    a = init_params(5, 3, 4, seed=7)
    b = init_params(5, 3, 4, seed=7)
    c = init_params(5, 3, 4, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a.arrays(), b.arrays()))
    assert not np.array_equal(a.W_h, c.W_h)
    assert [x.shape for x in a.arrays()] == [(5, 3), (5, 5), (5,), (4, 5), (4,)]
    lim = math.sqrt(6 / 10)
    assert np.abs(a.W_h).max() <= lim and np.abs(a.W_h).max() > lim / 2


@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5, "orthogonal"])
def test_jacobian_fast_path_agrees_with_full_svd(scale):
    # the certified power step must give the same top singular value as an SVD of each product
    rng = np.random.default_rng(42)
    H, T = 16, 150
    if scale == "orthogonal":
        W = np.linalg.qr(rng.normal(size=(H, H)))[0]
        slope = np.ones((T, H))
    else:
        W = rng.normal(size=(H, H)) * scale / math.sqrt(H)
        slope = 1 - np.tanh(rng.normal(size=(T, H))) ** 2
    got = analysis.jacobian_log10_norms(W, slope)
    M, log_scale = np.eye(H), 0.0
    for t in range(T - 2, -1, -1):
        M = (M * slope[t + 1]) @ W
        s = np.abs(M).max()
        M /= s
        log_scale += math.log10(s)
        want = log_scale + math.log10(np.linalg.svd(M, compute_uv=False)[0])
        assert 10 ** (got[t] - want) == pytest.approx(1.0, abs=1e-12), t


def test_tiny_and_huge_gradient_norms_are_exact_not_0_or_inf():
    from engine.trace import row_norms
    v = np.array([[3e-301, 4e-301], [3e300, 4e300], [0.0, 0.0], [3.0, 4.0]])
    assert np.allclose(row_norms(v), [5e-301, 5e300, 0.0, 5.0], rtol=1e-15, atol=0)


def test_an_overflowed_relu_network_reads_as_overflow_not_vanishing():
    params = init_params(4, 2, 2, init="normal", scales={"W_h": 1e200, "W_x": 1e200}, seed=1)
    seq = Sequence(inputs=np.ones((6, 2)), targets=np.eye(2)[[0, 1, 0, 1, 0, 1]],
                   mask=np.ones(6, bool), labels=list("abcdef"), target_labels=list("bababa"))
    tr = run_trace(params, seq, activation="relu", output="softmax")
    assert not np.isfinite(tr.h).all()
    assert not np.isneginf(tr.jacobian_log10[:-1]).any()  # never "exactly zero"


def test_a_long_jacobian_computation_can_be_cancelled():
    calls = []

    def stop():
        calls.append(1)
        return len(calls) >= 2

    slope = np.full((5000, 4), 0.5)
    with pytest.raises(analysis.Cancelled):
        analysis.jacobian_log10_norms(np.eye(4), slope, should_stop=stop)
    assert len(calls) == 2
