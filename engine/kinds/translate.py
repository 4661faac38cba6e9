"""``kind = "translate"``: a toy English to French. Sentences "DET [ADJ] NOUN VERB DET [ADJ]
NOUN" from 24 word pairs; each word has one translation, and the one rule that reorders is
French's: the adjective comes after its noun ("the red cat sees a dog" -> "le chat rouge voit
un chien"). The alignment is the diagonal except where an adjective and its noun swap. Every
noun is masculine and every adjective one that follows the noun in French, so the rule is
the only difference in order."""

from __future__ import annotations

import numpy as np

from .._scenario_checks import LIMITS, Checker
from ..pairs import END, START, make_pair
from ._pairs import TEST_PAIRS, Pairs

KEYS = ("sequences", "seed")
DETERMINERS = {"the": "le", "a": "un"}
ADJECTIVES = {"red": "rouge", "black": "noir", "green": "vert", "blue": "bleu",
              "happy": "content", "tired": "fatigué", "fast": "rapide", "slow": "lent"}
NOUNS = {"dog": "chien", "cat": "chat", "bird": "oiseau", "horse": "cheval", "fox": "renard",
         "wolf": "loup", "fish": "poisson", "rabbit": "lapin"}
VERBS = {"sees": "voit", "likes": "aime", "follows": "suit", "hears": "entend",
         "finds": "trouve", "bites": "mord"}
WORDS = {**DETERMINERS, **ADJECTIVES, **NOUNS, **VERBS}
VOCAB = list(WORDS) + list(WORDS.values()) + [START, END]
#: How often a noun has an adjective.
ADJECTIVE_SHARE = 0.5


def translate(source: list[str]):
    """The French of ``source`` and, for each French word, the English word it translates."""
    out, align, j = [], [], 0
    while j < len(source):
        if source[j] in ADJECTIVES and j + 1 < len(source) and source[j + 1] in NOUNS:
            out += [WORDS[source[j + 1]], WORDS[source[j]]]
            align += [j + 1, j]
            j += 2
        else:
            out.append(WORDS[source[j]])
            align.append(j)
            j += 1
    return out, align


def _phrase(rng: np.random.Generator) -> list[str]:
    words = [list(DETERMINERS)[rng.integers(len(DETERMINERS))]]
    if rng.random() < ADJECTIVE_SHARE:
        words.append(list(ADJECTIVES)[rng.integers(len(ADJECTIVES))])
    return words + [list(NOUNS)[rng.integers(len(NOUNS))]]


def sentence(rng: np.random.Generator) -> list[str]:
    return _phrase(rng) + [list(VERBS)[rng.integers(len(VERBS))]] + _phrase(rng)


def build(ck: Checker, data: dict, precheck) -> dict:
    d = ("data",)
    sequences = ck.integer(data, d + ("sequences",), 800, lo=1, hi=LIMITS["echo_sequences"])
    seed = ck.integer(data, d + ("seed",), 0, lo=0)
    precheck(len(VOCAB), len(VOCAB), 15, {15: sequences})
    rng = np.random.default_rng(seed)

    def draw(count):
        return [pair(sentence(rng)) for _ in range(count)]

    train, test = draw(sequences), draw(TEST_PAIRS)
    return {"input_size": len(VOCAB), "output_size": len(VOCAB), "vocab": VOCAB,
            "unit": "word", "train_sequences": train, "test_sequences": test,
            "sequence": pair(SHOWN), "data": {"sequences": sequences, "seed": seed}}


#: The sentence the scenario opens on: two adjectives, so two swaps.
SHOWN = "the red cat sees a slow dog".split()


def pair(source: list[str]):
    """The Pair of an English sentence and its French."""
    target, align = translate(source)
    return make_pair(source, target, VOCAB, align)


KIND = Pairs(name="translate", keys=KEYS, build=build, default_output="softmax", task=translate,
             advice={"": {"trace": "a shorter sentence", "train": "fewer [data].sequences",
                          "memory": "fewer [data].sequences"}})
