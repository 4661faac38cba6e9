"""The trace as one JSON object (the ``trace --json`` schema, documented in docs/trace-json.md)."""

from __future__ import annotations

import math

import numpy as np

from engine import History, Scenario, Trace
from engine.predict import (exact_input, exact_target, knob_scale, predicted_value,
                            prediction)

from .tracetable import engine_objects

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


def trace_to_json(scenario: Scenario, trace: Trace | None = None,
                  history: History | None = None, epoch: int = 0, knob: int = 0) -> dict:
    """Everything ``rnntui trace --json`` prints for ``trace`` (of ``scenario``, under the
    weights after ``epoch`` epochs of ``history`` with the W_h knob at ``knob`` clicks).

    ``input``, ``target`` and ``prediction`` are the data's exact values: a token exactly as in
    ``vocab`` (a space is " "), series values and identity outputs unrounded, bits as 0/1.
    Rounding and glyphs belong to the table and the screen. ``history`` (optional) gives
    ``epochs_trained`` and ``loss_history``. The old call ``trace_to_json(session)`` still works.
    """
    sc, tr, history, epoch, knob = engine_objects(scenario, trace, history, epoch, knob)
    params = tr.params
    seq = tr.sequence
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
        if sc.model.output == "softmax":
            step["probs"] = _arr(tr.out[t])
        else:
            step["out"] = _arr(tr.out[t])
        steps.append(step)
    losses = list(history.losses) if history is not None else []
    return {
        "schema": SCHEMA,
        "scenario": {"name": sc.name, "kind": sc.kind, "source": sc.source},
        "model": {"hidden_size": params.hidden_size, "input_size": params.input_size,
                  "output_size": params.output_size, "activation": tr.activation,
                  "output": tr.output},
        "params": {k: _arr(v) for k, v in params.as_dict().items()},
        "epoch": epoch,
        "epochs_trained": history.trained_epochs if history is not None else epoch,
        "wh_scale": knob_scale(knob),
        "loss_history": [_num(v) for v in losses],
        "vocab": list(sc.vocab) if sc.vocab is not None else None,
        "steps": steps,
        "loss": _num(tr.loss),
        "grads": {k: _arr(v) for k, v in tr.grads.as_dict().items()},
        "spectral_norm": _num(tr.spectral_norm),
        "spectral_radius": _num(tr.spectral_radius),
        "retention": _arr(tr.retention),
    }


def _exact(v):
    """A float through :func:`_num` (non-finite: null); tokens and ints as they are."""
    return _num(v) if isinstance(v, float) else v
