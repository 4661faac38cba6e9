"""Reader mode: rnntui as plain sentences, one command a line (``rnntui king --reader``).

For a learner who uses a screen reader or a braille display, or a speech synthesiser: no
full-screen drawing, no colour, no box, block or braille characters, no cursor movement. It
reads commands from standard input (a terminal, a pipe or a file) and answers each with a few
plain sentences that carry what the panes carry, with the numbers the panes show (formatted by
the panes' own functions, then said in words: ``-0.53`` is "minus 0.53", ``3.2e-7`` is "3.2
times ten to the minus 7"). ``quit`` or the end of the input ends it (exit 0).

It is built on the View (rnntui/view.py) and the engine, headless: no Textual App is started;
training runs in the foreground with a progress sentence now and then. Lessons (``rnntui learn
N --reader``) read their narration, tasks and questions (filled by the lessons' own quantities)
and take answers. Every text printed goes through :func:`rnntui.safe_text.visible`.
docs/reader.md lists the commands.
"""

from __future__ import annotations

import math
import re
import signal
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from engine import History, Scenario
from engine.cells import CELLS, cycle_after, get_cell
from engine.kinds import is_seq2seq
from engine.types import ScenarioError

from .position import KNOB_LIMIT, Position, PositionError, check_epoch
from .safe_text import clip, visible
from .view import BACKWARD, FORWARD, View, at_position, carried

__all__ = ["Reader", "run_reader", "say", "spoken_number", "MAX_LINE"]

#: The longest command line read; a longer one is refused (and the rest of it skipped).
MAX_LINE = 1000
#: Progress sentences while training: about this many per run.
PROGRESS_SENTENCES = 4
#: How many of the largest hidden units are named.
TOP_UNITS = 3

# ---------------------------------------------------------------------------------------------
# words a speech synthesiser reads well

#: Symbols of the panes and lessons, in words (longest first where one contains another).
_SYMBOLS = [
    ("→", " to "), ("←", " from "), ("◀", "the left-pointing mark"),
    ("▶", "the right-pointing mark"), ("★", "the star"), ("✓", "right"), ("✗", "wrong"),
    ("∂", "d "), ("τ", "tau"), ("ρ", "rho"), ("ℓ", "l"), ("×", " times "),
    ("⊙", " times "), ("·", " times "), ("−", " minus "), ("≤", " at most "),
    ("≥", " at least "), ("²", " squared"), ("ᵀ", " transposed"), ("°", " degrees"),
    ("∏", "the product of "), ("ŷ", "y hat"), ("…", "..."), ("␣", "space"),
]
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
#: Box drawing, block elements, geometric shapes and braille: never printed as they are.
_DRAWING = re.compile("[\u2500-\u25ff\u2800-\u28ff]")
_NORM = re.compile(r"‖([^‖]{1,60})‖")
_E_NUMBER = re.compile(r"(?<![\w.])([+-]?)(\d+(?:\.\d+)?)e([+-]?)0*(\d+)(?!\w|\.\d)")
_MINUS = re.compile(r"(?<![\w.)])-(?=\.?\d)")
#: ``h_t-1``, ``t-2``: a one-letter name minus a number.
_INDEX_MINUS = re.compile(r"(?<=\b[A-Za-z])-(?=\d)")
_UNDERSCORE = re.compile(r"(?<=\w)_(?=[\w(-])")
_SPACES = re.compile(r"[ \t]{2,}")
#: A sign shown in brackets after its words for a sighted reader ("at most (≤)"): said once.
_GLOSS = re.compile(r"\s*\((?:≤|≥|×|τ|ρ)\)")
#: A share written as the panes write it, ``0.0078×`` or ``≤0.0066×``: said "a factor 0.0078".
_FACTOR = re.compile(r"(≤)?([+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?)×")


def _e_words(m: re.Match) -> str:
    sign = "minus " if m.group(1) == "-" else ""
    power = ("minus " if m.group(3) == "-" else "") + m.group(4)
    return f"{sign}{m.group(2)} times ten to the {power}"


#: An arrow named as a key ("Press →", "then → three times") rather than "followed by".
_KEY_ARROW = re.compile(r"(?i)\b(press|then|and|or)\s+([→←])")
_KEY_DOT = re.compile(r"\bPress \.(?= )")


#: A derivative written as a fraction, ``dL/dh`` or ``d hT/d h``: said "dL by dh".
_FRACTION = re.compile(r"(\bd ?[A-Za-z]\w*)\s*/\s*(?=d ?[A-Za-z])")
#: Words a synthesiser says wrongly: espeak-ng reads "tanh" as "tan".
_WORDS = re.compile(r"\btanh\b")


def _key_arrow(m: re.Match) -> str:
    return f"{m.group(1)} the {'right' if m.group(2) == '→' else 'left'} arrow key"


def say(text: str) -> str:
    """``text`` (a sentence of ours or a lesson's) in words a speech synthesiser reads well:
    no ‖, ∂, τ, ×, arrows or subscripts; ``‖h‖`` is "the size of h", ``h_4`` is "h 4",
    ``-0.5`` is "minus 0.5", ``3.2e-7`` is "3.2 times ten to the minus 7"."""
    text = _NORM.sub(lambda m: f"the size of {m.group(1)}", text.replace("‖₂", "‖"))
    text = _KEY_ARROW.sub(_key_arrow, text)
    text = _KEY_DOT.sub("Type next step", text)
    text = _GLOSS.sub("", text)
    text = _FACTOR.sub(lambda m: ("at most " if m.group(1) else "") + f"a factor {m.group(2)}",
                       text)
    for symbol, words in _SYMBOLS:
        text = text.replace(symbol, words)
    text = text.translate(_SUBSCRIPTS)
    text = _FRACTION.sub(r"\1 by ", text)
    text = _WORDS.sub("tan h", text)
    text = _E_NUMBER.sub(_e_words, text)
    text = _UNDERSCORE.sub(" ", text)
    text = _MINUS.sub("minus ", text)
    text = _INDEX_MINUS.sub(" minus ", text)
    return _SPACES.sub(" ", text).strip()


def spoken_number(formatted: str) -> str:
    """A number as a pane formats it (``+0.5321``, ``-1.2e-5``, ``overflow``, ``nan``), said:
    the same digits, the sign and the exponent in words."""
    if formatted == "nan":
        return "not a number"
    if formatted.lstrip("+") == "overflow":
        return "overflow"
    if formatted == "-overflow":
        return "minus overflow"
    return say(formatted.lstrip("+"))


def plain(text: str) -> str:
    """What is printed: every control character visible, and no drawing character (box, block,
    braille, geometric shape: they come only from data) as it is."""
    return _DRAWING.sub(lambda m: f"U+{ord(m.group(0)):04X}", visible(text))


# ---------------------------------------------------------------------------------------------
# what the panes carry, in sentences


def _token(s: str | None) -> str:
    from .widgets._draw import quoted
    return quoted(s)  # (a space is '␣', said "space" by say())


def _n(x: float, digits: int = 4) -> str:
    from .widgets._draw import fmt
    return spoken_number(fmt(x, digits))


def _abs(x: float, digits: int = 4) -> str:
    from .widgets._draw import fmt_abs
    return spoken_number(fmt_abs(x, digits))


def _pow10(lv: float) -> str:
    from .widgets._draw import fmt_pow10
    return spoken_number(fmt_pow10(lv))


def _cell_name(cell: str) -> str:
    return get_cell(cell).long_title


def status_sentences(view: View) -> list[str]:
    """Where the cursor is: scenario, cell, epoch, step, pass, knob, what sequence."""
    from .sequences import sequence_title
    which = sequence_title(view)
    seq = f" Stepping through {which}." if which else ""
    if view.typed is not None:
        seq = " Stepping through the text you typed."
    elif view.example is not None:
        seq = (f" Stepping through training sequence {view.example + 1} of "
               f"{len(view.scenario.train_sequences)}.")
    return [f"{view.scenario.name}, a {view.scenario.kind} scenario, {_cell_name(view.cell)} "
            f"cell, epoch {view.epoch} of {view.trained_epochs} trained.{seq} Step {view.t} of the "
            f"{view.phase} pass; the steps go from 0 to {view.T - 1}. W_h is scaled by "
            f"{view.wh_scale:.3g}."]


def sequence_sentences(view: View) -> list[str]:
    """The input and the target at t."""
    t = view.t
    target = view.target_label(t)
    tail = f"the target is {_token(target)}." if target is not None and \
        bool(view.sequence.mask[t]) else "there is no target at this step."
    return [f"Step {t} reads {_token(view.label(t))}; {tail}"]


def output_sentences(view: View) -> list[str]:
    """The prediction at t, its probability, the target's and the loss at t."""
    tr, t = view.trace, view.t
    has = bool(tr.mask[t])
    if tr.output == "softmax":
        name, p = view.prediction(t)
        out = f"The model predicts {_token(name)} with probability {_abs(p)}"
        if not has:
            return [out + "."]
        i = int(np.argmax(tr.targets[t]))
        best = int(np.nanargmax(tr.out[t])) if np.isfinite(tr.out[t]).any() else 0
        verdict = "right" if best == i else "wrong"
        return [out + f"; the target {_token(view.target_label(t))} gets probability "
                      f"{_abs(tr.out[t][i])}, a loss of {_abs(tr.step_loss[t])} at this step: "
                      f"{verdict}."]
    if tr.output == "identity":
        y = float(tr.out[t][0])
        if not has:
            return [f"The prediction is {_n(y)}; there is no truth to compare at this step."]
        tg = float(tr.targets[t][0])
        return [f"The prediction is {_n(y)}, the truth {_n(tg)}: an error of {_n(y - tg)}, a "
                f"loss of {_abs(tr.step_loss[t])} at this step."]
    bit = view.prediction(t)[0]
    out = f"The probability of a 1 is {_abs(tr.out[t][0])}, so it predicts {bit}"
    if not has:
        return [out + "; no target yet."]
    target = view.target_label(t)
    return [out + f"; the target is {target}: {'correct' if bit == target else 'wrong'}."]


def hidden_sentences(view: View) -> list[str]:
    """The state's size and its largest units at t (and an LSTM's cell state)."""
    from .widgets._draw import safe_norm
    tr, t = view.trace, view.t
    h = np.asarray(tr.h[t], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        order = np.argsort(-np.nan_to_num(np.abs(h), nan=np.inf), kind="stable")[:TOP_UNITS]
    units = ", ".join(f"unit {int(u)} at {_n(h[u])}" for u in order)
    out = [f"The hidden state after {_token(view.label(t))} has {len(h)} units and size "
           f"{_abs(safe_norm(h))}; the largest now: {units}."]
    if tr.c is not None:
        out.append(f"The {get_cell(tr.cell).title}'s cell state has size "
                   f"{_abs(safe_norm(np.asarray(tr.c[t])))}.")
    return out


def gradient_sentences(view: View, *, verdict: bool = True) -> list[str]:
    """The gradient reaching t and (``verdict``) how a gradient fares back to the first step:
    the Gradients pane's numbers, in its view (every loss, or the loss at tau)."""
    from .widgets._draw import log10_safe
    tr, t, T = view.trace, view.t, len(view.trace)
    whole = "whole state" if get_cell(tr.cell).gated else "state"
    if view.grads == "loss":
        return _loss_view_sentences(view, verdict)
    grad = tr.grad_state if tr.grad_state is not None else tr.grad_h
    g = float(log10_safe(grad)[t])
    j = float(np.asarray(tr.jacobian_log10, dtype=np.float64)[t])
    out = [f"The gradient of the loss reaching step {t} has size {_pow10(g)}; a gradient at "
           f"the last step is scaled by at most {_pow10(j)} back to the {whole} at step {t}."]
    if verdict:
        out.append(verdict_sentence(view))
    return out


def verdict_sentence(view: View) -> str:
    """The Gradients pane's verdict (vanishing, fading, steady, growing, exploding), its ratio,
    and a gated cell's belt."""
    from .widgets.gradients import verdict_word
    tr, T = view.trace, len(view.trace)
    if T < 2:
        return "One step: nothing flows back."
    lv = float(np.asarray(tr.jacobian_log10, dtype=np.float64)[0])
    word = verdict_word(lv)[0]
    x = _pow10(lv)
    if lv == math.inf:
        text = f"Back from step {T - 1} to step 0 the gradient overflows: {word}."
    elif word in ("vanishing", "fading"):
        text = f"Back from step {T - 1} to step 0 a gradient shrinks to at most {x} of " \
               f"its size: {word}."
    elif word == "steady":
        text = f"Back from step {T - 1} to step 0 a gradient is scaled by at most {x}: {word}."
    else:
        text = f"Back from step {T - 1} to step 0 a gradient can grow {x} times: {word}."
    if tr.carry_log10 is not None and len(tr.carry_log10):
        gate = get_cell(tr.cell).carry_word
        text += f" The {gate}-gate belt keeps a factor {_pow10(float(tr.carry_log10[0]))}."
    return text


def _loss_view_sentences(view: View, verdict: bool) -> list[str]:
    from engine.influence import reach

    from .widgets.gradients import REACH_STEPS, verdict_word
    tr, t = view.trace, view.t
    tau = min(view.tau, view.T - 1)
    pinned = "pinned" if view.target is not None else "following the cursor"
    if not bool(tr.mask[tau]):
        return [f"The gradients follow the loss at target step tau {tau} ({pinned}), which "
                f"has no target: no loss to follow back."]
    r = reach(tr, tau, max(0, tau - REACH_STEPS))
    g = np.full(view.T, np.nan)
    g[r.first: tau + 1] = r.grad_log10
    out = [f"The gradients follow the loss at target step tau {tau} alone ({pinned})."]
    if t <= tau:
        out.append(f"Its gradient reaching step {t} has size {_pow10(float(g[t]))}.")
    else:
        out.append(f"Step {t} comes after tau: the loss at tau does not reach it.")
    if verdict:
        if tau == 0:
            out.append("Tau is step 0: nothing before it to reach.")
        else:
            first = int(np.flatnonzero(np.isfinite(g) | np.isinf(g))[0])
            lv = float(g[first] - g[tau])
            word = "unknown" if math.isnan(lv) else verdict_word(lv)[0]
            out.append(f"The loss at step {tau}, followed back to step {first}, keeps a factor "
                       f"{_pow10(lv)} of its size at step {tau}: {word}.")
    return out


def retention_sentences(view: View) -> list[str]:
    """The Retention pane: the last cosine, and what the first input changed, K blanks on."""
    from engine.influence import first_input_effect

    from .widgets.retention import _start_is_zero, retention_word, sign_changes
    tr = view.trace
    r = np.asarray(tr.retention, dtype=np.float64)
    K = len(r)
    if K == 0:
        return ["Retention: no blank steps are set."]
    if _start_is_zero(tr) or not np.isfinite(r[-1]):
        cos = f"after {K} blank inputs the cosine with the first state is undefined"
    else:
        cos = f"after {K} blank inputs the cosine with the first state is {_n(r[-1])}"
    first = tr.x[0] if len(tr) else np.zeros(tr.params.input_size)
    eff = first_input_effect(tr.params, first, K, tr.activation)
    if not eff.start_norm > 0:
        return [f"Retention: {cos}; the first input changes nothing, so there is nothing to "
                f"remember."]
    left = float(eff.ratio[-1])
    flips = sign_changes(eff.cosine[1:])
    word = retention_word(left)[0]
    share = _pow10(float(np.log10(left))) if left > 0 else "0"
    turn = f", turning (it swings {flips} times: complex eigenvalues)" if flips >= 2 else ""
    return [f"Retention: {cos}; of what the first input changed, a factor {share} is left"
            f"{turn}: {word}."]


def batch_sentences(view: View) -> list[str]:
    """The Batch pane: the padded batch holding the sequence stepped through, its mask, the rows
    ended at t, and the steps it and an epoch run against the real ones."""
    sc, cfg = view.scenario, view.scenario.train
    if not cfg.pad or not sc.train_sequences:
        return ["Batch: this scenario trains one length per batch; pad = true under [train] "
                "makes padded batches."]
    from engine.batch import packing, stepped_row, training_batch
    k, _, batch = training_batch(sc, stepped_row(sc, view.example))
    n = -(-len(sc.train_sequences) // max(cfg.batch_size, 1))
    lengths = ", ".join(str(int(x)) for x in batch.lengths)
    which = " of the fixed set (training draws fresh batches for every update)" if cfg.fresh \
        else ""
    out = [f"Batch {k + 1} of {n}{which}: {batch.B} sequences of lengths {lengths}, padded to "
           f"{batch.T} steps: {batch.padded_steps} steps for {batch.real_steps} real."]
    if batch.masked:
        last = ", ".join(str(int(x)) for x in batch.last())
        out.append(f"Mask on: a pad step counts for nothing, and each row's answer is read at "
                   f"its last real step, t = {last}.")
    else:
        out.append(f"Mask off: the pads go in, and every row's answer is read at t = "
                   f"{batch.T - 1}, after the pads.")
    t = min(view.t, batch.T - 1)
    ended = [str(b + 1) for b, length in enumerate(batch.lengths) if t >= length]
    if ended:
        rows = f"rows {', '.join(ended)} have" if len(ended) > 1 else f"row {ended[0]} has"
        out.append(f"At step {t}, {rows} ended.")
    if not cfg.fresh:
        real, padded = packing(sc.train_sequences, cfg.batch_size, cfg.sort)
        order = "sorted by length" if cfg.sort else "in file order"
        out.append(f"An epoch runs {padded} steps for {real} real, its batches {order}.")
    return out


def loss_sentences(view: View) -> list[str]:
    """The Training loss pane: the epoch, the loss there, where it started and its lowest, the
    validation loss, and the loss of the sequence stepped through."""
    from .widgets._draw import fmt_abs
    hist = view.history
    losses = np.asarray(hist.losses, dtype=np.float64)
    E = len(losses) - 1
    e = min(max(view.epoch, 0), E)
    if view.loss_pending and e == 0:
        now = "not computed yet"
    else:
        now = _abs(losses[e])
    if E == 0:
        out = [f"Untrained: type train to train (the loss is {now} at the initial weights)."]
    else:
        best = int(np.nanargmin(losses)) if np.isfinite(losses).any() else 0
        out = [f"Epoch {e} of {E}: the training loss is {now} (it started at "
               f"{_abs(losses[0])}, lowest {_abs(losses[best])} at epoch {best})."]
        if len(hist.val_losses) == len(losses):
            val = np.asarray(hist.val_losses, dtype=np.float64)
            vb = int(np.nanargmin(val)) if np.isfinite(val).any() else 0
            out.append(f"The validation loss is {_abs(val[e])} (lowest {_abs(val[vb])} at "
                       f"epoch {vb}).")
    if hist.stopped:
        out.append(f"Training {hist.stopped}.")
    if view.trace is not None:
        out.append(f"On this sequence the loss is {spoken_number(fmt_abs(view.trace.loss))}.")
    return out


def why_sentences(view: View) -> list[str]:
    """Why the gradient fares as it does: W_h's largest singular value and spectral radius (the
    Gradients pane's header), the knob, and the slope of the activation."""
    tr = view.trace
    knob = f"W_h is scaled by {_abs(view.wh_scale)}" if view.knob else "W_h is not scaled"
    if get_cell(tr.cell).gated:
        head = (f"The largest singular value of W_h, all {get_cell(tr.cell).title} gate blocks "
                f"stacked, is {_abs(tr.spectral_norm)}; {knob}.")
        how = ("Each step back multiplies the gradient by the gates' Jacobian; where the "
               "forget or update gates stay open, the state is carried along the belt and the "
               "gradient with it.")
    else:
        head = (f"The largest singular value of W_h is {_abs(tr.spectral_norm)} and its "
                f"spectral radius, the largest eigenvalue in size, is "
                f"{_abs(tr.spectral_radius)}; {knob}.")
        slope = {"tanh": "the tanh slopes, at most 1", "sigmoid": "the sigmoid slopes, at most "
                 "one quarter", "relu": "the relu slopes, 0 or 1"}.get(
                     tr.activation, "the activation's slopes")
        how = (f"Each step back multiplies the gradient by W_h transposed and {slope}: a "
               f"largest singular value below 1 shrinks it at every step, above 1 it can grow.")
    return [head, how, verdict_sentence(view)]


# ---------------------------------------------------------------------------------------------
# the commands

HELP = [
    "Commands, one a line; a letter in brackets does the same.",
    "Moving: next (l), back (h), first (g), last (G), pass (b) switches between the forward "
    "and the backward pass, step N goes to step N.",
    "Weights: train (t) trains the scenario's number of epochs more; train N trains N more; "
    "train to N trains up to epoch N. epoch N shows the weights of epoch N (training up to it "
    "if need be), epoch first, epoch last, earlier and later move between saved epochs. reset "
    "goes back to the initial weights.",
    "The knob: wh up (or wh +1, or +) and wh down (or wh -1, or -) scale W_h up or down (four "
    "clicks double or halve it); wh 0 (or 0) puts it back; wh N sets it to N clicks.",
    "cell (c) switches to the next cell; cell NAME picks one of CELLS.",
    "Padded batches (pads): mask (u) switches the mask on or off, sort (s) sorts the batches "
    "by length or puts them back in file order; each setting trains once.",
    "Gradients: grads (v) switches between every loss and the loss at one target step tau; pin "
    "(x) pins tau at the cursor, or lets it follow again.",
    "Reading: where, input, output, hidden, gradients, retention, loss and batch read one "
    "pane; why "
    "says why the gradient vanishes or explodes; describe reads everything; about reads the "
    "scenario's description; type TEXT steps through your own text (text scenarios).",
    "Lessons: next step (.), previous step (,), answer N (or the digit N), lesson reads the "
    "step again.",
    "help (?) lists the commands; quit (q) ends, as does the end of the input.",
]

#: Words and letters for the commands without an argument (the app's keys where it has one).
ALIASES = {
    "next": "next", "l": "next", "right": "next", "forward": "next",
    "back": "back", "h": "back", "left": "back", "previous": "back",
    "first": "first", "g": "first", "home": "first", "start": "first",
    "last": "last", "G": "last", "end": "last",
    "pass": "pass", "b": "pass", "p": "pass", "phase": "pass",
    "train": "train", "t": "train",
    "epoch": "epoch", "earlier": "earlier", "[": "earlier", "later": "later", "]": "later",
    "<": "epoch_first", ">": "epoch_last", "reset": "reset", "r": "reset",
    "wh": "wh", "+": "wh_up", "=": "wh_up", "-": "wh_down", "0": "wh_zero",
    "cell": "cell", "c": "cell", "grads": "grads", "v": "grads", "pin": "pin", "x": "pin",
    "why": "why", "describe": "describe", "about": "about", "d": "about",
    "where": "where", "status": "where", "input": "input", "sequence": "input",
    "output": "output", "prediction": "output", "hidden": "hidden", "state": "hidden",
    "gradients": "gradients", "gradient": "gradients", "retention": "retention",
    "loss": "loss", "type": "type", "i": "type", "step": "step", "batch": "batch",
    "mask": "mask", "u": "mask", "sort": "sort", "s": "sort",
    "help": "help", "?": "help", "quit": "quit", "q": "quit", "exit": "quit",
    "lesson": "lesson", ".": "lesson_next", ",": "lesson_back", "answer": "answer",
    "1": "answer", "2": "answer", "3": "answer", "4": "answer",
}

#: The reader's word for each key a lesson's task names (its ``keys``).
KEY_WORDS = {"right": "next", "l": "next", "left": "back", "h": "back", "b": "pass",
             "p": "pass", "t": "train", "v": "grads", "x": "pin", "G": "last", "g": "first",
             "end": "last", "home": "first", "plus": "wh up", "equals_sign": "wh up",
             "minus": "wh down", "0": "wh 0", "c": "cell", ">": "epoch last",
             "greater_than_sign": "epoch last", "<": "epoch first", "less_than_sign":
             "epoch first", "[": "earlier", "]": "later", "d": "about", "r": "reset",
             "u": "mask", "s": "sort"}


#: Keys whose task needs the app's screen: compare mode, maximising a pane, an
#: encoder-decoder's attention (A), stepping to the next padded batch (B).
SCREEN_KEYS = {"C", "escape", "m", "A", "B"}


def _reader_keys(keys) -> str:
    """What a task's keys are in reader mode, as a sentence to add to the task ("" when the
    task names none): its words, the text typed with i, or that it needs the screen."""
    keys = list(keys)
    if not keys:
        return ""
    if SCREEN_KEYS & set(keys):
        return (" This task needs the app's screen, which reader mode does not draw: type next "
                "step to go on.")
    if keys[0] == "i" and keys[-1] == "enter":  # typing a text (i, its letters, Enter)
        text = "".join(" " if k == "space" else k for k in keys[1:-1])
        return f" In reader mode, type: type {text}."
    return f" In reader mode, type: {', '.join(KEY_WORDS.get(k, k) for k in keys)}."


class CommandError(ValueError):
    """A command that cannot be done; ``str(err)`` is the one sentence said."""


@dataclass
class _StepRun:
    arrived: bool = False
    done: bool = False
    picked: int | None = None
    words: dict = field(default_factory=dict)


class Reader:
    """The reader mode over one View: :meth:`handle` takes a command line and prints the answer
    through ``out`` (one call per line of text, already made plain)."""

    def __init__(self, scenario: Scenario, *, source: str | None = None,
                 out: Callable[[str], None] | None = None, lesson=None, progress=None,
                 train: bool = True, epoch: int | None = None) -> None:
        self._out = out or (lambda line: print(line, flush=True))
        self.train_on_open = train
        self._trained: dict[str, History] = {}
        self.lesson = lesson
        self.index = 0
        self.runs: dict[int, _StepRun] = {}
        #: Lesson steps not opened here (an encoder-decoder's), by index: the line said for them.
        self._refused: dict[int, str] = {}
        self._progress = progress
        # (an epoch past the scenario's own is trained to on open, as the app does for --at)
        self.view = self._open(scenario, source or scenario.name, epoch)

    # -- printing ------------------------------------------------------------------------------
    def say(self, *lines: str) -> None:
        for line in lines:
            if line:
                self._out(plain(say(line)))

    def say_data(self, line: str) -> None:
        """A line of data (a description, a message with a file name): made plain, not
        rewritten."""
        self._out(plain(line))

    # -- opening and training ------------------------------------------------------------------
    def _open(self, scenario: Scenario, source: str, wanted: int | None = None) -> View:
        """The first View of ``scenario``: trained as the app trains it on open (the training
        cache first), at its last epoch, with its trace."""
        from .training import cached, open_epochs, untrained
        epochs = open_epochs(scenario, self.train_on_open, wanted)
        if epochs > 0:
            history = cached(scenario, epochs)
            if history is None:
                history = self._fit(scenario, epochs, None)
        else:
            history = untrained(scenario)
        view = View.open(scenario, history, source=source).with_history(history)
        return self._traced(view)

    @staticmethod
    def _traced(view: View) -> View:
        if view.needs_trace:
            from .jobs import compute_trace
            view = view.with_trace(*compute_trace(view))
        return view

    def _fit(self, scenario: Scenario, epochs: int, start: History | None) -> History:
        """Train ``epochs`` more epochs in the foreground, saying how it goes; Ctrl+C stops
        after the current epoch, keeping what was learned."""
        from engine import fit
        first = start.trained_epochs if start is not None else 0
        last = first + epochs
        every = max(1, math.ceil(epochs / PROGRESS_SENTENCES))
        self.say(f"Training {scenario.name} for {epochs} epochs, from epoch {first} to {last}. "
                 f"Ctrl+C stops it, keeping what was learned.")
        stop = [False]

        def progress(epoch: int, loss: float) -> bool:
            if stop[0]:
                return False
            done = epoch - first
            if done % every == 0 and epoch < last:
                self.say(f"Training: epoch {epoch} of {last}, loss {_abs(loss)}.")
            return True

        def interrupted(*_) -> None:
            stop[0] = True
        old = None
        try:
            old = signal.signal(signal.SIGINT, interrupted)
        except ValueError:  # not the main thread (a test's): no Ctrl+C to catch
            pass
        try:
            history = fit(scenario, epochs, history=start, progress=progress)
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
        if start is None and not history.stopped:
            from . import cache
            cache.store(scenario, history, epochs)
        if history.stopped:
            self.say(f"Training {history.stopped}.")
        return history

    def _train_to(self, epoch: int) -> None:
        """Train on from what there is up to ``epoch`` (checked against the limits first)."""
        view = self.view
        try:
            check_epoch(Position(scenario=view.source, epoch=epoch), view.scenario)
        except PositionError as err:
            raise CommandError(f"Not trained: {err}.") from None
        more = epoch - view.trained_epochs
        if more <= 0:
            return
        start = view.history if view.trained_epochs > 0 else None
        history = self._fit(view.scenario, more if start is not None else epoch, start)
        self.view = self._traced(view.with_history(history, epoch=epoch))

    def go_to(self, pos: Position) -> None:
        """Move to ``pos`` (the --at option): its epoch (trained up to it), sequence (typed text,
        a training sequence, a text file's window or a generated sequence), knob, pass, step,
        gradient view and tau (rnntui.view.at_position)."""
        if pos.cells is not None:
            self.say("Reader mode does not open compare mode yet: the "
                     f"{_cell_name(self.view.cell)} alone is read instead.")
        if pos.epoch is not None and pos.epoch > self.view.trained_epochs:
            self._train_to(pos.epoch)
        self.view = self._traced(at_position(self.view, pos))

    # -- the loop ------------------------------------------------------------------------------
    def start(self) -> None:
        """What is said first: where we are, or the lesson's first step."""
        if self.lesson is not None:
            number = f" {self.lesson.number}" if self.lesson.number else ""
            n = len(self.lesson)
            self.say(f"Lesson{number}: {self.lesson.title}. "
                     f"{n} step{'s' if n != 1 else ''}. Type help for the commands.")
            self.go(self._start_index())
            return
        self.say("rnntui reader mode. Type help for the commands, quit to end.")
        self.say(*status_sentences(self.view), *self.step_sentences())

    def handle(self, line: str) -> bool:
        """Do one command line; False when it asks to quit."""
        words = line.strip().split()
        if not words:
            return True
        try:
            return self._do(words)
        except CommandError as err:  # (ours, written to be said; it may quote the command)
            self.say_data(str(err))
        except ScenarioError as err:
            self.say_data(str(err))
        except (ArithmeticError, ValueError, IndexError, np.linalg.LinAlgError) as err:
            self.say_data(f"That command failed: {clip(str(err), 200)}")
        return True

    def _do(self, words: list[str]) -> bool:
        head, args = words[0], words[1:]
        name = ALIASES.get(head) or ALIASES.get(head.lower())
        if head.lower() == "next" and args[:1] == ["step"]:
            name, args = "lesson_next", args[1:]
        elif head.lower() in ("previous", "back") and args[:1] == ["step"]:
            name, args = "lesson_back", args[1:]
        if head in ("1", "2", "3", "4"):
            args = [head]
        if name is None:
            raise CommandError(f"Unknown command '{clip(head, 40)}'; type help for the "
                               f"commands.")
        if name == "quit":
            self.say("Bye.")
            return False
        if name in PANE_READS:
            self._no_args(args, head)
            self.say(*PANE_READS[name](self.view))
        else:
            getattr(self, f"_cmd_{name}")(args)
        self._after()
        return True

    # -- answers -------------------------------------------------------------------------------
    def step_sentences(self) -> list[str]:
        """What a step along the pass says: the input and target, then the prediction and the
        state (forward) or the gradient reaching t (backward)."""
        v = self.view
        out = [f"Step {v.t}, {v.phase}."] + sequence_sentences(v)
        if v.phase == FORWARD:
            return out + output_sentences(v) + hidden_sentences(v)
        return out + gradient_sentences(v, verdict=False)

    def _moved(self, new: View, edge: str) -> None:
        if new is self.view:
            self.say(f"Already at the {edge} step of the {self.view.phase} pass "
                     f"(step {self.view.t}).")
            return
        self.view = new
        self.say(*self.step_sentences())

    def _no_args(self, args: list[str], what: str) -> None:
        if args:
            raise CommandError(f"{what} takes nothing after it.")

    def _cmd_next(self, args):
        self._no_args(args, "next")
        self._moved(self.view.moved(1), "last")

    def _cmd_back(self, args):
        self._no_args(args, "back")
        self._moved(self.view.moved(-1), "first")

    def _cmd_first(self, args):
        self._no_args(args, "first")
        self._moved(self.view.to_start(), "first")

    def _cmd_last(self, args):
        self._no_args(args, "last")
        self._moved(self.view.to_end(), "last")

    def _cmd_step(self, args):
        if len(args) != 1 or not _is_int(args[0]):
            raise CommandError(f"step takes a step number, 0 to {self.view.T - 1}.")
        t = int(args[0])
        if not 0 <= t < self.view.T:
            raise CommandError(f"Step {clip(args[0], 20)} is not a step of the sequence: "
                               f"0 to {self.view.T - 1}.")
        self._moved(self.view.at(t), "same")

    def _cmd_pass(self, args):
        self._no_args(args, "pass")
        self.view = self.view.toggled_phase()
        self.say(f"Now the {self.view.phase} pass: next walks "
                 f"{'from the last step back to the first' if self.view.phase == BACKWARD else 'from the first step on'}.",
                 *self.step_sentences())

    def _cmd_train(self, args):
        view = self.view
        if not args:
            from .jobs import FALLBACK_EPOCHS
            target = view.trained_epochs + (view.scenario.train.epochs or FALLBACK_EPOCHS)
        elif args[0] == "to" and len(args) == 2 and _is_int(args[1]):
            target = int(args[1])
        elif len(args) == 1 and _is_int(args[0]):
            if int(args[0]) < 1:
                raise CommandError("train N trains N more epochs, N at least 1.")
            target = view.trained_epochs + int(args[0])
        else:
            raise CommandError("train takes nothing, a number of epochs, or 'to' and an epoch.")
        if target <= view.trained_epochs:
            raise CommandError(f"Already trained to epoch {view.trained_epochs}; epoch "
                               f"{target} is shown with: epoch {target}.")
        self._train_to(target)
        self.view = self._traced(self.view.with_epoch(self.view.trained_epochs))
        self._weights_changed()

    def _cmd_epoch(self, args):
        if args in (["first"], ["0"]):
            return self._cmd_epoch_first([])
        if args == ["last"]:
            return self._cmd_epoch_last([])
        if len(args) != 1 or not _is_int(args[0]):
            raise CommandError("epoch takes an epoch number, or first or last.")
        epoch = int(args[0])
        if epoch < 0:
            raise CommandError("Epochs count from 0.")
        view = self.view
        if epoch > view.trained_epochs:
            self._train_to(epoch)
        self._show_epoch(epoch)

    def _show_epoch(self, epoch: int) -> None:
        new = self._traced(self.view.with_epoch(epoch))
        self.view = new
        if new.epoch != epoch:
            self.say(f"Epoch {epoch} is not kept; showing epoch {new.epoch}, the nearest kept "
                     f"before it.")
        self._weights_changed()

    def _cmd_epoch_first(self, args):
        self._no_args(args, "epoch first")
        self._show_epoch(0)

    def _cmd_epoch_last(self, args):
        self._no_args(args, "epoch last")
        self._show_epoch(self.view.trained_epochs)

    def _cmd_earlier(self, args):
        self._no_args(args, "earlier")
        self.view = self._traced(self.view.scrubbed(-1))
        self._weights_changed()

    def _cmd_later(self, args):
        self._no_args(args, "later")
        self.view = self._traced(self.view.scrubbed(1))
        self._weights_changed()

    def _cmd_reset(self, args):
        if args != ["yes"] and self.view.trained_epochs:
            raise CommandError(f"reset throws away {self.view.trained_epochs} trained epochs; "
                               f"type reset yes to do it.")
        from .training import untrained
        self.view = self._traced(self.view.with_history(untrained(self.view.scenario), epoch=0))
        self.say("Back to the initial weights, epoch 0.")
        self._weights_changed()

    def _weights_changed(self) -> None:
        self.say(f"Epoch {self.view.epoch} of {self.view.trained_epochs}, W_h scaled by "
                 f"{self.view.wh_scale:.3g}.", *loss_sentences(self.view),
                 *sequence_sentences(self.view), *output_sentences(self.view),
                 verdict_sentence(self.view))

    def _cmd_wh(self, args):
        if len(args) != 1:
            raise CommandError("wh takes one word or number: wh up, wh down, wh 0, or wh 4 for 4 clicks.")
        text = {"up": "+1", "down": "-1"}.get(args[0].lower(), args[0])
        if text in ("+", "-"):
            text += "1"
        if not _is_int(text.lstrip("+-")) or text.count("+") + text.count("-") > 1:
            raise CommandError(f"wh takes a whole number of clicks, like +1, -2 or 0, not "
                               f"'{clip(text, 20)}'.")
        n = int(text)
        knob = self.view.knob + n if text[0] in "+-" and n != 0 else n
        if not -KNOB_LIMIT <= knob <= KNOB_LIMIT:
            raise CommandError(f"The W h knob goes from minus {KNOB_LIMIT} to {KNOB_LIMIT} clicks; "
                               f"it is at {self.view.knob}.")
        self._set_knob(knob)

    def _cmd_wh_up(self, args):
        self._cmd_wh(["+1"] if not args else args)

    def _cmd_wh_down(self, args):
        self._cmd_wh(["-1"] if not args else args)

    def _cmd_wh_zero(self, args):
        self._no_args(args, "0")
        self._set_knob(0)

    def _set_knob(self, knob: int) -> None:
        self.view = self._traced(self.view.with_knob(knob))
        clicks = "1 click" if abs(self.view.knob) == 1 else f"{self.view.knob} clicks"
        self.say(f"W_h is scaled by {self.view.wh_scale:.3g} ({clicks}).",
                 *gradient_sentences(self.view), *retention_sentences(self.view),
                 *output_sentences(self.view))

    def _cmd_cell(self, args):
        from engine.scenario import weights_note, with_cell
        view = self.view
        if len(args) > 1:
            raise CommandError(f"cell takes one name: {', '.join(CELLS)}.")
        if args:
            name = args[0].lower()
            if name not in CELLS:
                raise CommandError(f"Unknown cell '{clip(args[0], 20)}'; choose one of "
                                   f"{', '.join(CELLS)}.")
        else:
            name = cycle_after(view.cell)  # as the c key: RNN, LSTM, GRU
        if name == view.cell:
            self.say(f"The cell is already the {_cell_name(name)}.")
            return
        try:
            sc = with_cell(view.scenario, name)
        except ScenarioError as err:
            raise CommandError(f"The {_cell_name(name)} is not opened: {err.message}") from None
        self._trained[view.cell] = view.history
        kept = self._trained.get(name)
        self.say(f"Cell: {_cell_name(name)}.")
        note = weights_note(sc)
        if note:
            self.say_data(f"({note})")
        new = self._open(sc, view.source) if kept is None else \
            View.open(sc, kept, source=view.source).with_history(kept)
        self.view = self._traced(carried(new, view))
        self._weights_changed()

    def _cmd_mask(self, args):
        self._no_args(args, "mask")
        self._switch_batching(mask=not self.view.scenario.train.mask)

    def _cmd_sort(self, args):
        self._no_args(args, "sort")
        self._switch_batching(sort=not self.view.scenario.train.sort)

    def _switch_batching(self, **change) -> None:
        """Keys u and s: the same scenario with its mask or batch order switched, at the same
        step; a setting trained before comes from the training cache."""
        from engine.scenario import with_batching
        view = self.view
        try:
            sc = with_batching(view.scenario, **change)
        except ScenarioError:
            raise CommandError("This scenario trains one length per batch: mask and sort "
                               "switch padded batches (try the built-in pads).") from None
        cfg = sc.train
        self.say(f"Mask {'on' if cfg.mask else 'off'}." if "mask" in change else
                 f"Batches {'sorted by length' if cfg.sort else 'in file order'}.")
        self.view = self._traced(carried(self._open(sc, view.source), view))
        self._weights_changed()

    def _cmd_grads(self, args):
        self._no_args(args, "grads")
        view = self.view
        self.view = view.with_grads("loss" if view.grads == "total" else "total")
        self.say(*gradient_sentences(self.view))

    def _cmd_pin(self, args):
        self._no_args(args, "pin")
        self.view = self.view.pin_toggled()
        if self.view.target is None:
            self.say("Tau follows the cursor again.")
        else:
            self.say(f"Target step tau pinned at step {self.view.t}: step elsewhere to see "
                     f"what reaches it.")
        self.say(*gradient_sentences(self.view))

    def _cmd_type(self, args):
        from engine.scenario import encode_text
        sc = self.view.scenario
        from engine.kinds import get_kind, typing_kinds
        if not get_kind(sc.kind).takes_text:
            raise CommandError(f"Typing your own input works for {typing_kinds()} scenarios; this is a "
                               f"{sc.kind} scenario.")
        text = " ".join(args)
        if not text:
            raise CommandError("type takes the text to step through, e.g. type the king wore.")
        seq = encode_text(sc, text)
        self.view = self._traced(self.view.with_sequence(seq, text))
        self.say(f"Stepping through your text: {len(seq)} steps.", *self.step_sentences())

    def _cmd_why(self, args):
        self._no_args(args, "why")
        self.say(*why_sentences(self.view))

    def _cmd_describe(self, args):
        self._no_args(args, "describe")
        v = self.view
        self.say(*status_sentences(v), *sequence_sentences(v),
                 *(batch_sentences(v) if v.scenario.train.pad else ()), *output_sentences(v),
                 *hidden_sentences(v), *gradient_sentences(v), *retention_sentences(v),
                 *loss_sentences(v))
        if self.lesson is not None:
            self.say(f"Lesson step {self.index + 1} of {len(self.lesson)}; type lesson to hear "
                     f"it again.")

    def _cmd_about(self, args):
        self._no_args(args, "about")
        sc = self.view.scenario
        self.say(f"About {sc.name}:")
        for para in _paragraphs(sc.description or "No description."):
            self.say_data(para)

    def _cmd_help(self, args):
        for line in HELP:  # (as written: the commands' own spelling, "wh -1")
            self.say_data(line.replace("CELLS", ", ".join(CELLS)))

    # -- lessons -------------------------------------------------------------------------------
    @property
    def progress(self):
        if self._progress is None:
            from .lessons.progress import Progress
            self._progress = Progress()
        return self._progress

    def _start_index(self) -> int:
        entry = self.progress.entry(self.lesson.name)
        return 0 if entry["finished"] else min(entry["step"], len(self.lesson) - 1)

    def _need_lesson(self) -> None:
        if self.lesson is None:
            raise CommandError("No lesson is open: rnntui learn N --reader opens one.")

    def _cmd_lesson(self, args):
        self._no_args(args, "lesson")
        self._need_lesson()
        self._read_step()

    def _cmd_lesson_next(self, args):
        self._no_args(args, "next step")
        self._need_lesson()
        if self.index + 1 >= len(self.lesson):
            self.progress.record(self.lesson.name, step=self.index, finished=True)
            self.say(f"Lesson finished: {self.lesson.title}. Explore freely, or type quit.")
            self.lesson, self.runs = None, {}
            return
        self.go(self.index + 1)

    def _cmd_lesson_back(self, args):
        self._no_args(args, "previous step")
        self._need_lesson()
        if self.index == 0:
            raise CommandError("This is the lesson's first step.")
        self.go(self.index - 1)

    def _cmd_answer(self, args):
        self._need_lesson()
        step = self.lesson.steps[self.index]
        q = step.question
        if step.lab is not None:
            raise CommandError(_lab_step_refusal(self.lesson, self.index))
        if self.index in self._refused:
            raise CommandError(self._refused[self.index])
        if q is None:
            raise CommandError("This step asks no question.")
        if len(args) != 1 or not _is_int(args[0]) or not 1 <= int(args[0]) <= len(q.choices):
            raise CommandError(f"answer takes a choice from 1 to {len(q.choices)}.")
        run = self.runs.setdefault(self.index, _StepRun())
        if run.picked is not None:
            raise CommandError(f"You answered {run.picked} already; type next step to go on.")
        run.picked = int(args[0])
        self.progress.record(self.lesson.name, step=self.index, done=self.index)
        verdict = "Right." if run.picked == q.answer else f"Not quite: the answer is {q.answer}."
        self.say(verdict, run.words.get("why", ""), "Type next step to go on.")

    def go(self, index: int) -> None:
        """Open lesson step ``index``: its scenario, cell, epoch and position, then read it."""
        from .lessons.loader import _scenario
        from .lessons.session import elsewhere, step_view
        self.index = index
        step = self.lesson.steps[index]
        self.runs[index] = run = _StepRun(picked=self.runs.get(index, _StepRun()).picked)
        self.progress.record(self.lesson.name, step=index)
        if step.lab is not None:
            self._read_step()
            return
        view = self.view
        if elsewhere(view, step):
            sc = _scenario(step.scenario, step.cell, step.attention)
            if is_seq2seq(sc):  # (said again for lesson and answer, as a lab step is)
                self._refused[index] = _seq2seq_refusal(sc, step.scenario, self.lesson, index)
                self.say(self._refused[index])
                return
            self._trained = {}  # (as the app: the scenario's own training, then on to the step's)
            view = self.view = self._open(sc, step.scenario)
        if step.epoch > view.trained_epochs:
            self._train_to(step.epoch)
        self.view = step_view(self.view, step)
        run.arrived = True
        self._fill(step, run)
        self._read_step()
        self._check()

    def _fill(self, step, run: _StepRun) -> None:
        from .lessons.session import fill_step
        from .lessons.quantities import Facts
        run.words = fill_step(step, Facts(self.view, _EXTRA))

    def _read_step(self) -> None:
        from .lessons.schema import PANES
        lesson, step = self.lesson, self.lesson.steps[self.index]
        if step.lab is not None:
            self.say(_lab_step_refusal(lesson, self.index))
            return
        if self.index in self._refused:
            self.say(self._refused[self.index])
            return
        run = self.runs.setdefault(self.index, _StepRun())
        title = f": {step.title}" if step.title else ""
        stop = "" if title[-1:] in (".", "?", "!") else "."
        self.say(f"Lesson step {self.index + 1} of {len(lesson)}{title}{stop}")
        for para in _paragraphs(run.words.get("narration", "")):
            self.say(para)
        if step.point in PANES:
            self.say(f"The {step.point} pane says:", *self._pane(step.point))
        if step.task is not None:
            if run.done:
                self.say("Task done.", *_paragraphs(run.words.get("then", "")))
            else:
                self.say("Task: " + run.words.get("do", "") + _reader_keys(step.task.keys))
        if step.question is not None:
            self.say("Question: " + run.words.get("prompt", ""))
            for i, choice in enumerate(run.words.get("choices", ()), 1):
                self.say(f"{i}: {choice}.")
            if run.picked is None:
                self.say(f"Type answer 1 to answer {len(step.question.choices)}.")
            else:
                self.say(f"You answered {run.picked}; the answer is {step.question.answer}.",
                         run.words.get("why", ""))
        nxt = "finish" if self.index + 1 == len(lesson) else "go on"
        self.say(f"Type next step to {nxt}.")

    def _pane(self, pane: str) -> list[str]:
        """What a pane (by its id) shows, read as the command naming it reads it (PANE_READS);
        the Step pane is the step's input, then its output or its gradient."""
        v = self.view
        if pane == "step":
            return sequence_sentences(v) + (output_sentences(v) if v.phase == FORWARD
                                            else gradient_sentences(v, verdict=False))
        read = PANE_READS.get("input" if pane == "sequence" else pane)
        return read(v) if read is not None else [f"(the {pane} pane needs the screen)"]

    def _after(self) -> None:
        """After every command in a lesson: is the step's task done now?"""
        if self.lesson is not None:
            self._check()

    def _check(self) -> None:
        from .lessons.quantities import Facts
        from .lessons.text import fill
        step = self.lesson.steps[self.index]
        run = self.runs.setdefault(self.index, _StepRun())
        if step.task is None or run.done or not run.arrived:
            return
        facts = Facts(self.view, _EXTRA)
        if step.task.condition.holds(facts):
            run.done = True
            run.words["then"] = fill(step.task.then, facts)
            self.progress.record(self.lesson.name, step=self.index, done=self.index)
            self.say("Task done.", *_paragraphs(run.words["then"]), "Type next step to go on.")


#: The commands that read one pane (or the status line).
PANE_READS = {"where": status_sentences, "input": sequence_sentences,
              "output": output_sentences, "hidden": hidden_sentences,
              "gradients": gradient_sentences, "retention": retention_sentences,
              "loss": loss_sentences, "batch": batch_sentences}

#: What only the screen knows (a maximised or focused pane, compare mode): none in reader mode.
_EXTRA = {"maximized": "", "focused": "", "compared": False}


def _seq2seq_refusal(scenario: Scenario, source: str, lesson=None,
                     index: int | None = None) -> str:
    """The one line an encoder-decoder gets in reader mode, which does not read one yet: a
    whole lesson about one, one step of a lesson, or the scenario itself."""
    name = visible(source)
    why = ("which reader mode does not read yet: its source, decoder and attention are drawn "
           "only on the screen")
    if lesson is None:
        return f"{name} is an encoder-decoder, {why}. rnntui trace {name} prints its numbers."
    if index is None:
        return (f"lesson {lesson.name}: {name} is an encoder-decoder, {why}. rnntui learn "
                f"{lesson.name} opens the lesson on the screen; rnntui trace {name} prints its "
                f"numbers.")
    nxt = "finish" if index + 1 == len(lesson) else "go on"
    return (f"Lesson step {index + 1} of {len(lesson)} opens {name}, an encoder-decoder, {why}. "
            f"rnntui trace {name} prints its numbers. Type next step to {nxt}.")


def _lab_step_refusal(lesson, index: int) -> str:
    """The one line a step on the lab screen gets in reader mode, which does not draw the lab."""
    step = lesson.steps[index]
    nxt = "finish" if index + 1 == len(lesson) else "go on"
    return (f"Lesson step {index + 1} of {len(lesson)} is on the lab screen, which reader mode "
            f"does not draw: rnntui lab {visible(step.lab)} --table prints its numbers. Type "
            f"next step to {nxt}.")


def _is_int(text: str) -> bool:
    return bool(re.fullmatch(r"[+-]?[0-9]{1,30}", text))


def _paragraphs(text: str) -> list[str]:
    """A text's paragraphs, each on one line (a screen reader reads a line at a time)."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text or "") if p.strip()]


# ---------------------------------------------------------------------------------------------
# running it


def read_lines(stream, limit: int = MAX_LINE) -> Iterable[str | None]:
    """The lines of a binary ``stream``, decoded (bad bytes replaced); None for a line longer
    than ``limit`` characters (the rest of it is skipped, never held whole)."""
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            return
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            while True:  # skip to the end of the line
                rest = stream.readline(64 * 1024)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield chunk.decode("utf-8", errors="replace").rstrip("\r\n")


def run_reader(scenario: Scenario | None, *, source: str | None = None,
               at: Position | None = None, lesson=None, stdin=None,
               out: Callable[[str], None] | None = None, progress=None,
               fail: Callable[[str], int] | None = None, train: bool = True) -> int:
    """Reader mode on ``scenario`` (None: the lesson's) until ``quit`` or the end of ``stdin``
    (a binary stream; default the standard input), trained on open as the app is unless
    ``train`` is False. Returns 0, or ``fail(message)`` (one line,
    exit 2) when the scenario, the lesson's scenario or the position cannot be opened."""
    fail = fail or (lambda message: (print(visible(message), file=sys.stderr), 2)[1])
    try:
        if scenario is None:
            from .lessons.loader import _scenario
            first = lesson.steps[0]
            scenario, source = _scenario(first.scenario, first.cell), first.scenario
        if is_seq2seq(scenario):
            return fail(_seq2seq_refusal(scenario, source or scenario.name, lesson))
        if at is not None:
            from .position import scenario_at
            scenario = scenario_at(scenario, at)
            check_epoch(at, scenario)
            from .sequences import check_position
            check_position(scenario, at)  # (before training: a text it cannot read)
    except ScenarioError as err:
        return fail(str(err) if at is None else f"--at: {err}")
    except PositionError as err:
        return fail(f"--at: {err}")
    stream = stdin if stdin is not None else sys.stdin.buffer
    prompt = stdin is None and sys.stdin.isatty()
    if lesson is not None:
        at = lesson.steps[0].position  # (the app opens there, then resumes the lesson)
    reader = Reader(scenario, source=source, out=out, lesson=lesson, progress=progress,
                    train=train, epoch=at.epoch if at is not None else None)
    if at is not None and lesson is None:
        try:
            reader.go_to(at)
        except ScenarioError as err:  # a text the scenario cannot read
            return fail(f"--at: {err}")
    reader.start()
    _prompt(prompt)
    for line in read_lines(stream):
        if line is None:
            reader.say(f"That line is longer than {MAX_LINE} characters: not a command.")
            continue
        if not reader.handle(line):
            return 0
        _prompt(prompt)
    return 0


def _prompt(show: bool) -> None:
    """"> " before a command typed at a terminal (not for a pipe or a file)."""
    if show:
        try:
            sys.stdout.write("> ")
            sys.stdout.flush()
        except OSError:
            pass
