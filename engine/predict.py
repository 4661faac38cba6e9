"""Domain answers the screens ask for: the prediction at a step, exact values, the knob's scale."""

from __future__ import annotations

import numpy as np

from .kinds import get_kind
from .trace import Trace
from .types import Scenario, Sequence

__all__ = ["KNOB_STEPS_PER_DOUBLING", "exact_input", "exact_target", "knob_scale",
           "held_out_accuracy", "predicted_value", "prediction"]

#: One click of the W_h knob multiplies W_h by 2**(1/4): four clicks double it.
KNOB_STEPS_PER_DOUBLING = 4


def knob_scale(k: int) -> float:
    """The factor W_h is multiplied by at knob setting ``k``: 2**(k/4).

    ``k`` is an integer, so +1 then -1 lands exactly back on the same factor (and weights).
    """
    return 2.0 ** (k / KNOB_STEPS_PER_DOUBLING)


def prediction(trace: Trace, scenario: Scenario, t: int) -> tuple[str, float]:
    """The model's guess at step ``t`` and how sure it is, for display, as the scenario's kind
    reads it (engine/kinds/):

    - text (any output): the token with the largest output, exactly as in ``vocab``, with its
      probability (softmax), its own P (sigmoid), or nan (identity, which is not a probability);
    - echo with a sigmoid output: the more likely bit, ``"1"`` or ``"0"``, with P(that bit);
    - otherwise (series, or echo with an identity output): the value, as ``"+0.123"``, and nan.

    :func:`predicted_value` gives the same guess as exact data (for JSON).
    """
    return get_kind(scenario.kind).prediction(trace.out[t], scenario)


def predicted_value(trace: Trace, scenario: Scenario, t: int) -> str | int | float:
    """The guess of :func:`prediction` as data: the vocab token, the bit as an int, or the
    output value as an unrounded float."""
    return get_kind(scenario.kind).predicted_value(trace.out[t], scenario)


def exact_input(scenario: Scenario, sequence: Sequence, t: int) -> str | int | float:
    """Input t as data: the token as in ``vocab`` (text), the value (series), the bit (echo)."""
    return get_kind(scenario.kind).exact_input(scenario, sequence, t)


def exact_target(scenario: Scenario, sequence: Sequence, t: int) -> str | int | float | None:
    """Target t as data (None where step t has none): token, value or bit, unrounded."""
    if not bool(sequence.mask[t]):
        return None
    return get_kind(scenario.kind).exact_target(scenario, sequence.targets[t])


def held_out_accuracy(scenario: Scenario, params) -> tuple[int, int]:
    """(right, total) over the target steps of the scenario's held-out sequences
    (``test_sequences``) under ``params`` (any cell): a bit is right when P(1) >= 0.5 matches
    it, a token when it is the most probable one. (0, 0) when there are none."""
    from .cells import run
    from .train import batches
    seqs = scenario.test_sequences
    if not seqs:
        return 0, 0
    right = total = 0
    with np.errstate(all="ignore"):
        for X, Y, M in batches(seqs, 256):
            p = run(params, X, Y, M, activation=scenario.model.activation,
                    output=scenario.model.output, backward=False)
            if scenario.model.output == "softmax":
                ok = np.argmax(p.out, axis=-1) == np.argmax(Y, axis=-1)
            elif scenario.model.output == "sigmoid":
                ok = (p.out[..., 0] >= 0.5) == (Y[..., 0] >= 0.5)
            else:  # a value: right within 0.5 of a bit's distance, as the echo reads it
                ok = np.abs(p.out[..., 0] - Y[..., 0]) < 0.5
            right += int(np.count_nonzero(ok & M))
            total += int(np.count_nonzero(M))
    return right, total
