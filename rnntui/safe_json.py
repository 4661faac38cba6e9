"""JSON from outside the program (a recording, a presenter's message, the lesson progress file),
read as untrusted: its nesting is counted before it is parsed, since ``json.loads`` recurses
once per level (a line of 100,000 ``[`` ends in a RecursionError, or worse on a small stack).

:func:`read_json` is the one reader; each caller turns :class:`JSONError` into its own one-line
message (naming its file and line, or closing a connection).
"""

from __future__ import annotations

import json
import re

__all__ = ["JSONError", "MAX_DEPTH", "read_json", "too_deep"]

#: The deepest nesting read unless a caller says otherwise: far more than any of rnntui's own
#: files or messages need (four at most).
MAX_DEPTH = 16

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_STRING_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKETS = re.compile(r"[][{}]")
_BRACKETS_BYTES = re.compile(rb"[][{}]")


class JSONError(ValueError):
    """JSON that is not read: ``str(err)`` says why in a few words ("nests more than 16 deep",
    "not UTF-8 text", "not JSON (Expecting value: line 1 column 1 (char 0))"); ``detail`` is
    the reason alone ("Expecting value: ...")."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = message if detail is None else detail


def too_deep(data: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON in ``data`` nests more than ``limit`` brackets deep (strings skipped)."""
    text = isinstance(data, str)
    strings, brackets = (_STRING, _BRACKETS) if text else (_STRING_BYTES, _BRACKETS_BYTES)
    opening = ("[", "{") if text else (b"[", b"{")
    depth = 0
    for chunk in strings.split(data):
        for bracket in brackets.findall(chunk):
            if bracket in opening:
                depth += 1
                if depth > limit:
                    return True
            else:
                depth -= 1
    return False


def read_json(data: bytes | str, *, max_depth: int = MAX_DEPTH, **hooks):
    """The JSON value in ``data`` (bytes are UTF-8), refused with :class:`JSONError` when it
    nests more than ``max_depth`` deep (checked first), is not UTF-8 or is not JSON. ``hooks``
    go to ``json.loads`` (``parse_int``, ``parse_constant``, ``object_pairs_hook``): a plain
    ValueError a hook raises is a JSONError too, an error of a class of the caller's (a
    ValueError's subclass included) passes through as it is."""
    if too_deep(data, max_depth):
        raise JSONError(f"nests more than {max_depth} deep")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONError("not UTF-8 text") from None
    try:
        return json.loads(data, **hooks)
    except (ValueError, RecursionError) as err:
        # (a number of more digits than int() converts is a plain ValueError)
        if type(err) not in (ValueError, json.JSONDecodeError, RecursionError):
            raise
        detail = str(err)[:80]
        raise JSONError(f"not JSON ({detail})", detail) from None
