"""``kind = "agreement"``: agreement across a gap. A subject, singular or plural ("cat" or
"cats"), then ``gap`` filler words drawn at random, then its verb ("runs" after a singular
subject, "run" after a plural one). The one target is the verb, predicted at the last filler:
only a network that kept the subject's number over the gap gets it right. The memoryless
predictor knows a verb comes but not which, so its loss is ln 2 and its accuracy 1/2 (the
project's ``long`` scenario at any gap, as a lab task: docs/lab.md)."""

from __future__ import annotations

import math

import numpy as np

from .._scenario_checks import LIMITS, Checker
from .._scenario_data import text_sequence
from .text import Text

KEYS = ("gap", "sequences", "seed")
SUBJECTS = (("cat", "runs"), ("cats", "run"), ("dog", "runs"), ("dogs", "run"))
FILLERS = ("near", "the", "old", "red", "house", "by", "a", "tree", "and", "small")
VOCAB = tuple(dict.fromkeys([s for s, _ in SUBJECTS] + list(FILLERS) + ["runs", "run"]))
#: Held-out sequences the lab measures a run on.
TEST_SEQUENCES = 200


def agreement_sequence(subject: int, fillers: list[str]):
    """The subject ``SUBJECTS[subject]``, the fillers and the verb; one target, the verb."""
    noun, verb = SUBJECTS[subject]
    tokens = [noun] + list(fillers) + [verb]
    seq = text_sequence(tokens, {t: i for i, t in enumerate(VOCAB)})
    n = len(tokens)
    keep = n - 2  # the last filler, whose target is the verb
    seq.mask = np.zeros(n, dtype=bool)
    seq.mask[keep] = True
    row = seq.targets[keep].copy()
    seq.targets = np.zeros_like(seq.targets)
    seq.targets[keep] = row
    seq.target_labels = [None] * keep + [verb, None]
    return seq


def _draw(rng: np.random.Generator, count: int, gap: int):
    subjects = rng.integers(0, len(SUBJECTS), size=count)
    words = rng.integers(0, len(FILLERS), size=(count, gap))
    return [agreement_sequence(int(s), [FILLERS[i] for i in row])
            for s, row in zip(subjects, words)]


def build(ck: Checker, data: dict, precheck) -> dict:
    d = ("data",)
    gap = ck.integer(data, d + ("gap",), 5, lo=1, hi=LIMITS["sequence_length"] - 2)
    sequences = ck.integer(data, d + ("sequences",), 200, lo=1, hi=LIMITS["echo_sequences"])
    seed = ck.integer(data, d + ("seed",), 0, lo=0)
    length = gap + 2
    if sequences * length > LIMITS["echo_total_bits"]:
        ck.fail(d + ("sequences",), f"sequences * (gap + 2) = {sequences} * {length} is over "
                                    f"{LIMITS['echo_total_bits']} words; make one smaller")
    precheck(len(VOCAB), len(VOCAB), length, {length: sequences})
    rng = np.random.default_rng(seed)
    train = _draw(rng, sequences, gap)
    test = _draw(rng, TEST_SEQUENCES, gap)
    return {"input_size": len(VOCAB), "output_size": len(VOCAB), "vocab": list(VOCAB),
            "unit": "word", "train_sequences": train, "test_sequences": test,
            "sequence": test[0], "data": {"gap": gap, "sequences": sequences, "seed": seed}}


class Agreement(Text):
    """Words as text reads them, but nothing to write."""

    def generation(self, scenario):
        return ""

    def baseline(self, data):
        return math.log(2.0)

    def draw(self, data, rng, count):
        return _draw(rng, count, data["gap"])

    def chance(self, data):
        return 0.5


KIND = Agreement(
    name="agreement", keys=KEYS, build=build, lab_task=True, default_output="softmax",
    advice={"": {"trace": "a shorter [data].gap",
                 "train": "fewer [data].sequences or a shorter [data].gap",
                 "memory": "fewer [data].sequences or a shorter [data].gap"}},
)
