"""``kind = "reverse"``: the target is the source backwards (``3 1 4`` -> ``4 1 3``). Output
token j comes from source position S-1-j: with attention, the weights form the anti-diagonal."""

from __future__ import annotations

from ._pairs import ADVICE, SYMBOL_KEYS, Pairs, build_symbols


def reverse(source: list[str]):
    S = len(source)
    return source[::-1], [S - 1 - j for j in range(S)]


def build(ck, data, precheck):
    return build_symbols(reverse, ck, data, precheck)


KIND = Pairs(name="reverse", keys=SYMBOL_KEYS, build=build, default_output="softmax", advice=ADVICE,
             lab_task=True, task=reverse)
