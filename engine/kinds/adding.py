"""``kind = "adding"``: the adding problem (Hochreiter & Schmidhuber 1997, in the form of Le,
Jaitly & Hinton 2015). Each step's input is a pair (a value drawn uniformly from [0, 1], a
marker); exactly two steps are marked, one in each half of the sequence, and the only target,
at the last step, is the sum of the two marked values (a regression: identity output, squared
error). The memoryless baseline predicts the mean, 1, and its expected loss is the variance of
a sum of two independent uniform values, 2 x 1/12 = 1/6 (docs/lab.md)."""

from __future__ import annotations

import numpy as np

from .._scenario_checks import LIMITS, Checker
from ..types import Sequence
from .base import Kind

KEYS = ("length", "sequences", "seed")
#: Held-out sequences the lab measures a run on.
TEST_SEQUENCES = 200
#: The expected squared error of always predicting 1: Var(U1 + U2) = 1/6.
BASELINE = 1.0 / 6.0


def adding_sequence(values: np.ndarray, marked: tuple[int, int]) -> Sequence:
    """Inputs (T, 2): the value and the marker (1.0 at the two ``marked`` steps); one target,
    the sum of the marked values, at the last step."""
    n = len(values)
    inputs = np.zeros((n, 2))
    inputs[:, 0] = values
    inputs[list(marked), 1] = 1.0
    targets = np.zeros((n, 1))
    targets[-1, 0] = values[marked[0]] + values[marked[1]]
    mask = np.zeros(n, dtype=bool)
    mask[-1] = True
    labels = [f"{v:.3f}" + ("*" if i in marked else "") for i, v in enumerate(values.tolist())]
    return Sequence(inputs=inputs, targets=targets, mask=mask, labels=labels,
                    target_labels=[None] * (n - 1) + [f"{targets[-1, 0]:.3f}"])


def _draw(rng: np.random.Generator, count: int, length: int) -> list[Sequence]:
    half = length // 2
    out = []
    for _ in range(count):
        values = rng.random(length)
        first = int(rng.integers(0, half))
        second = int(rng.integers(half, length))
        out.append(adding_sequence(values, (first, second)))
    return out


def build(ck: Checker, data: dict, precheck) -> dict:
    d = ("data",)
    length = ck.integer(data, d + ("length",), 10, lo=2, hi=LIMITS["echo_length"])
    sequences = ck.integer(data, d + ("sequences",), 200, lo=1, hi=LIMITS["echo_sequences"])
    seed = ck.integer(data, d + ("seed",), 0, lo=0)
    if sequences * length > LIMITS["echo_total_bits"]:
        ck.fail(d + ("sequences",), f"sequences * length = {sequences} * {length} is over "
                                    f"{LIMITS['echo_total_bits']} steps; make one of them smaller")
    precheck(2, 1, length, {length: sequences})
    rng = np.random.default_rng(seed)
    train = _draw(rng, sequences, length)
    test = _draw(rng, TEST_SEQUENCES, length)
    return {"input_size": 2, "output_size": 1, "train_sequences": train,
            "test_sequences": test, "sequence": test[0],
            "data": {"length": length, "sequences": sequences, "seed": seed}}


class Adding(Kind):
    """Two inputs a step: an input reads as [value, marker]."""

    def baseline(self, data):
        return BASELINE

    def draw(self, data, rng, count):
        return _draw(rng, count, data["length"])

    def exact_input(self, scenario, sequence, t):
        return [float(x) for x in sequence.inputs[t]]


KIND = Adding(
    name="adding", keys=KEYS, build=build, lab_task=True, default_output="identity",
    advice={"": {"trace": "a shorter [data].length",
                 "train": "fewer [data].sequences or a shorter [data].length",
                 "memory": "fewer [data].sequences or a shorter [data].length"}},
)
