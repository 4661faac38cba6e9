"""The ``[data]`` section of each kind: validated, then turned into Sequences.

Each ``build_*`` function takes the Checker and the raw ``[data]`` table and returns a dict of
Scenario fields (sizes, sequences, vocabulary, resolved settings). Nothing here trains.
"""

from __future__ import annotations

import numpy as np

from ._scenario_checks import LIMITS, VALUE_BOUND, Checker, describe, quote, suggest
from ._data_common import (PUNCTUATION, UNITS, OneHotVectors, _series_sequence, display_token,
                           tokenize)
from .cells.numerics import onehot
from .types import Sequence


TEXT_KEYS = ("text", "unit", "vocab", "prompt", "vectors",
             "file", "vocab_size", "validation", "window")  # the last four: engine/corpus.py
SERIES_KEYS = ("function", "points", "step", "amplitude", "frequency", "noise", "window", "seed",
               "csv", "column", "normalize")  # the last three: engine/csvdata.py
ECHO_KEYS = ("delay", "length", "sequences", "seed", "bits")
FUNCTIONS = ("sin", "cos", "sawtooth", "square")
#: Held-out echo sequences made for measuring accuracy.
ECHO_TEST_SEQUENCES = 100

_D = ("data",)


# ---------------------------------------------------------------------------------------------
# text


def text_sequence(tokens: list[str], index: dict[str, int],
                  vectors: tuple[np.ndarray, dict[str, int]] | None = None) -> Sequence:
    """Inputs are one-hot rows in ``index`` order, or with ``vectors = (table, rows)`` the row
    ``rows[token]`` of ``table``; targets are the one-hot next token, and the last step has none.
    """
    n, vocab = len(tokens), len(index)
    ids = np.fromiter((index[t] for t in tokens), dtype=np.intp, count=n)
    if vectors is None:
        inputs = onehot(ids, vocab)
    else:
        table, rows = vectors
        picks = np.fromiter((rows[t] for t in tokens), dtype=np.intp, count=n)
        inputs = np.ascontiguousarray(table[picks], dtype=np.float64)
    targets = np.zeros((n, vocab))
    targets[:-1] = onehot(ids[1:], vocab)
    mask = np.ones(n, dtype=bool)
    mask[-1] = False
    labels = [display_token(t) for t in tokens]
    return Sequence(inputs=inputs, targets=targets, mask=mask, labels=labels,
                    target_labels=labels[1:] + [None], tokens=list(tokens))


def _word(unit: str) -> str:
    return "character" if unit == "char" else "word"


def _no_check(inputs: int, outputs: int, steps: int, lengths: dict,
              data_source: str = "") -> None:
    """The default ``precheck``: sizes are not checked against budgets."""


def build_text(ck: Checker, data: dict, precheck=_no_check) -> dict:
    if "file" in data:  # a whole text file, trained by truncated BPTT
        from .corpus import build_text as build_corpus
        return build_corpus(ck, data, precheck)
    if "window" in data or "vocab_size" in data or "validation" in data:
        key = next(k for k in ("window", "vocab_size", "validation") if k in data)
        ck.fail(_D + (key,), "applies to a text read from a file ([data].file) only")
    unit = ck.choice(data, _D + ("unit",), UNITS, "word")
    word = _word(unit)

    raw = data.get("text")
    if raw is None:
        ck.fail(_D + ("text",), 'missing (a text scenario needs text = ["a sentence", ...])',
                at=_D)
    if not isinstance(raw, list):
        ck.fail(_D + ("text",), f'must be a list of sentences such as ["the cat sat"], '
                                f"got {describe(raw)}")
    if not raw:
        ck.fail(_D + ("text",), "must hold at least one sentence, got an empty list")
    if len(raw) > LIMITS["sentences"]:
        ck.fail(_D + ("text",), f"must hold at most {LIMITS['sentences']} sentences, "
                                f"got {len(raw)}")
    sentences: list[list[str]] = []
    for i, s in enumerate(raw):
        path = _D + ("text", i)
        if not isinstance(s, str):
            ck.fail(path, f"must be a string (one sentence), got {describe(s)}")
        tokens = tokenize(s, unit)
        if not tokens:
            ck.fail(path, f"has no {word}s" + (" once punctuation is removed"
                                               if unit == "word" and s.strip() else ""))
        if len(tokens) == 1:
            ck.fail(path, f"has only one {word} ({quote(tokens[0])}); a sentence needs at least two "
                          f"so that there is a next {word} to predict")
        if len(tokens) > LIMITS["sequence_length"]:
            ck.fail(path, f"has {len(tokens)} {word}s; the most is {LIMITS['sequence_length']}")
        sentences.append(tokens)

    given_vocab = "vocab" in data
    if given_vocab:
        vocab = _given_vocab(ck, data["vocab"], unit)
        known = set(vocab)
        for i, tokens in enumerate(sentences):
            for t in tokens:
                if t not in known:
                    ck.fail(_D + ("text", i), f"{word} {quote(t)} is not in [data].vocab"
                                              f"{suggest(t, vocab)}")
    else:
        vocab = list(dict.fromkeys(t for tokens in sentences for t in tokens))
        if len(vocab) > LIMITS["vocab"]:
            ck.fail(_D + ("text",), f"the sentences use {len(vocab)} different {word}s; "
                                    f"the most is {LIMITS['vocab']}")
        known = set(vocab)

    prompt = ck.string(data, _D + ("prompt",), None, max_len=LIMITS["file_bytes"])
    if prompt is None:
        prompt_tokens = sentences[0]
        prompt = raw[0]
    else:
        prompt_tokens = tokenize(prompt, unit)
        if not prompt_tokens:
            ck.fail(_D + ("prompt",), f"has no {word}s")
        if len(prompt_tokens) > LIMITS["sequence_length"]:
            ck.fail(_D + ("prompt",), f"has {len(prompt_tokens)} {word}s; the most is "
                                      f"{LIMITS['sequence_length']}")
        for t in prompt_tokens:
            if t not in known:
                where = "[data].vocab" if given_vocab else "any sentence of [data].text"
                ck.fail(_D + ("prompt",), f"{word} {quote(t)} is not in {where}{suggest(t, vocab)}")

    index = {t: i for i, t in enumerate(vocab)}
    used = list(dict.fromkeys([t for tokens in sentences for t in tokens] + prompt_tokens))
    if "vectors" in data:
        token_vectors = _vectors(ck, data["vectors"], vocab, index, used, unit)
        rows = {t: i for i, t in enumerate(token_vectors)}
        vectors = (np.stack(list(token_vectors.values())), rows)
        input_size = vectors[0].shape[1]
    else:
        input_size = len(vocab)
        vectors = None
        token_vectors = OneHotVectors(vocab)

    output_size = len(vocab)
    total = sum(len(t) for t in sentences) + len(prompt_tokens)
    if total * (input_size + output_size) > LIMITS["data_cells"]:
        ck.fail(_D + ("text",), f"too much data: {total} {word}s times {input_size} inputs + "
                                f"{output_size} outputs is over {LIMITS['data_cells']} numbers")
    lengths: dict[int, int] = {}
    for tokens in sentences:
        lengths[len(tokens)] = lengths.get(len(tokens), 0) + 1
    precheck(input_size, output_size, len(prompt_tokens), lengths)

    return {
        "input_size": input_size, "output_size": output_size, "vocab": vocab, "unit": unit,
        "token_vectors": token_vectors,
        "train_sequences": [text_sequence(t, index, vectors) for t in sentences],
        "sequence": text_sequence(prompt_tokens, index, vectors),
        "data": {"unit": unit, "sentences": sentences, "prompt": prompt,
                 "prompt_tokens": prompt_tokens, "vectors": "vectors" in data},
    }


def _given_vocab(ck: Checker, value, unit: str) -> list[str]:
    path = _D + ("vocab",)
    if not isinstance(value, list):
        ck.fail(path, f"must be a list of {_word(unit)}s, got {describe(value)}")
    if not value:
        ck.fail(path, "must not be empty")
    if len(value) > LIMITS["vocab"]:
        ck.fail(path, f"must hold at most {LIMITS['vocab']} entries, got {len(value)}")
    seen: set[str] = set()
    for i, tok in enumerate(value):
        p = path + (i,)
        if not isinstance(tok, str):
            ck.fail(p, f"must be a string, got {describe(tok)}")
        if unit == "char":
            if len(tok) != 1 or tok.lower() != tok:
                ck.fail(p, f"must be a single lowercase character (unit = \"char\"), "
                           f"got {describe(tok)}")
        elif tokenize(tok, "word") != [tok]:
            ck.fail(p, f"must be one lowercase word without spaces or end punctuation "
                       f"({PUNCTUATION}), the way the text is split, got {describe(tok)}")
        if tok in seen:
            ck.fail(p, f"{quote(tok)} is listed twice")
        seen.add(tok)
    return list(value)


def _vectors(ck: Checker, value, vocab, index, used, unit):
    path = ("data", "vectors")
    if not isinstance(value, dict):
        ck.fail(path, f"must be a table of {_word(unit)} = [numbers], got {describe(value)}")
    size = None
    first = None
    vecs: dict[str, np.ndarray] = {}
    for tok, vec in value.items():
        p = path + (tok,)
        if tok not in index:
            ck.fail(p, f"{quote(tok)} is not a {_word(unit)} of this scenario{suggest(tok, vocab)}")
        nums = ck.number_list(vec, p, bound=VALUE_BOUND, max_len=LIMITS["vector_size"])
        if size is None:
            size, first = len(nums), tok
        elif len(nums) != size:
            ck.fail(p, f"has {len(nums)} numbers but the vector for {quote(first)} has {size}; "
                       f"all vectors must be the same length")
        vecs[tok] = np.asarray(nums, dtype=np.float64)
    if size is None:
        ck.fail(path, "is empty; give a vector for every word, or leave the table out to use "
                      "one-hot inputs")
    for tok in used:
        if tok not in vecs:
            ck.fail(path, f"has no vector for {quote(tok)}, which the text uses; every "
                          f"{_word(unit)} used needs one")
    return vecs


# ---------------------------------------------------------------------------------------------
# series


def wave(function: str, theta: np.ndarray) -> np.ndarray:
    """The four wave shapes, each with period 2*pi and values in [-1, 1]."""
    if function == "sin":
        return np.sin(theta)
    if function == "cos":
        return np.cos(theta)
    cycles = theta / (2 * np.pi)
    if function == "sawtooth":  # rises from -1 to 1 over a period, 0 at theta = 0
        return 2.0 * (cycles - np.floor(cycles + 0.5))
    return np.where(cycles - np.floor(cycles) < 0.5, 1.0, -1.0)  # square: +1 then -1


def build_series(ck: Checker, data: dict, precheck=_no_check) -> dict:
    d = _D
    if "csv" in data:  # one column of a CSV file
        from .csvdata import build_series as build_csv
        return build_csv(ck, data, precheck)
    for key in ("column", "normalize"):
        if key in data:
            ck.fail(d + (key,), "applies to a series read from a file ([data].csv) only")
    function = ck.choice(data, d + ("function",), FUNCTIONS, "sin")
    points = ck.integer(data, d + ("points",), 200, lo=3, hi=LIMITS["points"])
    step = ck.number(data, d + ("step",), 0.1, lo=0, hi=VALUE_BOUND, lo_open=True)
    amplitude = ck.number(data, d + ("amplitude",), 1.0, lo=-VALUE_BOUND, hi=VALUE_BOUND)
    frequency = ck.number(data, d + ("frequency",), 1.0, lo=0, hi=VALUE_BOUND, lo_open=True)
    noise = ck.number(data, d + ("noise",), 0.0, lo=0, hi=VALUE_BOUND)
    seed = ck.integer(data, d + ("seed",), 0, lo=0)
    if "window" in data:
        window = ck.integer(data, d + ("window",), lo=2, hi=LIMITS["points"])
        if window > points - 1:
            ck.fail(d + ("window",), f"must be less than points ({points}): each window of "
                                     f"inputs needs one more point for its target, got {window}")
    else:
        window = 20
        if points - 1 < window:
            ck.fail(d + ("points",), f"must be at least {window + 1} with the default "
                                     f"window = {window} (or set [data].window lower), got {points}")

    precheck(1, 1, points - 1, {window: (points - 1) // window})
    x = np.arange(points, dtype=np.float64) * step
    values = amplitude * wave(function, frequency * x)
    if noise > 0:
        values = values + np.random.default_rng(seed).normal(0.0, noise, size=points)

    n_windows = (points - 1) // window
    labels = [f"{v:+.3f}" for v in values.tolist()]  # as value_label, formatted once
    train = []
    for k in range(n_windows):
        part = slice(k * window, k * window + window + 1)
        train.append(_series_sequence(values[part], labels[part]))
    return {
        "input_size": 1, "output_size": 1, "train_sequences": train,
        "sequence": _series_sequence(values, labels),
        "data": {"function": function, "points": points, "step": step, "amplitude": amplitude,
                 "frequency": frequency, "noise": noise, "window": window, "seed": seed,
                 "values": values},
    }


# ---------------------------------------------------------------------------------------------
# echo


def echo_sequence(bits: np.ndarray, delay: int) -> Sequence:
    """Input at t is bits[t]; the target at t is bits[t - delay]; steps t < delay have none."""
    n = len(bits)
    b = np.asarray(bits, dtype=np.float64)
    targets = np.zeros((n, 1))
    targets[delay:, 0] = b[:n - delay]
    mask = np.zeros(n, dtype=bool)
    mask[delay:] = True
    labels = ["1" if v else "0" for v in b.tolist()]
    return Sequence(inputs=b.reshape(n, 1).copy(), targets=targets, mask=mask, labels=labels,
                    target_labels=[None] * delay + labels[:n - delay])


def build_echo(ck: Checker, data: dict, precheck=_no_check) -> dict:
    d = _D
    max_len = LIMITS["echo_length"]
    delay = ck.integer(data, d + ("delay",), 2, lo=1, hi=max_len)
    length = ck.integer(data, d + ("length",), 20, lo=2, hi=max_len)
    sequences = ck.integer(data, d + ("sequences",), 200, lo=1, hi=LIMITS["echo_sequences"])
    seed = ck.integer(data, d + ("seed",), 0, lo=0)
    if sequences * length > LIMITS["echo_total_bits"]:
        ck.fail(d + ("sequences",), f"sequences * length = {sequences} * {length} is over "
                                    f"{LIMITS['echo_total_bits']} bits; make one of them smaller")
    bits = None
    if "bits" in data:
        raw = data["bits"]
        p = d + ("bits",)
        if not isinstance(raw, list):
            ck.fail(p, f"must be a list of 0s and 1s, got {describe(raw)}")
        if not 2 <= len(raw) <= max_len:
            ck.fail(p, f"must hold from 2 to {max_len} bits, got {len(raw)}")
        for i, v in enumerate(raw):
            if isinstance(v, bool) or not isinstance(v, int) or v not in (0, 1):
                ck.fail(p + (i,), f"must be 0 or 1, got {describe(v)}")
        bits = np.asarray(raw, dtype=np.int64)
        if delay >= len(bits):
            blame = d + ("delay",) if "delay" in data else p
            ck.fail(blame, f"delay ({delay}) must be less than the number of bits "
                           f"({len(bits)}): with delay >= len(bits) no step has a target")
    if delay >= length:
        blame = d + ("delay",) if "delay" in data else d + ("length",)
        ck.fail(blame, f"delay ({delay}) must be less than length ({length}): with delay "
                       f">= length no step of a sequence has a target")

    precheck(1, 1, length if bits is None else len(bits), {length: sequences})
    rng = np.random.default_rng(seed)
    train_bits = rng.integers(0, 2, size=(sequences, length))
    test_bits = rng.integers(0, 2, size=(ECHO_TEST_SEQUENCES, length))
    if bits is None:
        bits = rng.integers(0, 2, size=length)
    return {
        "input_size": 1, "output_size": 1,
        "train_sequences": [echo_sequence(row, delay) for row in train_bits],
        "test_sequences": [echo_sequence(row, delay) for row in test_bits],
        "sequence": echo_sequence(bits, delay),
        "data": {"delay": delay, "length": length, "sequences": sequences, "seed": seed,
                 "bits": [int(b) for b in bits]},
    }
