"""What every data kind is: :class:`Kind`, whose defaults are those of a kind of values (one
number a step, shown as ``+0.123``); a kind module overrides what differs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np


@dataclass(frozen=True)
class Kind:
    """One data kind: its ``[data]`` keys and builder, what the budget tells a user to change,
    how a step's prediction, input and target read as data, and whether it generates."""

    #: its name, the value of ``[scenario].kind``
    name: str
    #: the keys ``[data]`` may hold for this kind (its file sources' keys too)
    keys: tuple[str, ...]
    #: ``build(checker, data_table, precheck) -> dict of Scenario fields``
    build: Callable
    #: the output function a scenario of this kind has when ``[model].output`` is not given
    default_output: str
    #: where the data comes from ("" = the scenario file itself, "file", "csv", ...) -> what
    #: is over its budget ("trace", "train", "memory") -> what to make smaller, in words
    advice: dict = field(default_factory=dict)
    #: what a trained network of this kind makes with key ``w`` and ``gen=``: "text" (sampling),
    #: "forecast" (one value a step fed back) or "" (nothing)
    generates: str = ""
    #: why a step has no target, as the Sequence pane says it ("no target here (...)")
    no_target_because: str = "no bit yet"
    #: whether the Output pane shows the accuracy on the held-out sequences under a softmax
    #: (echo's bits show it whatever the kind says)
    shows_held_out: bool = False
    #: whether key ``i`` takes typed words (:meth:`typed_sequence`, engine.scenario.encode_text)
    takes_text: bool = False
    #: whether a bidirectional model (``[model].bidirectional``) may read this kind: only where
    #: no target is a later input, since the backward direction reads every later input
    reads_both_ways: bool = False
    #: why not, in words that follow "a <kind> scenario cannot be bidirectional: " ("": the
    #: loader names the kinds that can)
    one_way_because: str = ""

    #: sequences are source -> target pairs for an encoder-decoder (engine/seq2seq.py)
    seq2seq: ClassVar[bool] = False

    # -- the memory lab (docs/lab.md): a kind with a baseline is a task a lab can sweep --------

    #: a memory-lab task: its ``baseline`` is known for every value of its ``[data]``
    lab_task: bool = False

    def baseline(self, data: dict) -> float | None:
        """The expected loss a target step of the memoryless predictor (the best guess that
        remembers nothing the sequence said), for the resolved ``[data]`` values ``data``; None
        for a kind that is not a lab task."""
        return None

    def chance(self, data: dict) -> float | None:
        """The memoryless predictor's accuracy on the :meth:`scored` steps; None where a kind
        has no accuracy (a regression)."""
        return None

    def scored(self, sequence) -> np.ndarray:
        """The steps whose guesses the accuracy counts: the steps with a target."""
        return sequence.mask

    def draw(self, data: dict, rng: np.random.Generator, count: int) -> list:
        """``count`` new training sequences for the resolved ``[data]`` values ``data``, drawn
        with ``rng`` (``[train] fresh``, docs/scenarios.md); only a kind whose data comes from
        a generator has this."""
        raise NotImplementedError(f"a {self.name} scenario has no generator")

    def draws(self) -> bool:
        """Whether :meth:`draw` draws (``[train] fresh`` applies to this kind)."""
        return type(self).draw is not Kind.draw

    def generation(self, scenario) -> str:
        """What ``scenario`` (of this kind) can generate: ``generates``, or "" when this one
        cannot (a forecast needs one input a step, the value it feeds back)."""
        if self.generates == "forecast" and scenario.input_size != 1:
            return ""
        return self.generates

    def typed_sequence(self, scenario, tokens: list[str]):
        """The Sequence of words typed with key ``i`` (``tokens``, split as the data is), or
        None where the kind's own text rule applies (a text scenario's next-word targets);
        ScenarioError for an unknown word."""
        return None

    def more(self, what: str, source: str = "") -> str:
        """What to make smaller when ``what`` is over its budget, for data from ``source``."""
        return self.advice.get(source, self.advice[""])[what]

    # -- a step's guess, input and target: a value a step unless the kind says otherwise ------

    def prediction(self, out: np.ndarray, scenario) -> tuple[str, float]:
        """The guess in the output row ``out`` for display, and how sure it is (nan: a value)."""
        return f"{float(out[0]):+.3f}", math.nan

    def predicted_value(self, out: np.ndarray, scenario) -> str | int | float:
        """The guess of :meth:`prediction` as exact data."""
        return float(out[0])

    def exact_input(self, scenario, sequence, t: int) -> str | int | float:
        """Input ``t`` as exact data."""
        return float(sequence.inputs[t][0])

    def exact_target(self, scenario, row: np.ndarray) -> str | int | float:
        """A target row (of a step that has one) as exact data."""
        return float(row[0])
