"""Named quantities a lesson quotes and tests: each computed from a View by the engine's functions.

A narration's ``{p_target:.3f}`` and a task's ``min_jacobian < 1e-6`` both read the table below,
so a number in the words is the number on the screen. Each entry says what it is (docs/lessons.md
prints the same sentences), its kind (number, text, truth) and which scenarios it applies to; a
quantity that does not apply at a step (no target at t, a series scenario) is None.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine import analysis
from engine.cells import CELLS, cells_where, get_cell
from engine.cells.numerics import activate
from engine.kinds import KINDS, get_kind

from .conditions import NUMBER, TEXT, TRUTH

__all__ = ["QUANTITIES", "FIELDS", "LAB_FIELDS", "Quantity", "Facts", "QuantityStore", "TOO_COSTLY",
           "names_and_kinds", "fmt_value", "norms_done", "compute_values"]

#: A quantity whose work is at most this many operations (engine.budget's units: ~1 ms) is
#: computed where it is asked for; a costlier one comes from the lesson's worker (off the UI
#: thread) and is kept per trace (:class:`QuantityStore`).
INLINE_OPS = 4e7
#: The most units of a vector a placeholder writes ({h}, {h_prev}).
VECTOR_UNITS = 32


class _TooCostly:
    """The value of a quantity whose work is over the trace budget: never computed."""

    def __repr__(self) -> str:
        return "TOO_COSTLY"


TOO_COSTLY = _TooCostly()


@dataclass(frozen=True)
class Quantity:
    name: str
    kind: str
    doc: str
    fn: Callable
    #: The scenario kinds it applies to (None: every kind).
    kinds: tuple[str, ...] | None = None
    #: The cells it applies to (None: every cell).
    cells: tuple[str, ...] | None = None
    #: Whether it needs the trace (False: the position alone).
    trace: bool = True
    #: Whether it reads the exact step-Jacobian norms, which a big trace gets later from a
    #: worker (``trace.jacobians_done``): until then it is not yet computed (None), never NaN.
    norms: bool = False
    #: Whether it reads the backward part, which a compact trace gets later from a worker too
    #: (``trace.backward_done``).
    backward: bool = False
    #: The operations it costs at a View (None: a handful, always computed at once); over
    #: INLINE_OPS it is computed by the lesson's worker, over the trace budget never.
    cost: Callable | None = None
    #: What of the View besides its trace the value depends on (its key in the store).
    depends: tuple[str, ...] = ()
    #: Whether ``fn`` takes ``should_stop`` (a long walk a worker can abandon).
    stoppable: bool = False
    #: How a placeholder with no format spec writes it: the form of the pane that shows it
    #: (one of FORMS), so ``{p_target}`` reads exactly as the Output pane's ``0.9991``.
    form: str | None = None


def _softmax_text(view) -> bool:
    """Words in, a probability for each word (or tag) out: a text or tagging scenario's."""
    return view.scenario.kind in _TEXT and view.scenario.model.output == "softmax"


def _probs(view):
    return view.trace.out[view.t] if _softmax_text(view) else None


def _p_target(view):
    p = _probs(view)
    if p is None or not bool(view.sequence.mask[view.t]):
        return None
    return float(p[int(np.argmax(view.sequence.targets[view.t]))])


def _p_top(view):
    p = _probs(view)
    return None if p is None else float(np.max(p))


def _top_word(view):
    p = _probs(view)
    return None if p is None else view.scenario.vocab[int(np.argmax(p))]


def _p_input(view):
    """The probability given to the word just read (what a model trained on unshifted
    targets, like seed 002's, would put on top)."""
    p = _probs(view)
    if p is None:
        return None
    x = view.sequence.inputs[view.t]
    tokens = view.sequence.tokens
    word = tokens[view.t] if tokens is not None else view.label(view.t)
    vocab = view.scenario.vocab
    if word in vocab:
        return float(p[vocab.index(word)])
    return float(p[int(np.argmax(x))]) if len(x) == len(p) else None


def _vector(v: np.ndarray) -> str:
    """``[+0.120, -0.031, ...]``: every unit to 3 decimals, the first VECTOR_UNITS of a longer
    one (then how many there are)."""
    head = ", ".join(f"{float(x):+.3f}" for x in v[:VECTOR_UNITS])
    more = f", … {len(v)} units in all" if len(v) > VECTOR_UNITS else ""
    return f"[{head}{more}]"


#: Steps compared at a time when looking back for the same input.
_REPEAT_BLOCK = 4096


def _units(v: np.ndarray) -> str:
    """Every unit of a state as the Hidden state pane writes it: ``+0.2352, +0.3075``."""
    from ..widgets._draw import fmt
    return ", ".join(fmt(float(x)) for x in v)


def _repeat_distance(view):
    """‖h_t − h_s‖ for the last earlier step s whose input equals x_t."""
    X, t = view.sequence.inputs, view.t
    x = X[t]
    for end in range(t, 0, -_REPEAT_BLOCK):
        start = max(0, end - _REPEAT_BLOCK)
        same = np.flatnonzero(np.all(X[start:end] == x, axis=1))
        if same.size:
            s = start + int(same[-1])
            return float(np.linalg.norm(view.trace.h[t] - view.trace.h[s]))
    return None


def _top_eigen(view):
    W = view.params.W_h
    if W.shape[0] != W.shape[1] or not np.isfinite(W).all():
        return None
    ev = np.linalg.eigvals(W)
    return ev[int(np.argmax(np.abs(ev)))]


def _rotation(view):
    ev = _top_eigen(view)
    return None if ev is None else float(abs(math.degrees(math.atan2(ev.imag, ev.real))))


def _period(view):
    deg = _rotation(view)
    return None if deg is None or deg < 1e-9 else 360.0 / deg


def _sign_changes(view):
    r = np.asarray(view.trace.retention)
    s = np.sign(r[np.abs(r) > 0])
    return int(np.count_nonzero(s[1:] != s[:-1])) if s.size else 0


def _reach_first(view, should_stop=None):
    """‖∂ℓ_τ/∂h_0‖: what of the loss at τ reaches the first state."""
    from engine.influence import reach
    g = float(reach(view.trace, view.tau, inputs=False, should_stop=should_stop).grad_log10[0])
    return None if math.isnan(g) else float(10.0 ** g)


def _jacobian_extreme(pick):
    def fn(view):
        logs = np.asarray(view.trace.jacobian_log10)
        with np.errstate(over="ignore", under="ignore"):
            return float(np.power(10.0, pick(logs)))
    return fn


def _jacobian_at(view):
    with np.errstate(over="ignore", under="ignore"):
        return float(np.power(10.0, view.trace.jacobian_log10[view.t]))


# -- what a quantity costs, in engine.budget's operations -----------------------------------------
def _step_ops(view) -> float:
    """One step walked back through the cell: its matrix products and the interpreter."""
    from engine.budget import STEP_OVERHEAD_OPS
    H = view.scenario.model.hidden_size
    G = get_cell(view.cell).blocks
    return 6.0 * G * H * H + 2 * STEP_OVERHEAD_OPS


def _reach_cost(view) -> float:
    H = view.scenario.model.hidden_size
    return (view.tau + 1) * _step_ops(view) + 4.0 * view.T * H


def _repeat_cost(view) -> float:
    return 2.0 * (view.t + 1) * max(1, view.scenario.input_size)


def _sweep_cost(view) -> float:
    return 4.0 * view.T


def _eigen_cost(view) -> float:
    return 30.0 * view.scenario.model.hidden_size ** 3


def _accuracy_cost(view) -> float:
    from engine import budget
    est = budget.estimate(view.scenario, epochs=0)
    return est.train_ops  # (one pass over the data, forward and back: more than is needed)


def _gradient_share(view):
    """‖∂h_T/∂h_0‖₂: the share of a gradient at the last step that reaches the first state
    (the Gradients pane's total-view verdict, ``≤0.0066×``)."""
    lv = float(np.asarray(view.trace.jacobian_log10, dtype=np.float64)[0])
    return None if math.isnan(lv) or len(view.trace) < 2 else 10.0 ** lv


def _reach_share(view, should_stop=None):
    """‖∂ℓ_τ/∂h_0‖ / ‖∂ℓ_τ/∂h_τ‖: the share of the loss at τ's gradient that reaches the first
    state (the Gradients pane's per-loss verdict, ``0.0078×``)."""
    from engine.influence import reach
    tau = min(view.tau, len(view.trace) - 1)
    if tau == 0 or not bool(view.trace.mask[tau]):
        return None
    g = reach(view.trace, tau, inputs=False, should_stop=should_stop).grad_log10
    return 10.0 ** float(g[0] - g[tau])


def _effect_left(view):
    """What the first input changed in the state, left after the K blank steps, relative to
    the start (the Retention pane's verdict, ``1.3e-6× left``)."""
    from engine.influence import first_input_effect
    tr = view.trace
    first = tr.x[0] if len(tr) else np.zeros(tr.params.input_size)
    eff = first_input_effect(tr.params, first, len(tr.retention), tr.activation)
    return float(eff.ratio[-1]) if eff.start_norm > 0 else None


def _effect_cost(view) -> float:
    return (len(view.trace.retention) + 1) * 2 * _step_ops(view) if view.trace is not None \
        else 0.0


def _value_out(view):
    if view.scenario.kind == "text":
        return None
    return float(view.trace.out[view.t][0])


def _truth(view):
    if view.scenario.kind == "text" or not bool(view.sequence.mask[view.t]):
        return None
    return float(view.sequence.targets[view.t][0])


def _error(view):
    a, b = _value_out(view), _truth(view)
    return None if a is None or b is None else abs(a - b)


def _accuracy(view):
    from engine.predict import held_out_accuracy
    right, total = held_out_accuracy(view.scenario, view.params)
    return right / total if total else None


def _batch_of(view):
    """The padded training batch the Batch pane shows (the one holding the stepped sequence)."""
    from engine.batch import stepped_row, training_batch
    if not view.scenario.train.pad:
        raise ValueError("no padded batches")  # (the value is then None: nothing to quote)
    return training_batch(view.scenario, stepped_row(view.scenario, view.example))[2]


def _batch_lengths(view):
    n = [str(int(x)) for x in _batch_of(view).lengths]
    return n[0] if len(n) == 1 else ", ".join(n[:-1]) + " and " + n[-1]


def _carry(view):
    c = view.trace.carry_log10
    return None if c is None else float(10.0 ** np.min(c))


#: The seed 001 scalar step: h = tanh(W_h h_prev + W_x x + b) with W_h 0.9, h_prev 0.5, W_x 1,
#: x 1, b 0.1 (the numbers that document uses), computed by the engine's activation.
SEED_SCALAR = {"W_h": 0.9, "h_prev": 0.5, "W_x": 1.0, "x": 1.0, "b": 0.1}


def _seed_scalar(view):
    s = SEED_SCALAR
    return float(activate("tanh", np.array([s["W_h"] * s["h_prev"] + s["W_x"] * s["x"]
                                            + s["b"]]))[0])


#: The kinds whose inputs are words (text and tagging: the kinds that take typed words).
_TEXT = tuple(k for k in KINDS if get_kind(k).takes_text)
#: The cells without gates: one square W_h (eigenvalues, a rotation) and one a_t.
_SQUARE = cells_where(lambda c: not c.gated)
#: The cells with a carry path (a gate whose product over the steps keeps the state).
_CARRY = cells_where(lambda c: c.carry_gate_name is not None)

QUANTITIES: dict[str, Quantity] = {q.name: q for q in [
    Quantity("input_word", TEXT, "the input at step t, as the Sequence pane writes it",
             lambda v: v.label(v.t)),
    Quantity("target_word", TEXT, "the target at step t (the next word); none at the last step",
             lambda v: v.target_label(v.t)),
    Quantity("top_word", TEXT, "the word the Output pane marks ★: the most probable next word",
             _top_word, _TEXT),
    Quantity("p_top", NUMBER, "the probability of the most probable word at t", _p_top, _TEXT),
    Quantity("p_target", NUMBER, "the probability the model gives the target word at t",
             _p_target, _TEXT),
    Quantity("p_input", NUMBER, "the probability the model gives the word it has just read "
             "(x_t itself) as the next word", _p_input, _TEXT),
    Quantity("loss", NUMBER, "the loss of the sequence on screen (mean over its target steps), "
             "as 'on screen L=' in the Training loss pane", lambda v: float(v.trace.loss)),
    Quantity("step_loss", NUMBER, "the loss at step t alone",
             lambda v: float(v.trace.step_loss[v.t])),
    Quantity("h", TEXT, "the hidden state h_t, every unit to 3 decimals (the first 32 units, "
             "and how many there are, when there are more)",
             lambda v: _vector(v.trace.h[v.t])),
    Quantity("h_prev", TEXT, "the previous hidden state h_(t-1) (zeros at t = 0), written as h "
             "is",
             lambda v: _vector(v.trace.h_prev[v.t])),
    Quantity("h_norm", NUMBER, "‖h_t‖, the length of the hidden state",
             lambda v: float(np.linalg.norm(v.trace.h[v.t]))),
    Quantity("h_unit0", NUMBER, "the first hidden unit of h_t (h0 in the Hidden pane)",
             lambda v: float(v.trace.h[v.t][0])),
    Quantity("a_unit0", NUMBER, "the first unit of the pre-activation a_t = W_x x_t + W_h "
             "h_(t-1) + b", lambda v: float(v.trace.a[v.t][0]), None, _SQUARE),
    Quantity("repeat_distance", NUMBER, "‖h_t − h_s‖ where s is the last earlier step with the "
             "same input as t: how different the memory makes two identical inputs",
             _repeat_distance, cost=_repeat_cost, depends=("t",)),
    Quantity("spectral_norm", NUMBER, "‖W_h‖₂, the largest singular value of W_h (knob "
             "included): the most W_h stretches any vector",
             lambda v: float(v.trace.spectral_norm)),
    Quantity("spectral_radius", NUMBER, "ρ(W_h), the largest |eigenvalue| of W_h: how fast "
             "W_h^k grows or shrinks for large k", lambda v: float(v.trace.spectral_radius),
             None, _SQUARE),
    Quantity("seed_power_figure", NUMBER, "seed 000's 'approximate spectral norm': ‖W_h v‖ "
             "after 20 power iterations on W_h from v = (1, …, 1)/√H",
             lambda v: analysis.seed_power_estimate(v.params.W_h), None, _SQUARE),
    Quantity("rotation_degrees", NUMBER, "the angle of W_h's largest eigenvalue in the complex "
             "plane, in degrees (0 for a real one): how far W_h turns the state per step",
             _rotation, None, _SQUARE, cost=_eigen_cost),
    Quantity("rotation_period", NUMBER, "360 / rotation_degrees: steps for one full turn",
             _period, None, _SQUARE, cost=_eigen_cost),
    Quantity("jacobian", NUMBER, "‖∂h_last/∂h_t‖₂ at the cursor: how much a nudge to h_t still "
             "moves the last state", _jacobian_at, norms=True),
    Quantity("min_jacobian", NUMBER, "the smallest ‖∂h_last/∂h_t‖₂ over the sequence (usually "
             "at t = 0)", _jacobian_extreme(np.min), norms=True, cost=_sweep_cost),
    Quantity("max_jacobian", NUMBER, "the largest ‖∂h_last/∂h_t‖₂ over the sequence",
             _jacobian_extreme(np.max), norms=True, cost=_sweep_cost),
    Quantity("grad_h", NUMBER, "‖dL/dh_t‖ at the cursor: the whole gradient reaching h_t",
             lambda v: float(v.trace.grad_h[v.t]), backward=True),
    Quantity("reach_first", NUMBER, "‖∂ℓ_τ/∂h_0‖: how much of the loss at the target step τ "
             "(the cursor, or pinned with x) reaches the first state", _reach_first,
             backward=True, cost=_reach_cost, depends=("tau",), stoppable=True),
    Quantity("retention", NUMBER, "the retention curve's last cosine: cos(h_0, h_K) after all "
             "K blank steps", lambda v: float(v.trace.retention[-1])),
    Quantity("retention_min", NUMBER, "the lowest cosine of the retention curve",
             lambda v: float(np.min(v.trace.retention))),
    Quantity("retention_swings", NUMBER, "how many times the retention curve changes sign",
             _sign_changes),
    Quantity("wh_scale", NUMBER, "the W_h knob's factor, 2^(knob/4)", lambda v: v.wh_scale,
             trace=False),
    Quantity("predicted", NUMBER, "the predicted value at t (series), or P(1) (echo, majority)",
             _value_out, ("series", "echo", "majority")),
    Quantity("truth", NUMBER, "the true value (series) or bit (echo, majority) at t", _truth,
             ("series", "echo", "majority")),
    Quantity("error", NUMBER, "|predicted − truth| at t", _error, ("series", "echo", "majority")),
    Quantity("accuracy", NUMBER, "the share of held-out bits predicted right (echo, majority)",
             _accuracy, ("echo", "majority"), cost=_accuracy_cost),
    Quantity("masked", TRUTH, "padded batches: the mask is on (key u switches it)",
             lambda v: bool(v.scenario.train.mask), trace=False),
    Quantity("batch_lengths", TEXT, "padded batches: the lengths of the rows of the Batch "
             "pane's batch, as '11, 9, 7 and 4'", _batch_lengths, trace=False),
    Quantity("real_steps", NUMBER, "padded batches: the real steps of the Batch pane's batch "
             "(what packing runs)", lambda v: _batch_of(v).real_steps, trace=False),
    Quantity("padded_steps", NUMBER, "padded batches: the steps the Batch pane's padded "
             "rectangle runs, rows x longest length", lambda v: _batch_of(v).padded_steps,
             trace=False),
    Quantity("carry", NUMBER, "the conveyor belt: the product of forget (LSTM) or update (GRU) "
             "gates from the first step to the last, for the unit that keeps most",
             _carry, None, _CARRY, cost=_sweep_cost),
    Quantity("seed_scalar_step", NUMBER, "seed 001's one-number step: tanh(0.9·0.5 + 1.0·1.0 + "
             "0.1)", _seed_scalar, trace=False),
]}

QUANTITIES.update({q.name: q for q in [
    Quantity("units", TEXT, "every unit of h_t, as the Hidden state pane writes them "
             "(+0.2352, +0.3075, ...)", lambda v: _units(v.trace.h[v.t])),
    Quantity("gradient_share", NUMBER, "the share of a gradient at the last step that reaches "
             "t=0, ‖∂h_last/∂h_0‖₂: the Gradients pane's verdict (≤0.0066×)", _gradient_share,
             norms=True, form="share"),
    Quantity("reach_share", NUMBER, "the share of the gradient of the loss at τ that reaches "
             "t=0, ‖∂ℓ_τ/∂h_0‖ / ‖∂ℓ_τ/∂h_τ‖: the per-loss view's verdict (0.0078×)",
             _reach_share, backward=True, cost=_reach_cost, depends=("tau",), stoppable=True,
             form="share"),
    Quantity("effect_left", NUMBER, "what the first input changed in the state, still left "
             "after the blank steps (relative to the start): Retention's verdict (2.4× left)",
             _effect_left, cost=_effect_cost, form="share"),
]})

#: How each quantity is written when its placeholder has no format spec: as its pane does.
_FORM_OF = {
    "p_top": "abs", "p_target": "abs", "p_input": "abs", "loss": "abs", "step_loss": "abs",
    "h_norm": "abs", "h_unit0": "signed", "a_unit0": "signed", "repeat_distance": "abs",
    "spectral_norm": "abs", "spectral_radius": "abs", "jacobian": "abs",
    "min_jacobian": "abs", "max_jacobian": "abs", "grad_h": "abs", "wh_scale": "abs",
    "predicted": "output", "truth": "output", "error": "abs", "carry": "share",
    "accuracy": "percent",
}
QUANTITIES.update({name: dataclasses.replace(QUANTITIES[name], form=form)
                   for name, form in _FORM_OF.items()})

#: The forms: ``abs`` 4 significant digits (0.9991, 4.443e-4), ``signed`` the same with a sign
#: (+0.2352), ``share`` a ratio to 2 significant digits (0.0078, 1.2e-5), as a verdict writes it
#: before its ×, ``percent`` a share as the Output pane's held-out line writes it (35.9%, 100%),
#: ``output`` as the Output pane writes the value: signed for a series (ŷ +0.8937, truth
#: +0.8632), as ``abs`` for a probability or a bit (P(1)=0.2462).
FORMS = ("abs", "signed", "share", "percent", "output")


def output_form(view) -> str:
    """The form (FORMS) of an ``output`` quantity at ``view``: see FORMS."""
    return "signed" if view is not None and view.scenario.model.output == "identity" else "abs"


def _formed(value: float, form: str) -> str:
    from ..widgets._draw import fmt, fmt_abs, fmt_pow10
    if form == "signed":
        return fmt(value)
    if form == "percent":
        return f"{100 * value:.1f}%" if value < 1 else "100%"
    if form == "share":
        return "0" if value == 0 else fmt_pow10(math.log10(value)) if value > 0 else \
            fmt_abs(value, 2)
    return fmt_abs(value)


#: Position fields and what the screen is doing: name -> (kind, what it is).
FIELDS: dict[str, tuple[str, str]] = {
    "scenario": (TEXT, "the scenario's name"),
    "cell": (TEXT, ", ".join(f'"{c}"' for c in CELLS[:-1]) + f' or "{CELLS[-1]}"'),
    "epoch": (NUMBER, "the epoch whose weights are shown"),
    "trained": (NUMBER, "the epochs trained so far"),
    "t": (NUMBER, "the time step, from 0"),
    "T": (NUMBER, "the number of steps of the sequence"),
    "phase": (TEXT, '"forward" or "backward"'),
    "attention": (TEXT, 'an encoder-decoder\'s attention: "additive", "dot" or "none" ("" '
                        'without a decoder)'),
    "knob": (NUMBER, "the W_h knob in clicks (+ and -)"),
    "grads": (TEXT, 'the Gradients pane\'s view: "total" or "loss"'),
    "tau": (NUMBER, "the target step τ of the per-loss view"),
    "pinned": (TRUTH, "τ is pinned (x)"),
    "typed": (TEXT, 'the text typed with i ("" when none)'),
    "training": (TRUTH, "training is running"),
    "playing": (TRUTH, "the cursor is playing (space)"),
    "maximized": (TEXT, 'the id of the maximised pane ("" when none)'),
    "focused": (TEXT, "the id of the focused pane"),
    "compared": (TRUTH, "compare mode (C) was opened during this step"),
}


#: The numbers of a step on the lab screen (and only of one): name -> (kind, what it is).
LAB_FIELDS: dict[str, tuple[str, str]] = {
    f"median_{cell}": (NUMBER, f"on a lab step: the median over the seeds of the {cell} cell's "
                               f"metric at the lab's longest swept value (the lab screen "
                               f"writes it to 3 significant digits: {{median_{cell}:.3g}})")
    for cell in CELLS}


def _field(view, name: str, extra: dict):
    if name in extra:
        return extra[name]
    return {
        "scenario": lambda: view.scenario.name, "cell": lambda: view.cell,
        "epoch": lambda: view.epoch, "trained": lambda: view.trained_epochs,
        "t": lambda: view.t, "T": lambda: view.T, "phase": lambda: view.phase,
        "attention": lambda: view.scenario.model.attention or "",
        "knob": lambda: view.knob, "grads": lambda: view.grads, "tau": lambda: view.tau,
        "pinned": lambda: view.target is not None, "typed": lambda: view.typed or "",
        "training": lambda: view.training is not None, "playing": lambda: view.playing,
        "maximized": lambda: "", "focused": lambda: "", "compared": lambda: False,
    }[name]()


def names_and_kinds() -> dict[str, str]:
    """Every name a condition may use, with its kind."""
    out = {name: kind for name, (kind, _) in FIELDS.items()}
    out.update({name: q.kind for name, q in QUANTITIES.items()})
    return out


def applies(q: Quantity, kind: str, cell: str) -> str | None:
    """None when ``q`` applies to a ``kind`` scenario with ``cell``, else why not."""
    if q.kinds is not None and kind not in q.kinds:
        kinds = list(q.kinds)
        listed = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
        return f"applies to {listed} scenarios, not {kind}"
    if q.cells is not None and cell not in q.cells:
        names = " and ".join(get_cell(c).title for c in q.cells)
        return f"applies to the {names} cell{'s' if len(q.cells) > 1 else ''}, not {cell}"
    return None


def norms_done(view, norms: bool = True) -> bool:
    """Whether the trace ``view`` shows has its backward part and (``norms``) its exact
    step-Jacobian norms (True without a trace)."""
    trace = view.trace
    return trace is None or (bool(getattr(trace, "backward_done", True))
                             and (not norms or bool(getattr(trace, "jacobians_done", True))))


def _budget_ops() -> float:
    from engine import budget
    from engine.types import ScenarioError
    try:
        return budget.budgets()["trace"]
    except ScenarioError:
        return budget.DEFAULTS["trace"]


class QuantityStore:
    """The costly quantities' values, kept per trace (the few traces used last), filled by the
    lesson's worker: :meth:`get` and :meth:`put` are safe from any thread."""

    #: Traces whose values are kept; values kept per trace.
    TRACES = 8
    VALUES = 512

    def __init__(self) -> None:
        self._kept: OrderedDict[int, tuple] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(view, name: str) -> tuple:
        q = QUANTITIES[name]
        return (name,) + tuple(getattr(view, d) for d in q.depends)

    def get(self, view, name: str):
        """(True, value) when kept, else (False, None)."""
        trace = view.trace
        with self._lock:
            got = self._kept.get(id(trace))
            if got is None or got[0]() is not trace:
                return False, None
            values = got[1]
            key = self.key(view, name)
            return (True, values[key]) if key in values else (False, None)

    def put(self, view, name: str, value) -> None:
        trace = view.trace
        with self._lock:
            got = self._kept.get(id(trace))
            if got is None or got[0]() is not trace:
                got = (weakref.ref(trace), {})
                self._kept[id(trace)] = got
            self._kept.move_to_end(id(trace))
            values = got[1]
            if len(values) >= self.VALUES:
                values.pop(next(iter(values)))
            values[self.key(view, name)] = value
            while len(self._kept) > self.TRACES:
                self._kept.popitem(last=False)
            for dead in [k for k, (ref, _) in self._kept.items() if ref() is None]:
                del self._kept[dead]


class Facts:
    """The values of every name at one View, computed when first asked (None: not known, or does
    not apply). ``extra`` gives what only the screen knows (maximized, focused, compared).

    With a ``store`` (the lesson session's), a quantity costing more than INLINE_OPS is never
    computed here: it is read from the store, or, not there yet, None with its name in
    ``missing`` (for the worker: :func:`compute_values`) and :meth:`pending` true. Without one
    (tests, tools) everything is computed at once. A quantity over the trace budget is never
    computed: its value is TOO_COSTLY."""

    def __init__(self, view, extra: dict | None = None, store: QuantityStore | None = None
                 ) -> None:
        self.view = view
        self.extra = extra or {}
        self.store = store
        self.missing: set[str] = set()
        self._cache: dict[str, object] = {}

    @property
    def ready(self) -> bool:
        """The trace shown is the one for this View's setting, with its Jacobian norms (a big
        trace shows before they are computed: a value not known until then is '…', not n/a)."""
        return not self.view.needs_trace and norms_done(self.view) and not self.missing

    def pending(self, name: str) -> bool:
        """Whether ``name``'s value is not computed yet (it will be: by the lesson's worker,
        or once the trace or its norms are in)."""
        if name in self.missing:
            return True
        q = QUANTITIES.get(name)
        view = self.view
        if q is None or applies(q, view.scenario.kind, view.cell) is not None:
            return False
        if q.trace and (view.trace is None or view.needs_trace):
            return True
        return (q.norms or q.backward) and not norms_done(view, q.norms)

    def __call__(self, name: str):
        if name not in self._cache:
            value = self._compute(name)
            if name not in self.missing:
                self._cache[name] = value
            return value
        return self._cache[name]

    def _compute(self, name: str):
        view = self.view
        if name in FIELDS:
            return _field(view, name, self.extra)
        q = QUANTITIES.get(name)
        if q is None or not computable(q, view):
            return None
        if q.cost is not None:
            cost = q.cost(view)
            if cost > _budget_ops():
                return TOO_COSTLY
            if self.store is not None and cost > INLINE_OPS:
                known, value = self.store.get(view, name)
                if not known:
                    self.missing.add(name)
                return value
        return evaluate(q, view)


def computable(q: Quantity, view) -> bool:
    """Whether ``q`` applies to ``view`` and what it reads is there (its trace, the trace's
    norms or backward part when it needs them)."""
    if applies(q, view.scenario.kind, view.cell) is not None:
        return False
    if q.trace and (view.trace is None or view.needs_trace):
        return False
    if (q.norms or q.backward) and not norms_done(view, q.norms):
        return False  # not yet computed (it comes from a worker): no NaN to misread
    return True


def evaluate(q: Quantity, view, should_stop=None):
    """``q``'s value at ``view`` (None when it cannot be had: an overflow, no such step)."""
    try:
        with np.errstate(all="ignore"):
            value = q.fn(view, should_stop) if q.stoppable else q.fn(view)
    except (ArithmeticError, ValueError, IndexError, np.linalg.LinAlgError):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def compute_values(view, names, store: QuantityStore, should_stop=None) -> None:
    """Compute the costly ``names`` at ``view`` into ``store`` (the lesson's worker calls it,
    off the UI thread); raises engine.analysis.Cancelled when ``should_stop()`` says so."""
    from engine.analysis import Cancelled
    for name in names:
        if should_stop is not None and should_stop():
            raise Cancelled()
        q = QUANTITIES[name]
        if not computable(q, view) or store.get(view, name)[0]:
            continue
        try:
            value = evaluate(q, view, should_stop)
        except Cancelled:
            raise
        except Exception:  # noqa: BLE001 - out of memory, a bug: not known (n/a), not again
            value = None
        store.put(view, name, value)


def fmt_value(value, spec: str, form: str | None = None) -> str:
    """A value written with a format spec ('' gives the quantity's ``form`` (FORMS) when it has
    one, else 4 significant digits for a float)."""
    if not spec and form is not None and isinstance(value, (int, float)) \
            and not isinstance(value, bool) and math.isfinite(value):
        return _formed(float(value), form)
    if value is None:
        return "n/a"
    if value is TOO_COSTLY:
        return "(not computed: too much work)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return format(value, spec if spec and spec[-1:] not in "fegdn%" else "")
    if isinstance(value, int) and not spec:
        return str(value)
    if not spec:
        spec = ".4g"
    if spec[-1:] == "d":
        value = int(round(value)) if math.isfinite(value) else value
        if not isinstance(value, int):
            spec = spec[:-1] + "g"
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        return str(value)
