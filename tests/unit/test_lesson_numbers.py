"""Every number the built-in lessons quote, recomputed here with NumPy from the weights alone.

For each step of each lesson the weights are the engine's at the step's epoch (scaled by the
knob here), and every quantity a narration, task, question or choice names is recomputed by
hand: the forward pass (vanilla and LSTM) written out, spectral numbers by other algorithms
(eigenvalues of WᵀW, roots of the characteristic polynomial), the seed's power iteration in
plain Python, gradients by central finite differences, Jacobian products multiplied out. The
strip's text, filled from the engine, must equal the same text filled from these values.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import numpy as np
import pytest
from helpers import trained_run

from engine import initial_params, load, with_cell
from engine.scenario import encode_text
from rnntui.labrun import load_any
from rnntui.lessons import builtin_lessons
from rnntui.lessons.quantities import Facts
from rnntui.lessons.session import fill_step, step_view
from rnntui.lessons.text import placeholders
from rnntui.view import View

STEPS = [(lesson, step) for lesson in builtin_lessons() for step in lesson.steps]


@lru_cache(maxsize=None)
def scenario(source: str, cell: str | None):
    sc = load_any(source)  # (a lab run's name too: rnntui.labrun)
    return with_cell(sc, cell) if cell and cell != sc.model.cell else sc


@lru_cache(maxsize=None)
def history(source: str, cell: str | None):
    sc = scenario(source, cell)
    return trained_run(sc) if sc.train.epochs else None  # fit(sc), shared in this process


def weights(step):
    sc = scenario(step.scenario, step.cell)
    h = history(step.scenario, step.cell)
    p = initial_params(sc) if h is None or step.epoch == 0 else \
        h.params_at(h.nearest_epoch(step.epoch))
    return sc, p, h


# -- by hand -----------------------------------------------------------------------------------
def act(name, a):
    return {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
            "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[name](a)


def slope(name, a, h):
    return {"tanh": 1 - h * h, "relu": (a > 0).astype(float),
            "sigmoid": h * (1 - h)}[name]


def sig(z):
    return 1 / (1 + np.exp(-z))


class Hand:
    """One sequence run by hand under explicit weights (vanilla or LSTM)."""

    def __init__(self, sc, p, X, knob: int):
        self.sc, self.X, self.scale = sc, X, 2.0 ** (knob / 4)
        self.cell = sc.model.cell
        self.both = bool(getattr(p, "bidirectional", False))  # two vanilla directions
        if self.both:
            assert self.cell == "rnn"
            self.back = (p.bwd.W_x, p.bwd.W_h * self.scale, p.bwd.b)
            p = dataclasses.replace(p.fwd, W_y=p.W_y, b_y=p.b_y)
        if self.cell == "rnn":
            self.Wx, self.Wh, self.b = p.W_x, p.W_h * self.scale, p.b
        else:
            n = p.named()
            self.g = {k: (n[f"W_x{k}"], n[f"W_h{k}"] * self.scale, n[f"b_{k}"])
                      for k in "ifog"}
        self.Wy, self.by = p.W_y, p.b_y
        self.H = p.W_h.shape[1]

    def step(self, state, x):
        if self.cell == "rnn":
            a = self.Wx @ x + self.Wh @ state + self.b
            return act(self.sc.model.activation, a), a
        h, c = state[: self.H], state[self.H:]
        z = {k: Wx @ x + Wh @ h + b for k, (Wx, Wh, b) in self.g.items()}
        i, f, o, g = sig(z["i"]), sig(z["f"]), sig(z["o"]), np.tanh(z["g"])
        c2 = f * c + i * g
        return np.concatenate([o * np.tanh(c2), c2]), f

    def states(self, start=None, first=0):
        """The states and, for a bidirectional network, [h→_t ; h←_t] with h← read from the
        end of the sequence (the forward direction's pre-activations as ``extra``)."""
        if self.both:
            ahead, pre = self._states(start, first)
            Wx, Wh, b = self.back
            h, behind = np.zeros(self.H), []
            for x in self.X[first:][::-1]:
                h = act(self.sc.model.activation, Wx @ x + Wh @ h + b)
                behind.append(h)
            return [np.concatenate([f, r]) for f, r in zip(ahead, behind[::-1])], pre
        return self._states(start, first)

    def _states(self, start=None, first=0):
        size = self.H if self.cell == "rnn" else 2 * self.H
        s = np.zeros(size) if start is None else start
        out, extra = [], []
        for t in range(first, len(self.X)):
            s, e = self.step(s, self.X[t])
            out.append(s)
            extra.append(e)
        return out, extra

    def h_of(self, s):
        return s if self.both else s[: self.H]

    def output(self, s):
        y = self.Wy @ self.h_of(s) + self.by
        kind = self.sc.model.output
        if kind == "softmax":
            e = np.exp(y - y.max())
            return e / e.sum(), y
        if kind == "sigmoid":
            return sig(y), y
        return y, y

    def step_loss(self, s, target):
        p, y = self.output(s)
        kind = self.sc.model.output
        if kind == "softmax":
            return -math.log(p[int(np.argmax(target))])
        if kind == "sigmoid":
            return float(np.sum(np.logaddexp(0.0, y) - target * y))
        return float(np.sum((y - target) ** 2))

    def loss_from(self, t, s_t, seq, only=None):
        """Mean loss over target steps (or the loss at step ``only``), with the state after
        step t replaced by s_t."""
        s = s_t
        total, n = 0.0, int(np.count_nonzero(seq.mask))
        for k in range(t, len(self.X)):
            if k > t:
                s, _ = self.step(s, self.X[k])
            if seq.mask[k] and (only is None or k == only):
                total += self.step_loss(s, seq.targets[k])
        return total if only is not None else total / n


def fd_grad_norm(hand, states, seq, t, only=None, eps=1e-6):
    s = states[t]
    g = np.zeros_like(s)
    for j in range(len(s)):
        d = np.zeros_like(s)
        d[j] = eps
        up, down = hand.loss_from(t, s + d, seq, only), hand.loss_from(t, s - d, seq, only)
        g[j] = (up - down) / (2 * eps)
    return float(np.linalg.norm(g))


def jacobian_norms(hand, states, pre):
    """‖∂h_last/∂h_t‖₂ for every t, the step Jacobians multiplied out (vanilla cell)."""
    T = len(states)
    out = np.ones(T)
    M = np.eye(hand.H)
    for t in range(T - 2, -1, -1):
        J = np.diag(slope(hand.sc.model.activation, pre[t + 1], states[t + 1])) @ hand.Wh
        M = M @ J
        out[t] = math.sqrt(max(np.linalg.eigvalsh(M.T @ M)))
    return out


def seed_power(W):
    n = len(W)
    v = [1 / math.sqrt(n)] * n
    rows = W.tolist()
    for _ in range(20):
        mv = [sum(rows[i][j] * v[j] for j in range(n)) for i in range(n)]
        norm = math.sqrt(sum(x * x for x in mv))
        if norm > 1e-10:
            v = [x / norm for x in mv]
    mv = [sum(rows[i][j] * v[j] for j in range(n)) for i in range(n)]
    return math.sqrt(sum(x * x for x in mv))


def expected(name, step, sc, p):
    seq = encode_text(sc, step.text) if step.text is not None else sc.sequence
    hand = Hand(sc, p, seq.inputs, step.knob)
    states, extra = hand.states()
    t = step.t
    vocab = sc.vocab
    h = hand.h_of(states[t])
    tau = step.tau if step.tau is not None else t
    if name in ("t", "epoch", "tau"):
        return {"t": t, "epoch": step.epoch, "tau": tau}[name]
    if name == "wh_scale":
        return 2.0 ** (step.knob / 4)
    if name == "seed_scalar_step":
        return math.tanh(0.9 * 0.5 + 1.0 * 1.0 + 0.1)
    if name == "input_word":
        return seq.labels[t]
    if name == "target_word":
        return seq.target_labels[t]
    probs, _ = hand.output(states[t])
    if name == "top_word":
        return vocab[int(np.argmax(probs))]
    if name == "p_top":
        return float(np.max(probs))
    if name == "p_target":
        return float(probs[int(np.argmax(seq.targets[t]))])
    if name == "p_input":
        return float(probs[vocab.index(seq.tokens[t])])
    if name == "h":
        return "[" + ", ".join(f"{x:+.3f}" for x in h) + "]"
    if name == "h_prev":
        prev = hand.h_of(states[t - 1]) if t else np.zeros(hand.H)
        return "[" + ", ".join(f"{x:+.3f}" for x in prev) + "]"
    if name == "units":  # as the Hidden state pane writes each unit (its own formatter)
        from rnntui.widgets._draw import fmt
        return ", ".join(fmt(float(x)) for x in h)
    if name == "gradient_share":
        return jacobian_norms(hand, states, extra)[0]
    if name == "reach_share":  # the loss at τ alone: at h_0 over at h_τ
        return fd_grad_norm(hand, states, seq, 0, only=tau) / \
            fd_grad_norm(hand, states, seq, tau, only=tau)
    if name == "effect_left":  # with and without the first input, then blanks
        blank = np.zeros_like(seq.inputs[0])
        a, _ = hand.step(np.zeros(len(states[0])), seq.inputs[0])
        b, _ = hand.step(np.zeros(len(states[0])), blank)
        start = np.linalg.norm(a - b)
        for _ in range(sc.retention_steps):
            a, _ = hand.step(a, blank)
            b, _ = hand.step(b, blank)
        return float(np.linalg.norm(a - b) / start)
    if name == "h_unit0":
        return float(h[0])
    if name == "a_unit0":
        return float(extra[t][0])
    if name == "repeat_distance":
        s = max(k for k in range(t) if np.array_equal(seq.inputs[k], seq.inputs[t]))
        return float(math.sqrt(np.sum((states[t] - states[s]) ** 2)))
    if name == "step_loss":
        return hand.step_loss(states[t], seq.targets[t])
    if name == "loss":
        return sum(hand.step_loss(states[k], seq.targets[k]) for k in range(len(states))
                if seq.mask[k]) / int(np.count_nonzero(seq.mask))
    if name == "spectral_norm":
        return math.sqrt(max(np.linalg.eigvalsh(hand.Wh.T @ hand.Wh)))
    roots = np.roots(np.poly(hand.Wh)) if hand.cell == "rnn" else None
    if name == "spectral_radius":
        return float(max(abs(roots)))
    if name in ("rotation_degrees", "rotation_period"):
        top = roots[int(np.argmax(abs(roots)))]
        deg = abs(math.degrees(math.atan2(top.imag, top.real)))
        return deg if name == "rotation_degrees" else 360 / deg
    if name == "seed_power_figure":
        return seed_power(hand.Wh)
    if name in ("jacobian", "min_jacobian", "max_jacobian"):
        norms = jacobian_norms(hand, states, extra)
        return {"jacobian": norms[t], "min_jacobian": norms.min(),
                "max_jacobian": norms.max()}[name]
    if name == "grad_h":  # dL/dh_t with every later step, the state's own loss included
        return fd_grad_norm(hand, states, seq, t)
    if name == "reach_first":  # the loss at τ alone, back to the whole first state
        return fd_grad_norm(hand, states, seq, 0, only=tau)
    if name == "retention":
        return retention(hand, seq)[-1]
    if name == "retention_swings":
        r = retention(hand, seq)
        s = np.sign(r[r != 0])
        return int(np.sum(s[1:] != s[:-1]))
    if name == "predicted":
        return float(probs[0])
    if name == "truth":
        return float(seq.targets[t][0])
    if name == "error":
        return abs(float(probs[0]) - float(seq.targets[t][0]))
    if name == "accuracy":
        right = total = 0
        for test in sc.test_sequences:
            hs, _ = Hand(sc, p, test.inputs, step.knob).states()
            for k, s in enumerate(hs):
                if test.mask[k]:
                    total += 1
                    right += int((hand.output(s)[0][0] >= 0.5) == (test.targets[k][0] >= 0.5))
        return right / total
    if name in ("batch_lengths", "real_steps", "padded_steps"):
        # the batch_size training sequences in file order that hold the one stepped through
        i = next(k for k, s in enumerate(sc.train_sequences) if s is seq)
        size = sc.train.batch_size
        lengths = [len(s) for s in sc.train_sequences[i // size * size:(i // size + 1) * size]]
        return {"batch_lengths": ", ".join(map(str, lengths[:-1])) + f" and {lengths[-1]}",
                "real_steps": sum(lengths),
                "padded_steps": max(lengths) * len(lengths)}[name]
    if name == "carry":  # the best unit's product of forget gates f_1 ... f_(T-1)
        f = np.array(extra)
        return float(np.max(np.prod(f[1:], axis=0)))
    raise AssertionError(f"no independent check for {name}")


def retention(hand, seq):
    x0 = seq.inputs[0]
    h1 = act(hand.sc.model.activation, hand.Wx @ x0 + hand.b)
    h, out = h1, []
    for _ in range(hand.sc.retention_steps):
        h = act(hand.sc.model.activation, hand.Wh @ h + hand.b)
        out.append(float(h1 @ h / (np.linalg.norm(h1) * np.linalg.norm(h))))
    return np.array(out)


def step_texts(step):
    texts = [step.narration]
    if step.task:
        texts.append(step.task.do)  # (its "then" is filled at another state: the walk checks it)
    if step.question:
        texts += [step.question.prompt, step.question.why, *step.question.choices]
    return texts


@pytest.mark.parametrize("lesson,step", STEPS,
                         ids=[f"{lesson.name}-{step.index + 1}" for lesson, step in STEPS])
def test_every_quoted_number_is_the_engines(lesson, step):
    if step.lab is not None:
        return check_lab_step(lesson, step)
    sc, p, hist = weights(step)
    from engine import History
    from engine.train import dataset_loss
    if hist is None:
        hist = History(losses=[dataset_loss(p, sc)], epochs=[0], weights=[p])
    view = step_view(View.open(sc, hist, source=step.scenario).with_history(hist), step)
    facts = Facts(view)
    names = {n for text in step_texts(step) for n, _ in placeholders(text)}
    mine = {}
    for name in names:
        want, got = expected(name, step, sc, p), facts(name)
        mine[name] = want
        if isinstance(want, str):
            assert got == want, (name, got, want)
        else:
            tol = 1e-5 if name in ("grad_h", "reach_first", "reach_share") else 1e-9
            assert got == pytest.approx(want, rel=tol, abs=1e-12), (name, got, want)

    class Mine:  # the same texts filled from the values computed here
        ready = True
        view = facts.view  # (how a value is written: signed for a series, as its pane does)

        def __call__(self, name):
            return mine.get(name, facts(name))

    engine_words = fill_step(step, facts)
    hand_words = fill_step(step, Mine())
    assert engine_words == hand_words
    assert fits_at_80x24(lesson, step, engine_words)


def check_lab_step(lesson, step):
    """A step on the lab screen: its medians are the medians of the seeds' metrics at the
    lab's longest value (from made-up records: the lab's own runs are tested in test_lab*),
    pending until every seed's run there is in."""
    from engine.lab import load_lab
    from rnntui.lessons.session import _LabFacts
    lab = load_lab(step.lab)
    metric = {(v, c, s): 0.01 * (i + 1) ** 1.5 for i, (v, c, s) in enumerate(
        (v, c, s) for v in lab.values for c in lab.cells for s in lab.seeds)}
    records = {k: {"metric": m, "baseline": 1.0} for k, m in metric.items()}
    names = {n for text in step_texts(step) for n, _ in placeholders(text)}
    facts = _LabFacts(lab, records)
    for name in names:
        cell = name.removeprefix("median_")
        want = float(np.median([metric[(lab.values[-1], cell, s)] for s in lab.seeds]))
        assert facts(name) == pytest.approx(want, rel=1e-12) and not facts.pending(name)
        fewer = {k: r for k, r in records.items() if k != (lab.values[-1], cell, lab.seeds[-1])}
        assert _LabFacts(lab, fewer).pending(name) and _LabFacts(lab, fewer)(name) is None
    assert fits_at_80x24(lesson, step, fill_step(step, facts))


def fits_at_80x24(lesson, step, words) -> bool:
    """The strip's body at 80x24 is 4 lines of 76 columns: a step's words, with its task or
    question and choices, fit before the reveal (the reveal may scroll)."""
    import io

    from rich.console import Console

    from rnntui.lessons.session import Card
    from rnntui.widgets.lesson_strip import card_text
    card = Card(title=lesson.title, number=lesson.number, index=step.index, count=len(lesson),
                step_title=step.title, narration=words["narration"], do=words.get("do"),
                prompt=words.get("prompt"), choices=words.get("choices", ()))
    # (the strip lays a question out for its width less 2, 76 at 80x24: its choices on one
    # line only when they fit that; lesson 2's three choices needed 77, took three lines, and
    # hid the end of the narration)
    console = Console(width=76, file=io.StringIO(), color_system=None)
    lines = console.render_lines(card_text(card, 76), pad=False)
    assert len(lines) <= 4, "\n".join("".join(s.text for s in ln) for ln in lines)
    return True


def test_every_lesson_quotes_numbers_and_each_has_a_check():
    used = {n for _, step in STEPS for text in step_texts(step) for n, _ in placeholders(text)}
    assert {"p_target", "spectral_norm", "spectral_radius", "seed_power_figure",
            "gradient_share", "reach_share", "effect_left", "units"} <= used


def test_the_seed_power_figure_is_neither_norm_nor_radius():
    """Lesson 5's claim: for cat's W_h the seed's figure lies strictly between ρ and ‖W_h‖₂."""
    sc = load("cat")
    W = initial_params(sc).W_h
    norm = math.sqrt(max(np.linalg.eigvalsh(W.T @ W)))
    rho = max(abs(np.roots(np.poly(W))))
    fig = seed_power(W)
    assert rho + 1e-3 < fig < norm - 1e-3
    top = np.roots(np.poly(W))
    assert abs(top[np.argmax(abs(top))].imag) > 0.1  # a complex pair on top


def test_the_seeds_king_run_is_what_unshifted_targets_give():
    """Lesson 3's claim: a model trained with target = input answers the word it read; ours,
    trained on the next word, gives that word little after 'on'."""
    sc = load("king")
    seq = sc.sequence
    assert all(seq.target_labels[t] == seq.labels[t + 1] for t in range(len(seq) - 1))
    step = next(s for lesson in builtin_lessons() if lesson.name == "prediction"
                for s in lesson.steps
                if s.question and "target" in " ".join(s.question.choices).lower())
    _, p, _ = weights(step)
    hand = Hand(sc, p, seq.inputs, 0)
    states, _ = hand.states()
    probs, _ = hand.output(states[3])
    assert probs[sc.vocab.index("on")] < 0.05 and sc.vocab[int(np.argmax(probs))] == "throne"


def test_a_backward_step_that_says_gradients_flow_back_shows_some():
    """Lesson 12's last step says dL/dh→_1 and dL/dh←_1 get what flowed back; it inherited the
    typed "apple inc announced" of step 3, which has no targets, and every gradient was 0.
    Every backward step of the course now shows a sequence with targets and some gradient."""
    from engine import History
    from engine.train import dataset_loss
    seen = 0
    for lesson, step in STEPS:
        if step.phase != "backward" or step.lab is not None:
            continue
        sc, p, hist = weights(step)
        if hist is None:
            hist = History(losses=[dataset_loss(p, sc)], epochs=[0], weights=[p])
        view = step_view(View.open(sc, hist, source=step.scenario).with_history(hist), step)
        tr = view.trace
        where = f"{lesson.name} step {step.index + 1}"
        if getattr(tr, "seq2seq", False):
            continue
        assert tr.mask.any(), f"{where}: its sequence has no targets"
        grads = [tr.grad_h] + ([tr.back.grad_h] if getattr(tr, "bidirectional", False) else [])
        assert all(np.abs(g).max() > 0 for g in grads), where
        seen += 1
    assert seen >= 3


def test_a_series_value_is_quoted_with_its_sign_as_the_output_pane_writes_it():
    """Lesson 7 said "the wave's next value is 0.8632" beside the pane's "truth +0.8632"."""
    from helpers import make_view

    from rnntui.lessons.text import fill
    from rnntui.widgets._draw import fmt, fmt_abs
    sine = make_view("sine", t=20)
    assert fill("{predicted} {truth}", Facts(sine)) == \
        f"{fmt(sine.trace.out[20][0])} {fmt(sine.sequence.targets[20][0])}"
    assert fill("{truth}", Facts(sine)).startswith(("+", "-"))
    echo = make_view("echo", t=5)  # P(1) and a bit: no sign, as the pane writes them
    assert fill("{predicted}", Facts(echo)) == fmt_abs(echo.trace.out[5][0])
