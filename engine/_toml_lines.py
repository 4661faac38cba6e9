"""Where each key of a TOML document sits: a small scanner for error messages.

``tomllib`` parses a document but does not say on which line a key was written. The scenario
loader wants ``FILE:LINE:`` in its errors, so this module walks the text once and records, for
every key path, the line it starts on. Paths are tuples: table names and keys are strings,
array positions are ints, e.g. ``("model", "hidden_size")`` or ``("data", "text", 2)``.

It is only run on text that ``tomllib`` has already accepted, and it is best-effort: a construct
it does not follow just leaves some paths out, and :func:`line_of` then falls back to the
nearest enclosing path it knows. It never evaluates anything.
"""

from __future__ import annotations

import re
import tomllib

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}#\n")
# What ends each kind of string; a backslash escape is matched first so it is skipped over.
# A closing run of a multi-line string may carry up to two more quotes that belong to it.
_END_ML_BASIC = re.compile(r'\\.|"""(?:"{0,2})', re.S)
_END_ML_LITERAL = re.compile(r"'''(?:'{0,2})")
_END_BASIC = re.compile(r'\\.|"|\n', re.S)
_END_LITERAL = re.compile(r"'|\n")

Path = tuple


class _Scanner:
    def __init__(self, text: str):
        self.s = text
        self.n = len(text)
        self.i = 0
        self.line = 1
        self.lines: dict[Path, int] = {}

    # -- low level ---------------------------------------------------------------------------
    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < self.n else ""

    def starts(self, lit: str) -> bool:
        return self.s.startswith(lit, self.i)

    def advance(self, k: int = 1) -> None:
        end = min(self.i + k, self.n)
        self.line += self.s.count("\n", self.i, end)
        self.i = end

    def skip_inline_space(self) -> None:
        while self.peek() in (" ", "\t", "\r") and self.peek():
            self.i += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            j = self.s.find("\n", self.i)
            self.i = self.n if j < 0 else j

    def skip_blank(self) -> None:
        """Spaces, newlines and comments (inside arrays and between statements)."""
        while self.i < self.n:
            c = self.s[self.i]
            if c in " \t\r":
                self.i += 1
            elif c == "\n":
                self.i += 1
                self.line += 1
            elif c == "#":
                self.skip_comment()
            else:
                return

    def record(self, path: Path, line: int) -> None:
        self.lines.setdefault(path, line)

    # -- keys and strings ----------------------------------------------------------------------
    def string(self) -> str:
        """Read one string token of any of the four kinds and return its raw text."""
        start = self.i
        for quote, stop in (('"""', _END_ML_BASIC), ("'''", _END_ML_LITERAL),
                            ('"', _END_BASIC), ("'", _END_LITERAL)):
            if self.starts(quote):
                pos = self.i + len(quote)
                while True:
                    m = stop.search(self.s, pos)
                    if m is None:
                        pos = self.n
                        break
                    pos = m.end()
                    if m.group(0)[0] != "\\":  # a closing quote (an escape just continues)
                        break
                self.advance(pos - self.i)
                return self.s[start:self.i]
        self.i += 1
        return self.s[start:self.i]

    def key_part(self) -> str | None:
        c = self.peek()
        if c in ('"', "'"):
            raw = self.string()
            if c == "'" or "\\" not in raw:
                return raw[1:-1]
            try:  # let tomllib decode escapes in a quoted key
                return next(iter(tomllib.loads(f"k = {raw}").values()))
            except (tomllib.TOMLDecodeError, StopIteration):
                return raw[1:-1]
        start = self.i
        while self.peek() in _BARE and self.peek():
            self.i += 1
        return self.s[start:self.i] if self.i > start else None

    def dotted_key(self) -> Path | None:
        parts = []
        while True:
            self.skip_inline_space()
            part = self.key_part()
            if part is None:
                return None
            parts.append(part)
            self.skip_inline_space()
            if self.peek() != ".":
                return tuple(parts)
            self.i += 1

    # -- values --------------------------------------------------------------------------------
    def value(self, path: Path) -> None:
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        else:
            while self.i < self.n and self.s[self.i] not in _SCALAR_END:
                self.i += 1

    def array(self, path: Path) -> None:
        self.i += 1
        index = 0
        while self.i < self.n:
            self.skip_blank()
            if self.peek() in ("]", ""):
                self.i += 1
                return
            self.record(path + (index,), self.line)
            before = self.i
            self.value(path + (index,))
            self.skip_blank()
            if self.peek() == ",":
                self.i += 1
                index += 1
            elif self.i == before:  # nothing understood: stop rather than spin
                self.i += 1

    def inline_table(self, path: Path) -> None:
        self.i += 1
        while self.i < self.n:
            self.skip_blank()
            if self.peek() in ("}", ""):
                self.i += 1
                return
            if self.peek() == ",":
                self.i += 1
                continue
            line = self.line
            key = self.dotted_key()
            if key is None:
                self.i += 1
                continue
            self.record(path + key, line)
            self.skip_inline_space()
            if self.peek() == "=":
                self.i += 1
                self.skip_inline_space()
                self.value(path + key)

    # -- document ------------------------------------------------------------------------------
    def document(self) -> dict[Path, int]:
        table: Path = ()
        while self.i < self.n:
            self.skip_blank()
            if self.i >= self.n:
                break
            line = self.line
            if self.peek() == "[":
                double = self.starts("[[")
                self.i += 2 if double else 1
                key = self.dotted_key()
                if key is not None:
                    table = key
                    self.record(key, line)
                self.skip_to_line_end()
                continue
            key = self.dotted_key()
            if key is None:
                self.skip_to_line_end()
                continue
            for k in range(1, len(key)):
                self.record(table + key[:k], line)
            self.record(table + key, line)
            self.skip_inline_space()
            if self.peek() == "=":
                self.i += 1
                self.skip_inline_space()
                self.value(table + key)
            self.skip_to_line_end()
        return self.lines

    def skip_to_line_end(self) -> None:
        j = self.s.find("\n", self.i)
        self.i = self.n if j < 0 else j


def key_lines(text: str) -> dict[Path, int]:
    """Map every key path found in ``text`` (valid TOML) to its 1-based line number."""
    try:
        return _Scanner(text).document()
    except (IndexError, ValueError, RecursionError):  # best-effort: line numbers are a courtesy
        return {}


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, or of its nearest enclosing path that was found; None if none."""
    for k in range(len(path), 0, -1):
        line = lines.get(tuple(path[:k]))
        if line is not None:
            return line
    return None
