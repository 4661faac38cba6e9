"""What the sequence-to-sequence kinds share (``reverse``, ``repeat``, ``sort``, ``translate``):
a source and a target as one :class:`engine.pairs.Pair` (the encoder's steps, then the
decoder's), their kind class and the ``[data]`` builder of the symbol tasks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._scenario_checks import LIMITS, Checker
from ..pairs import END, START, make_pair
from ..types import ScenarioError
from .text import Text

#: The symbol tasks' keys: the source length, how many symbols, training pairs, the seed.
SYMBOL_KEYS = ("length", "symbols", "sequences", "seed")
DIGITS = tuple("0123456789")
#: Held-out pairs the accuracy is measured on.
TEST_PAIRS = 200


#: The longest source a person may type (`i`): longer than any training source, on purpose.
TYPED_MOST = 40


@dataclass(frozen=True)
class Pairs(Text):
    """A kind whose sequences are source -> target pairs, read by an encoder and written by a
    decoder (engine/seq2seq.py): tokens as text reads them, nothing to generate. ``task``
    makes a source's target and alignment: ``task(source) -> (target, align)``."""

    task: Callable | None = None
    seq2seq = True

    def generation(self, scenario):
        return ""

    # The memory lab (docs/lab.md), for the symbol tasks whose every target token is one of
    # the source's, each symbol equally likely (reverse, repeat): the memoryless predictor
    # knows the step (the target has the source's length, then </s>) but not the source.

    def baseline(self, data):
        """Each of the L target tokens costs ln K, the certain </s> nothing: L ln K / (L + 1)
        a decoder step (the loss the lab reports is the mean over the L + 1 steps)."""
        if not self.lab_task:
            return None
        L, K = data.get("length", 6), data.get("symbols", 8)
        return L * math.log(K) / (L + 1)

    def chance(self, data):
        """Whole-sequence accuracy (the lab's, engine.seq2seq.sequence_accuracy): all L
        tokens guessed right, (1/K)^L."""
        if not self.lab_task:
            return None
        return float(data.get("symbols", 8)) ** -data.get("length", 6)

    def source_words(self, scenario) -> list[str]:
        """The tokens a source may hold, in vocabulary order."""
        seen = {t for q in scenario.train_sequences for t in q.source}
        return [t for t in scenario.vocab if t in seen]

    def encode(self, scenario, text: str):
        """The pair of a typed source (tokens apart by spaces; digits may also be run
        together), any length up to TYPED_MOST, its target made by the task's rule."""
        words = self.source_words(scenario)
        parts = text.split()
        if scenario.unit == "char" and len(parts) == 1:
            parts = list(parts[0])
        if not parts:
            raise ScenarioError("type at least one token of the source")
        if len(parts) > TYPED_MOST:
            raise ScenarioError(f"that is {len(parts)} tokens; the most a typed source takes "
                                f"is {TYPED_MOST}")
        for t in parts:
            if t not in words:
                raise ScenarioError(f"unknown token {t!r}; a source is made of "
                                    f"{', '.join(words)}")
        target, align = self.task(parts)
        return make_pair(parts, target, scenario.vocab, align)


def symbol_vocab(symbols: int) -> list[str]:
    return list(DIGITS[:symbols]) + [START, END]


def build_symbols(task, ck: Checker, data: dict, precheck) -> dict:
    """The ``[data]`` of a symbol task: ``length`` random symbols (digits 0 to ``symbols`` - 1)
    a source; ``task(source) -> (target, align)`` makes its target."""
    d = ("data",)
    length = ck.integer(data, d + ("length",), 6, lo=1, hi=40)
    symbols = ck.integer(data, d + ("symbols",), 8, lo=2, hi=len(DIGITS))
    sequences = ck.integer(data, d + ("sequences",), 500, lo=1, hi=LIMITS["echo_sequences"])
    seed = ck.integer(data, d + ("seed",), 0, lo=0)
    steps = 2 * length + 1
    if sequences * steps > LIMITS["echo_total_bits"]:
        ck.fail(d + ("sequences",), f"sequences * (2 * length + 1) = {sequences} * {steps} is "
                                    f"over {LIMITS['echo_total_bits']} steps; make one smaller")
    vocab = symbol_vocab(symbols)
    precheck(len(vocab), len(vocab), steps, {steps: sequences})
    rng = np.random.default_rng(seed)

    def draw(count):
        out = []
        for row in rng.integers(0, symbols, size=(count, length)):
            source = [DIGITS[i] for i in row]
            target, align = task(source)
            out.append(make_pair(source, target, vocab, align))
        return out

    train, test = draw(sequences), draw(TEST_PAIRS)
    return {"input_size": len(vocab), "output_size": len(vocab), "vocab": vocab,
            "unit": "char", "train_sequences": train, "test_sequences": test,
            "sequence": test[0],
            "data": {"length": length, "symbols": symbols, "sequences": sequences,
                     "seed": seed}}


ADVICE = {"": {"trace": "a shorter [data].length",
               "train": "fewer [data].sequences or a shorter [data].length",
               "memory": "fewer [data].sequences or a shorter [data].length"}}
