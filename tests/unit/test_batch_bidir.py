"""Padded batches of a bidirectional model (engine/batch.py with engine/cells/bidir.py): with
the mask each row is its single run in both directions to 1e-12 (the backward direction starts
at the row's last real step); without it the backward direction starts at the padded end and
reads the pads first; central differences either way; training passes the lengths."""

import numpy as np
import pytest
from helpers import assert_batch_is_its_rows, central_differences

from engine import loads
from engine.batch import pad_batch, run_batch
from engine.cells import CELLS, bidir, get_cell, init_for
from engine.types import ModelConfig, Sequence

I, H, O = 3, 4, 2
LENGTHS = (5, 2, 4, 1)


def _sequences(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for n in LENGTHS:
        Y = rng.normal(size=(n, O))
        mask = rng.random(n) > 0.3
        mask[-1] = True
        Y[~mask] = 0.0
        out.append(Sequence(rng.normal(size=(n, I)), Y, mask, [""] * n, [None] * n))
    return out


def _bi(name, seed=1):
    scales = {k: 0.7 for k in get_cell(name).scale_names}
    params = init_for(ModelConfig(hidden_size=H, cell=name, init="normal", init_scale=scales,
                                  seed=seed, bidirectional=True), I, O)
    rng = np.random.default_rng(seed + 100)
    for a in params.arrays():  # noise everywhere: no relu on its kink, no zero bias (IRNN)
        a += rng.normal(scale=0.3, size=a.shape)
    return params


def _alone(params, X, Y=None, M=None):
    return bidir.run(get_cell(params.cell), params, X[:, None], None if Y is None else Y[:, None],
                     None if M is None else M[:, None], output="identity")


@pytest.mark.parametrize("name", CELLS)
def test_mask_on_is_each_row_alone_in_both_directions(name):
    params, seqs = _bi(name), _sequences()
    batch = pad_batch(seqs)
    bp = run_batch(params, batch, output="identity")
    singles = []
    for b, s in enumerate(seqs):
        k = len(s)
        one = _alone(params, s.inputs, s.targets, s.mask)
        singles.append(one)
        assert np.abs(bp.h[:k, b] - one.h[:, 0]).max() <= 1e-12
        # forward: its final state at the last real step; backward: at step 0, read last
        assert np.abs(bp.final["h"][b] - one.h[k - 1, 0, :H]).max() <= 1e-12
        assert np.abs(bp.final["h_bwd"][b] - one.h[0, 0, H:]).max() <= 1e-12
        if "c" in get_cell(name).state:
            assert np.abs(bp.final["c"][b] - one.fwd.c[k - 1, 0]).max() <= 1e-12
            assert np.abs(bp.final["c_bwd"][b] - one.bwd.c[k - 1, 0]).max() <= 1e-12
        carried = np.concatenate([bp.final["h"][b], bp.final["h_bwd"][b]])
        assert np.array_equal(bp.h[k:, b], np.broadcast_to(carried, bp.h[k:, b].shape))
    assert bp.dh.shape == (batch.T, batch.B, 2 * H)
    assert_batch_is_its_rows(bp, singles)


@pytest.mark.parametrize("name", CELLS)
def test_mask_off_the_backward_direction_reads_the_pads_first(name):
    params, seqs = _bi(name), _sequences()
    batch = pad_batch(seqs, masked=False)
    bp = run_batch(params, batch, output="identity")
    T = batch.T
    garbage = 0.0
    for b, s in enumerate(seqs):
        k = len(s)
        one = _alone(params, s.inputs)
        padded = _alone(params, batch.X[:, b])  # the padded row, read back from T - 1
        # forward: the real steps are the single run's (the pads come after them)
        assert np.abs(bp.h[:k, b, :H] - one.h[:, 0, :H]).max() <= 1e-12
        # backward: the padded row read from its end, pads first
        assert np.abs(bp.h[:, b, H:] - padded.h[:, 0, H:]).max() <= 1e-12
        assert np.abs(bp.final["h"][b] - bp.h[T - 1, b, :H]).max() == 0
        assert np.abs(bp.final["h_bwd"][b] - bp.h[0, b, H:]).max() == 0
        if k < T:  # a short row's backward states, real steps included, are garbage
            garbage = max(garbage, np.abs(bp.h[:k, b, H:] - one.h[:, 0, H:]).max())
    # (a relu can wipe the pads' state out at a real step, so not every row shows it)
    assert garbage > 1e-3


@pytest.mark.parametrize("masked", [True, False])
def test_bidirectional_batch_gradients_match_central_differences(masked):
    for name in CELLS:
        params, seqs = _bi(name, seed=3), _sequences(4)
        batch = pad_batch(seqs, masked)
        bp = run_batch(params, batch, output="sigmoid")
        for arr, g in zip(params.arrays(), bp.grads.arrays()):
            num = central_differences(
                arr, lambda: run_batch(params, batch, output="sigmoid", backward=False).loss)
            scale = max(np.abs(num).max(), 1e-8)
            assert np.abs(num - g).max() / scale < 1e-6, (name, arr.shape, masked)


def test_a_bidirectional_padded_scenario_loads_and_trains_from_each_rows_end(monkeypatch):
    import engine.train as train
    sc = loads('[scenario]\nname = "e"\nkind = "echo"\n[model]\nbidirectional = true\n'
               'hidden_size = 3\n[train]\npad = true\nbatch_size = 2\nepochs = 1\n'
               '[data]\nlength = 4\nsequences = 4\n')
    seen, real = [], train.run

    def spy(*a, **k):
        seen.append(k.get("lengths"))
        return real(*a, **k)
    monkeypatch.setattr(train, "run", spy)
    train.fit(sc, 1)
    want = [len(s) for s in sc.train_sequences]
    # (the held-out loss runs whole sequences, lengths None)
    assert [list(x) for x in seen if x is not None] == [want[i:i + 2] for i in range(0, len(want), 2)]
