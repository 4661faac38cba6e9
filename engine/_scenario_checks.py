"""Typed, range-checked reads of a parsed scenario table, each failure one ScenarioError.

A :class:`Checker` knows the file name and where each key was written, so every error it
raises reads ``FILE:LINE: [section].key: what is wrong, got VALUE``.
"""

from __future__ import annotations

import difflib
import math
import re
from datetime import date, datetime, time
from typing import Any, NoReturn

import numpy as np

from ._toml_lines import key_lines, line_of
from .types import ScenarioError

MISSING: Any = object()

#: The most a scenario may ask for. Sizes are checked before any big array is made, so a file
#: over a limit gets a clear error instead of exhausting memory.
LIMITS: dict[str, int] = {
    "file_bytes": 2 * 1024 * 1024,   # size of a scenario file
    "hidden_size": 1024,             # [model].hidden_size
    "vocab": 5000,                   # distinct tokens of a text scenario
    "vector_size": 5000,             # length of each [data.vectors] entry
    "sentences": 10_000,             # entries of [data].text
    "sequence_length": 200_000,      # tokens in one sentence or prompt
    "points": 200_000,               # [data].points of a series
    "echo_sequences": 10_000,        # [data].sequences of an echo scenario
    "echo_length": 10_000,           # [data].length, and len([data].bits)
    "echo_total_bits": 2_000_000,    # sequences * length
    "data_cells": 10_000_000,        # text: all tokens * (input size + output size)
    "epochs": 100_000,               # [train].epochs
    "batch_size": 10_000,            # [train].batch_size
    "retention_steps": 1000,         # [analysis].retention_steps
}

#: Largest magnitude accepted for given weights, vectors, amplitudes, noise, steps, frequencies.
VALUE_BOUND = 1e6

#: Tables that sit inside a section: their keys print as ``[model.weights].W_x``.
SUBTABLES = {("model", "weights"), ("data", "vectors")}

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def key_name(path: tuple) -> str | None:
    """``("model", "hidden_size")`` -> ``[model].hidden_size``; ints print as ``[i]``."""
    if not path:
        return None
    head = 2 if len(path) >= 2 and tuple(path[:2]) in SUBTABLES else 1
    out = "[" + ".".join(str(p) for p in path[:head]) + "]"
    for i, part in enumerate(path[head:]):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = (part if _BARE_KEY.match(part) and len(part) <= 40
                    else '"' + _escape(part) + '"')
            out += "." + text
    return out


def _escape(s: str) -> str:
    return show(s).replace('"', '\\"')


def show(s: str, limit: int = 40) -> str:
    """``s`` on one line: non-printable characters escaped, long text cut short."""
    if len(s) > limit:
        s = s[:limit - 3] + "..."
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in s)


def describe(value: Any) -> str:
    """A short, quoted-if-needed rendering of a value with its TOML type."""
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, int):
        text = str(value) if abs(value) < 10**30 else f"an integer with {len(str(abs(value)))} digits"
        return text
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return f'"{_escape(value)}" (a string)'
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime, date, time)):
        return f"{value.isoformat()} (a date/time)"
    return type(value).__name__


#: Quoted text from a file is cut to this many characters in messages.
QUOTE_LIMIT = 80


def quote(s: str) -> str:
    """``s`` quoted for a one-line message: escaped like :func:`show`, at most QUOTE_LIMIT
    characters (a 1.5 MB word gives a short message)."""
    return "'" + show(str(s), QUOTE_LIMIT) + "'"


def suggest(word: str, options) -> str:
    """``; did you mean 'x'?`` when ``word`` is close to one of ``options``, else ``""``."""
    if not isinstance(word, str) or len(word) > 2 * QUOTE_LIMIT:
        return ""  # nothing that long is a typo of a short name (and difflib would be slow)
    options = list(options)
    lowered = {o.lower(): o for o in options}
    hit = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {quote(lowered[hit[0]])}?" if hit else ""


def _fmt_num(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


class Checker:
    """Reads values out of the parsed document, naming file, line and key on any failure."""

    def __init__(self, source: str, text: str):
        self.source = source
        self._text = text
        self._lines: dict | None = None
        #: The bytes of the data files, by the name [data] gives them, when they are carried
        #: with the text (a recording's): then no path is made (engine.csvdata.data_bytes).
        self.carried: dict[str, bytes] | None = None

    @property
    def lines(self) -> dict:
        """Key path -> line, scanned only when an error needs it (loading stays fast)."""
        if self._lines is None:
            self._lines = key_lines(self._text)
        return self._lines

    def line(self, path: tuple) -> int | None:
        return line_of(self.lines, path)

    def fail(self, path: tuple, message: str, *, at: tuple | None = None) -> NoReturn:
        """Raise for ``path``; ``at`` names a different path whose line to quote."""
        raise ScenarioError(message, path=self.source, line=self.line(at or path),
                            key=key_name(tuple(path)))

    # -- tables --------------------------------------------------------------------------------
    def table(self, parent: dict, path: tuple, *, required: bool = False) -> dict:
        value = parent.get(path[-1], MISSING)
        if value is MISSING:
            if required:
                self.fail(path, "this section is missing")
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"must be a table (a [{'.'.join(map(str, path))}] section), "
                            f"got {describe(value)}")
        return value

    def known_keys(self, table: dict, path: tuple, allowed, *, elsewhere: dict | None = None,
                   what: str = "key", whats: str = "keys") -> None:
        """Reject keys of ``table`` not in ``allowed``; ``elsewhere`` maps key -> where it belongs
        (or is a function that returns that map, called only for a key not allowed)."""
        for key in table:
            if key in allowed:
                continue
            if callable(elsewhere):
                elsewhere = elsewhere()
            here = path + (key,)
            if elsewhere and key in elsewhere:
                self.fail(here, f"not a {what} here; {elsewhere[key]}")
            listed = ", ".join(allowed)
            self.fail(here, f"unknown {what} '{show(key)}'{suggest(key, allowed)} "
                            f"(known {whats}: {listed})")

    # -- scalars -------------------------------------------------------------------------------
    def string(self, table: dict, path: tuple, default: Any = MISSING, *,
               max_len: int = 100_000, allow_empty: bool = True) -> str:
        value = table.get(path[-1], MISSING)
        if value is MISSING:
            return self._absent(path, default)
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {describe(value)}")
        if not allow_empty and not value.strip():
            self.fail(path, "must not be empty")
        if len(value) > max_len:
            self.fail(path, f"must be at most {max_len} characters long, got {len(value)}")
        return value

    def choice(self, table: dict, path: tuple, options, default: Any = MISSING) -> str:
        value = table.get(path[-1], MISSING)
        if value is MISSING:
            if default is MISSING:
                self.fail(path, f"missing (this key is required; one of {', '.join(options)})",
                          at=path[:-1])
            return default
        listed = ", ".join(f'"{o}"' for o in options)
        if not isinstance(value, str):
            self.fail(path, f"must be one of {listed}, got {describe(value)}")
        if value not in options:
            self.fail(path, f"must be one of {listed}, got {describe(value)}"
                            f"{suggest(value, options)}")
        return value

    def _absent(self, path: tuple, default: Any):
        """The value of a key that is not there: ``default``, or an error when it is required."""
        if default is MISSING:
            self.fail(path, "missing (this key is required)", at=path[:-1])
        return default

    def boolean(self, table: dict, path: tuple, default: Any = MISSING) -> bool:
        value = table.get(path[-1], MISSING)
        if value is MISSING:
            return self._absent(path, default)
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, got {describe(value)}")
        return value

    def integer(self, table: dict, path: tuple, default: Any = MISSING, *,
                lo: int | None = None, hi: int | None = None, value: Any = MISSING) -> int:
        if value is MISSING:
            value = table.get(path[-1], MISSING)
        if value is MISSING:
            return self._absent(path, default)
        want = _range_text("an integer", lo, hi)
        if isinstance(value, bool) or not isinstance(value, int):
            hint = ""
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                hint = f" (write {int(value)} without the decimal point)"
            self.fail(path, f"must be {want}, got {describe(value)}{hint}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(path, f"must be {want}, got {describe(value)}")
        return value

    def number(self, table: dict, path: tuple, default: Any = MISSING, *,
               lo: float | None = None, hi: float | None = None, lo_open: bool = False,
               value: Any = MISSING) -> float:
        """A finite float (an integer is accepted) in [lo, hi], or (lo, hi] with ``lo_open``."""
        if value is MISSING:
            value = table.get(path[-1], MISSING)
        if value is MISSING:
            return self._absent(path, default)
        want = _range_text("a number", lo, hi, lo_open)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"must be {want}, got {describe(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            finite = _range_text("a finite number", lo, hi, lo_open)
            self.fail(path, f"must be {finite}, got {describe(value)}")
        low_bad = lo is not None and (value <= lo if lo_open else value < lo)
        if low_bad or (hi is not None and value > hi):
            self.fail(path, f"must be {want}, got {describe(value)}")
        return float(value)

    def number_list(self, value: Any, path: tuple, *, bound: float, what: str = "numbers",
                    min_len: int = 1, max_len: int | None = None) -> list[float]:
        """A flat list of finite numbers with |x| <= bound."""
        if not isinstance(value, list):
            self.fail(path, f"must be a list of {what}, got {describe(value)}")
        if not value and min_len:
            self.fail(path, f"must be a list of {what}, got an empty list")
        if len(value) < min_len:
            self.fail(path, f"must have at least {min_len} {what}, got {len(value)}")
        if max_len is not None and len(value) > max_len:
            self.fail(path, f"must have at most {max_len} {what}, got {len(value)}")
        # the common case in one sweep: plain ints and floats (no bools), finite, in bounds;
        # anything else goes through number() one by one for its message
        if all(type(x) is float or type(x) is int for x in value):
            try:
                arr = np.asarray(value, dtype=np.float64)
            except OverflowError:  # an int too big for a float: reported below
                arr = None
            if arr is not None and bool((np.abs(arr) <= bound).all()):
                return arr.tolist()
        out = []
        for i, x in enumerate(value):
            out.append(self.number({}, path + (i,), value=x, lo=-bound, hi=bound))
        return out


def _range_text(noun: str, lo, hi, lo_open: bool = False) -> str:
    if lo is not None and hi is not None and not lo_open:
        return f"{noun} from {_fmt_num(lo)} to {_fmt_num(hi)}"
    parts = []
    if lo is not None:
        parts.append(f"{'greater than' if lo_open else 'of at least'} {_fmt_num(lo)}")
    if hi is not None:
        parts.append(f"at most {_fmt_num(hi)}")
    return noun + (" " + " and ".join(parts) if parts else "")
