"""The data kinds, one module each, and the registry everything else asks about them.

A kind (``[scenario].kind``) is one module here (``text.py``, ``series.py``, ``echo.py``) that
defines ``KIND``, an instance of :class:`engine.kinds.base.Kind`: its ``[data]`` keys and
builder, its default output, the budget's advice, how a step's prediction, input and target
read as data, and what it can generate. Adding one is that module plus one line in ``KINDS``
below (docs/architecture.md).
"""

from __future__ import annotations

from .._registry import member
from ..types import ScenarioError
from .base import Kind

#: The registry: one line per kind, the name of its module in this folder (which defines KIND).
KINDS = (
    "text",
    "series",
    "echo",
    "adding",
    "copy",
    "agreement",
    "majority",
    "reverse",
    "repeat",
    "sort",
    "translate",
    "tagging",
)

__all__ = ["KINDS", "Kind", "check_data_keys", "data_keys", "generation", "get_kind",
           "is_seq2seq", "typing_kinds"]

_KINDS: dict[str, Kind] = {}


def get_kind(name: str) -> Kind:
    """The kind called ``name`` (one of :data:`KINDS`); ScenarioError for any other name."""
    return member(__name__, KINDS, _KINDS, name, "kind", "KIND")


def is_seq2seq(scenario) -> bool:
    """True when ``scenario``'s kind is one of source -> target pairs (here, not in
    engine.seq2seq, so that asking does not load the encoder-decoder: the app asks at start)."""
    return get_kind(scenario.kind).seq2seq


def generation(scenario) -> str:
    """What a network trained on ``scenario`` generates: "text", "forecast" or "" (nothing).
    The one rule behind key ``w``, ``rnntui generate`` and a position's ``gen=``."""
    return get_kind(scenario.kind).generation(scenario)


def typing_kinds() -> str:
    """The kinds whose scenarios take typed words (key ``i``), in words: "text and tagging"."""
    return " and ".join(k for k in KINDS if get_kind(k).takes_text)


def data_keys() -> tuple[str, ...]:
    """Every key ``[data]`` may hold, for any kind, in registry order."""
    return tuple(dict.fromkeys(k for name in KINDS for k in get_kind(name).keys))


def check_data_keys(ck, data: dict, kind: str, misplaced) -> None:
    """Reject unknown keys in ``[data]``, naming the kind or the section a misplaced key
    belongs to (``ck`` is the scenario's Checker; ``misplaced``, key -> the section it belongs
    to, or a function that returns that map). The other kinds' modules are loaded only for a
    key that is not this kind's."""
    mine = get_kind(kind).keys

    def elsewhere() -> dict[str, str]:
        where = dict(misplaced() if callable(misplaced) else misplaced)
        for other in KINDS:
            for key in get_kind(other).keys:
                if other != kind and key not in mine:
                    where.setdefault(key, f"'{key}' is a key for kind = \"{other}\", and "
                                          f"this scenario's kind is \"{kind}\"")
        return where

    ck.known_keys(data, ("data",), mine, elsewhere=elsewhere)
