"""Plain data objects shared by the loader, the model, training and analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ACTIVATIONS = ("tanh", "sigmoid", "relu")
OUTPUTS = ("softmax", "identity", "sigmoid")
INITS = ("xavier", "normal", "zeros", "sine")
OPTIMIZERS = ("sgd", "adam")
MATRICES = ("W_x", "W_h", "b", "W_y", "b_y")


class ScenarioError(ValueError):
    """A scenario file (or a scenario built in code) is not valid.

    ``str(err)`` is one line a person can act on: ``FILE:LINE: [section].key: what is wrong``
    (the line and key are left out where they are not known).
    """

    def __init__(self, message: str, *, path: str | Path | None = None,
                 line: int | None = None, key: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + ": "
        if self.key:
            where += f"{self.key}: "
        return where + self.message


@dataclass
class Sequence:
    """One input sequence with its targets, ready for the model.

    ``inputs`` is (T, I) float64. ``targets`` is (T, O) float64: one-hot rows for softmax outputs,
    values for identity outputs, 0/1 for sigmoid outputs. ``mask[t]`` is False where step t has no
    target (its target row is then all zero and ignored). ``labels[t]`` names input t for display
    (a token, a number, a bit); ``target_labels[t]`` names its target, or None.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    labels: list[str]
    target_labels: list[str | None]
    #: Text kinds: the tokens exactly as in the vocabulary (``labels`` are for display and draw
    #: a space as "␣"); None for series and echo, whose exact values are in inputs/targets.
    tokens: list[str] | None = None

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


#: An encoder-decoder's attentions (engine/seq2seq.py): none, Bahdanau's additive score, Luong's
#: dot score. Here, not in engine.seq2seq, so that reading a scenario file does not load the
#: encoder-decoder.
ATTENTIONS = ("none", "additive", "dot")


@dataclass
class ModelConfig:
    """What ``[model]`` says. ``init_scale`` maps each matrix name to its scale (None = default)."""

    hidden_size: int = 16
    activation: str = "tanh"
    output: str = "softmax"
    init: str = "xavier"
    init_scale: dict[str, float | None] = field(default_factory=dict)
    seed: int = 0
    weights: dict[str, np.ndarray] | None = None
    #: the cell's name, one of engine.cells.CELLS (engine.scenario always sets it)
    cell: str = ""
    #: a forward and a backward copy of the cell, their states side by side for the read-out
    #: (engine/cells/bidir.py); only for kinds whose targets are not later inputs
    bidirectional: bool = False
    #: the LSTM's initial forget-gate bias (unused by the other cells)
    forget_bias: float = 1.0
    #: an encoder-decoder's attention (one of ATTENTIONS); "" for every other model
    attention: str = ""
    #: True when the file's hand-chosen weights (``[model.weights]`` or the ``sine`` pattern)
    #: belong to another cell, so this cell starts from seeded xavier weights instead (set by
    #: ``engine.with_cell``; a screen should say so)
    weights_seeded: bool = False
    #: the model as the file wrote it, kept by ``engine.with_cell`` so switching back is exact
    origin: "ModelConfig | None" = None


@dataclass
class TrainConfig:
    """What ``[train]`` says."""

    epochs: int = 0
    learning_rate: float = 0.1
    optimizer: str = "sgd"
    clip: float | None = 5.0
    batch_size: int = 1
    #: stack sequences of different lengths into one padded batch (engine/batch.py); False:
    #: a batch holds sequences of one length only, as before
    pad: bool = False
    #: with ``pad``: the mask is on (a pad step counts for nothing) or off (pads are steps)
    mask: bool = True
    #: with ``pad``: batch the sequences sorted by length (fewer pads) instead of in order
    sort: bool = False
    #: draw a new batch from the kind's generator for every update (seeded by the data's seed,
    #: the epoch and the batch), instead of cycling over ``train_sequences``; an epoch is as
    #: many updates as the fixed set has batches (docs/scenarios.md)
    fresh: bool = False
    #: [train] as the file wrote it, kept by ``engine.scenario.with_batching`` when the mask or
    #: the sorting is switched (keys u and s, a position's mask= and sort=); None: this is it
    origin: "TrainConfig | None" = None


@dataclass
class Scenario:
    """A validated scenario: its settings and its data, everything the engine needs.

    ``train_sequences`` are what training fits; ``sequence`` is the one a person steps through;
    ``test_sequences`` are held out (echo) for measuring accuracy. For text kinds ``vocab`` is the
    order of the one-hot inputs (when no ``[data.vectors]``) and of the output probabilities, and
    ``token_vectors`` maps each known token to its input vector.
    """

    name: str
    kind: str
    description: str
    source: str
    model: ModelConfig
    train: TrainConfig
    retention_steps: int
    input_size: int
    output_size: int
    train_sequences: list[Sequence]
    sequence: Sequence
    test_sequences: list[Sequence] = field(default_factory=list)
    vocab: list[str] | None = None
    token_vectors: dict[str, np.ndarray] | None = None
    unit: str | None = None
    data: dict = field(default_factory=dict)


class Cancelled(Exception):
    """A long computation was asked to stop (its ``should_stop`` callback returned True)."""
