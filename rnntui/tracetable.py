"""The trace as a plain-text table: the printout a teacher would put on a slide."""

from __future__ import annotations

import math

import numpy as np

from engine import History, Scenario, Trace
from engine.analysis import seed_power_estimate
from engine.cells import get_cell
from engine.predict import knob_scale, prediction
from engine.scenario import display_token

from .safe_text import visible
from .texttable import table as _table
from .texttable import wrapped as _wrapped

#: Hidden vectors longer than this are shown as their first entries and their norm.
FULL_H = 4


def num(x: float, digits: int = 4) -> str:
    """Signed fixed-point for ordinary magnitudes, e-notation for tiny or huge ones."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "overflow" if x > 0 else "-overflow"
    if x != 0 and (abs(x) < 10 ** -(digits - 1) or abs(x) >= 1e4):
        return f"{x:+.{digits - 2}e}"
    return f"{x:+.{digits}f}"


def mag(x: float) -> str:
    """A non-negative magnitude (a norm), in e-notation so decades line up."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "overflow"
    return "0" if x == 0 else f"{x:.2e}"


def jac(log10: float) -> str:
    """||dh_last/dh_t|| from its log10, exact even below the smallest float."""
    if np.isneginf(log10):
        return "0"
    if np.isposinf(log10) or np.isnan(log10):
        return "overflow"
    e = math.floor(log10)
    return f"{10 ** (log10 - e):.2f}e{e:+03d}"


def vec(v: np.ndarray, name: str = "h") -> str:
    if len(v) <= FULL_H:
        return "[" + " ".join(num(x, 4) for x in v) + "]"
    head = " ".join(num(x, 3) for x in v[:3])
    return f"[{head} …] |{name}|={np.linalg.norm(v):.3f}"


def format_trace(scenario: Scenario, trace: Trace, history: History | None = None,
                 epoch: int = 0, knob: int = 0, width: int | None = None) -> str:
    """The per-step table of ``trace`` (the trace of ``scenario``'s sequence, or of any sequence,
    under the weights after ``epoch`` epochs with the W_h knob at ``knob`` clicks), then the
    spectral numbers and the retention curve. ``history`` is not needed for the table.

    ``width``: the text is wrapped to this many columns (at spaces), and a table wider than
    that is printed in parts that fit, each with the t and input columns, and a line saying
    how wide it is in one piece. None: no limit.

    Every token, label and name is passed through :func:`rnntui.safe_text.visible`, so text from
    a file can never put a control character on the terminal or split a row.
    """
    if getattr(trace, "seq2seq", False):  # an encoder-decoder (rnntui/s2s_trace.py)
        from .s2s_trace import table
        return table(scenario, trace, epoch, width)
    sc, tr, epoch, knob = scenario, trace, int(epoch), int(knob)
    seq = tr.sequence
    p = tr.params
    T = len(tr)
    lines = []
    the = get_cell(tr.cell)
    gated = the.gated
    # a gated cell by its name; a vanilla one by its activation (and its name when it is not
    # the scenario's choice: the IRNN is always relu)
    cell = the.title if gated else (f"{the.title} {tr.activation}" if the.activation
                                    else sc.model.activation)
    title = f"{visible(sc.name)}: {sc.kind} scenario, hidden {p.hidden_size}, " \
            f"{cell} -> {sc.model.output}"
    trained = f"trained {epoch} epochs" if epoch else "untrained"
    if knob:
        trained += f", W_h x{knob_scale(knob):.4g}"
    lines.append(f"{title}; {trained}; sequence loss L = {tr.loss:.4f}")
    from engine.scenario import weights_note
    note = weights_note(sc)
    if note:
        lines.append(f"note: {note}")
    from engine.csvdata import normalization_of
    norm = normalization_of(sc)
    if norm is not None:
        col = visible(str(sc.data.get("column")))
        lines.append(f"values: the model reads column {col} as {norm.describe(col)}; input "
                     f"and target below are the file's values, prediction, h and loss the "
                     f"model's (x)")
    if getattr(seq, "stream", None) is not None and getattr(seq, "offset", 0):
        lines.append(f"window {seq.number} of {seq.count} ({seq.part}): h_-1 is the state "
                     f"carried through the {seq.offset} tokens before it, not 0")
    hname = "h_t" if p.hidden_size <= FULL_H else f"h_t (first 3 of {p.hidden_size})"
    gate_names = list(tr.gates) if gated else []
    gate_names = [g for g in gate_names if g not in ("g", "n")]  # the gates, not candidates
    extra = (["c_t"] if tr.c is not None else []) + gate_names
    sname = "s" if gated else "h"
    rows = [("t", "input", hname, *extra, "prediction", "p", "target", "loss",
             f"|dL/d{sname}_t|", f"|d{sname}_{T - 1}/d{sname}_t|")]
    for t in range(T):
        guess, prob = prediction(tr, sc, t)
        if sc.kind == "text":
            guess = display_token(guess)
        target = seq.target_labels[t] if tr.mask[t] else None
        more = ([vec(tr.c[t], "c")] if tr.c is not None else []) + \
            [vec(tr.gates[g][t], g) for g in gate_names]
        grad = tr.grad_state[t] if gated and tr.grad_state is not None else tr.grad_h[t]
        rows.append((
            str(t), visible(seq.labels[t]), vec(tr.h[t]), *more, visible(guess),
            "" if math.isnan(prob) else f"{prob:.3f}",
            "-" if target is None else visible(target),
            f"{tr.step_loss[t]:.4f}" if tr.mask[t] else "-",
            mag(grad), jac(tr.jacobian_log10[t]),
        ))
    k0 = len(extra)
    at = len(lines)
    table = _table(rows, {0, 4 + k0, 6 + k0, 7 + k0, 8 + k0}, width)
    lines += table
    lines.append("")
    if gated:
        lines.append(f"||W_h||_2 of the {the.title} gate blocks stacked = "
                     f"{tr.spectral_norm:.4f} (not square: no eigenvalues)")
        if tr.carry_log10 is not None and T:
            lines.append(f"{the.carry_word}-gate path from t={T - 1} back to t=0 (largest over units) = "
                         f"{jac(tr.carry_log10[0])}")
    else:
        lines.append(f"||W_h||_2 (largest singular value)       = {tr.spectral_norm:.4f}")
        lines.append(f"spectral radius (largest |eigenvalue|)   = {tr.spectral_radius:.4f}")
    est = seed_power_estimate(p.W_h) if not gated and p.W_h.size and np.isfinite(p.W_h).all() \
        else float("nan")
    if np.isfinite(est) and min(abs(est - tr.spectral_norm), abs(est - tr.spectral_radius)) > 5e-4:
        lines.append(f"(a 20-step power iteration, as some tutorials print, gives {est:.4f}: "
                     f"neither number; {_why_power_fails(p.W_h)})")
    lines.append("")
    K = len(tr.retention)
    lines.append(f"retention: cos(h after the first input, h after j blank inputs), j = 1..{K}")
    cells = [f"j={j + 1:<2} {num(v)}" for j, v in enumerate(tr.retention)]
    for i in range(0, K, 5):
        lines.append("  " + "   ".join(cells[i:i + 5]))
    if width is not None:  # the text around the table wrapped, the table as it is
        lines = _wrapped(lines[:at], width) + table + _wrapped(lines[at + len(table):], width)
    return "\n".join(lines)


def _why_power_fails(W: np.ndarray) -> str:
    ev = np.linalg.eigvals(W)
    order = np.argsort(-np.abs(ev))
    top = ev[order[0]]
    if abs(top.imag) > 1e-12:
        return (f"its largest eigenvalues are a complex pair {top.real:.3f} ± "
                f"{abs(top.imag):.3f}i, so the iterate keeps rotating and never settles")
    if len(ev) > 1 and abs(abs(ev[order[1]]) - abs(top)) < 1e-3 * max(abs(top), 1e-300):
        return "two eigenvalues tie in size, so the iterate never settles"
    return ("power iteration on W_h converges to the spectral radius, slowly, "
            "and never to the largest singular value")
