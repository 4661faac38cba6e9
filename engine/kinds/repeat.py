"""``kind = "repeat"``: the target is the source as it came (``3 1 4`` -> ``3 1 4``). Output
token j comes from source position j: with attention, the weights form the diagonal."""

from __future__ import annotations

from ._pairs import ADVICE, SYMBOL_KEYS, Pairs, build_symbols


def repeat(source: list[str]):
    return list(source), list(range(len(source)))


def build(ck, data, precheck):
    return build_symbols(repeat, ck, data, precheck)


KIND = Pairs(name="repeat", keys=SYMBOL_KEYS, build=build, default_output="softmax", advice=ADVICE,
             lab_task=True, task=repeat)
