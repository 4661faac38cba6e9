"""``kind = "text"``: sentences in the scenario file, or a whole text file (engine/corpus.py);
the network predicts the next token and writes text."""

from __future__ import annotations

import math

import numpy as np

from .._scenario_data import TEXT_KEYS, build_text
from .base import Kind


class Text(Kind):
    """Tokens: the guess is the most probable token, exactly as in ``vocab``."""

    def generation(self, scenario):
        return "text" if scenario.vocab else ""

    def prediction(self, out, scenario):
        if not scenario.vocab:
            return super().prediction(out, scenario)
        i = int(np.argmax(out))
        name = scenario.vocab[i] if i < len(scenario.vocab) else str(i)
        p = float(out[i]) if scenario.model.output != "identity" else math.nan
        return name, p

    def predicted_value(self, out, scenario):
        if not scenario.vocab:
            return super().predicted_value(out, scenario)
        return self.prediction(out, scenario)[0]

    def exact_input(self, scenario, sequence, t):
        if sequence.tokens is not None:
            return sequence.tokens[t]
        return sequence.labels[t]

    def exact_target(self, scenario, row):
        if not scenario.vocab:
            return super().exact_target(scenario, row)
        return scenario.vocab[int(np.argmax(row))]


KIND = Text(
    name="text", keys=TEXT_KEYS, build=build_text, default_output="softmax", generates="text",
    takes_text=True, no_target_because="the last step",
    one_way_because="the target at step t is the word at step t+1, which the backward "
                    "direction would already have read",
    advice={
        "": {"trace": "a shorter prompt (or first sentence)",
             "train": "fewer or shorter sentences",
             "memory": "fewer sentences, a shorter prompt or a smaller vocabulary"},
        "file": {"trace": "a smaller [data].window", "train": "a shorter text file",
                 "memory": "a shorter text file, a smaller [data].vocab_size or a smaller "
                           "[data].window"},
    },
)
