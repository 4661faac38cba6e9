"""rnntui's engine: vanilla RNN, LSTM and GRU cells in plain NumPy, with the trace, training
and analysis the app shows.

Usable on its own, for example from a notebook::

    from engine import load, fit, run_trace
    sc = load("king")
    hist = fit(sc)
    tr = run_trace(hist.weights[-1], sc.sequence, activation=sc.model.activation,
                   output=sc.model.output, retention_steps=sc.retention_steps)
    tr.h[2], tr.out[2], tr.grad_h, tr.jacobian_norm

It never imports textual, rich or plotext.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: Where each name of the front door lives. The front door imports lazily (as Textual's
#: ``textual.widgets`` does, with a module ``__getattr__``): ``import engine.types`` or
#: ``from engine.cells import get_cell`` loads only what it needs, and ``engine.fit`` loads
#: the training modules the first time it is asked for.
_WHERE = {
    "jacobian_log10_norms": "analysis", "retention": "analysis",
    "seed_power_estimate": "analysis", "spectral_norm": "analysis",
    "spectral_radius": "analysis",
    "CELLS": "cells", "GatedParams": "cells", "get_cell": "cells",
    "sine_matrix": "cells.numerics",
    "Params": "cells.rnn", "Pass": "cells.rnn", "init_params": "cells.rnn", "run": "cells.rnn",
    "knob_scale": "predict", "prediction": "predict",
    "builtin_names": "scenario", "encode_text": "scenario", "load": "scenario",
    "loads": "scenario", "weights_note": "scenario", "with_cell": "scenario",
    "Trace": "trace", "run_trace": "trace",
    "History": "train", "fit": "train", "initial_params": "train",
    "ModelConfig": "types", "Scenario": "types", "ScenarioError": "types",
    "Sequence": "types", "TrainConfig": "types",
}

if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from .analysis import (jacobian_log10_norms, retention, seed_power_estimate, spectral_norm,
                           spectral_radius)
    from .cells import CELLS, GatedParams, get_cell
    from .cells.numerics import sine_matrix
    from .cells.rnn import Params, Pass, init_params, run
    from .predict import knob_scale, prediction
    from .scenario import builtin_names, encode_text, load, loads, weights_note, with_cell
    from .trace import Trace, run_trace
    from .train import History, fit, initial_params
    from .types import ModelConfig, Scenario, ScenarioError, Sequence, TrainConfig

__all__ = [
    "CELLS", "GatedParams", "get_cell", "weights_note", "with_cell",
    "History", "ModelConfig", "Params", "Pass", "Scenario", "ScenarioError", "Sequence", "Trace",
    "TrainConfig", "builtin_names", "encode_text", "fit", "init_params", "initial_params",
    "jacobian_log10_norms", "knob_scale", "load", "loads", "prediction",
    "retention", "run", "run_trace", "seed_power_estimate", "sine_matrix", "spectral_norm",
    "spectral_radius", "trace_for",
]


def __getattr__(name: str):
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value  # asked once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def trace_for(scenario: Scenario, params: Params, sequence: Sequence | None = None, *,
              should_stop=None) -> Trace:
    """The trace of ``sequence`` (default: the scenario's own) under ``params``.

    ``should_stop()`` is polled during the long part; when it says True the computation raises
    ``engine.analysis.Cancelled``.
    """
    from . import seq2seq
    if seq2seq.is_seq2seq(scenario):  # an encoder-decoder: its own trace (engine/seq2seq.py)
        return seq2seq.trace(params, sequence if sequence is not None else scenario.sequence,
                             scenario.vocab)
    from .trace import run_trace
    return run_trace(params, sequence if sequence is not None else scenario.sequence,
                     activation=scenario.model.activation, output=scenario.model.output,
                     retention_steps=scenario.retention_steps, should_stop=should_stop)
