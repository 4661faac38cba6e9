"""A source and its target as one sequence for an encoder-decoder (engine/seq2seq.py): the
data kinds build them (engine/kinds/_pairs.py) without importing the model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cells.numerics import onehot
from .types import ScenarioError, Sequence

#: The decoder's first input and its last target.
START, END = "<s>", "</s>"


@dataclass
class Pair(Sequence):
    """A source and its target as one time line: ``source_len`` encoder steps, then the
    decoder's steps (input <s>, y_0, ..; target y_0, .., </s>). ``align[i]`` is the source
    position target token i comes from (None where none does), when the task knows it."""

    source: list[str] = field(default_factory=list)
    target: list[str] = field(default_factory=list)
    align: list[int | None] | None = None

    @property
    def source_len(self) -> int:
        return len(self.source)


def make_pair(source: list[str], target: list[str], vocab: list[str],
              align: list[int | None] | None = None) -> Pair:
    """The Pair of ``source`` -> ``target`` over ``vocab`` (which holds START and END)."""
    index = {t: i for i, t in enumerate(vocab)}
    for tok in list(source) + list(target):
        if tok not in index:
            raise ScenarioError(f"the token {tok!r} is not in the vocabulary")
    dec_in = [START] + list(target)
    dec_out = list(target) + [END]
    ids_in = np.array([index[t] for t in list(source) + dec_in], dtype=int)
    S, n = len(source), len(dec_in)
    targets = np.zeros((S + n, len(vocab)))
    targets[S:] = onehot(np.array([index[t] for t in dec_out], dtype=int), len(vocab))
    mask = np.zeros(S + n, dtype=bool)
    mask[S:] = True
    labels = list(source) + dec_in
    return Pair(inputs=onehot(ids_in, len(vocab)), targets=targets, mask=mask, labels=labels,
                target_labels=[None] * S + dec_out, tokens=labels, source=list(source),
                target=list(target), align=None if align is None else list(align))
