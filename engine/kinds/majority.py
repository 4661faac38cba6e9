"""``kind = "majority"``: the majority vote of a string of bits of random length. A sequence
is ``shortest`` to ``longest`` random bits; its one target, at its last step, is 1 when it has
more 1s than 0s, else 0 (a tie is 0). The answer depends on where the sequence ends, which is
what padded batches blur: a pad is the zero vector, the same input as a bit 0, so without the
mask every pad votes 0 (engine/batch.py)."""

from __future__ import annotations

import numpy as np

from .._scenario_checks import LIMITS, Checker
from ..types import Sequence
from .echo import Echo

KEYS = ("shortest", "longest", "sequences", "seed")
#: Held-out sequences the Output pane's accuracy is measured on.
TEST_SEQUENCES = 200


def majority_sequence(bits) -> Sequence:
    """Inputs the bits; one target at the last step: 1 when more than half of them are 1."""
    b = np.asarray(bits, dtype=np.float64)
    n = len(b)
    answer = 1.0 if 2 * int(b.sum()) > n else 0.0
    targets = np.zeros((n, 1))
    targets[-1, 0] = answer
    mask = np.zeros(n, dtype=bool)
    mask[-1] = True
    labels = ["1" if v else "0" for v in b.tolist()]
    return Sequence(inputs=b.reshape(n, 1).copy(), targets=targets, mask=mask, labels=labels,
                    target_labels=[None] * (n - 1) + [str(int(answer))])


def _draw(rng: np.random.Generator, count: int, shortest: int, longest: int):
    lengths = rng.integers(shortest, longest + 1, size=count)
    return [majority_sequence(rng.integers(0, 2, size=int(n))) for n in lengths]


def build(ck: Checker, data: dict, precheck) -> dict:
    d = ("data",)
    shortest = ck.integer(data, d + ("shortest",), 2, lo=1, hi=LIMITS["echo_length"])
    longest = ck.integer(data, d + ("longest",), 12, lo=1, hi=LIMITS["echo_length"])
    if longest < shortest:
        ck.fail(d + ("longest",), f"must be at least shortest ({shortest}), got {longest}")
    sequences = ck.integer(data, d + ("sequences",), 200, lo=1, hi=LIMITS["echo_sequences"])
    seed = ck.integer(data, d + ("seed",), 0, lo=0)
    if sequences * longest > LIMITS["echo_total_bits"]:
        ck.fail(d + ("sequences",), f"sequences * longest = {sequences} * {longest} is over "
                                    f"{LIMITS['echo_total_bits']} bits; make one smaller")
    precheck(1, 1, longest, {longest: sequences})
    rng = np.random.default_rng(seed)
    train = _draw(rng, sequences, shortest, longest)
    test = _draw(rng, TEST_SEQUENCES, shortest, longest)
    return {"input_size": 1, "output_size": 1, "train_sequences": train,
            "test_sequences": test, "sequence": train[0],
            "data": {"shortest": shortest, "longest": longest, "sequences": sequences,
                     "seed": seed}}


class Majority(Echo):
    """Bits as echo reads them, of random lengths."""

    def draw(self, data, rng, count):
        return _draw(rng, count, data["shortest"], data["longest"])


KIND = Majority(
    name="majority", keys=KEYS, build=build, default_output="sigmoid",
    advice={"": {"trace": "a smaller [data].longest",
                 "train": "fewer [data].sequences or a smaller [data].longest",
                 "memory": "fewer [data].sequences or a smaller [data].longest"}},
)
