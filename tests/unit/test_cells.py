"""The cells (rnn, lstm, gru) against independent truths: finite differences, steps worked by
hand, explicit Jacobian products; scenario files with a cell; and the long gap the LSTM bridges."""

import math

import numpy as np
import pytest
from helpers import central_differences

from engine import ScenarioError, fit, initial_params, load, loads, trace_for, with_cell
from engine.analysis import Cancelled
from engine.cells import gate_saturation, get_cell
from engine.scenario import weights_note
from engine.analysis import carry_log10
from engine.model import run as run_rnn
from engine.model import step_losses
from engine.scenario import encode_text
from engine.trace import run_trace
from engine.types import Sequence

CELLS = ["rnn", "lstm", "gru", "irnn"]
GATED = ["lstm", "gru"]
OUTS = ["softmax", "identity", "sigmoid"]
ALL_SCALES = {k: 0.7 for k in ("W_x", "W_h", "b", "W_y", "b_y", "b_hn")}


def _problem(cell, output, T=6, B=1, I=3, H=4, O=3, seed=0):
    rng = np.random.default_rng(seed)
    params = get_cell(cell).init(H, I, O, init="normal", scales=ALL_SCALES, seed=seed)
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


def _sig(z):
    return 1.0 / (1.0 + math.exp(-z))


def _rel_err(num, grad):
    scale = max(np.abs(num).max(), np.abs(grad).max(), 1e-8)
    return float(np.abs(num - grad).max() / scale)


# ---------------------------------------------------------------------------------------------
# gradients: every cell x output, against central differences


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("output", OUTS)
@pytest.mark.parametrize("batch", [1, 3])
def test_every_gradient_matches_central_differences(cell, output, batch):
    params, X, Y, M = _problem(cell, output, B=batch, seed=CELLS.index(cell) + 3 * batch)
    c = get_cell(cell)
    p = c.run(params, X, Y, M, output=output)
    for arr, grad in zip(params.arrays(), p.grads.arrays()):
        num = central_differences(
            arr, lambda: c.run(params, X, Y, M, output=output, backward=False).loss)
        assert _rel_err(num, grad) < 1e-6, (cell, output, arr.shape)


@pytest.mark.parametrize("cell", GATED)
def test_named_gradients_are_views_of_the_same_numbers(cell):
    params, X, Y, M = _problem(cell, "softmax")
    p = get_cell(cell).run(params, X, Y, M)
    named = p.grads.named()
    assert list(named) == list(get_cell(cell).shapes(4, 3, 3))
    # W_x stacks one (H, I) block per gate: every entry of it appears in exactly one block
    total = sum(float(np.sum(v)) for k, v in named.items() if k.startswith("W_x"))
    assert total == pytest.approx(float(np.sum(p.grads.W_x)), rel=1e-12)


@pytest.mark.parametrize("cell", GATED)
def test_dh_and_dc_are_full_derivatives_through_later_steps(cell):
    # L as a function of the state s_t alone: the loss at t (through h_t) plus every later
    # loss (rerun from s_t); central differences on every entry of s_t
    params, X, Y, M = _problem(cell, "softmax", T=5, seed=11)
    c = get_cell(cell)
    p = c.run(params, X, Y, M)
    T, n, H = X.shape[0], int(M.sum()), params.hidden_size
    eps = 1e-6

    def loss_from(t, s):
        y = params.W_y @ s[:H] + params.b_y
        here = float(step_losses("softmax", y, Y[t, 0])) if M[t, 0] else 0.0
        tail = c.run(params, X[t + 1:], Y[t + 1:], M[t + 1:], state0=s, backward=False)
        return (float(p.losses[:t].sum()) + here + float(tail.losses.sum())) / n

    for t in range(T):
        s = np.concatenate([p.h[t, 0]] + ([p.c[t, 0]] if p.c is not None else []))
        num = np.zeros_like(s)
        for k in range(len(s)):
            d = np.zeros_like(s)
            d[k] = eps
            num[k] = (loss_from(t, s + d) - loss_from(t, s - d)) / (2 * eps)
        assert _rel_err(num[:H], p.dh[t, 0]) < 1e-6, (cell, t)
        if cell == "lstm":
            # with h_t held, only c_{t+1} = f_{t+1} c_t + ... sees c_t
            carry = p.gates["f"][t + 1, 0] * p.dc[t + 1, 0] if t + 1 < T else np.zeros(H)
            assert _rel_err(num[H:], carry) < 1e-6, (cell, t)
            # and BPTT's dc_t: h_t = o_t tanh(c_t) recomputed from the nudged c_t
            o = p.gates["o"][t, 0]
            num_c = np.zeros(H)
            for k in range(H):
                ls = []
                for e in (eps, -eps):
                    c2 = s[H:].copy()
                    c2[k] += e
                    ls.append(loss_from(t, np.concatenate([o * np.tanh(c2), c2])))
                num_c[k] = (ls[0] - ls[1]) / (2 * eps)
            assert _rel_err(num_c, p.dc[t, 0]) < 1e-6, (cell, t)


def test_the_trace_names_both_halves_of_the_lstm_state_gradient():
    params, X, Y, M = _problem("lstm", "softmax", T=5, seed=2)
    seq = Sequence(inputs=X[:, 0], targets=Y[:, 0], mask=M[:, 0], labels=["x"] * 5,
                   target_labels=["y"] * 5)
    tr = run_trace(params, seq)
    assert np.array_equal(tr.dc_carry[:-1], tr.gates["f"][1:] * tr.dc[1:])
    assert not tr.dc_carry[-1].any()
    assert np.allclose(tr.grad_state ** 2, tr.grad_h ** 2
                       + np.sum(tr.dc_carry ** 2, axis=1), rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# single steps worked by hand (scalars with math, and a 2-unit step with plain loops)

LSTM_1 = dict(W_xi=0.5, W_hi=-0.3, b_i=0.1, W_xf=-0.2, W_hf=0.4, b_f=1.0,
              W_xo=0.7, W_ho=0.2, b_o=-0.1, W_xg=1.2, W_hg=-0.6, b_g=0.05)


def _one_by_one(cell, values, W_y=1.5, b_y=-0.2):
    w = {k: np.array([[v]]) if k.startswith("W_") else np.array([v]) for k, v in values.items()}
    w["W_y"], w["b_y"] = np.array([[W_y]]), np.array([b_y])
    return get_cell(cell).init(1, 1, 1, init="zeros", weights=w)


def test_lstm_scalar_step_by_hand():
    x, h_prev, c_prev = 1.0, 0.2, -0.4
    v = LSTM_1
    i = _sig(v["W_xi"] * x + v["W_hi"] * h_prev + v["b_i"])
    f = _sig(v["W_xf"] * x + v["W_hf"] * h_prev + v["b_f"])
    o = _sig(v["W_xo"] * x + v["W_ho"] * h_prev + v["b_o"])
    g = math.tanh(v["W_xg"] * x + v["W_hg"] * h_prev + v["b_g"])
    c = f * c_prev + i * g
    h = o * math.tanh(c)
    y = 1.5 * h - 0.2
    # i = sigma(0.5 - 0.06 + 0.1) and f = sigma(-0.2 + 0.08 + 1.0), to 30 digits by mpmath
    assert i == pytest.approx(0.631812417736101651089257142452, abs=1e-15)
    assert f == pytest.approx(0.706822221093567580090574933756, abs=1e-15)
    params = _one_by_one("lstm", v)
    p = get_cell("lstm").run(params, [[x]], [[0.3]], output="identity",
                             state0=(np.array([h_prev]), np.array([c_prev])))
    for name, want in dict(i=i, f=f, o=o, g=g).items():
        assert p.gates[name][0, 0, 0] == pytest.approx(want, abs=1e-15), name
    assert p.c[0, 0, 0] == pytest.approx(c, abs=1e-15)
    assert p.h[0, 0, 0] == pytest.approx(h, abs=1e-15)
    assert p.y[0, 0, 0] == pytest.approx(y, abs=1e-15)
    # backward by hand: L = (y - 0.3)^2
    dy = 2 * (y - 0.3)
    dh = dy * 1.5
    dc = dh * o * (1 - math.tanh(c) ** 2)
    dz_f = dc * c_prev * f * (1 - f)
    dz_o = dh * math.tanh(c) * o * (1 - o)
    dz_i = dc * g * i * (1 - i)
    dz_g = dc * i * (1 - g * g)
    named = p.grads.named()
    for gate, dz in dict(i=dz_i, f=dz_f, o=dz_o, g=dz_g).items():
        assert named[f"b_{gate}"][0] == pytest.approx(dz, abs=1e-15)
        assert named[f"W_x{gate}"][0, 0] == pytest.approx(dz * x, abs=1e-15)
        assert named[f"W_h{gate}"][0, 0] == pytest.approx(dz * h_prev, abs=1e-15)
    assert p.dc[0, 0, 0] == pytest.approx(dc, abs=1e-15)


def test_gru_scalar_step_by_hand():
    v = dict(W_xr=0.8, W_hr=-0.5, b_r=0.2, W_xz=-0.4, W_hz=0.9, b_z=0.3,
             W_xn=1.1, W_hn=0.7, b_n=-0.15, b_hn=0.25)
    x, h_prev = -0.6, 0.45
    r = _sig(v["W_xr"] * x + v["b_r"] + v["W_hr"] * h_prev)
    z = _sig(v["W_xz"] * x + v["b_z"] + v["W_hz"] * h_prev)
    hn = v["W_hn"] * h_prev + v["b_hn"]
    n = math.tanh(v["W_xn"] * x + v["b_n"] + r * hn)
    h = (1 - z) * n + z * h_prev
    params = _one_by_one("gru", v)
    p = get_cell("gru").run(params, [[x]], [[0.3]], output="identity", state0=[h_prev])
    assert p.gates["r"][0, 0, 0] == pytest.approx(r, abs=1e-15)
    assert p.gates["z"][0, 0, 0] == pytest.approx(z, abs=1e-15)
    assert p.gates["n"][0, 0, 0] == pytest.approx(n, abs=1e-15)
    assert p.h[0, 0, 0] == pytest.approx(h, abs=1e-15)
    # b_hn sits inside r * (...): moving it to b_n would give another n
    n_folded = math.tanh(v["W_xn"] * x + v["b_n"] + v["b_hn"] + r * v["W_hn"] * h_prev)
    assert abs(n_folded - n) > 1e-3
    # backward by hand
    y = 1.5 * h - 0.2
    dh = 2 * (y - 0.3) * 1.5
    dn_pre = dh * (1 - z) * (1 - n * n)
    dz = dh * (h_prev - n) * z * (1 - z)
    dr = dn_pre * hn * r * (1 - r)
    named = p.grads.named()
    assert named["b_n"][0] == pytest.approx(dn_pre, abs=1e-15)
    assert named["b_hn"][0] == pytest.approx(dn_pre * r, abs=1e-15)
    assert named["W_hn"][0, 0] == pytest.approx(dn_pre * r * h_prev, abs=1e-15)
    assert named["b_z"][0] == pytest.approx(dz, abs=1e-15)
    assert named["b_r"][0] == pytest.approx(dr, abs=1e-15)
    assert named["W_xr"][0, 0] == pytest.approx(dr * x, abs=1e-15)


def _mv(W, v):
    return [sum(W[i][j] * v[j] for j in range(len(v))) for i in range(len(W))]


def test_two_unit_lstm_step_with_plain_loops():
    # rows are units, columns the inputs: W_x* is H x I as a file writes it
    rng = np.random.default_rng(5)
    H, I = 2, 3
    w = {f"{k}{g}": rng.normal(size=(H, I if k == "W_x" else H)).round(2)
         for k in ("W_x", "W_h") for g in "ifog"}
    w.update({f"b_{g}": rng.normal(size=H).round(2) for g in "ifog"})
    params = get_cell("lstm").init(H, I, 2, init="zeros", weights=w)
    x, hp, cp = [0.5, -1.0, 0.25], [0.1, -0.3], [0.6, 0.2]
    z = {g: [a + b + c for a, b, c in zip(_mv(w[f"W_x{g}"].tolist(), x),
                                          _mv(w[f"W_h{g}"].tolist(), hp), w[f"b_{g}"])]
         for g in "ifog"}
    i, f, o = ([_sig(v) for v in z[g]] for g in "ifo")
    g = [math.tanh(v) for v in z["g"]]
    c = [f[k] * cp[k] + i[k] * g[k] for k in range(H)]
    h = [o[k] * math.tanh(c[k]) for k in range(H)]
    p = get_cell("lstm").run(params, [x], state0=(np.array(hp), np.array(cp)))
    assert np.allclose(p.c[0, 0], c, atol=1e-15, rtol=0)
    assert np.allclose(p.h[0, 0], h, atol=1e-15, rtol=0)
    assert np.allclose(get_cell("lstm").step(params, np.array(x), np.array(hp + cp)),
                       h + c, atol=1e-15, rtol=0)


# ---------------------------------------------------------------------------------------------
# state Jacobians, the carry path, retention


@pytest.mark.parametrize("cell", CELLS)
def test_step_jacobian_matches_finite_differences(cell):
    params, X, Y, M = _problem(cell, "softmax", T=4, seed=7)
    c = get_cell(cell)
    p = c.run(params, X, Y, M)
    S = c.state_size(params.hidden_size)
    J = c.step_jacobians(params, p)
    c_of = getattr(p, "c", None)
    states = [np.concatenate([p.h[t, 0]] + ([c_of[t, 0]] if c_of is not None else []))
              for t in range(len(X))]
    eps = 1e-6
    for t in range(1, len(X)):
        num = np.zeros((S, S))
        for k in range(S):
            d = np.zeros(S)
            d[k] = eps
            num[:, k] = (c.step(params, X[t, 0], states[t - 1] + d)
                         - c.step(params, X[t, 0], states[t - 1] - d)) / (2 * eps)
        assert _rel_err(num, J[t]) < 1e-6, (cell, t)
        # and the product without J (what the norms use) is the same matrix
        A = np.random.default_rng(t).normal(size=(3, S))
        assert np.allclose(c.right_multiplier(params, p)(A, t), A @ J[t], atol=1e-13)


@pytest.mark.parametrize("cell", GATED)
def test_state_jacobian_norms_equal_explicit_products(cell):
    params, X, Y, M = _problem(cell, "softmax", T=9, seed=3)
    seq = Sequence(inputs=X[:, 0], targets=Y[:, 0], mask=M[:, 0], labels=["x"] * 9,
                   target_labels=["y"] * 9)
    tr = run_trace(params, seq, output="softmax")
    p = get_cell(cell).run(params, X, Y, M)
    J = get_cell(cell).step_jacobians(params, p)
    S = J.shape[1]
    T = len(X)
    for t in range(T):
        prod = np.eye(S)
        for k in range(T - 1, t, -1):  # ds_{T-1}/ds_t = J_{T-1} ... J_{t+1}
            prod = prod @ J[k]
        assert tr.jacobian_log10[t] == pytest.approx(np.log10(np.linalg.norm(prod, 2)),
                                                     abs=1e-10)
    assert tr.jacobian_log10[T - 1] == 0.0


def test_a_long_lstm_product_is_certified_without_eigenvalues_and_exact(monkeypatch):
    """The exact norms of a 300-step LSTM product: almost every step certified by power steps
    (the Kato-Temple bound), not left to a batched eigenvalue computation, and every norm the
    one of the explicit product to 1e-12."""
    import engine.analysis as analysis
    H, T, V = 16, 300, 7
    rng = np.random.default_rng(5)
    ids = rng.integers(0, V, size=T + 1)
    X, Y = np.eye(V)[ids[:-1]], np.eye(V)[ids[1:]]
    c = get_cell("lstm")
    params = c.init(H, V, V, seed=5)
    p = c.run(params, X, Y)
    left = []
    real = analysis._eig_tops

    def counted(stack, scales, pending, out):
        left.extend(pending)
        real(stack, scales, pending, out)

    monkeypatch.setattr(analysis, "_eig_tops", counted)
    got = analysis.state_jacobian_log10(c.right_multiplier(params, p), T, 2 * H)
    assert len(left) < T // 5  # (198 of the 299 steps before the Kato-Temple bound)
    J = c.step_jacobians(params, p)
    prod, scale = np.eye(2 * H), 0.0
    for t in range(T - 2, -1, -1):
        prod = prod @ J[t + 1]
        m = np.abs(prod).max()
        prod, scale = prod / m, scale + np.log10(m)
        assert got[t] == pytest.approx(scale + np.log10(np.linalg.norm(prod, 2)), abs=1e-12)


def test_lstm_carry_path_is_the_product_of_forget_gates():
    params, X, Y, M = _problem("lstm", "softmax", T=8, seed=4)
    seq = Sequence(inputs=X[:, 0], targets=Y[:, 0], mask=M[:, 0], labels=["x"] * 8,
                   target_labels=["y"] * 8)
    tr = run_trace(params, seq)
    f = tr.gates["f"]
    T, H = f.shape
    for t in range(T):
        belt = np.diag(np.ones(H))
        for k in range(t + 1, T):
            belt = belt @ np.diag(f[k])  # dc_{T-1}/dc_t along the belt alone
        assert tr.carry_log10[t] == pytest.approx(np.log10(np.linalg.norm(belt, 2)), abs=1e-12)
    assert tr.carry_log10[T - 1] == 0.0


def test_carry_path_keeps_its_exponent_far_below_the_smallest_float():
    f = np.full((400, 2), 1e-2)
    out = carry_log10(f)
    assert out[0] == pytest.approx(-2 * 399, abs=1e-9)


@pytest.mark.parametrize("cell", GATED)
def test_retention_matches_a_run_over_blank_inputs(cell):
    params, X, _, _ = _problem(cell, "softmax", seed=9)
    K = 6
    seq_x = np.zeros((K + 1, params.input_size))
    seq_x[0] = X[0, 0]
    p = get_cell(cell).run(params, seq_x, backward=False)
    states = [np.concatenate([p.h[t, 0]] + ([p.c[t, 0]] if p.c is not None else []))
              for t in range(K + 1)]
    want = [states[0] @ s / (np.linalg.norm(states[0]) * np.linalg.norm(s)) for s in states[1:]]
    seq = Sequence(inputs=seq_x, targets=np.zeros((K + 1, 3)), mask=np.zeros(K + 1, bool),
                   labels=["x"] * (K + 1), target_labels=[None] * (K + 1))
    tr = run_trace(params, seq, retention_steps=K)
    assert np.allclose(tr.retention, want, atol=1e-14, rtol=0)


def test_a_long_gated_jacobian_can_be_cancelled():
    params, *_ = _problem("lstm", "softmax")
    rng = np.random.default_rng(0)
    T = 2000
    seq = Sequence(inputs=rng.normal(size=(T, 3)), targets=np.eye(3)[rng.integers(0, 3, T)],
                   mask=np.ones(T, bool), labels=["x"] * T, target_labels=["y"] * T)
    with pytest.raises(Cancelled):
        run_trace(params, seq, should_stop=lambda: True)


# ---------------------------------------------------------------------------------------------
# parameters, batches, the vanilla cell unchanged


def test_init_is_seeded_and_the_forget_bias_starts_at_one():
    a = get_cell("lstm").init(5, 3, 4, seed=2)
    b = get_cell("lstm").init(5, 3, 4, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a.arrays(), b.arrays()))
    named = a.named()
    assert np.array_equal(named["b_f"], np.ones(5))
    assert not np.any(named["b_i"]) and not np.any(named["b_o"]) and not np.any(named["b_g"])
    assert named["W_xi"].shape == (5, 3) and named["W_hg"].shape == (5, 5)
    lim = math.sqrt(6 / (5 + 3))  # xavier per gate block
    assert np.abs(named["W_xo"]).max() <= lim
    c = get_cell("lstm").init(5, 3, 4, seed=3)
    assert not np.array_equal(a.W_h, c.W_h)
    assert np.array_equal(get_cell("lstm").init(5, 3, 4, forget_bias=0.0).named()["b_f"],
                          np.zeros(5))
    g = get_cell("gru").init(5, 3, 4, seed=2)
    assert g.b_hn.shape == (5,) and list(g.named())[-3:] == ["b_hn", "W_y", "b_y"]


@pytest.mark.parametrize("cell", GATED)
def test_a_batch_equals_its_sequences_one_by_one(cell):
    params, X, Y, M = _problem(cell, "softmax", B=3, seed=6)
    M[:] = True
    c = get_cell(cell)
    whole = c.run(params, X, Y, M)
    g_sum = None
    for b in range(3):
        one = c.run(params, X[:, b], Y[:, b], M[:, b])
        assert np.allclose(whole.h[:, b], one.h[:, 0], atol=1e-14)
        assert np.allclose(whole.dh[:, b] * 3, one.dh[:, 0], atol=1e-14)
        g = [a / 3 for a in one.grads.arrays()]
        g_sum = g if g_sum is None else [x + y for x, y in zip(g_sum, g)]
    assert all(np.allclose(x, y, atol=1e-14) for x, y in zip(whole.grads.arrays(), g_sum))


def test_the_vanilla_cell_is_engine_model_bit_for_bit():
    params, X, Y, M = _problem("rnn", "softmax", B=2, seed=8)
    for act in ("tanh", "sigmoid", "relu"):
        a = get_cell("rnn").run(params, X, Y, M, activation=act)
        b = run_rnn(params, X, Y, M, activation=act)
        assert a.loss == b.loss and np.array_equal(a.h, b.h)
        assert all(np.array_equal(x, y) for x, y in zip(a.grads.arrays(), b.grads.arrays()))


@pytest.mark.parametrize("cell", GATED)
def test_the_wh_knob_scales_every_recurrent_block(cell):
    params = get_cell(cell).init(3, 2, 2, seed=1)
    scaled = params.with_wh_scale(2.0)
    for name in get_cell(cell).recurrent:
        assert np.array_equal(scaled.named()[name], 2.0 * params.named()[name])
    for name in ("W_y", "b_y") + tuple(f"W_x{g}" for g in get_cell(cell).gates):
        assert np.array_equal(scaled.named()[name], params.named()[name])
    if cell == "gru":
        assert np.array_equal(scaled.b_hn, params.b_hn)


# ---------------------------------------------------------------------------------------------
# scenarios with a cell

BASE = """
[scenario]
name = "x"
kind = "text"

[model]
hidden_size = 2
{model}

[data]
text = ["a b a c"]
"""


def _err(model: str) -> str:
    with pytest.raises(ScenarioError) as e:
        loads(BASE.format(model=model), "f.toml")
    return str(e.value)


def test_cell_key_and_its_errors():
    assert loads(BASE.format(model=""), "f.toml").model.cell == "rnn"
    assert loads(BASE.format(model='cell = "gru"'), "f.toml").model.cell == "gru"
    assert _err('cell = "lstn"') == ('f.toml:8: [model].cell: must be one of "rnn", "lstm", '
                                     '"gru", "irnn", got "lstn" (a string); did you mean '
                                     '\'lstm\'?')
    msg = _err('cell = "lstm"\nactivation = "relu"')
    assert msg.startswith("f.toml:9: [model].activation: applies to the vanilla cell only")
    assert _err('cell = "gru"\nforget_bias = 2').startswith(
        "f.toml:9: [model].forget_bias: only the lstm cell has a forget gate")


def test_per_gate_weights_are_checked_like_the_vanilla_ones():
    msg = _err('cell = "lstm"\n[model.weights]\nW_h = [[1, 0], [0, 1]]')
    assert msg.startswith("f.toml:10: [model.weights].W_h: unknown matrix 'W_h'; did you mean")
    assert "known matrices: W_xi, W_xf, W_xo, W_xg, W_hi" in msg
    msg = _err('cell = "gru"\n[model.weights]\nW_hn = [[1, 0], [0]]')
    assert msg == ("f.toml:10: [model.weights].W_hn[1]: row 1 must be a list of 2 numbers "
                   "(hidden_size x hidden_size), got a list of 1 item")
    msg = _err('cell = "gru"\n[model.weights]\nb_hn = [1, 2, 3]')
    assert msg.startswith("f.toml:10: [model.weights].b_hn: must be a list of 2 numbers")
    sc = loads(BASE.format(model='cell = "lstm"\nforget_bias = 0.5\n[model.weights]\n'
                                 'W_hf = [[1, 2], [3, 4]]\nb_o = [7, 8]'), "f.toml")
    named = initial_params(sc).named()
    assert np.array_equal(named["W_hf"], [[1, 2], [3, 4]])
    assert np.array_equal(named["b_o"], [7, 8]) and np.array_equal(named["b_f"], [0.5, 0.5])


def test_with_cell_seeds_hand_made_weights_and_switches_back_exactly():
    cat = load("cat")
    lstm = with_cell(cat, "lstm")
    assert lstm.model.cell == "lstm" and lstm.model.weights_seeded
    assert "seeded" in weights_note(lstm) and weights_note(cat) is None
    p = initial_params(lstm)
    assert p.cell == "lstm" and p.hidden_size == 3
    back = with_cell(lstm, "rnn")
    assert back.model == cat.model and not back.model.weights_seeded
    assert all(np.array_equal(a, b) for a, b in zip(initial_params(back).arrays(),
                                                    initial_params(cat).arrays()))
    king = with_cell(load("king"), "gru")  # random init in the file: nothing to replace
    assert not king.model.weights_seeded and king.model.seed == load("king").model.seed


@pytest.mark.parametrize("cell", GATED)
def test_fit_trains_every_cell_and_the_trace_has_its_parts(cell):
    sc = with_cell(load("king"), cell)
    a, b = fit(sc, 20), fit(sc, 20)
    assert a.losses == b.losses  # seeded: the same numbers twice
    assert a.losses[-1] < a.losses[0] / 2
    half = fit(sc, 10)
    resumed = fit(sc, 10, history=half)
    assert resumed.losses == a.losses
    tr = trace_for(sc, a.weights[-1])
    T, H = len(tr), sc.model.hidden_size
    assert tr.cell == cell and set(tr.gates) == set(get_cell(cell).gates)
    for name, v in tr.gates.items():
        assert v.shape == (T, H)
        lo, hi = (-1.0, 1.0) if name in ("g", "n") else (0.0, 1.0)
        assert v.min() >= lo and v.max() <= hi
    assert tr.carry_log10.shape == (T,) and tr.grad_state.shape == (T,)
    if cell == "lstm":
        assert tr.c.shape == (T, H) and np.array_equal(tr.c_prev[1:], tr.c[:-1])
        assert np.allclose(tr.h, tr.gates["o"] * np.tanh(tr.c), atol=1e-15)
        assert np.allclose(tr.grad_c, np.linalg.norm(tr.dc, axis=1), rtol=1e-13)
    else:
        assert tr.c is None
    t = T // 2
    share = gate_saturation(tr, t)
    assert set(share) == ({"i", "f", "o"} if cell == "lstm" else {"r", "z"})
    for name, value in share.items():
        v = tr.gates[name][t]
        assert value == sum(1 for u in v if u < 0.1 or u > 0.9) / H


# ---------------------------------------------------------------------------------------------
# the point of it all: the long gap


def _verb_probs(sc, hist):
    labels = sc.sequence.labels
    t_verb = labels.index("chased")
    w = hist.weights[-1]
    singular = trace_for(sc, w)
    plural = trace_for(sc, w, encode_text(
        sc, "the cats that the old dog from the farm chased run away"))
    return (float(singular.out[t_verb][sc.vocab.index("runs")]),
            float(plural.out[t_verb][sc.vocab.index("run")]), singular)


def test_on_the_long_gap_the_lstm_gets_the_verb_right_and_the_rnn_does_not():
    base = load("long")
    rnn = with_cell(base, "rnn")
    lstm = with_cell(base, "lstm")
    h_rnn, h_lstm = fit(rnn), fit(lstm)
    assert h_rnn.stopped is None and h_lstm.stopped is None
    p_runs, p_run, tr_rnn = _verb_probs(rnn, h_rnn)
    assert p_runs < 0.7 and p_run < 0.7  # a coin toss between "runs" and "run"
    q_runs, q_run, tr_lstm = _verb_probs(lstm, h_lstm)
    assert q_runs >= 0.9 and q_run >= 0.9
    # and the gradient view says why: the noun's state still reaches the verb in the LSTM
    t_noun = base.sequence.labels.index("cat")
    assert tr_rnn.jacobian_norm[t_noun] < 1e-2 < tr_lstm.jacobian_norm[t_noun]


# ---------------------------------------------------------------------------------------------
# the registry: what the rest of the program asks about a cell


def test_the_registry_answers_what_the_program_asks_about_every_cell():
    from engine.cells import CELLS as REGISTERED
    from engine.cells import DEFAULT, compare_pair, cycle_after
    from engine.scenario import ScenarioError
    assert REGISTERED[:3] == ("rnn", "lstm", "gru") and DEFAULT == "rnn"
    # the c key cycles rnn -> lstm -> gru -> rnn (lesson 9 relies on it)
    assert [cycle_after(c) for c in ("rnn", "lstm", "gru")] == ["lstm", "gru", "rnn"]
    # compare mode: the LSTM on the right, beside the vanilla RNN when it is the LSTM itself
    assert compare_pair("rnn") == compare_pair("lstm") == ("rnn", "lstm")
    assert compare_pair("gru") == ("gru", "lstm")
    assert [get_cell(c).title for c in ("rnn", "lstm", "gru")] == ["RNN", "LSTM", "GRU"]
    assert get_cell("lstm").carry_gate_name == "f" and get_cell("gru").carry_word == "update"
    assert get_cell("lstm").has_forget_bias and not get_cell("gru").has_forget_bias
    for name in REGISTERED:
        cell = get_cell(name)
        assert cell.name == name and cell.title and cell.long_title
        assert cell.partner in REGISTERED and cell.partner != name
        assert set(cell.sigmoid_gates) <= set(cell.gates) >= set(cell.shown_gates)
        assert cell.gated == bool(cell.step_rows)  # a gated cell lists its Step rows
        for row in cell.step_rows:
            q = row.quantity
            assert q[5:] in cell.gates if q.startswith("gate:") else q in ("h", "h_prev", "c",
                                                                             "c_prev")
    with pytest.raises(ScenarioError, match="unknown cell 'lstn'"):
        get_cell("lstn")


# ---------------------------------------------------------------------------------------------
# the IRNN (Le, Jaitly and Hinton 2015): one module and one registry line


def test_irnn_starts_from_the_identity_with_zero_bias_and_the_vanilla_draws():
    irnn, rnn = get_cell("irnn"), get_cell("rnn")
    p = irnn.init(5, 3, 4, seed=2)
    q = rnn.init(5, 3, 4, seed=2)
    assert p.cell == "irnn" and q.cell == "rnn"
    assert np.array_equal(p.W_h, np.eye(5)) and np.array_equal(p.b, np.zeros(5))
    # the other weights are the scenario's init, the same numbers the vanilla cell draws
    assert np.array_equal(p.W_x, q.W_x) and np.array_equal(p.W_y, q.W_y)
    assert np.array_equal(p.b_y, q.b_y)
    # init_scale's W_h scales the identity; a normal init's bias scale leaves b at zero
    s = irnn.init(5, 3, 4, init="normal", scales={"W_h": 0.5, "b": 1.0}, seed=2)
    assert np.array_equal(s.W_h, 0.5 * np.eye(5)) and not s.b.any()
    # a file's own arrays win, and are checked
    w = np.full((5, 5), 0.25)
    assert np.array_equal(irnn.init(5, 3, 4, weights={"W_h": w}).W_h, w)
    with pytest.raises(ScenarioError, match="W_h must have shape"):
        irnn.init(5, 3, 4, weights={"W_h": np.zeros((4, 4))})
    assert p.copy().cell == "irnn" and p.with_wh_scale(2.0).cell == "irnn"


def test_irnn_is_always_relu_whatever_activation_is_asked_for():
    params, X, Y, M = _problem("irnn", "softmax", T=5, seed=4)
    c = get_cell("irnn")
    a = c.run(params, X, Y, M, activation="tanh")
    b = run_rnn(params, X, Y, M, activation="relu")
    assert np.array_equal(a.h, b.h) and a.loss == b.loss
    assert (a.h >= 0).all() and not np.array_equal(a.h, run_rnn(params, X, Y, M).h)
    assert np.array_equal(c.step(params, X[1, 0], a.h[0, 0], "tanh"), a.h[1, 0])


def test_irnn_in_a_scenario_its_trace_and_the_registry():
    sc = loads(BASE.format(model='cell = "irnn"'), "f.toml")
    assert sc.model.cell == "irnn" and sc.model.activation == "relu"
    assert _err('cell = "irnn"\nactivation = "tanh"') == (
        'f.toml:9: [model].activation: applies to the vanilla cell only; the irnn cell is '
        'always relu (remove this line, or set cell = "rnn")')
    tr = trace_for(sc, initial_params(sc))
    assert tr.cell == "irnn" and tr.activation == "relu" and tr.a is not None
    assert np.array_equal(tr.params.W_h, np.eye(sc.model.hidden_size))
    # a cell switch gives relu, and switching back gives the file's model
    king = load("king")
    assert with_cell(king, "irnn").model.activation == "relu"
    assert with_cell(with_cell(king, "irnn"), "rnn").model == king.model
    from engine.cells import compare_pair, cycle_after
    assert compare_pair("irnn") == ("irnn", "lstm")
    assert cycle_after("gru") == "rnn" and cycle_after("irnn") == "rnn"  # c never reaches it
