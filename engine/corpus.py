"""A text corpus read from a UTF-8 file: tokens, a capped vocabulary, a validation split, windows.

``[data] file = "corpus.txt"`` makes a text scenario of a whole file, trained the way char-rnn
trains (engine/tbptt.py): the token stream is cut into windows of ``window`` steps and the
hidden state is carried from one window to the next. Tokens are split as typed text is
(:func:`engine._scenario_data.tokenize`: lowercase; characters, or words without end
punctuation). With ``vocab_size``, the most frequent tokens are kept and every other one reads
as one unknown token. The last ``validation`` share of the stream is held out. See docs/data.md.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .types import ScenarioError, Sequence

__all__ = ["MAX_TEXT_BYTES", "MAX_TOKENS", "MAX_CELLS", "Corpus", "Window", "build_text",
           "corpus_of", "make_corpus", "unigram_loss"]

#: The largest text file read (bytes).
MAX_TEXT_BYTES = 2 * 1024 * 1024
#: The most tokens a corpus may have.
MAX_TOKENS = 1_000_000
#: The most numbers its one-hot rows may take (tokens x vocabulary size): 400 MB.
MAX_CELLS = 50_000_000
#: The [data] keys of a text scenario read from a file (with ``unit``).
FILE_KEYS = ("file", "unit", "vocab_size", "validation", "window")
DEFAULT_WINDOW = {"char": 32, "word": 16}
_UNKNOWN = {"char": ("\ufffd", "\u2400", "\u25a1"), "word": ("<unk>", "<unknown>", "<?>")}


@dataclass(eq=False)
class Corpus:
    """The token stream of a file as vocabulary indices, split into training and validation.

    ``ids[:split]`` is the training stream and ``ids[split:]`` the validation stream; in each,
    the input at position i predicts the token at i + 1. ``unknown`` is the vocabulary entry
    the tokens left out by the cap read as (None when nothing was left out).
    """

    unit: str
    vocab: list[str]
    ids: np.ndarray
    split: int
    window: int
    unknown: str | None = None
    dropped: int = 0  # distinct tokens left out by the cap
    unknown_count: int = 0  # tokens of the stream that read as ``unknown``

    @property
    def train_ids(self) -> np.ndarray:
        return self.ids[:self.split]

    @property
    def val_ids(self) -> np.ndarray:
        return self.ids[self.split:]

    def part(self, name: str) -> np.ndarray:
        if name not in ("train", "validation"):
            raise ValueError(f"part must be 'train' or 'validation', not {name!r}")
        return self.train_ids if name == "train" else self.val_ids

    def streams(self, name: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets), each (L, B) indices: the part cut into B equal consecutive
        streams side by side (B = min(batch, tokens - 1)); the fewer than B tokens left over
        at the end are not used."""
        ids = self.part(name)
        n = len(ids) - 1
        B = max(1, min(int(batch), n))
        L = n // B
        x = ids[:B * L].reshape(B, L).T
        y = ids[1:B * L + 1].reshape(B, L).T
        return np.ascontiguousarray(x), np.ascontiguousarray(y)

    def windows(self, name: str, batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The streams of :meth:`streams` cut into consecutive windows of ``window`` steps
        (the last one shorter when the streams do not divide evenly)."""
        x, y = self.streams(name, batch)
        w = self.window
        return [(x[i:i + w], y[i:i + w]) for i in range(0, len(x), w)]

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Indices of ``tokens``; a token not in the vocabulary is the unknown one (or
        KeyError when there is none)."""
        index = {t: i for i, t in enumerate(self.vocab)}
        unk = index.get(self.unknown) if self.unknown is not None else None
        out = []
        for t in tokens:
            i = index.get(t, unk)
            if i is None:
                raise KeyError(t)
            out.append(i)
        return np.asarray(out, dtype=np.intp)

    def join(self, tokens: list[str]) -> str:
        """Tokens back into text: characters side by side, words with spaces between."""
        return "".join(tokens) if self.unit == "char" else " ".join(tokens)


def make_corpus(text: str, unit: str = "char", *, vocab_size: int | None = None,
                validation: float = 0.1, window: int | None = None) -> Corpus:
    """The corpus of ``text`` (ValueError with a reason when it is too short or too big)."""
    from ._data_common import tokenize
    from ._scenario_checks import LIMITS
    tokens = tokenize(text, unit)
    word = "character" if unit == "char" else "word"
    window = DEFAULT_WINDOW[unit] if window is None else int(window)
    n = len(tokens)
    if n > MAX_TOKENS:
        raise ValueError(f"the text has {n} {word}s; a corpus may have at most {MAX_TOKENS}")
    n_val = int(round(n * validation))
    if n - n_val < window + 1 or n_val < window + 1:
        need = int(np.ceil((window + 1) / min(validation, 1 - validation)))
        raise ValueError(f"the text has {n} {word}s: too few for window = {window} with "
                         f"validation = {validation:g} (both parts need at least {window + 1}; "
                         f"give at least {need} {word}s, or a smaller window)")
    counts = Counter(tokens)
    distinct = len(counts)
    cap = LIMITS["vocab"] if vocab_size is None else int(vocab_size)
    unknown = None
    if distinct > cap:
        if vocab_size is None:
            raise ValueError(f"the text uses {distinct} different {word}s; the most is {cap} "
                             f"(set [data].vocab_size to keep the most frequent ones)")
        first = {t: i for i, t in reversed(list(enumerate(tokens)))}
        ranked = sorted(counts, key=lambda t: (-counts[t], first[t]))
        kept = ranked[:cap - 1]
        unknown = next(u for u in _UNKNOWN[unit] + (f"<unk{distinct}>",) if u not in counts)
    else:
        kept = list(counts)
    vocab = sorted(kept) if unit == "char" else sorted(kept, key=lambda t: -counts[t])
    if unknown is not None:
        vocab.append(unknown)
    if n * len(vocab) > MAX_CELLS:
        raise ValueError(f"too much data: {n} {word}s times a vocabulary of {len(vocab)} is "
                         f"over {MAX_CELLS} numbers; use a shorter text or a smaller "
                         f"vocab_size")
    index = {t: i for i, t in enumerate(vocab)}
    unk = index.get(unknown) if unknown is not None else -1
    ids = np.fromiter((index.get(t, unk) for t in tokens), dtype=np.intp, count=n)
    unknown_count = int(np.count_nonzero(ids == unk)) if unknown is not None else 0
    return Corpus(unit=unit, vocab=vocab, ids=ids, split=n - n_val, window=window,
                  unknown=unknown, dropped=distinct - len(kept), unknown_count=unknown_count)


def unigram_loss(corpus: Corpus) -> float:
    """The validation cross-entropy (nats per token) of the unigram model of the training
    targets, with add-one smoothing: the loss to beat by a model that reads the context."""
    V = len(corpus.vocab)
    counts = np.bincount(corpus.train_ids[1:], minlength=V).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[corpus.val_ids[1:]].mean())


def corpus_of(scenario) -> Corpus | None:
    """The corpus of a text scenario read from a file, else None."""
    c = getattr(scenario, "data", {}).get("corpus")
    return c if isinstance(c, Corpus) else None


# ---------------------------------------------------------------------------------------------
# the [data] section


@dataclass(eq=False)
class Window(Sequence):
    """One window of a corpus part, as a Sequence to step through, with where it sits.

    ``part`` is "train" or "validation", ``number`` counts the part's windows from 1, of
    ``count``. ``stream`` holds the inputs of the whole part (one-hot rows) and ``offset`` is
    where this window starts in it: the state a window starts from is the one carried through
    ``stream[:offset]`` from h = 0 at the part's start (engine.tbptt.carried_state), as the
    text is read in one stream. Compared by identity, like every Sequence the app steps.
    """

    part: str = "train"
    number: int = 1
    count: int = 1
    stream: np.ndarray | None = None
    offset: int = 0
    width: int = 0  # the corpus's window: where the carried state is kept on the way

    @property
    def context(self) -> np.ndarray | None:
        """The inputs read before this window in its part (None for a part's first)."""
        return None if self.stream is None or self.offset == 0 else self.stream[:self.offset]


def _onehot(ids: np.ndarray, V: int) -> np.ndarray:
    E = np.zeros((len(ids), V))
    E[np.arange(len(ids)), ids] = 1.0
    return E


def _window_sequences(corpus: Corpus, E: np.ndarray, labels: list[str], start: int,
                      stop: int, part: str) -> list[Window]:
    """The windows of the stream ids[start:stop]: inputs and targets are views of ``E``."""
    out = []
    w = corpus.window
    starts = range(start, stop - 1, w)
    for k, a in enumerate(starts):
        b = min(a + w, stop - 1)
        toks = [corpus.vocab[i] for i in corpus.ids[a:b].tolist()]
        out.append(Window(inputs=E[a:b], targets=E[a + 1:b + 1],
                          mask=np.ones(b - a, dtype=bool), labels=labels[a:b],
                          target_labels=labels[a + 1:b + 1], tokens=toks, part=part,
                          number=k + 1, count=len(starts), stream=E[start:stop - 1],
                          offset=a - start, width=w))
    return out


def build_text(ck, data: dict, precheck) -> dict:
    """The Scenario fields of ``kind = "text"`` with ``[data] file = "corpus.txt"``."""
    from ._data_common import UNITS, display_token
    from .csvdata import data_bytes, decode_utf8
    d = ("data",)
    for key in ("text", "vocab", "prompt", "vectors"):
        if key in data:
            ck.fail(d + (key,), "does not apply to a text read from a file ([data].file); "
                                "remove it")
    name = ck.string(data, d + ("file",), allow_empty=False, max_len=4096)
    unit = ck.choice(data, d + ("unit",), UNITS, "char")
    from ._scenario_checks import LIMITS
    vocab_size = (ck.integer(data, d + ("vocab_size",), lo=2, hi=LIMITS["vocab"])
                  if "vocab_size" in data else None)
    validation = ck.number(data, d + ("validation",), 0.1, lo=0.01, hi=0.5)
    window = ck.integer(data, d + ("window",), DEFAULT_WINDOW[unit], lo=2, hi=1000)
    raw, shown = data_bytes(ck, name, MAX_TEXT_BYTES, "a text file")
    text = decode_utf8(raw, shown)
    try:
        corpus = make_corpus(text, unit, vocab_size=vocab_size, validation=validation,
                             window=window)
    except ValueError as e:
        raise ScenarioError(str(e), path=shown) from None
    V = len(corpus.vocab)
    w, split, n = corpus.window, corpus.split, len(corpus.ids)
    lengths: dict[int, int] = {}
    for a in range(0, split - 1, w):
        length = min(a + w, split - 1) - a
        lengths[length] = lengths.get(length, 0) + 1
    first_val = min(w, n - 1 - split)
    precheck(V, V, first_val, lengths, "file")
    E = _onehot(corpus.ids, V)
    labels = [display_token(corpus.vocab[i]) for i in corpus.ids.tolist()]
    train = _window_sequences(corpus, E, labels, 0, split, "train")
    val = _window_sequences(corpus, E, labels, split, n, "validation")
    from ._data_common import OneHotVectors
    return {
        "input_size": V, "output_size": V, "vocab": corpus.vocab, "unit": unit,
        "token_vectors": OneHotVectors(corpus.vocab),
        "train_sequences": train, "test_sequences": val, "sequence": val[0],
        "data": {"unit": unit, "file": shown, "corpus": corpus, "window": w,
                 "validation": validation, "vocab_size": vocab_size,
                 "tokens": n, "train_tokens": split, "validation_tokens": n - split,
                 "unknown": corpus.unknown},
    }
