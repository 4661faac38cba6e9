"""The panes mounted in an App and handed a View (``pane.show(view)``): the numbers they print at
the size their border and padding leave, their marks, and what makes them redraw."""

from __future__ import annotations

import re

import numpy as np
from helpers import Nav, make_view, pane_app, shown

from rnntui.view import BACKWARD
from rnntui.widgets import (GradientPane, HiddenPane, LossPane, OutputPane, RetentionPane,
                            SequencePane, StepPane)
from rnntui.widgets._draw import fmt, fmt_abs, fmt_pow10
from rnntui.widgets.step import backward_parts

PANES = [SequencePane, StepPane, HiddenPane, OutputPane, GradientPane, RetentionPane, LossPane]


async def test_step_pane_prints_the_traces_numbers():
    v = make_view("king", train=True, t=2)
    tr, t = v.trace, 2
    text, _ = await shown(v, StepPane, size=(120, 40))
    p = tr.params
    rec = p.W_h @ tr.h_prev[t]
    inp = p.W_x @ tr.x[t] + p.b
    rows = {line.split()[0]: line for line in text.split("\n") if re.match(r"^ ?h\d+ ", line)}
    H = tr.h.shape[1]
    assert len(rows) == H
    for u in range(H):
        want = [fmt(tr.h_prev[t][u]), fmt(rec[u]), fmt(inp[u]), fmt(tr.a[t][u]), fmt(tr.h[t][u])]
        assert rows[f"h{u}"].split()[1:] == want
    assert np.allclose(rec + inp, tr.a[t])  # the columns add up to a_t
    name, p_best = v.prediction(t)
    assert f"'{name}' p={fmt_abs(p_best)}" in text
    assert fmt_abs(tr.step_loss[t]) in text
    assert "tanh" in text


async def test_step_pane_compact_shows_first_entries_and_norm():
    v = make_view("king", train=True, t=1)
    text, pane = await shown(v, StepPane, size=(40, 9))
    h = v.trace.h[1]
    assert fmt(h[0]) in text and f"‖{fmt_abs(np.linalg.norm(h))}‖" in text


async def test_backward_pane_shows_both_parts_and_their_sum():
    v = make_view("king", train=True, t=2, phase=BACKWARD)
    tr, t = v.trace, 2
    direct, later = backward_parts(tr, t)
    text, _ = await shown(v, StepPane, size=(120, 40))
    assert "W_yᵀ dL/dy_t" in text and "backward" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.split("\n")
            if re.match(r"^ ?h\d+ ", line)}
    for u in range(tr.h.shape[1]):
        assert rows[f"h{u}"][:3] == [fmt(direct[u]), fmt(later[u]), fmt(tr.dh[t][u])]
        assert rows[f"h{u}"][4] == fmt(tr.da[t][u])
        assert rows[f"h{u}"][5] == fmt(tr.flow[t][u])


async def test_backward_pane_at_the_last_step_has_nothing_from_later():
    v = make_view("sine", t=10**6, phase=BACKWARD)
    H = v.trace.h.shape[1]
    text, _ = await shown(v, StepPane, size=(60, 8))  # rows: one line per vector
    line = next(line for line in text.split("\n") if line.startswith("+ 0 (last step)"))
    assert line.rstrip().endswith("[" + " ".join(["0"] * H) + "]")
    text, _ = await shown(v, StepPane, size=(60, 12))  # table: a column of zeros
    assert "+0 (last)" in text
    rows = [line.split() for line in text.split("\n") if re.match(r"^ ?h\d+ ", line)]
    assert rows and all(r[2] == "0" and r[1] == r[3] for r in rows)


async def test_output_pane_marks_the_target_and_argmax():
    v = make_view("king", train=True, t=2)
    tr, t = v.trace, 2
    text, _ = await shown(v, OutputPane, size=(60, 14))
    tgt = v.target_label(t)
    vocab = v.scenario.vocab
    i = vocab.index(tgt)
    marked = [line for line in text.split("\n") if "◀ target" in line]
    assert len(marked) == 1
    assert f" {tgt} " in marked[0] and fmt_abs(tr.out[t][i]) in marked[0]
    best = vocab[int(np.argmax(tr.out[t]))]
    starred = [line for line in text.split("\n") if line.startswith("★")]
    assert len(starred) == 1 and f" {best} " in starred[0]


async def test_output_pane_always_shows_a_low_probability_target():
    v = make_view("king", train=False, t=0)
    probs = v.trace.out[0]
    text, _ = await shown(v, OutputPane, size=(40, 4))  # room for 2 bars only
    tgt = v.target_label(0)
    assert any(f" {tgt} " in line and "◀" in line for line in text.split("\n"))
    assert fmt_abs(probs[v.scenario.vocab.index(tgt)]) in text


async def test_output_pane_series_and_bits():
    v = make_view("sine", t=30)
    tr = v.trace
    text, _ = await shown(v, OutputPane, size=(60, 16))
    assert fmt(tr.out[30][0]) in text and fmt(tr.targets[30][0]) in text
    assert "┌" in text  # the plotext frame
    v = make_view("echo", t=5)
    tr = v.trace
    text, _ = await shown(v, OutputPane, size=(60, 10))
    bit, _ = v.prediction(5)
    assert f"P(1) = {fmt_abs(tr.out[5][0])} → predicts {bit}" in text
    want = "✓ correct" if bit == v.target_label(5) else "✗ wrong"
    assert want in text and "[" in text


async def test_gradient_pane_prints_the_true_norm_and_radius():
    v = make_view("king", train=True)
    W = v.trace.params.W_h
    norm = float(np.linalg.svd(W, compute_uv=False)[0])
    radius = float(np.max(np.abs(np.linalg.eigvals(W))))
    assert fmt_abs(norm) != fmt_abs(radius)  # the test can tell them apart
    text, _ = await shown(v, GradientPane, size=(100, 20))
    assert f"‖W_h‖₂ = {fmt_abs(norm)}" in text
    assert re.search(rf"ρ(\(W_h\))? = {re.escape(fmt_abs(radius))}", text)
    text, _ = await shown(v, GradientPane, size=(40, 8))
    assert f"‖W_h‖₂ {fmt_abs(norm)}" in text and f"ρ(W_h) {fmt_abs(radius)}" in text


async def test_gradient_pane_verdict_and_knob():
    nav = Nav(make_view("long"))
    lv0 = nav.trace.jacobian_log10[0]
    text, _ = await shown(nav.view, GradientPane, size=(100, 20))
    assert fmt_pow10(lv0) in text
    if lv0 <= -3:
        assert "vanishing" in text
    nav.turn_knob(8)  # W_h x4
    nav.ensure_trace()
    text, _ = await shown(nav.view, GradientPane, size=(100, 20))
    assert "×4.000" in text
    assert re.search(r"vanishing|fading|steady|growing|exploding", text)


async def test_hidden_pane_bars_sides_and_values():
    v = make_view("king", train=True, t=1)
    h = v.trace.h[1]
    text, _ = await shown(v, HiddenPane, size=(80, 20))
    for u, x in enumerate(h):
        line = next(line for line in text.split("\n") if line.split()[:1] == [f"h{u}"])
        assert fmt(x) in line
        axis = line.index("│")
        bar = line[axis - 15: axis + 16]
        if x < -0.1:
            assert "█" in bar[:15] and "█" not in bar[16:]
        if x > 0.1:
            assert "█" in bar[16:] and "█" not in bar[:15]


async def test_hidden_pane_same_input_two_positions_differ():
    nav = Nav(make_view("cat"))
    assert nav.label(0) == nav.label(4) == "the"
    assert np.array_equal(nav.trace.x[0], nav.trace.x[4])
    first, _ = await shown(nav.view, HiddenPane, size=(60, 8))
    nav.goto(4)
    second, _ = await shown(nav.view, HiddenPane, size=(60, 8))
    values = lambda text: [line.split()[1] for line in text.split("\n")[1:4]]  # noqa: E731
    assert values(first) == [fmt(x) for x in nav.trace.h[0]]
    assert values(second) == [fmt(x) for x in nav.trace.h[4]]
    assert values(first) != values(second)


async def test_sequence_pane_cursor_without_colour():
    nav = Nav(make_view("king", t=2))
    text, _ = await shown(nav.view, SequencePane, size=(60, 6))
    assert f"[{nav.label(2)}]" in text
    # (0-based t with the range of steps since "truth on screen"; it was "t=2 of 5")
    assert "forward pass ▶" in text and "t=2 (steps 0–4)" in text
    nav.set_phase(BACKWARD)
    text, _ = await shown(nav.view, SequencePane, size=(60, 6))
    assert "backward pass ◀" in text
    text, _ = await shown(nav.view, SequencePane, size=(40, 3))  # one row in a bordered pane
    assert f"[{nav.label(2)}]" in text


async def test_loss_pane_untrained_and_trained():
    text, _ = await shown(make_view("king"), LossPane, size=(60, 12))
    assert "untrained: press t to train" in text
    nav = Nav(make_view("king", train=True))
    nav.set_epoch(120)
    text, _ = await shown(nav.view, LossPane, size=(60, 14))
    assert f"epoch 120/{nav.trained_epochs}" in text
    assert f"loss {fmt_abs(nav.history.losses[120])}" in text


async def test_retention_pane_shows_last_value():
    v = make_view("cat")
    r = v.trace.retention
    text, _ = await shown(v, RetentionPane, size=(60, 14))
    # (0-based since "truth on screen": h₀ is the state after the first input; was "cos(h₁")
    assert f"j={len(r)}: cos {fmt(r[-1])}" in text and "cos(h₀" in text


async def test_panes_redraw_only_when_their_picture_changes():
    view = make_view("king", train=True)
    app = pane_app(StepPane)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panes = {}
        for cls in PANES:
            pane = cls()
            await app.mount(pane)
            panes[cls] = pane
        await pilot.pause()
        for pane in panes.values():
            pane.show(view)
        before = {cls: p.content_key() for cls, p in panes.items()}
        for pane in panes.values():
            pane.show(view.moved(1))
        after = {cls: p.content_key() for cls, p in panes.items()}
        moved = {cls for cls in PANES if before[cls] != after[cls]}
        assert {StepPane, HiddenPane, OutputPane, GradientPane, SequencePane} <= moved
        assert LossPane not in moved and RetentionPane not in moved


async def test_panes_mount_at_20x4():
    v = make_view("king", t=1)
    for cls in PANES:
        text, _ = await shown(v, cls, size=(20, 4))
        assert text.strip()
