"""The trace as one JSON object (the ``trace --json`` schema, documented in docs/trace-json.md)."""

from __future__ import annotations

import math

import numpy as np

from engine import History, Scenario, Trace
from engine.cells import get_cell
from engine.predict import (exact_input, exact_target, knob_scale, predicted_value,
                            prediction)


SCHEMA = "rnntui.trace/1"


def _num(x) -> float | None:
    """A float for JSON; inf and nan (an overflowed model) become null."""
    x = float(x)
    return x if math.isfinite(x) else None


def _arr(a: np.ndarray):
    """Nested lists of floats, with non-finite entries as null."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return _num(a)
    if np.isfinite(a).all():
        return a.tolist()
    return [_arr(row) for row in a] if a.ndim > 1 else [_num(v) for v in a]


def trace_to_json(scenario: Scenario, trace: Trace,
                  history: History | None = None, epoch: int = 0, knob: int = 0,
                  example: int | None = None) -> dict:
    """Everything ``rnntui trace --json`` prints for ``trace`` (of ``scenario``, under the
    weights after ``epoch`` epochs of ``history`` with the W_h knob at ``knob`` clicks).

    ``input``, ``target`` and ``prediction`` are the data's exact values: a token exactly as in
    ``vocab`` (a space is " "), series values and identity outputs unrounded, bits as 0/1.
    Rounding and glyphs belong to the table and the screen. ``history`` (optional) gives
    ``epochs_trained`` and ``loss_history``. A gated cell adds per step ``c`` (LSTM) and
    ``gates`` (each gate's values), and ``carry_log10`` (docs/trace-json.md).

    ``h0`` (and ``c0`` for the LSTM) is the state before the first step: zeros, or for a text
    file's window the state carried through the text before it (``window`` says which).
    ``normalization`` (a CSV series, else null) gives the file's column and units and
    ``x = (v - shift) / scale``: every series number here (x, y, out, input, target,
    prediction) is in the model's units x; ``v = shift + scale * x`` is the file's.

    A scenario with padded batches (``[train] pad = true``) adds ``batch``: the training batch
    that holds training sequence ``example`` (None: the scenario's own sequence, when it is the
    first training sequence), run under the same weights (:func:`batch_to_json`). Every other
    trace is unchanged.
    """
    if getattr(trace, "seq2seq", False):  # an encoder-decoder (engine/seq2seq.py)
        return _s2s_to_json(scenario, trace, history, epoch)
    sc, tr, epoch, knob = scenario, trace, int(epoch), int(knob)
    params = tr.params
    seq = tr.sequence
    gated = get_cell(tr.cell).gated
    steps = []
    for t in range(len(tr)):
        _, p = prediction(tr, sc, t)
        step = {
            "t": t,
            "input": exact_input(sc, seq, t),
            "x": _arr(tr.x[t]),
            "h": _arr(tr.h[t]),
            "y": _arr(tr.y[t]),
            "prediction": _exact(predicted_value(tr, sc, t)),
            "prediction_p": _num(p) if not math.isnan(p) else None,
            "target": _exact(exact_target(sc, seq, t)),
            "loss": _num(tr.step_loss[t]) if tr.mask[t] else None,
            "grad_h": _num(tr.grad_h[t]),
            "jacobian_norm": _num(tr.jacobian_norm[t]),
            "jacobian_log10": (_num(tr.jacobian_log10[t])
                               if not np.isneginf(tr.jacobian_log10[t]) else None),
        }
        if gated:
            if tr.c is not None:
                step["c"] = _arr(tr.c[t])
            step["gates"] = {k: _arr(v[t]) for k, v in tr.gates.items()}
            step["grad_state"] = _num(tr.grad_state[t]) if tr.grad_state is not None else None
            step["carry_log10"] = (_num(tr.carry_log10[t])
                                   if np.isfinite(tr.carry_log10[t]) else None)
        if tr.bidirectional:
            step.update(_both_ways(tr, t))
        if sc.model.output == "softmax":
            step["probs"] = _arr(tr.out[t])
        else:
            step["out"] = _arr(tr.out[t])
        steps.append(step)
    losses = list(history.losses) if history is not None else []
    both = {"bidirectional": True, "h0_bwd": _arr(tr.back.h_prev[-1]) if len(tr) else None,
            **({"c0_bwd": _arr(tr.back.c_prev[-1]) if len(tr) else None}
               if tr.back.c_prev is not None else {})} if tr.bidirectional else {}
    out = {
        **_head(sc, tr),
        "weights_seeded": bool(getattr(sc.model, "weights_seeded", False)),
        "model": {"hidden_size": params.hidden_size, "input_size": params.input_size,
                  "output_size": params.output_size, "activation": tr.activation,
                  "output": tr.output},
        "params": {k: _arr(v) for k, v in params.as_dict().items()},
        "epoch": epoch,
        "epochs_trained": history.trained_epochs if history is not None else epoch,
        "wh_scale": knob_scale(knob),
        "loss_history": [_num(v) for v in losses],
        "vocab": list(sc.vocab) if sc.vocab is not None else None,
        "h0": _arr(tr.h_prev[0]) if len(tr) else None,
        **({"c0": _arr(tr.c_prev[0]) if len(tr) else None}
           if getattr(tr, "c_prev", None) is not None else {}),
        "window": _window(seq),
        "normalization": _normalization(sc),
        "steps": steps,
        "loss": _num(tr.loss),
        "grads": {k: _arr(v) for k, v in tr.grads.as_dict().items()},
        "spectral_norm": _num(tr.spectral_norm),
        "spectral_radius": _num(tr.spectral_radius),
        "retention": _arr(tr.retention),
        **both,
    }
    if sc.train.pad and sc.train_sequences:
        out["batch"] = batch_to_json(sc, tr, example)
    return out


def batch_to_json(scenario: Scenario, trace: Trace, example: int | None = None) -> dict:
    """The padded training batch holding ``example`` under ``trace``'s weights: enough for an
    outside script to recompute every number from ``params`` (docs/trace-json.md, "Padded
    batches")."""
    from engine.batch import run_batch, stepped_row, training_batch
    from engine.cells.bidir import is_bidirectional
    row = stepped_row(scenario, example)
    _, rows, batch = training_batch(scenario, row)
    with np.errstate(all="ignore"):
        bp = run_batch(trace.params, batch, activation=trace.activation, output=trace.output)
    T = batch.T
    told = batch.real | (not batch.masked)
    H = bp.h.shape[-1]
    both = {}
    if is_bidirectional(trace.params):
        H //= 2
        both = {"bidirectional": True, "h_fwd": _arr(bp.h[..., :H].transpose(1, 0, 2)),
                "h_bwd": _arr(bp.h[..., H:].transpose(1, 0, 2)),
                "bwd_first_step": [int(n) - 1 if batch.masked else T - 1
                                   for n in batch.lengths]}
    return {
        "rows": [int(i) for i in rows],
        "stepped": row,
        "lengths": [int(n) for n in batch.lengths],
        "T": T,
        "masked": bool(batch.masked),
        "mask": [[bool(told[t, b]) for t in range(T)] for b in range(batch.B)],
        "counted": [[bool(batch.M[t, b]) for t in range(T)] for b in range(batch.B)],
        "x": _arr(batch.X.transpose(1, 0, 2)),
        "targets": _arr(batch.Y.transpose(1, 0, 2)),
        "h": _arr(bp.h.transpose(1, 0, 2)),
        "final_step": [int(s) for s in batch.last()],
        "final": {name: _arr(v) for name, v in bp.final.items()},
        "losses": [[_num(bp.losses[t, b]) if batch.M[t, b] else None for t in range(T)]
                   for b in range(batch.B)],
        "loss": _num(bp.loss),
        "grads": {k: _arr(v) for k, v in bp.grads.as_dict().items()},
        "real_steps": batch.real_steps,
        "padded_steps": batch.padded_steps,
        **both,
    }


def _head(sc, tr) -> dict:
    """The keys every trace's JSON starts with."""
    return {"schema": SCHEMA, "scenario": {"name": sc.name, "kind": sc.kind, "source": sc.source},
            "cell": tr.cell}


def _s2s_to_json(sc, tr, history=None, epoch: int = 0) -> dict:
    """The trace JSON of an encoder-decoder: its source, target, greedy decode, states,
    attention and gradients."""
    from engine.seq2seq import GREEDY, TEACHER_FORCING
    p = tr.params
    target = tr.sequence.target
    rows = tr.attention_rows()
    ctx = None if tr.context is None else tr.context[:len(target)]
    steps = []
    for t in range(len(tr)):
        enc = t < tr.S
        i = t - tr.S
        step = {"t": t, "part": "encoder" if enc else "decoder",
                "input": tr.sequence.labels[t]}
        if enc:
            step["h"] = _arr(tr.h[t])
            step["grad_h"] = _num(tr.enc_grad[t])
        else:
            step.update({
                "s": _arr(tr.s[i]), "target": tr.sequence.target_labels[t],
                "prediction": tr.vocab[int(np.argmax(tr.out[i]))],
                "prediction_p": _num(np.max(tr.out[i])), "probs": _arr(tr.out[i]),
                "loss": _num(tr.step_loss[i]), "grad_s": _num(tr.dec_grad[i]),
                "loss_grad_encoder": _arr(tr.loss_grad[i]),
                "loss_grad_encoder_attention": _arr(tr.loss_grad_att[i]),
            })
        steps.append(step)
    losses = list(history.losses) if history is not None else []
    return {
        **_head(sc, tr),
        "model": {"seq2seq": True, "attention": tr.attention, "hidden_size": p.hidden_size,
                  "encoder_cell": get_cell(tr.cell).title, "decoder_cell": get_cell(tr.cell).title,
                  "output_size": p.output_size, "parameters": p.size,
                  "training": TEACHER_FORCING, "decoded": GREEDY},
        "epoch": int(epoch),
        "epochs_trained": history.trained_epochs if history is not None else int(epoch),
        "loss_history": [_num(v) for v in losses],
        "vocab": list(sc.vocab),
        "source_tokens": list(tr.sequence.source),
        "target_tokens": list(target),
        "decoded_tokens": list(tr.decoded.tokens),
        "decoded_ended": tr.decoded.ended,
        "departs_at": tr.departs(),
        "align": tr.sequence.align,
        "attention": None if rows is None else _arr(rows),
        "context": None if ctx is None else _arr(ctx),
        "bottleneck": _arr(tr.bottleneck),
        "steps": steps,
        "loss": _num(tr.loss),
        "params": {**{f"encoder.{k}": _arr(v) for k, v in _named(p.enc).items()},
                   **{f"decoder.{k}": _arr(v) for k, v in _named(p.dec).items()},
                   **{k: _arr(getattr(p, k)) for k in _own(p)}},
    }


def _named(cell_params) -> dict:
    return {k: v for k, v in cell_params.as_dict().items() if k not in ("W_y", "b_y")}


def _own(p) -> tuple[str, ...]:
    return ("W_o", "b_o") + (("W_a", "U_a", "v") if p.attention == "additive" else ())


def _both_ways(tr: Trace, t: int) -> dict:
    """A bidirectional model's step: "h" becomes [h→_t ; h←_t], what the read-out reads (y =
    W_y h + b_y), beside each direction's state and gradient norms (docs/trace-json.md)."""
    back = tr.back
    out = {"h": _arr(np.concatenate([tr.h[t], back.h[t]])), "h_fwd": _arr(tr.h[t]),
           "h_bwd": _arr(back.h[t]), "grad_h_fwd": _num(tr.grad_h[t]),
           "grad_h_bwd": _num(back.grad_h[t]),
           "grad_h": _num(np.hypot(tr.grad_h[t], back.grad_h[t])),
           "jacobian_log10_bwd": (_num(back.jacobian_log10[t])
                                  if not np.isneginf(back.jacobian_log10[t]) else None)}
    if back.c is not None:
        out["c_bwd"] = _arr(back.c[t])
    if back.gates:
        out["gates_bwd"] = {k: _arr(v[t]) for k, v in back.gates.items()}
    return out


def _window(seq) -> dict | None:
    """Which window of a text file the trace is of, and where its state comes from."""
    part = getattr(seq, "part", None)
    if part is None or getattr(seq, "stream", None) is None:
        return None
    return {"part": part, "number": int(seq.number), "of": int(seq.count),
            "tokens_before": int(seq.offset),
            "h0": "carried" if seq.offset else "zero"}


def _normalization(sc) -> dict | None:
    from engine.csvdata import normalization_of
    norm = normalization_of(sc)
    if norm is None:
        return None
    d = sc.data
    return {"method": norm.method, "shift": _num(norm.shift), "scale": _num(norm.scale),
            "formula": "x = (v - shift) / scale", "column": d.get("column"),
            "column_index": d.get("column_index"), "units": d.get("units"),
            "file": d.get("csv")}


def _exact(v):
    """A float through :func:`_num` (non-finite: null); tokens and ints as they are."""
    return _num(v) if isinstance(v, float) else v


def view_to_json(view) -> dict:
    """The JSON of what ``view`` (an rnntui.view.View with its trace) shows: :func:`trace_to_json`
    of its scenario, trace, weights and sequence, with ``position``, the string that opens it
    again (``--at``). What the app's ``e`` saves and ``rnntui trace --at --json`` prints."""
    data = trace_to_json(view.scenario, view.trace, view.history, view.epoch, view.knob,
                         view.example)
    data["position"] = str(view.position)
    return data


def reach_to_json(trace: Trace, tau: int) -> dict:
    """The per-loss view for target step ``tau`` (engine.influence.reach): for each step t up
    to tau, ||dL_tau/dh_t|| (the whole state for a gated cell) and ||dy_tau[k]/dx_t|| (the
    vanilla cell; null for a gated one), as plain numbers (null where they under- or overflow
    a float) and as log10 (exact far beyond the float range)."""
    from engine.influence import reach
    from engine.trace import one_way
    r = reach(one_way(trace), tau)  # a bidirectional model's: along its forward direction
    steps = []
    for i in range(len(r.grad_log10)):
        g, x = float(r.grad_log10[i]), float(r.input_log10[i])
        step = {"t": r.first + i,
                "grad_loss": _pow10(g), "grad_loss_log10": _num(g) if math.isfinite(g) else None,
                "input_influence": _pow10(x),
                "input_influence_log10": _num(x) if math.isfinite(x) else None}
        if r.carry_log10 is not None:
            c = float(r.carry_log10[i])
            step["carry"] = _pow10(c)
        steps.append(step)
    return {"tau": r.tau, "has_target": r.has_target, "output": r.output, "steps": steps}


def _pow10(lv: float) -> float | None:
    if math.isnan(lv):
        return None
    if lv == -math.inf:
        return 0.0
    with np.errstate(over="ignore", under="ignore"):
        v = float(10.0 ** lv)
    return v if math.isfinite(v) and (v > 0 or lv < -300) else (0.0 if lv < 0 else None)
