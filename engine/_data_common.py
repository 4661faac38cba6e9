"""What the data builders share (engine/_scenario_data.py, engine/corpus.py and
engine/csvdata.py): tokens and how they are shown, one-hot vectors on demand, a series as a
Sequence. A leaf: it imports no other data module, so those three never import each other
in a circle."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .types import Sequence

PUNCTUATION = ".,!?;:"
UNITS = ("word", "char")
_SHOWN = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}


def tokenize(text: str, unit: str) -> list[str]:
    """Split ``text`` the way scenario data is split: lowercase, then words or characters.

    Words: split on whitespace and strip ``.,!?;:`` from both ends of each word (a word that is
    only punctuation disappears). Characters: every character is a token, spaces included.
    """
    text = text.lower()
    if unit == "char":
        return list(text)
    return [w for w in (raw.strip(PUNCTUATION) for raw in text.split()) if w]


def display_token(token: str) -> str:
    """A token as it is shown on screen: a space reads "␣", a newline "⏎", a tab "⇥"."""
    if token in _SHOWN:
        return _SHOWN[token]
    if len(token) == 1 and not token.isprintable():
        return f"\\x{ord(token):02x}" if ord(token) < 256 else f"\\u{ord(token):04x}"
    return token


class OneHotVectors(Mapping):
    """token -> its one-hot input vector, made on demand (a V x V table could be 200 MB)."""

    def __init__(self, vocab: list[str]):
        self._index = {t: i for i, t in enumerate(vocab)}

    def __getitem__(self, token: str) -> np.ndarray:
        row = np.zeros(len(self._index))
        row[self._index[token]] = 1.0
        return row

    def __iter__(self):
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def value_label(v: float) -> str:
    return f"{v:+.3f}"


def _series_sequence(values: np.ndarray, labels: list[str] | None = None) -> Sequence:
    n = len(values) - 1
    if labels is None:
        labels = [f"{v:+.3f}" for v in values.tolist()]
    return Sequence(inputs=values[:-1].reshape(n, 1).copy(), targets=values[1:].reshape(n, 1).copy(),
                    mask=np.ones(n, dtype=bool), labels=labels[:-1], target_labels=labels[1:])
