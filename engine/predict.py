"""Domain answers the app, the CLI table, the JSON and the tests share: the prediction at a step,
and the W_h knob's scale."""

from __future__ import annotations

import numpy as np

from .trace import Trace
from .types import Scenario

#: One knob click multiplies W_h by 2**(1/4): four clicks double it, and +k then -k lands exactly
#: on the same weights.
KNOB_STEPS_PER_DOUBLING = 4


def knob_scale(clicks: int) -> float:
    """The factor W_h is scaled by after ``clicks`` knob clicks (negative: smaller)."""
    return 2.0 ** (clicks / KNOB_STEPS_PER_DOUBLING)


def prediction(trace: Trace, scenario: Scenario, t: int) -> tuple[str, float]:
    """The model's guess at step t and how sure it is.

    softmax: (the most probable token, its probability); sigmoid: (the bit "1" or "0", the
    probability of that bit); identity: (the value formatted with a sign and 3 decimals, nan).
    """
    out = trace.out[t]
    if trace.output == "softmax":
        i = int(np.argmax(out))
        name = scenario.vocab[i] if scenario.vocab and i < len(scenario.vocab) else str(i)
        return name, float(out[i])
    if trace.output == "sigmoid":
        p1 = float(out[0])
        return ("1", p1) if p1 >= 0.5 else ("0", 1.0 - p1)
    return f"{float(out[0]):+.3f}", float("nan")
