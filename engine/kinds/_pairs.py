"""What the sequence-to-sequence kinds share (``reverse``, ``repeat``, ``sort``, ``translate``):
a source and a target as one :class:`engine.pairs.Pair` (the encoder's steps, then the
decoder's), their kind class and the ``[data]`` builder of the symbol tasks."""

from __future__ import annotations

import numpy as np

from .._scenario_checks import LIMITS, Checker
from ..pairs import END, START, make_pair
from .text import Text

#: The symbol tasks' keys: the source length, how many symbols, training pairs, the seed.
SYMBOL_KEYS = ("length", "symbols", "sequences", "seed")
DIGITS = tuple("0123456789")
#: Held-out pairs the accuracy is measured on.
TEST_PAIRS = 200


class Pairs(Text):
    """A kind whose sequences are source -> target pairs, read by an encoder and written by a
    decoder (engine/seq2seq.py): tokens as text reads them, nothing to generate."""

    seq2seq = True

    def generation(self, scenario):
        return ""


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
