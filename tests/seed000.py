"""Seed 000's Rust program re-done in plain Python floats: an independent reference."""

import math


def seed000_reference():
    """Seed 000's Rust program, re-done in plain Python floats (no NumPy)."""
    def init(r, c, s):
        return [[math.sin((i * c + j) * 1.618 + 0.5) * s for j in range(c)] for i in range(r)]
    Wh, Wx = init(3, 3, 0.3), init(3, 4, 0.5)

    def step(h, x):
        return [math.tanh(sum(Wh[i][j] * h[j] for j in range(3))
                          + sum(Wx[i][j] * x[j] for j in range(4))) for i in range(3)]
    seq = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 1]]
    hs, h = [], [0.0] * 3
    for x in seq:
        h = step(h, x)
        hs.append(h)
    h1 = step([0.0] * 3, seq[0])
    h, ret = h1, []
    for _ in range(15):
        h = step(h, [0, 0, 0, 0])
        dot = sum(a * b for a, b in zip(h1, h))
        ret.append(dot / math.sqrt(sum(a * a for a in h1)) / math.sqrt(sum(b * b for b in h)))
    return Wh, Wx, seq, hs, ret
