"""Padded batches and the mask (engine/batch.py): exact against the single runs, checked by
central differences, counted, and the scenario keys that ask for them."""

import dataclasses

import numpy as np
import pytest
from helpers import assert_batch_is_its_rows

from engine import scenario as S
from engine.batch import pad_batch, packing, padded_batches, run_batch
from engine.cells import CELLS, get_cell
from engine.epochs import batches, training_batches
from engine.types import ScenarioError, Sequence, TrainConfig

I, H, O = 3, 4, 2
LENGTHS = (5, 2, 4, 1)


def _sequences(seed=0, lengths=LENGTHS, output="identity"):
    rng = np.random.default_rng(seed)
    out = []
    for n in lengths:
        X = rng.normal(size=(n, I))
        Y = rng.normal(size=(n, O)) if output == "identity" else (rng.random((n, O)) > 0.5) * 1.0
        mask = rng.random(n) > 0.3
        mask[-1] = True  # every row ends with a target (its answer)
        if n > 2:
            mask[0] = False  # and a real step without a target updates the state, uncounted
        Y[~mask] = 0.0
        out.append(Sequence(X, Y, mask, [""] * n, [None] * n))
    return out


def _params(name, seed=1):
    """Random weights for the cell ``name`` (its own init plus noise everywhere, so that no
    relu sits exactly on its kink, as the IRNN's W_h = I and b = 0 would make it)."""
    scales = {k: 0.7 for k in get_cell(name).scale_names}
    params = get_cell(name).init(H, I, O, init="normal", scales=scales, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for a in params.arrays():
        a += rng.normal(scale=0.3, size=a.shape)
    return params


def _single(params, s, output="identity"):
    return get_cell(params.cell).run(params, s.inputs, s.targets, s.mask, output=output)


@pytest.mark.parametrize("name", CELLS)
def test_mask_on_is_each_sequence_run_alone(name):
    """With the mask every row's states at its real steps and its final state are those of
    the sequence run alone, the loss is the mean over the real target steps, and the gradient
    is the single runs' gradients weighted by their target counts: to 1e-12, every cell."""
    params, seqs = _params(name), _sequences()
    bp = run_batch(params, pad_batch(seqs), output="identity")
    cell = get_cell(name)
    singles = []
    for b, s in enumerate(seqs):
        one = _single(params, s)
        singles.append(one)
        k = len(s)
        assert np.abs(bp.h[:k, b] - one.h[:, 0]).max() <= 1e-12
        for part in cell.state:
            alone = (one.h if part == "h" else getattr(one, part))[-1, 0]
            assert np.abs(bp.final[part][b] - alone).max() <= 1e-12
        # a pad step changes nothing: it shows the last real state carried on
        assert np.array_equal(bp.h[k:, b], np.broadcast_to(bp.final["h"][b], bp.h[k:, b].shape))
    # the loss and gradient are the rows' weighted by their targets; nothing flows back from
    # a pad step: dL/dh is exactly 0 there
    assert_batch_is_its_rows(bp, singles)


@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("name", CELLS)
def test_batch_gradients_match_central_differences(name, masked):
    output = "sigmoid"
    params, seqs = _params(name, seed=2), _sequences(3, output=output)
    batch = pad_batch(seqs, masked)
    bp = run_batch(params, batch, output=output)
    rng = np.random.default_rng(5)
    eps = 1e-6
    for arr, g in zip(params.arrays(), bp.grads.arrays()):
        for flat in rng.choice(arr.size, size=min(4, arr.size), replace=False):
            idx = np.unravel_index(flat, arr.shape)
            keep = arr[idx]
            arr[idx] = keep + eps
            up = run_batch(params, batch, output=output, backward=False).loss
            arr[idx] = keep - eps
            down = run_batch(params, batch, output=output, backward=False).loss
            arr[idx] = keep
            numeric = (up - down) / (2 * eps)
            assert abs(numeric - g[idx]) <= 1e-7 + 1e-6 * abs(numeric), (name, idx)


@pytest.mark.parametrize("name", CELLS)
def test_mask_off_lets_the_pads_in(name):
    """Without the mask the short rows' final states are taken after the pads (not those of
    the single runs), their answer is asked at the last step, and the gradient reaches the
    weights through the pad steps."""
    params, seqs = _params(name), _sequences()
    on, off = pad_batch(seqs, True), pad_batch(seqs, False)
    T = on.T
    short = [b for b, s in enumerate(seqs) if len(s) < T]
    assert short
    assert list(off.last()) == [T - 1] * len(seqs)
    assert list(on.last()) == [n - 1 for n in LENGTHS]
    bp = run_batch(params, off, output="identity")
    for b in short:
        n = len(seqs[b])
        alone = _single(params, seqs[b]).h[-1, 0]
        assert np.abs(bp.final["h"][b] - alone).max() > 1e-3
        assert off.M[T - 1, b] and not off.M[n - 1, b]
        assert np.array_equal(off.Y[T - 1, b], seqs[b].targets[-1])
        # the row's last real step has lost its target: its gradient came through the pads
        assert np.abs(bp.dh[n - 1, b]).max() > 0 and np.abs(bp.dh[n:, b]).min() > 0
    # the pads go in as the zero vector either way
    assert not off.X[~off.real].any() and not on.X[~on.real].any()


def test_packing_counts_the_seeds_example():
    """Lengths 5 and 2 padded to 5 are 10 steps for 7 real ones; sorting by length puts equal
    lengths together."""
    five_two = _sequences(lengths=(5, 2))
    assert packing(five_two, 2) == (7, 10)
    mixed = _sequences(lengths=(5, 1, 5, 1))
    assert packing(mixed, 2) == (12, 20)
    assert packing(mixed, 2, sort=True) == (12, 12)
    b = pad_batch(five_two)
    assert (b.real_steps, b.padded_steps) == (7, 10)


def test_unpadded_training_batches_are_the_old_ones():
    """[train] pad = false (the default) batches as before: one length per batch."""
    seqs = _sequences(lengths=(3, 3, 2, 3, 2))
    old = batches(seqs, 2)
    new = training_batches(seqs, TrainConfig(batch_size=2))
    assert len(old) == len(new) == 3
    for a, b in zip(old, new):
        for x, y in zip(a, b):
            assert np.array_equal(x, y)
    padded = training_batches(seqs, TrainConfig(batch_size=2, pad=True))
    assert [x.shape[1] for x, _, _ in padded] == [2, 2, 1]
    assert [x.shape[0] for x, _, _ in padded] == [3, 3, 2]
    assert len(padded_batches(seqs, 2, sort=True)) == 3


BASE = """
[scenario]
name = "p"
kind = "majority"
[train]
batch_size = 4
{extra}
[data]
sequences = 8
"""


def test_train_keys():
    sc = S.loads(BASE.format(extra="pad = true\nmask = false\nsort = true"))
    assert (sc.train.pad, sc.train.mask, sc.train.sort) == (True, False, True)
    default = S.loads(BASE.format(extra=""))
    assert (default.train.pad, default.train.mask, default.train.sort) == (False, True, False)
    with pytest.raises(ScenarioError, match=r":7: \[train\]\.mask: applies to padded batches only"):
        S.loads(BASE.format(extra="mask = false"))
    with pytest.raises(ScenarioError, match=r"\[train\]\.pad: must be true or false, got"):
        S.loads(BASE.format(extra="pad = 1"))
    with pytest.raises(ScenarioError, match=r"\[data\]\.longest: must be at least shortest"):
        S.loads(BASE.format(extra="") + "shortest = 5\nlongest = 3\n")


def test_majority_sequences():
    sc = S.loads(BASE.format(extra="") + "shortest = 3\nlongest = 6\n")
    lengths = {len(s) for s in sc.train_sequences + sc.test_sequences}
    assert lengths <= set(range(3, 7)) and len(lengths) > 1
    for s in sc.train_sequences:
        ones = int(s.inputs.sum())
        assert s.mask.tolist() == [False] * (len(s) - 1) + [True]
        assert s.targets[-1, 0] == (1.0 if 2 * ones > len(s) else 0.0)


def test_pads_builtin_drops_without_the_mask():
    """The figures the description of `pads` quotes: held-out accuracy with and without the
    mask, trained as the file says."""
    from engine.predict import held_out_accuracy
    from engine.train import fit
    sc = S.load("pads")
    got = {}
    for mask in (True, False):
        s2 = dataclasses.replace(sc, train=dataclasses.replace(sc.train, mask=mask))
        got[mask] = held_out_accuracy(s2, fit(s2).weights[-1])
    assert got == {True: (195, 200), False: (107, 200)}
    for words in ("97.5% of 200", "(195 of 200)", "53.5% (107 of 200)", "65%"):
        assert words in " ".join(sc.description.split())
    zeros = sum(s.targets[-1, 0] == 0 for s in sc.test_sequences)
    assert zeros == 130  # always answering 0 gets 65%


def test_pads_description_counts_the_steps_both_ways():
    sc = S.load("pads")
    real, in_order = packing(sc.train_sequences, sc.train.batch_size, False)
    _, by_length = packing(sc.train_sequences, sc.train.batch_size, True)
    words = " ".join(sc.description.split())
    assert f"runs {in_order} steps for {real} real ones" in words
    assert f"sorted by length instead, like lengths together: {by_length} steps" in words
