"""Bidirectional models (engine/cells/bidir.py): exact gradients for every cell, the backward
direction reading each row from its last real step, the loader's refusal where a target is a
later input, the cache, and the built-in `apple` (a one-way cell at chance, both ways right)."""

import dataclasses
import re

import numpy as np
import pytest
from helpers import central_differences

from engine import ScenarioError, fit, load, loads
from engine.cells import CELLS, get_cell, init_for, run
from engine.cells.bidir import BiParams, reversal
from engine.kinds import KINDS, get_kind
from engine.predict import held_out_accuracy
from engine.types import ModelConfig

SCALES = {k: 0.7 for k in ("W_x", "W_h", "b", "W_y", "b_y", "b_hn")}


def _bi(cell, H=3, I=2, O=3, seed=0):
    model = ModelConfig(hidden_size=H, cell=cell, init="normal", init_scale=SCALES, seed=seed,
                        bidirectional=True)
    return init_for(model, I, O)


@pytest.mark.parametrize("cell", CELLS)
def test_every_bidirectional_gradient_matches_central_differences(cell):
    rng = np.random.default_rng(CELLS.index(cell))
    params = _bi(cell, seed=CELLS.index(cell))
    T, B = 4, 2
    X = rng.normal(size=(T, B, 2))
    Y = np.eye(3)[rng.integers(0, 3, size=(T, B))]
    M = np.ones((T, B), dtype=bool)
    M[1, 0] = False
    p = run(params, X, Y, M)
    for arr, grad in zip(params.arrays(), p.grads.arrays()):
        num = central_differences(arr, lambda: run(params, X, Y, M, backward=False).loss)
        scale = max(np.abs(num).max(), 1e-8)
        assert np.abs(num - grad).max() / scale < 1e-6, (cell, arr.shape)


def test_two_directions_have_twice_the_cell_weights_and_a_read_out_of_both():
    for cell in CELLS:
        one = get_cell(cell).init(5, 4, 3)
        both = _bi(cell, H=5, I=4, O=3)
        cell_part = sum(a.size for a in one.arrays()) - one.W_y.size - one.b_y.size
        assert sum(a.size for a in both.arrays()) == 2 * cell_part + 3 * 10 + 3
        assert both.W_y.shape == (3, 10) and both.hidden_size == 5 and both.cell == cell
    # the forward direction starts as the one-way model of the same seed
    one = init_for(ModelConfig(hidden_size=5, cell="gru", seed=4), 4, 3)
    both = init_for(ModelConfig(hidden_size=5, cell="gru", seed=4, bidirectional=True), 4, 3)
    assert np.array_equal(both.fwd.W_h, one.W_h) and np.array_equal(both.W_y[:, :5], one.W_y)
    assert not np.array_equal(both.bwd.W_h, one.W_h)


def test_the_backward_state_at_t_is_the_cell_run_over_the_rest_reversed():
    params = _bi("lstm", H=4, I=3)
    X = np.random.default_rng(2).normal(size=(6, 1, 3))
    p = run(params, X, backward=False)
    cell = get_cell("lstm")
    for t in range(6):
        alone = cell.forward(params.bwd, X[t:][::-1])
        np.testing.assert_allclose(p.h_bwd()[t], alone.h[-1], rtol=0, atol=1e-14)
        np.testing.assert_allclose(p.h[t, :, :4], cell.forward(params.fwd, X[:t + 1]).h[-1],
                                   rtol=0, atol=1e-14)


def test_each_row_is_read_backwards_from_its_own_last_real_step():
    rev = reversal(5, [5, 2, 3], 3)
    assert rev[:, 1].tolist() == [1, 0, 2, 3, 4] and rev[:, 2].tolist() == [2, 1, 0, 3, 4]
    assert (rev[rev, np.arange(3)] == np.arange(5)[:, None]).all()  # its own inverse
    from engine.cells import bidir
    params = _bi("gru", H=3, I=2)
    X = np.random.default_rng(5).normal(size=(5, 2, 2))
    p = bidir.run(get_cell("gru"), params, X, lengths=[5, 3], backward=False)
    short = run(params, X[:3, 1:], backward=False)  # the second row alone, its 3 real steps
    np.testing.assert_allclose(p.h[:3, 1], short.h[:, 0], rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind,data,why", [
    ("text", '[data]\ntext = ["the cat sat", "the dog ran"]',
     "the target at step t is the word at step t+1"),
    ("series", "[data]\npoints = 30", "the value at step t+1"),
])
def test_the_loader_refuses_both_ways_where_targets_are_later_inputs(kind, data, why):
    text = (f'[scenario]\nname = "x"\nkind = "{kind}"\n\n[model]\nbidirectional = true\n\n'
            f"{data}\n")
    with pytest.raises(ScenarioError) as err:
        loads(text)
    msg = str(err.value)
    assert "\n" not in msg and ":6:" in msg and "bidirectional" in msg and why in msg
    assert f"a {kind} scenario cannot be bidirectional" in msg


def test_the_refusal_asks_the_kind_registry():
    able = [k for k in KINDS if get_kind(k).reads_both_ways]
    assert "tagging" in able and "echo" in able and "text" not in able and "series" not in able
    sc = loads('[scenario]\nname = "e"\nkind = "echo"\n[model]\nbidirectional = true\n'
               '[data]\nlength = 6\nsequences = 4\n')
    assert sc.model.bidirectional and isinstance(init_for(sc.model, 1, 1), BiParams)
    with pytest.raises(ScenarioError, match="must be true or false"):
        loads('[scenario]\nname = "e"\nkind = "echo"\n[model]\nbidirectional = "yes"\n')


def test_apple_needs_both_directions():
    """On the held-out sentences a one-way cell is exactly at chance (every prefix comes with
    both tags) and the bidirectional one names every tag."""
    sc = load("apple")
    assert sc.model.bidirectional
    one_way = dataclasses.replace(sc, model=dataclasses.replace(sc.model, bidirectional=False))
    right, total = held_out_accuracy(one_way, fit(one_way).weights[-1])
    assert total == 8 and right == 4
    right, total = held_out_accuracy(sc, fit(sc).weights[-1])
    assert right == total == 8


def test_a_bidirectional_run_goes_through_the_cache_exactly():
    from rnntui import cache
    sc = loads('[scenario]\nname = "e"\nkind = "echo"\n[model]\nbidirectional = true\n'
               'cell = "lstm"\nhidden_size = 3\n[train]\nepochs = 2\noptimizer = "adam"\n'
               '[data]\nlength = 6\nsequences = 4\n')
    fresh = fit(sc)
    assert cache.store(sc, fresh)
    loaded = cache.load(sc)
    assert isinstance(loaded.tip, BiParams)
    for p, q in zip(fresh.weights + [fresh.tip], loaded.weights + [loaded.tip]):
        assert all(np.array_equal(a, b) for a, b in zip(p.arrays(), q.arrays()))
    on = fit(sc, 2, history=loaded).tip.arrays()
    assert all(np.array_equal(a, b) for a, b in zip(on, fit(sc, 2, history=fresh).tip.arrays()))


def test_the_budget_counts_both_directions():
    from engine import budget
    sc = load("apple")
    one = dataclasses.replace(sc, model=dataclasses.replace(sc.model, bidirectional=False))
    both, single = budget.estimate(sc), budget.estimate(one)
    assert both.train_ops > single.train_ops and both.trace_ops > single.trace_ops
    assert both.params_bytes == 8 * sum(a.size for a in init_for(sc.model, 32, 2).arrays())


def test_the_classroom_sends_both_directions_and_puts_them_back():
    """A follower replaces its weights with the presenter's by name: every array of both
    directions must be named (a one-way model's names are as they were)."""
    from engine.cells.base import with_weights
    from rnntui.classroom.protocol import weight_arrays
    assert [n for n, _ in weight_arrays(get_cell("gru").init(3, 2, 2))] == \
        ["W_x", "W_h", "b", "W_y", "b_y", "b_hn"]
    params = _bi("gru", H=3, I=2, O=2)
    sent = weight_arrays(params)
    assert [n for n, _ in sent][:4] == ["fwd__W_x", "fwd__W_h", "fwd__b", "fwd__b_hn"]
    assert sum(a.size for _, a in sent) == sum(a.size for a in params.arrays())
    other = _bi("gru", H=3, I=2, O=2, seed=9)
    back = with_weights(other, {n: a.copy() for n, a in sent})
    assert all(np.array_equal(a, b) for a, b in zip(back.arrays(), params.arrays()))


@pytest.mark.parametrize("size", [(25, 14), (40, 20), (60, 30)])
def test_the_two_directions_bars_share_one_axis(size):
    """The h← rows' axis stood a column left of the h→ rows' when their widest values differed
    in length (+0.01727 above, +0.9828 below)."""
    from helpers import draw_pane, make_view

    from rnntui.widgets.hidden import HiddenPane
    view = make_view("apple", train=True)
    for t in range(view.T):
        text = draw_pane(view.at(t), HiddenPane, *size)
        rows = [line for line in text.splitlines() if re.match(r"\s*h\d+ ", line)]
        assert len(rows) >= 4 and len({row.index("│") for row in rows}) == 1, (t, text)
