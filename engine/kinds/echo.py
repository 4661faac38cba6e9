"""``kind = "echo"``: random bits; the target at step t is the input ``delay`` steps back."""

from __future__ import annotations

import math

from .._scenario_data import ECHO_KEYS, build_echo, echo_sequence
from .base import Kind


class Echo(Kind):
    """Bits: with a sigmoid output the guess is the more likely bit; inputs and targets are
    ints."""

    def prediction(self, out, scenario):
        if scenario.model.output != "sigmoid":
            return super().prediction(out, scenario)
        p1 = float(out[0])
        return ("1", p1) if p1 >= 0.5 else ("0", 1.0 - p1)

    def predicted_value(self, out, scenario):
        if scenario.model.output != "sigmoid":
            return super().predicted_value(out, scenario)
        return int(self.prediction(out, scenario)[0])

    def exact_input(self, scenario, sequence, t):
        return int(super().exact_input(scenario, sequence, t))

    def exact_target(self, scenario, row):
        return int(super().exact_target(scenario, row))

    # the memory lab's delayed echo (docs/lab.md): a bit is 0 or 1 half the time each, so the
    # memoryless predictor says 1/2: a cross-entropy of ln 2 a target step, accuracy 1/2
    def baseline(self, data):
        return math.log(2.0)

    def chance(self, data):
        return 0.5

    def draw(self, data, rng, count):
        return [echo_sequence(row, data["delay"])
                for row in rng.integers(0, 2, size=(count, data["length"]))]


KIND = Echo(
    name="echo", keys=ECHO_KEYS, build=build_echo, default_output="sigmoid", lab_task=True,
    reads_both_ways=True,  # the target at t is the input at t - delay: never a later one
    advice={
        "": {"trace": "a shorter [data].length",
             "train": "fewer [data].sequences or a shorter [data].length",
             "memory": "fewer [data].sequences or a shorter [data].length"},
    },
)
