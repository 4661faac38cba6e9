"""``kind = "copy"``: the copy-memory task (Arjovsky, Shah & Bengio 2016). ``symbols`` (K)
symbols from an alphabet of 8 (a–h), then ``gap`` - 1 blanks (_), a delimiter (:) and K more
blanks; the target is a blank at every step but the last K, where it is the K symbols in order.
Every step has a target, so the memoryless baseline (blanks right, each symbol a guess among 8)
has the loss K ln 8 / (gap + 2K) a step (docs/lab.md)."""

from __future__ import annotations

import math

import numpy as np

from .._scenario_checks import LIMITS, Checker
from ..cells.numerics import onehot
from ..types import Sequence
from .text import Text

KEYS = ("symbols", "gap", "sequences", "seed")
ALPHABET = tuple("abcdefgh")
BLANK, DELIMITER = "_", ":"
VOCAB = ALPHABET + (BLANK, DELIMITER)
#: Held-out sequences the lab measures a run on.
TEST_SEQUENCES = 200


def baseline(symbols: int, gap: int) -> float:
    """The memoryless predictor's cross-entropy a step: K ln 8 / (gap + 2K)."""
    return symbols * math.log(len(ALPHABET)) / (gap + 2 * symbols)


def copy_sequence(picked: list[str], gap: int) -> Sequence:
    """The copy sequence of the symbols ``picked``: inputs and targets one-hot over VOCAB."""
    k = len(picked)
    tokens = list(picked) + [BLANK] * (gap - 1) + [DELIMITER] + [BLANK] * k
    wanted = [BLANK] * (gap + k) + list(picked)
    index = {t: i for i, t in enumerate(VOCAB)}
    ids = np.array([index[t] for t in tokens])
    return Sequence(inputs=onehot(ids, len(VOCAB)),
                    targets=onehot(np.array([index[t] for t in wanted]), len(VOCAB)),
                    mask=np.ones(len(tokens), dtype=bool), labels=list(tokens),
                    target_labels=wanted, tokens=tokens)


def _draw(rng: np.random.Generator, count: int, symbols: int, gap: int):
    picks = rng.integers(0, len(ALPHABET), size=(count, symbols))
    return [copy_sequence([ALPHABET[i] for i in row], gap) for row in picks]


def build(ck: Checker, data: dict, precheck) -> dict:
    d = ("data",)
    symbols = ck.integer(data, d + ("symbols",), 3, lo=1, hi=100)
    gap = ck.integer(data, d + ("gap",), 10, lo=1, hi=LIMITS["echo_length"])
    sequences = ck.integer(data, d + ("sequences",), 200, lo=1, hi=LIMITS["echo_sequences"])
    seed = ck.integer(data, d + ("seed",), 0, lo=0)
    length = gap + 2 * symbols
    if sequences * length > LIMITS["echo_total_bits"]:
        ck.fail(d + ("sequences",), f"sequences * (gap + 2 * symbols) = {sequences} * {length} "
                                    f"is over {LIMITS['echo_total_bits']} steps; make one smaller")
    precheck(len(VOCAB), len(VOCAB), length, {length: sequences})
    rng = np.random.default_rng(seed)
    train = _draw(rng, sequences, symbols, gap)
    test = _draw(rng, TEST_SEQUENCES, symbols, gap)
    return {"input_size": len(VOCAB), "output_size": len(VOCAB), "vocab": list(VOCAB),
            "unit": "char", "train_sequences": train, "test_sequences": test,
            "sequence": test[0],
            "data": {"symbols": symbols, "gap": gap, "sequences": sequences, "seed": seed}}


class Copy(Text):
    """Tokens as text reads them, but nothing to write: the sequence is not a language."""

    def generation(self, scenario):
        return ""

    def baseline(self, data):
        return baseline(data["symbols"], data["gap"])

    def chance(self, data):
        return 1.0 / len(ALPHABET)

    def draw(self, data, rng, count):
        return _draw(rng, count, data["symbols"], data["gap"])

    def scored(self, sequence):
        """The last K steps, where the symbols are recalled (a blank is easy to guess)."""
        k = sum(1 for t in sequence.target_labels if t not in (BLANK, None))
        out = np.zeros(len(sequence), dtype=bool)
        out[len(sequence) - k:] = True
        return out


KIND = Copy(
    name="copy", keys=KEYS, build=build, lab_task=True, default_output="softmax",
    advice={"": {"trace": "a shorter [data].gap or fewer [data].symbols",
                 "train": "fewer [data].sequences or a shorter [data].gap",
                 "memory": "fewer [data].sequences or a shorter [data].gap"}},
)
