"""A big trace in two parts: the forward and backward numbers first, the exact step-Jacobian
norms later (engine.trace.with_jacobians, in a worker), neighbouring settings computed ahead.
Every number must equal the whole trace's, and a pane must say what is not computed yet."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine import initial_params, run_trace, with_cell
from engine.scenario import loads
from engine.trace import jacobians_of, with_jacobians

WORDS = " ".join(f"w{i % 40}" for i in range(400))


def big_text(hidden: int = 16, activation: str = "tanh", epochs: int = 0):
    return loads(f"""
[scenario]
name = "big"
kind = "text"
[model]
hidden_size = {hidden}
activation = "{activation}"
[train]
epochs = {epochs}
learning_rate = 0.05
[data]
text = ["{WORDS}"]
""")


def _arrays(tr):
    for f in dataclasses.fields(tr):
        v = getattr(tr, f.name)
        if isinstance(v, np.ndarray):
            yield f.name, v
        elif isinstance(v, dict):
            for k, a in v.items():
                yield f"{f.name}.{k}", a


@pytest.mark.parametrize("cell,activation", [("rnn", "tanh"), ("rnn", "relu"),
                                             ("rnn", "sigmoid"), ("lstm", "tanh"),
                                             ("gru", "tanh")])
def test_the_two_parts_give_exactly_the_whole_trace(cell, activation):
    sc = big_text(activation=activation)
    if cell != "rnn":
        sc = with_cell(sc, cell)
    p = initial_params(sc)
    kw = dict(activation=sc.model.activation, output=sc.model.output,
              retention_steps=sc.retention_steps)
    whole = run_trace(p, sc.sequence, **kw)
    first = run_trace(p, sc.sequence, jacobians=False, **kw)
    assert whole.jacobians_done and not first.jacobians_done
    assert np.isnan(first.jacobian_log10).all()
    for (name, a), (_, b) in zip(_arrays(whole), _arrays(first)):
        if name != "jacobian_log10":
            assert np.array_equal(a, b, equal_nan=True), name
    assert first.loss == whole.loss
    done = with_jacobians(first)
    assert done.jacobians_done and done is not first
    assert np.array_equal(done.jacobian_log10, whole.jacobian_log10)
    assert done.h is first.h  # every other array shared, not copied
    assert with_jacobians(done) is done


def test_the_later_norms_are_the_true_two_norms_of_the_jacobian_products():
    """Against explicit matrix products and numpy's own SVD, for a few steps."""
    sc = big_text(hidden=6)
    p = initial_params(sc)
    first = run_trace(p, sc.sequence, jacobians=False)
    jac = jacobians_of(first)
    T = len(first)
    slope = 1.0 - first.h ** 2
    M = np.eye(6)
    for t in range(T - 2, T - 40, -1):
        M = M @ (slope[t + 1][:, None] * p.W_h)
        assert jac[t] == pytest.approx(np.log10(np.linalg.norm(M, 2)), abs=1e-10)


def test_a_cancelled_norms_computation_raises():
    from engine.analysis import Cancelled
    sc = big_text()
    first = run_trace(initial_params(sc), sc.sequence, jacobians=False)
    with pytest.raises(Cancelled):
        with_jacobians(first, should_stop=lambda: True)


def test_the_gradients_pane_says_the_norms_are_not_computed_yet():
    from helpers import make_view

    from rnntui.widgets import GradientPane
    sc = big_text()
    view = make_view(sc, train=False)
    first = run_trace(view.params, view.sequence, jacobians=False)
    pending = view.with_trace(view.wanted_key, first)
    pane = GradientPane()
    text = pane.draw(pending.reading(pane.READS), 100, 16).plain
    assert "not yet computed" in text
    for word in ("vanishing", "fading", "steady", "growing", "exploding", "?"):
        assert word not in text.split("\n")[-1]  # no verdict from numbers it does not have
    done = pending.with_trace(view.wanted_key, with_jacobians(first))
    text = GradientPane().draw(done.reading(pane.READS), 100, 16).plain
    assert "not yet computed" not in text


async def test_a_knob_turn_shows_its_numbers_then_its_norms_then_is_computed_ahead():
    from helpers import quiet_app, settle

    from rnntui.jobs import neighbours
    sc = big_text(hidden=64)  # 400 x 64 cells: a trace made in two parts
    app = quiet_app(sc)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        jobs = app.main_screen.jobs
        await pilot.press("plus")
        view = app.view
        assert view.knob == 1 and not view.needs_trace  # forward and backward: at once
        if not view.trace.jacobians_done:  # (unless computed ahead already)
            text = app.main_screen.query_one("#gradients").picture().plain
            assert "not yet computed" in text
        await settle(pilot)
        view = app.view
        assert view.trace.jacobians_done
        whole = run_trace(view.params, view.sequence)
        assert np.array_equal(view.trace.jacobian_log10, whole.jacobian_log10)
        assert np.array_equal(view.trace.dh, whole.dh)
        # idle: the neighbouring settings' traces come in, norms and all
        wanted = [v.wanted_key for v in neighbours(view)]

        def all_ahead() -> bool:
            return all(k in jobs.kept and jobs.kept[k].jacobians_done for k in wanted)

        for _ in range(3000):
            if all_ahead():
                break
            await pilot.pause(0.01)
        assert all_ahead()
        await pilot.press("minus")  # back to knob 0: finished at once
        view = app.view
        assert view.knob == 0 and not view.needs_trace and view.trace.jacobians_done
        await pilot.press("plus", "plus")  # knob 2: computed ahead from knob 1
        view = app.view
        assert view.knob == 2 and not view.needs_trace
        await settle(pilot)
        whole = run_trace(app.view.params, app.view.sequence)
        assert np.array_equal(app.view.trace.jacobian_log10, whole.jacobian_log10)
        await pilot.press("q")


def test_kept_traces_stay_under_their_byte_bound(monkeypatch):
    from rnntui import jobs as jobs_module
    from rnntui.jobs import Jobs, trace_bytes
    sc = big_text()
    tr = run_trace(initial_params(sc), sc.sequence, jacobians=False)
    monkeypatch.setattr(jobs_module, "KEEP_BYTES", int(trace_bytes(tr) * 2.5))
    jobs = Jobs(node=None)  # (keeping needs no screen)
    for k in range(5):
        jobs._keep(("key", k), tr)
    assert list(jobs.kept) == [("key", 3), ("key", 4)]


# -- compact traces (engine/rows.py) ------------------------------------------------------------

def _series(T: int, hidden: int, activation: str = "tanh"):
    return loads(f"""
[scenario]
name = "long"
kind = "series"
[model]
hidden_size = {hidden}
activation = "{activation}"
output = "identity"
[train]
epochs = 0
[data]
points = {T + 1}
""")


@pytest.mark.parametrize("make,hidden,activation", [
    ("series", 8, "tanh"), ("series", 40, "tanh"), ("series", 30, "relu"),
    ("series", 12, "sigmoid"), ("text", 16, "tanh"), ("text", 40, "relu")])
def test_a_compact_trace_has_every_number_of_the_whole_one(make, hidden, activation):
    """Bit for bit: the recomputed rows (a, da, flow) are the pass's own numbers, for the
    small-H augmented loops and the plain ones, one-hot and real-valued inputs."""
    from engine.rows import RecomputedRows
    sc = _series(6161, hidden, activation) if make == "series" else \
        big_text(hidden=hidden, activation=activation)
    p = initial_params(sc)
    kw = dict(activation=sc.model.activation, output=sc.model.output,
              retention_steps=sc.retention_steps)
    whole = run_trace(p, sc.sequence, compact=False, **kw)
    small = run_trace(p, sc.sequence, compact=True, **kw)
    T = len(whole)
    for name in ("a", "da", "flow"):
        lazy = getattr(small, name)
        assert isinstance(lazy, RecomputedRows) and lazy.shape == getattr(whole, name).shape
        full = getattr(whole, name)
        assert np.array_equal(np.asarray(lazy), full, equal_nan=True), name
        for t in (0, 1, T // 2, T - 1, -1):
            assert np.array_equal(lazy[t], full[t], equal_nan=True), (name, t)
        idx = np.array([T - 1, 0, 5, T // 3, 5])
        assert np.array_equal(lazy[idx], full[idx], equal_nan=True)
        assert np.array_equal(lazy[3:T - 2], full[3:T - 2], equal_nan=True)
        assert np.array_equal(lazy[::7], full[::7], equal_nan=True)
        assert np.array_equal(lazy[T // 2, 1:3], full[T // 2, 1:3], equal_nan=True)
    for name in ("h", "h_prev", "dh", "y", "out", "dy", "step_loss", "grad_h",
                 "jacobian_log10", "retention", "x"):
        assert np.array_equal(getattr(small, name), getattr(whole, name), equal_nan=True), name
    assert small.loss == whole.loss
    assert small.spectral_norm == whole.spectral_norm
    for g, w in zip(small.grads.arrays(), whole.grads.arrays()):
        assert np.array_equal(g, w)
    assert np.shares_memory(small.h, small.h_prev)  # one block for h_t and h_{t-1}
    later = run_trace(p, sc.sequence, compact=True, jacobians=False, **kw)
    assert np.array_equal(with_jacobians(later).jacobian_log10, whole.jacobian_log10)


def test_a_100000_step_trace_keeps_under_128_mb(monkeypatch):
    """T = 100,000 at H = 64 (the issue's series, within the default budgets): what the compact
    trace keeps."""
    from rnntui.jobs import trace_bytes
    for env in ("RNNTUI_TRACE_BUDGET", "RNNTUI_MEMORY_BUDGET"):
        monkeypatch.delenv(env, raising=False)
    sc = _series(100_000, 64)
    p = initial_params(sc)
    tr = run_trace(p, sc.sequence, jacobians=False)
    assert isinstance(tr.a, object) and type(tr.a).__name__ == "RecomputedRows"
    assert trace_bytes(tr) < 128 * 2 ** 20
    tr.a[50_000], tr.da[50_000], tr.flow[99_999]  # reading rows keeps nothing more
    assert trace_bytes(tr) < 128 * 2 ** 20


def test_the_step_tables_widest_entry_is_that_of_formatting_every_entry():
    """rnntui.widgets.step._widest (sped up for knob turns: no sort) against its definition."""
    from rnntui.widgets._draw import fmt
    from rnntui.widgets.step import _widest
    rng = np.random.default_rng(12)
    for case in range(60):
        n = int(rng.integers(9, 3000))
        v = rng.standard_normal(n) * 10.0 ** rng.integers(-9, 9, n)
        if case % 3 == 0:  # ties of |x| with both signs, exact powers of ten, rounding carries
            v[: n // 4] = rng.choice([0.5, -0.5, 1e-3, -1e-3, 9.9995, -9.9995, 10.0, -1e5], n // 4)
        if case % 4 == 0:
            v[rng.integers(0, n, 5)] = rng.choice([0.0, np.inf, -np.inf, np.nan], 5)
        if case % 10 == 0:  # more than 64 decades: the sorted way
            v[:3] = [1e-200, 1e150, -1e-120]
        assert _widest(v) == max(len(fmt(x)) for x in v), case


def test_lesson_quantities_wait_for_the_norms_instead_of_reading_nan():
    """A big trace shows before its Jacobian norms: a lesson's jacobian quantities are 'not yet
    computed' (None, '…' in words), never NaN, so no condition fires or misfires on them; once
    the norms are in, they are the whole trace's."""
    from helpers import make_view

    from rnntui.lessons.conditions import parse
    from rnntui.lessons.quantities import Facts
    from rnntui.lessons.text import fill
    sc = big_text()
    view = make_view(sc, train=False)
    first = run_trace(view.params, view.sequence, jacobians=False)
    pending = view.with_trace(view.wanted_key, first)
    facts = Facts(pending)
    assert not facts.ready
    for name in ("jacobian", "min_jacobian", "max_jacobian"):
        assert facts(name) is None, name
    assert facts("grad_h") == float(first.grad_h[pending.t])  # the backward part is there
    for text in ("min_jacobian < 1e-6", "not (min_jacobian < 1e-6)", "max_jacobian >= 0",
                 "not (jacobian > 1e300)", "min_jacobian != min_jacobian"):
        assert not parse(text).holds(facts), text
    assert fill("at most {max_jacobian:.3e}", facts) == "at most …"
    done = pending.with_trace(view.wanted_key, with_jacobians(first))
    whole = run_trace(view.params, view.sequence)
    later = Facts(done)
    assert later.ready
    assert later("min_jacobian") == float(np.min(whole.jacobian_norm))
    assert later("jacobian") == float(whole.jacobian_norm[done.t])
    assert parse("max_jacobian >= 0").holds(later)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("hidden", [8, 40])
def test_the_compact_pass_in_blocks_is_the_whole_pass_bit_for_bit(activation, hidden):
    """engine.rows.compact_pass (a, f'(a) and the flow made a block at a time, the flow carried
    across blocks) against engine.model.run, for blocks of 1, 7 and 500 rows: the small-H
    augmented loops (H = 8) and the plain ones, a text's one-hot inputs and a series'."""
    from engine.model import run
    from engine.rows import compact_pass
    for sc in (_series(1234, hidden, activation), big_text(hidden=hidden, activation=activation)):
        p = initial_params(sc)
        p.W_h *= 1.5  # (relu: some states grow and some units die: both slopes occur)
        seq = sc.sequence
        kw = dict(activation=sc.model.activation, output=sc.model.output)
        whole = run(p, seq.inputs, seq.targets, seq.mask, **kw)
        for chunk in (1, 7, 500):
            part, hs = compact_pass(p, seq.inputs, seq.targets, seq.mask, chunk=chunk, **kw)
            assert np.array_equal(hs[1:], whole.h) and np.array_equal(hs[0], whole.h0)
            for name in ("y", "out", "losses", "dy", "dh"):
                assert np.array_equal(getattr(part, name), getattr(whole, name),
                                      equal_nan=True), (name, chunk)
            assert part.loss == whole.loss
            for g, w in zip(part.grads.arrays(), whole.grads.arrays()):
                assert np.array_equal(g, w), chunk


def test_a_compact_trace_is_made_without_full_size_working_arrays():
    """What the pass allocates beyond the trace it keeps: dL/da for the weight gradients and
    blocks of rows, not a, f'(a), the flow and norm temporaries at full size."""
    import tracemalloc

    from rnntui.jobs import trace_bytes
    sc = _series(40_000, 32)
    p = initial_params(sc)
    run_trace(p, sc.sequence, jacobians=False)  # (imports and caches outside the measure)
    tracemalloc.start()
    try:
        tr = run_trace(p, sc.sequence, jacobians=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    cells = 8 * 40_000 * 32
    assert type(tr.a).__name__ == "RecomputedRows"
    assert peak < trace_bytes(tr) + 1.3 * cells, (peak, trace_bytes(tr), cells)


@pytest.mark.parametrize("make,activation", [("series", "tanh"), ("series", "relu"),
                                             ("text", "sigmoid")])
def test_a_compact_traces_forward_part_first_then_its_backward_part_is_the_whole(make,
                                                                                 activation):
    from engine.trace import with_backward
    sc = _series(5000, 24, activation) if make == "series" else \
        big_text(hidden=40, activation=activation)
    p = initial_params(sc)
    p.W_h *= 1.4 if activation != "relu" else 1.1
    kw = dict(activation=sc.model.activation, output=sc.model.output,
              retention_steps=sc.retention_steps)
    whole = run_trace(p, sc.sequence, compact=False, **kw)
    first = run_trace(p, sc.sequence, compact=True, jacobians=False, backward=False, **kw)
    assert not first.backward_done and not first.jacobians_done
    for name in ("h", "h_prev", "y", "out", "step_loss", "retention", "x"):
        assert np.array_equal(getattr(first, name), getattr(whole, name), equal_nan=True), name
    assert np.array_equal(np.asarray(first.a), whole.a, equal_nan=True)
    assert np.array_equal(first.loss, whole.loss, equal_nan=True)
    assert first.spectral_norm == whole.spectral_norm
    assert np.isnan(first.dh[3]).all() and np.isnan(first.grad_h).all()  # not yet computed
    done = with_backward(first)
    assert done.backward_done and done.h is first.h and with_backward(done) is done
    for name in ("dh", "dy", "grad_h"):
        assert np.array_equal(getattr(done, name), getattr(whole, name), equal_nan=True), name
    for name in ("da", "flow"):
        assert np.array_equal(np.asarray(getattr(done, name)), getattr(whole, name),
                              equal_nan=True), name
    for g, w in zip(done.grads.arrays(), whole.grads.arrays()):
        assert np.array_equal(g, w)
    assert np.array_equal(with_jacobians(done).jacobian_log10, whole.jacobian_log10)
    from engine.analysis import Cancelled
    with pytest.raises(Cancelled):
        with_backward(first, should_stop=lambda: True)


def test_the_panes_say_the_backward_part_is_not_yet_computed():
    from helpers import make_view

    from rnntui.lessons.quantities import Facts
    from rnntui.view import BACKWARD
    from rnntui.widgets import GradientPane, StepPane
    sc = big_text(hidden=24)
    view = make_view(sc, train=False)
    first = run_trace(view.params, view.sequence, compact=True, jacobians=False,
                      backward=False)
    pending = view.with_trace(view.wanted_key, first)
    for grads in ("total", "loss"):
        v = pending.with_grads(grads)
        pane = GradientPane()
        text = pane.draw(v.reading(pane.READS), 100, 16).plain
        assert "not yet computed" in text and "nan" not in text, grads
    step = StepPane()
    back = pending.with_phase(BACKWARD)
    text = step.draw(back.reading(step.READS), 100, 16).plain
    assert "not yet computed" in text and "nan" not in text
    text = StepPane().draw(pending.reading(step.READS), 100, 16).plain  # forward: all there
    assert "not yet computed" not in text and "nan" not in text
    facts = Facts(pending)
    assert facts("grad_h") is None and facts("reach_first") is None and not facts.ready
    assert facts("spectral_norm") == first.spectral_norm


async def test_a_compact_trace_opens_with_its_forward_part_and_fills_in(monkeypatch):
    """In the app: the forward part shown first (from the worker), then the backward part and
    the norms, the numbers at the end those of the whole trace."""
    import engine.trace as trace_module
    from helpers import quiet_app, settle
    monkeypatch.setattr(trace_module, "COMPACT_CELLS", 20_000)
    sc = big_text(hidden=64)  # 400 x 64 cells: compact (here), made in a worker
    app = quiet_app(sc)
    seen = []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3000):
            tr = app.view.trace
            if tr is not None and not app.view.needs_trace:
                seen.append((tr.backward_done, tr.jacobians_done))
                if tr.backward_done and tr.jacobians_done:
                    break
            await pilot.pause(0.01)
        await settle(pilot)
        view = app.view
        assert view.trace.backward_done and view.trace.jacobians_done
        assert type(view.trace.a).__name__ == "RecomputedRows"
        whole = run_trace(view.params, view.sequence, compact=False)
        for name in ("h", "dh", "grad_h", "jacobian_log10"):
            assert np.array_equal(getattr(view.trace, name), getattr(whole, name)), name
        text = app.main_screen.query_one("#gradients").picture().plain
        assert "not yet computed" not in text
        assert seen == sorted(seen)  # never back to less
        await pilot.press("q")


def test_a_new_history_with_the_same_weights_keeps_the_trace_shown():
    """The initial loss replaces the history by one with the same weights: the trace shown (and
    work under way for it) is kept, not computed again (for a long series, a second pass that
    also restarted its backward part and norms)."""
    from helpers import make_view

    from engine import History
    from rnntui.jobs import Jobs
    sc = big_text()
    view = make_view(sc, train=False)
    jobs = Jobs(node=None, ahead=False)
    same = History(losses=[1.5], epochs=[0], weights=view.history.weights)
    moved = view.with_history(same, epoch=view.epoch)
    assert moved.needs_trace
    got = jobs.trace(moved)
    assert not got.needs_trace and got.trace is view.trace
    other = History(losses=[1.5], epochs=[0], weights=[w.copy() for w in same.weights])
    fresh = jobs.trace(view.with_history(other, epoch=view.epoch))
    assert not fresh.needs_trace and fresh.trace is not view.trace  # other weights: computed
    assert np.array_equal(fresh.trace.h, view.trace.h)
