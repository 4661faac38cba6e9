"""Issue 9 (every screen tells the truth), the CLI's part: steps counted from 0 in the table and
the JSON, and the per-loss view in the JSON (``--target-step``) recomputed from the JSON alone
by central differences, as a notebook would."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rnntui.cli import main


def run(capsys, *args) -> str:
    code = main(list(args))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_item10_the_trace_table_counts_t_from_zero(capsys):
    out = run(capsys, "trace", "king")
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("t "))
    # the last step of five is 4 (the header of the table, or of its last part at 80 columns)
    assert any("|dh_4/dh_t|" in line for line in lines if line.startswith("t "))
    rows = lines[head + 2: head + 7]
    assert [r.split()[0] for r in rows] == ["0", "1", "2", "3", "4"]
    assert rows[0].split()[1] == "the" and rows[4].split()[1] == "throne"
    assert "step 5 of 5" not in out and "h_5" not in out


def test_item10_the_json_counts_t_from_zero(capsys):
    doc = json.loads(run(capsys, "trace", "king", "--json"))
    assert [s["t"] for s in doc["steps"]] == list(range(5))
    assert doc["steps"][0]["input"] == "the"


# ---------------------------------------------------------------------------------------------
# the per-loss view in the JSON


def forward_from(P, xs, h, start, tau):
    for k in range(start, tau + 1):
        h = np.tanh(P["W_h"] @ h + P["W_x"] @ xs[k] + P["b"])
    return P["W_y"] @ h + P["b_y"]


def step_loss(y, target):
    y = y - y.max()
    return -(y[target] - math.log(np.exp(y).sum()))


#: Central differences with a 1e-6 step lose about 1e-16 / 1e-6 of the O(1) function values
#: they subtract: absolute errors near 1e-10 per entry, so tiny norms are compared to 1e-8.
FD_ATOL = 1e-8


def central(f, v, eps=1e-6):
    g = np.empty(len(v))
    for i in range(len(v)):
        up, down = v.copy(), v.copy()
        up[i] += eps
        down[i] -= eps
        g[i] = (f(up) - f(down)) / (2 * eps)
    return g


def per_loss_by_hand(doc, tau):
    """From the JSON only: ‖∂ℓ_τ/∂h_t‖ (zero when τ has no target) and ‖∂y_τ[k]/∂x_t‖ for
    t = 0..τ, k being the output the JSON says it follows."""
    P = {k: np.array(v, dtype=np.float64) for k, v in doc["params"].items()}
    steps = doc["steps"]
    xs = [np.array(s["x"], dtype=np.float64) for s in steps]
    hs = [np.array(s["h"], dtype=np.float64) for s in steps]
    H = len(hs[0])
    vocab = doc["vocab"]
    target = steps[tau]["target"]
    k = doc["target_step"]["output"]
    grads, infl = [], []
    for t in range(tau + 1):
        before = hs[t - 1] if t > 0 else np.zeros(H)
        if target is None:
            grads.append(0.0)
        else:
            ti = vocab.index(target)
            grads.append(np.linalg.norm(central(
                lambda h: step_loss(forward_from(P, xs, h, t + 1, tau), ti), hs[t])))

        def logit(x, t=t, before=before):
            h = np.tanh(P["W_h"] @ before + P["W_x"] @ x + P["b"])
            return forward_from(P, xs, h, t + 1, tau)[k]
        infl.append(np.linalg.norm(central(logit, xs[t])))
    return np.array(grads), np.array(infl)


@pytest.fixture(scope="module")
def long_json():
    """``rnntui trace long --target-step TAU --json`` for the verb step and the last step."""
    import contextlib
    import io
    out = {}
    for tau in (9, 11):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["trace", "long", "--target-step", str(tau), "--json"]) == 0
        out[tau] = json.loads(buf.getvalue())
    return out


def test_item5_json_per_loss_view_at_the_verb_is_exact(long_json):
    doc = long_json[9]
    ts = doc["target_step"]
    assert ts["tau"] == 9 and ts["has_target"] is True
    assert doc["steps"][9]["input"] == "chased" and doc["steps"][9]["target"] == "runs"
    assert doc["vocab"][ts["output"]] == "runs"
    assert [s["t"] for s in ts["steps"]] == list(range(10))
    grads, infl = per_loss_by_hand(doc, 9)
    got_g = np.array([s["grad_loss"] for s in ts["steps"]])
    got_x = np.array([s["input_influence"] for s in ts["steps"]])
    np.testing.assert_allclose(got_g, grads, rtol=1e-6, atol=FD_ATOL)
    np.testing.assert_allclose(got_x, infl, rtol=1e-6, atol=FD_ATOL)
    for s in ts["steps"]:
        assert s["grad_loss_log10"] == pytest.approx(math.log10(s["grad_loss"]), abs=1e-12)
    # the long gap: what reaches "cat" (t=1) from the verb is tiny
    assert got_g[1] / got_g[9] < 1e-3


def test_item5_json_per_loss_view_at_a_step_with_no_target(long_json):
    doc = long_json[11]
    ts = doc["target_step"]
    assert ts["tau"] == 11 and ts["has_target"] is False
    assert doc["steps"][11]["target"] is None
    assert ts["output"] == int(np.argmax(doc["steps"][11]["probs"]))
    assert all(s["grad_loss"] == 0 for s in ts["steps"])  # no loss at τ to follow back
    _, infl = per_loss_by_hand(doc, 11)
    np.testing.assert_allclose([s["input_influence"] for s in ts["steps"]], infl, rtol=1e-6, atol=FD_ATOL)
