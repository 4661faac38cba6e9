"""The trace as one JSON object (the ``trace --json`` schema, documented in docs/trace-json.md)."""

from __future__ import annotations

import math

import numpy as np

from .session import Session, prediction

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


def _value(session: Session, label: str | None):
    """A step's input or target as the kind shows it: a token, a number or a bit."""
    if label is None:
        return None
    kind = session.scenario.kind
    if kind == "series":
        return float(label)
    if kind == "echo":
        return int(label)
    return label


def trace_to_json(session: Session) -> dict:
    """Everything ``rnntui trace --json`` prints, for the session's current epoch and knob."""
    tr = session.ensure_trace()
    sc = session.scenario
    params = tr.params
    steps = []
    for t in range(len(tr)):
        guess, p = prediction(session, t)
        step = {
            "t": t,
            "input": _value(session, session.label(t)),
            "x": _arr(tr.x[t]),
            "h": _arr(tr.h[t]),
            "y": _arr(tr.y[t]),
            "prediction": _value(session, guess) if sc.kind != "series" else _num(tr.out[t][0]),
            "prediction_p": _num(p) if not math.isnan(p) else None,
            "target": (_value(session, session.target_label(t)) if tr.mask[t] else None),
            "loss": _num(tr.step_loss[t]) if tr.mask[t] else None,
            "grad_h": _num(tr.grad_h[t]),
            "jacobian_norm": _num(tr.jacobian_norm[t]),
            "jacobian_log10": (_num(tr.jacobian_log10[t])
                               if not np.isneginf(tr.jacobian_log10[t]) else None),
        }
        if sc.model.output == "softmax":
            step["probs"] = _arr(tr.out[t])
        steps.append(step)
    return {
        "schema": SCHEMA,
        "scenario": {"name": sc.name, "kind": sc.kind, "source": sc.source},
        "model": {"hidden_size": params.hidden_size, "input_size": params.input_size,
                  "output_size": params.output_size, "activation": sc.model.activation,
                  "output": sc.model.output},
        "params": {k: _arr(v) for k, v in params.as_dict().items()},
        "epoch": session.epoch,
        "epochs_trained": session.trained_epochs,
        "wh_scale": session.wh_scale,
        "loss_history": [_num(v) for v in session.history.losses],
        "vocab": list(sc.vocab) if sc.vocab is not None else None,
        "steps": steps,
        "loss": _num(tr.loss),
        "grads": {k: _arr(v) for k, v in tr.grads.as_dict().items()},
        "spectral_norm": _num(tr.spectral_norm),
        "spectral_radius": _num(tr.spectral_radius),
        "retention": _arr(tr.retention),
    }
