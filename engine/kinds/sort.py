"""``kind = "sort"``: the target is the source's digits in order (``3 1 4`` -> ``1 3 4``).
Output token j comes from the source position of the j-th smallest digit (the first of equal
ones first): an alignment that changes with every source."""

from __future__ import annotations

from ._pairs import ADVICE, SYMBOL_KEYS, Pairs, build_symbols


def sort(source: list[str]):
    order = sorted(range(len(source)), key=lambda i: (source[i], i))
    return [source[i] for i in order], order


def build(ck, data, precheck):
    return build_symbols(sort, ck, data, precheck)


KIND = Pairs(name="sort", keys=SYMBOL_KEYS, build=build, default_output="softmax", advice=ADVICE,
             task=sort)
