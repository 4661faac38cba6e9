"""engine.influence: one step's loss and one prediction followed back, checked by nudging."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import trained_history

from engine import fit, initial_params, load, trace_for
from engine.influence import first_input_effect, reach
from engine.model import activate, read_out, step_losses


def _forward_from(p, act, X, start, h):
    """States h_start+1.. given h at step ``start`` (plain loop, independent of the engine)."""
    hs = {start: h}
    for t in range(start + 1, len(X)):
        h = activate(act, p.W_h @ h + p.W_x @ X[t] + p.b)
        hs[t] = h
    return hs


def _step_loss(tr, p, h_tau, tau):
    y = p.W_y @ h_tau + p.b_y
    return float(step_losses(tr.output, y[None], tr.targets[tau][None])[0])


@pytest.mark.parametrize("name, tau", [("king", 3), ("cat", 4), ("long", 9), ("sine", 30),
                                       ("echo", 9)])
def test_loss_gradient_matches_nudging_the_state(name, tau):
    sc = load(name)
    p = fit(sc, 20).weights[-1] if sc.train.epochs else initial_params(sc)
    tr = trace_for(sc, p)
    r = reach(tr, tau)
    X, act, eps = tr.x, tr.activation, 1e-6
    assert r.has_target == bool(tr.mask[tau])
    for t in range(0, tau + 1):
        grad = np.zeros(p.hidden_size)
        for u in range(p.hidden_size):
            e = np.zeros(p.hidden_size)
            e[u] = eps
            up = _forward_from(p, act, X, t, tr.h[t] + e)[tau] if t < tau else tr.h[t] + e
            dn = _forward_from(p, act, X, t, tr.h[t] - e)[tau] if t < tau else tr.h[t] - e
            grad[u] = (_step_loss(tr, p, up, tau) - _step_loss(tr, p, dn, tau)) / (2 * eps)
        want = np.linalg.norm(grad)
        got = 10.0 ** r.grad_log10[t]
        assert got == pytest.approx(want, rel=1e-5, abs=1e-10), (t, got, want)


def test_a_step_without_target_sends_no_gradient_back():
    sc = load("long")
    tr = trace_for(sc, initial_params(sc))
    last = len(tr) - 1
    assert not tr.mask[last]
    r = reach(tr, last)
    assert not r.has_target and np.all(r.grad_log10 == -np.inf)
    assert np.isfinite(r.input_log10).all()  # the prediction there still depends on the inputs


@pytest.mark.parametrize("name, tau", [("king", 4), ("long", 11), ("sine", 12)])
def test_connectivity_matches_nudging_each_input(name, tau):
    sc = load(name)
    p = initial_params(sc)
    tr = trace_for(sc, p)
    r = reach(tr, tau)
    k = r.output
    X, act, eps = tr.x, tr.activation, 1e-6

    def logit(Xn):
        h = np.zeros(p.hidden_size)
        for t in range(tau + 1):
            h = activate(act, p.W_h @ h + p.W_x @ Xn[t] + p.b)
        return float((p.W_y @ h + p.b_y)[k])

    for t in range(tau + 1):
        g = np.zeros(X.shape[1])
        for i in range(X.shape[1]):
            up, dn = X.copy(), X.copy()
            up[t, i] += eps
            dn[t, i] -= eps
            g[i] = (logit(up) - logit(dn)) / (2 * eps)
        assert 10.0 ** r.input_log10[t] == pytest.approx(np.linalg.norm(g), rel=1e-5,
                                                         abs=1e-10), t


def test_the_loss_at_the_last_step_of_long_hardly_reaches_the_noun():
    """The per-loss view shows the story `long` tells: ‖∂ℓ_verb/∂h_cat‖ is tiny next to the
    gradient at the verb itself, although the total dL/dh at "cat" is not small."""
    sc = load("long")
    tr = trace_for(sc, trained_history("long").weights[-1])  # fit(sc), shared
    labels = tr.sequence.labels
    verb = labels.index("runs")
    cat = labels.index("cat")
    r = reach(tr, verb - 1)  # the step whose target is the verb
    assert r.has_target and tr.sequence.target_labels[verb - 1] == "runs"
    drop = r.grad_log10[cat] - r.grad_log10[verb - 1]
    assert drop < -2, drop  # at least 100x smaller at the noun
    assert np.log10(tr.grad_h[cat]) > r.grad_log10[cat] + 1  # the total gradient is not


def test_walking_back_keeps_the_exponent_far_below_double_range():
    sc = load("sine")
    p = initial_params(sc).with_wh_scale(1 / 64)
    tr = trace_for(sc, p)
    r = reach(tr, len(tr) - 1)
    assert np.isfinite(r.grad_log10).all()
    assert r.grad_log10[0] < -308  # would be 0.0 as a plain float
    steps = np.diff(r.grad_log10)
    assert (steps > 0).all()  # it only ever shrinks going back


def test_first_input_effect_is_the_difference_of_two_runs():
    sc = load("cat")
    p = initial_params(sc)
    x0 = sc.sequence.inputs[0]
    eff = first_input_effect(p, x0, 15, "tanh")
    a, b = activate("tanh", p.W_x @ x0 + p.b), activate("tanh", p.b.copy())
    for j in range(16):
        assert np.allclose(eff.diff[j], a - b, atol=1e-15)
        a, b = activate("tanh", p.W_h @ a + p.b), activate("tanh", p.W_h @ b + p.b)
    assert eff.ratio[0] == 1.0 and eff.cosine[0] == pytest.approx(1.0)
    assert eff.ratio[15] == pytest.approx(np.linalg.norm(eff.diff[15]) / eff.start_norm)


def test_sine_at_a_small_knob_forgets_although_the_seed_cosine_stays_high():
    """Retention's old verdict said "kept" here: the state settles on the bias's fixed point,
    so cos(h_0, h_j) stays near 1. sine's first input is sin(0) = 0: it changes nothing, and
    any other input's change is gone within a few blank steps."""
    from engine.analysis import retention
    sc = load("sine")
    p = trained_history("sine").weights[-1].with_wh_scale(0.125)  # fit(sc), shared
    x0 = sc.sequence.inputs[0]
    assert retention(p, x0, 15, "tanh")[-1] > 0.9
    assert first_input_effect(p, x0, 15, "tanh").start_norm == 0.0
    eff = first_input_effect(p, sc.sequence.inputs[5], 15, "tanh")
    assert eff.start_norm > 0 and eff.ratio[-1] < 1e-6


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_loss_gradient_matches_nudging_the_whole_state(cell):
    """For an LSTM the state is h and c together; ‖∂ℓ_τ/∂s_t‖ by nudging each entry of s_t and
    running the cell's plain step formulas on to τ."""
    from engine.cells import get_cell
    from engine.scenario import with_cell
    sc = with_cell(load("long"), cell)
    p = fit(sc, 15).weights[-1]
    tr = trace_for(sc, p)
    c = get_cell(cell)
    tau = 9
    r = reach(tr, tau)
    X = tr.x
    states = [np.zeros(c.state_size(p.hidden_size))]
    for t in range(tau + 1):
        states.append(c.step(p, X[t], states[-1]))  # states[t + 1] = s_t

    def loss_from(t, s):
        for u in range(t + 1, tau + 1):
            s = c.step(p, X[u], s)
        y = p.W_y @ s[: p.hidden_size] + p.b_y
        return float(step_losses(tr.output, y[None], tr.targets[tau][None])[0])

    eps = 1e-6
    for t in (tau, tau - 1, 4, 1):
        s = states[t + 1]
        grad = np.zeros(len(s))
        for i in range(len(s)):
            e = np.zeros(len(s))
            e[i] = eps
            grad[i] = (loss_from(t, s + e) - loss_from(t, s - e)) / (2 * eps)
        assert 10.0 ** r.grad_log10[t] == pytest.approx(np.linalg.norm(grad), rel=1e-5), t
    gate = tr.gates["f" if cell == "lstm" else "z"]
    want = np.log10(np.prod(gate[2: tau + 1], axis=0).max())
    assert r.carry_log10[1] == pytest.approx(want, abs=1e-12)
    assert r.carry_log10[tau] == 0.0
