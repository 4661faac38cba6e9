"""The Batch pane (rnntui/widgets/batch.py) drawn from a View, with no app, and the keys B and u
in the app once."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import draw_pane, make_view, pane_text, settle, status, wait_until

from engine import scenario as S
from engine.batch import packing, run_batch, training_batch
from rnntui.widgets.batch import PAD, BatchPane


def _pads(mask=True):
    sc = S.load("pads")
    return dataclasses.replace(sc, train=dataclasses.replace(sc.train, mask=mask))


def _first_batch(sc):
    return [sc.train_sequences[i] for i in training_batch(sc, 0)[1]]


@pytest.mark.parametrize("mask", [True, False])
def test_the_pane_shows_the_padded_batch_its_mask_and_its_cost(mask):
    sc = _pads(mask)
    rows = _first_batch(sc)
    lengths = [len(s) for s in rows]
    T, B = max(lengths), len(rows)
    view = make_view(sc, t=T - 1)
    tall = draw_pane(view, BatchPane, 116, 8).splitlines()
    assert f"h_t: [{B}, {sc.model.hidden_size}]" in tall[0]
    for b, s in enumerate(rows):
        line = tall[1 + b]
        bits = "".join(s.labels) + PAD * (T - len(s))  # the cursor at t = T - 1: [last]
        assert " ".join(bits[:-1]) + f"[{bits[-1]}]" in line and f"len {len(s)}" in line
        told = "1" * T if not mask else "1" * len(s) + "0" * (T - len(s))
        assert f" {told[:-1]}[{told[-1]}] " in line
    assert tall[1].startswith("▸#1 ")  # the scenario's own sequence is the batch's first row
    assert f"this batch {T * B} steps for {sum(lengths)} real" in tall[5]
    if mask:
        ends = ", ".join(str(n - 1) for n in lengths)
        assert f"final h read at t={ends}: each row's last real step" in tall[7]
        assert "mask on (u)" in tall[6]
    else:
        pads = ", ".join(str(T - n) for n in lengths)
        assert f"final h read at t={T - 1} in every row, after {pads} pads" in tall[7]
        assert f"mask off (u) · answers read at t={T - 1}, after the pads" in tall[6]
    # 80x24: no header; the shape and the counts share the one footer line
    small = draw_pane(view, BatchPane, 76, 5).splitlines()
    assert f"h_t: [{B}, {sc.model.hidden_size}] · {T * B} steps for {sum(lengths)} real" \
        in small[-1] and f"mask {'on' if mask else 'off'} (u)" in small[-1]
    narrow = draw_pane(view, BatchPane, 56, 5).splitlines()
    assert narrow[-1].startswith(f"h_t: [{B}, {sc.model.hidden_size}] · mask ")
    assert f"{T * B} steps for {sum(lengths)} real" in narrow[-1]
    for w, h in [(1, 1), (20, 4), (56, 5), (60, 20), (116, 8), (200, 3)]:
        draw_pane(view, BatchPane, w, h)


def test_the_epoch_counts_are_those_of_packing():
    sc = _pads()
    real = sum(len(s) for s in sc.train_sequences)
    padded = sum(max(len(s) for s in sc.train_sequences[i:i + 4]) * len(sc.train_sequences[i:i + 4])
                 for i in range(0, len(sc.train_sequences), 4))
    text = draw_pane(make_view(sc), BatchPane, 116, 8)
    assert f"epoch {padded} for {real}" in text


def test_a_scenario_without_padding_says_how_to_get_it():
    text = draw_pane(make_view("echo"), BatchPane, 76, 5)
    assert "pad = true under [train]" in text


def test_ended_rows_show_their_final_state():
    """At the cursor, a row that ended holds its last real state (the pane draws it dim),
    the state the single run ends in."""
    sc = _pads()
    _, _, batch = training_batch(sc, 0)
    view = make_view(sc)
    bp = run_batch(view.trace.params, batch, output=sc.model.output)
    t = batch.T - 1
    for b, n in enumerate(batch.lengths):
        alone = run_batch(view.trace.params, dataclasses.replace(
            batch, sequences=[batch.sequences[b]], X=batch.X[:n, b:b + 1],
            Y=batch.Y[:n, b:b + 1], M=batch.M[:n, b:b + 1], lengths=batch.lengths[b:b + 1]),
            output=sc.model.output)
        assert np.abs(bp.h[t, b] - alone.h[-1, 0]).max() <= 1e-12


SMALL_PADS = """
[scenario]
name = "small"
kind = "majority"
[model]
hidden_size = 4
[train]
epochs = 3
batch_size = 4
pad = true
[data]
sequences = 12
"""


def _small_app(app_factory, tmp_path):
    """The app on a small padded scenario, trained for a moment only: the keys are the point."""
    small = tmp_path / "small.toml"
    small.write_text(SMALL_PADS, encoding="utf-8")
    return app_factory(str(small))


@pytest.mark.warm_cache
async def test_keys_b_and_u_move_through_batches_and_switch_the_mask(app_factory, tmp_path):
    app = _small_app(app_factory, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        pane = screen.query_one("#batch")
        assert pane.display and not screen.query_one("#sequence").display
        await pilot.press("B")
        await settle(pilot)
        view = screen.view
        sc = view.scenario
        _, rows, _ = training_batch(sc, 4)
        assert view.example == max(rows, key=lambda i: len(sc.train_sequences[i]))
        assert "mask on (u)" in pane_text(pane)
        await pilot.press("u")
        await settle(pilot)
        assert not screen.view.scenario.train.mask and screen.view.example == view.example
        assert "mask off (u)" in pane_text(pane)  # (its training has started meanwhile)
        await pilot.press("u")  # the trained mask-on run was kept: back at once
        await settle(pilot)
        assert screen.view.scenario.train.mask and screen.view.training is None
        assert "mask on (u)" in pane_text(pane) and "epoch 3/3" in status(app)


@pytest.mark.warm_cache
async def test_key_s_sorts_the_batches_by_length_and_keeps_each_training(app_factory, tmp_path):
    """Key s: the epoch's batches sorted by length or in file order, the steps counted beside
    the rows at 80x24; each setting trains once and then comes back at once."""
    app = _small_app(app_factory, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        pane = screen.query_one("#batch")
        sc = screen.view.scenario
        real, in_order = packing(sc.train_sequences, 4, False)
        _, by_length = packing(sc.train_sequences, 4, True)
        assert in_order > by_length  # the point of sorting, in this scenario too
        text = pane_text(pane)
        assert "in file order (s)" in text and f"epoch {in_order} for {real} real" in text
        assert f"sorted by length: {by_length}" in text
        await pilot.press("s")
        await wait_until(pilot, lambda: screen.view.training is None
                         and screen.view.scenario.train.sort, "the sorted run trained")
        text = pane_text(pane)
        assert "sorted by length (s)" in text and f"epoch {by_length} for {real} real" in text
        assert f"file order: {in_order}" in text
        sorted_run = screen.view.history
        await pilot.press("s")  # file order was trained: back at once
        await settle(pilot)
        assert not screen.view.scenario.train.sort and screen.view.training is None
        await pilot.press("s")  # and the sorted run is kept
        await settle(pilot)
        assert screen.view.scenario.train.sort and screen.view.training is None
        assert screen.view.history is sorted_run
        screen.maximize(pane)  # as the lesson's packing step does: all the room, every line
        await settle(pilot)
        text = pane_text(pane)
        assert pane.size.height > 10, pane.size
        assert f"epoch {by_length} steps for {real} real sorted by length (s), {in_order} in " \
            "file order" in text


@pytest.mark.parametrize("mask", [True, False])
def test_backward_the_block_is_the_gradient_zero_at_a_masked_pad(mask):
    """In the backward pass the block is dL/dh_t: nothing flows back from a masked pad (the
    rows that ended show 0); without the mask the gradient reaches them through the pads."""
    from rnntui.view import BACKWARD
    sc = _pads(mask)
    rows = _first_batch(sc)
    T = max(len(s) for s in rows)
    lines = draw_pane(make_view(sc, t=T - 1, phase=BACKWARD), BatchPane, 116, 8).splitlines()
    assert f"dL/dh_t: [{len(rows)}, {sc.model.hidden_size}]" in lines[0]
    for b, s in enumerate(rows):
        block = lines[1 + b].split(" len ")[0].rstrip().rsplit(" ", 1)[-1]
        ended = len(s) < T
        assert (block == "0") == (ended and mask), (b, lines[1 + b])


@pytest.mark.parametrize("size", [(56, 5), (76, 5), (116, 8), (40, 5)])
def test_the_cursor_and_the_rows_read_without_colour(size):
    """In plain text (a screen reader, tmux capture-pane, no colour) the cursor's step t is in
    [brackets] on every row, in the inputs and in the mask; each row is named #1, #2, …
    (▸ on the stepped one), so its name never reads as one more input; the columns are named
    at 80x24 too, where the pane has no header line."""
    import re
    sc = _pads()
    rows = _first_batch(sc)
    T = max(len(s) for s in rows)
    w, h = size
    for t in (0, 3, T - 1):
        lines = draw_pane(make_view(sc, t=t), BatchPane, w, h).splitlines()
        body = [line for line in lines if re.match(r"[▸ ]#\d", line)]
        assert len(body) == len(rows), lines
        for b, line in enumerate(body):
            assert line.startswith(f"{'▸' if b == 0 else ' '}#{b + 1} "), line
            inputs, mask = re.findall(r"\[(.)\]", line)[:2]
            bits = "".join(rows[b].labels) + PAD * (T - len(rows[b]))
            assert inputs == bits[t]
            before = line[3:].split("[", 1)[0].replace(" ", "")
            assert before == bits[:t], (t, line)
            assert mask == ("1" if t < len(rows[b]) else "0")
        if size == (76, 5):
            assert re.search(r"x_t, t=0\.\.\d+ +mask on \(u\) +h_t: \[4, 8\]", lines[-1])


@pytest.mark.parametrize("size", [(56, 5), (76, 5), (76, 18), (116, 8)])
def test_the_pane_says_when_the_batches_are_sorted(size):
    """Key s sorts the batches by length: at every size the pane says so (60x20 included),
    with the steps that this batch runs."""
    sc = _pads()
    sc = dataclasses.replace(sc, train=dataclasses.replace(sc.train, sort=True))
    _, _, batch = training_batch(sc, 0)
    text = draw_pane(make_view(sc), BatchPane, *size)
    assert "sorted (s)" in text or "sorted by length (s)" in text, text
    assert f"{batch.padded_steps} steps for {batch.real_steps} real" in text \
        or f"{batch.padded_steps} for {batch.real_steps} real" in text


def test_the_legend_names_no_one_scenarios_sizes():
    """The legend (key k) is the same for every padded scenario: the block's shape is [B, H],
    not the [4, 8] of pads (a scenario of 4 units would read a wrong number)."""
    import re
    assert re.search(r"\[\d+, \d+\]", BatchPane.LEGEND) is None
    assert "h_t: [B, H]" in BatchPane.LEGEND


@pytest.mark.parametrize("mask", [True, False])
def test_a_bidirectional_batch_shows_both_directions_side_by_side(mask):
    """apple with pad = true: the block is [h→ ; h←] (2H columns, a bar between the halves),
    its shape written out, and the final-state line says where each direction's is read."""
    sc = S.load("apple")
    sc = dataclasses.replace(sc, train=dataclasses.replace(sc.train, pad=True, mask=mask))
    rows = _first_batch(sc)
    lengths = [len(s) for s in rows]
    T, B, H = max(lengths), len(rows), sc.model.hidden_size
    view = make_view(sc, t=0)
    tall = draw_pane(view, BatchPane, 116, 8).splitlines()
    assert f"[h→;h←]_t: [{B}, {2 * H}]" in tall[0]
    for b in range(B):
        block = tall[1 + b].rsplit(" len ", 1)[0][-(2 * H + 1):]
        assert block[H] == "│", tall[1 + b]
    if mask:
        ends = ", ".join(str(n - 1) for n in lengths)
        assert f"final h→ read at t={ends}; h← at t=0 (h← starts at each row's last " \
               "real step)" in tall[7]
    else:
        pads = ", ".join(str(T - n) for n in lengths)
        assert f"final h→ read at t={T - 1}; h← at t=0; both after {pads} pads (h← reads " \
               "them first)" in tall[7]
    small = draw_pane(view, BatchPane, 76, 5).splitlines()  # 80x24: all of it still fits
    assert small[-1].startswith(f"[h→;h←]_t: [{B}, {2 * H}] · mask {'on' if mask else 'off'}")
    assert all("│" in line for line in small[:B])


def test_with_fresh_batches_the_rows_are_said_to_be_the_fixed_sets():
    """fresh = true: training draws new sequences for every update, so the rows the pane shows
    (the fixed set's) are not what trained, and an epoch's steps are not their packing's."""
    sc = S.load("pads")
    fresh = dataclasses.replace(sc, train=dataclasses.replace(sc.train, fresh=True))
    n = -(-len(sc.train_sequences) // sc.train.batch_size)
    for size in [(116, 9), (116, 8), (76, 5), (56, 5)]:  # roomy, 120x40, 80x24, 60x20
        plain = draw_pane(make_view(sc), BatchPane, *size)
        text = draw_pane(make_view(fresh), BatchPane, *size)
        assert "fixed set" not in plain and "fresh" not in plain, (size, plain)
        assert "fixed set" in text, (size, text)
        if size[1] >= 8:  # (said in words where there are lines for it)
            assert "fresh batches" in text and "draw" in text, (size, text)
        e_real, e_padded = packing(sc.train_sequences, sc.train.batch_size, False)
        assert f"{e_padded} for {e_real}" not in text  # (the fixed set's epoch: not what trains)
    tall = draw_pane(make_view(fresh), BatchPane, 116, 9)
    assert f"epoch fresh batches: {n} updates, each on newly drawn sequences" in tall
