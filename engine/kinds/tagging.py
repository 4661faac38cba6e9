"""``kind = "tagging"``: sentences whose words may carry a tag, written ``word/tag``
(``"apple/fruit is sweet"``); the network reads the words and names each tagged word's tag.

A step's input is its word (one-hot over the words of the sentences, in first-seen order); a
tagged word's target is its tag (one-hot over the tags, in first-seen order), and an untagged
word has no target. No target is a later input, so a bidirectional model may read this kind:
the backward direction brings the words that follow a word to its tag.

``[data]``: ``text`` (the training sentences; the first is the one stepped through) and
``test`` (held-out sentences, written the same way, for the accuracy).
"""

from __future__ import annotations

import numpy as np

from .._data_common import OneHotVectors, tokenize
from .._scenario_checks import LIMITS, Checker, describe, quote, suggest
from ..cells.numerics import onehot
from ..types import ScenarioError, Sequence
from .text import Text

KEYS = ("text", "test")
_D = ("data",)
SEPARATOR = "/"


def _sentence(ck: Checker, value, path: tuple) -> list[tuple[str, str | None]]:
    """[(word, tag or None)] of one sentence, checked."""
    if not isinstance(value, str):
        ck.fail(path, f"must be a string (one sentence, tagged words written word/tag), "
                      f"got {describe(value)}")
    out = []
    for raw in value.split():
        word, sep, tag = raw.partition(SEPARATOR)
        words = tokenize(word, "word")
        if sep and (len(words) != 1 or not tag or SEPARATOR in tag or tag != tag.strip()):
            ck.fail(path, f"{quote(raw)} is not a tagged word: write one word, a slash and its "
                          f"tag, such as \"apple/fruit\"")
        out += [(w, None) for w in words] if not sep else [(words[0], tag)]
    if not out:
        ck.fail(path, "has no words")
    if len(out) > LIMITS["sequence_length"]:
        ck.fail(path, f"has {len(out)} words; the most is {LIMITS['sequence_length']}")
    return out


def _sentences(ck: Checker, data: dict, key: str, required: bool) -> list:
    raw = data.get(key)
    if raw is None:
        if required:
            ck.fail(_D + (key,), 'missing (a tagging scenario needs text = ["apple/fruit is '
                                 'sweet", ...])', at=_D)
        return []
    if not isinstance(raw, list) or not raw:
        ck.fail(_D + (key,), f"must be a non-empty list of sentences, got {describe(raw)}")
    if len(raw) > LIMITS["sentences"]:
        ck.fail(_D + (key,), f"must hold at most {LIMITS['sentences']} sentences, got {len(raw)}")
    return [_sentence(ck, s, _D + (key, i)) for i, s in enumerate(raw)]


def tagged_sequence(pairs, words: dict[str, int], tags: dict[str, int]) -> Sequence:
    """The Sequence of [(word, tag or None)]: one-hot words in, one-hot tags out where tagged."""
    ids = np.array([words[w] for w, _ in pairs], dtype=np.intp)
    targets = np.zeros((len(pairs), len(tags)))
    mask = np.array([tag is not None for _, tag in pairs], dtype=bool)
    for t, (_, tag) in enumerate(pairs):
        if tag is not None:
            targets[t, tags[tag]] = 1.0
    return Sequence(inputs=onehot(ids, len(words)), targets=targets, mask=mask,
                    labels=[w for w, _ in pairs], target_labels=[tag for _, tag in pairs],
                    tokens=[w for w, _ in pairs])


def build(ck: Checker, data: dict, precheck) -> dict:
    train = _sentences(ck, data, "text", True)
    test = _sentences(ck, data, "test", False)
    words = list(dict.fromkeys(w for s in train for w, _ in s))
    tags = list(dict.fromkeys(tag for s in train for _, tag in s if tag is not None))
    if len(tags) < 2:
        ck.fail(_D + ("text",), f"the sentences tag their words with {len(tags)} different "
                                f"tag{'s' if len(tags) != 1 else ''}; tagging needs at least two "
                                f"(write tagged words as word/tag)")
    if len(words) > LIMITS["vocab"]:
        ck.fail(_D + ("text",), f"the sentences use {len(words)} different words; the most is "
                                f"{LIMITS['vocab']}")
    for i, s in enumerate(test):
        for w, tag in s:
            if w not in words:
                ck.fail(_D + ("test", i), f"word {quote(w)} is in no sentence of [data].text"
                                          f"{suggest(w, words)}")
            if tag is not None and tag not in tags:
                ck.fail(_D + ("test", i), f"tag {quote(tag)} is in no sentence of [data].text "
                                          f"(tags: {', '.join(tags)})")
    lengths: dict[int, int] = {}
    for s in train:
        lengths[len(s)] = lengths.get(len(s), 0) + 1
    precheck(len(words), len(tags), len(train[0]), lengths)
    wi = {w: i for i, w in enumerate(words)}
    ti = {t: i for i, t in enumerate(tags)}
    seqs = [tagged_sequence(s, wi, ti) for s in train]
    return {"input_size": len(words), "output_size": len(tags), "vocab": tags, "unit": "word",
            "token_vectors": OneHotVectors(words),
            "train_sequences": seqs, "sequence": seqs[0],
            "test_sequences": [tagged_sequence(s, wi, ti) for s in test],
            "data": {"words": words, "tags": tags, "sentences": len(train),
                     "test": len(test)}}


class Tagging(Text):
    """Words in, a tag out at each tagged word: the guess is the most probable tag (``vocab``
    holds the tags; the words are ``token_vectors``'s keys)."""

    def generation(self, scenario):
        return ""

    def typed_sequence(self, scenario, tokens: list[str]) -> Sequence:
        words = list(scenario.token_vectors)
        for w in tokens:
            if w not in scenario.token_vectors:
                raise ScenarioError(f"unknown word {quote(w)}; known words: "
                                    f"{', '.join(words[:20])}"
                                    f"{', ...' if len(words) > 20 else ''}{suggest(w, words)}")
        return tagged_sequence([(w, None) for w in tokens], {w: i for i, w in enumerate(words)},
                               {t: i for i, t in enumerate(scenario.vocab)})


KIND = Tagging(
    name="tagging", keys=KEYS, build=build, default_output="softmax", reads_both_ways=True,
    takes_text=True, no_target_because="an untagged word", shows_held_out=True,
    advice={"": {"trace": "a shorter first sentence", "train": "fewer or shorter sentences",
                 "memory": "fewer or shorter sentences"}},
)
