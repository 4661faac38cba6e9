"""tomllib, with big arrays of plain numbers read by a regular expression instead (2 MiB in ~0.2 s).

A scenario file may be 2 MiB of explicit weights; tomllib reads numbers one Python call at a
time (~1 s for 2 MiB here). :func:`loads` first lifts out every long array, written right after
``=``, that holds nothing but decimal numbers (TOML's own syntax for them: no underscores, no
``inf``/``nan``, no comments inside), puts a unique string in its place, lets tomllib parse the
rest, and puts the numbers back, each an ``int`` or a ``float`` exactly as tomllib makes them.

It only ever gives tomllib's answer: when anything is off (the substituted text does not parse,
a placeholder is not found exactly once as a whole value because the "array" sat inside a string
or a comment), the original text is parsed by tomllib as it is, so errors and values are
tomllib's own.
"""

from __future__ import annotations

import json
import os
import re
import tomllib

__all__ = ["loads"]

#: Arrays shorter than this are left to tomllib (lifting them out would not pay).
MIN_ARRAY_CHARS = 2000

_NUM = r"[+-]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_TOKEN = re.compile(_NUM)
# '=' then an array of numbers or of arrays of numbers (two levels: rows of a matrix), with
# whitespace and newlines between items and an optional trailing comma.
_FLAT = rf"\[[ \t\r\n]*(?:{_NUM}[ \t\r\n]*,[ \t\r\n]*)*(?:{_NUM}[ \t\r\n]*,?[ \t\r\n]*)?\]"
_NESTED = rf"\[[ \t\r\n]*(?:{_FLAT}[ \t\r\n]*,[ \t\r\n]*)*(?:{_FLAT}[ \t\r\n]*,?[ \t\r\n]*)?\]"
_ARRAY = re.compile(rf"(=[ \t]*)({_NESTED}|{_FLAT})")
_ROW = re.compile(_FLAT)
_TRAILING_COMMA = re.compile(r",[ \t\r\n]*\]")


def _numbers(text: str) -> list:
    return [float(t) if ("." in t or "e" in t or "E" in t) else int(t)
            for t in _TOKEN.findall(text)]


def _value(text: str) -> list:
    """The numbers of one lifted array. JSON writes decimal numbers as TOML does (ints without
    a point or exponent, floats with one), so its C parser reads them the same, unless a '+'
    or a trailing comma (TOML only) is there."""
    if "+" not in text and not _TRAILING_COMMA.search(text):
        try:
            return json.loads(text)
        except ValueError:
            pass
    inner = text.strip()[1:-1]
    if "[" in inner:
        return [_numbers(row.group(0)) for row in _ROW.finditer(inner)]
    return _numbers(inner)


def loads(text: str) -> dict:
    """The same dict as ``tomllib.loads(text)``, and the same exceptions."""
    if len(text) < MIN_ARRAY_CHARS or "[" not in text:
        return tomllib.loads(text)
    tag = "rnntui-" + os.urandom(8).hex()  # (secrets.token_hex, without its import)
    if tag in text:
        return tomllib.loads(text)
    found: dict[str, list] = {}

    def lift(m: re.Match) -> str:
        body = m.group(2)
        if len(body) < MIN_ARRAY_CHARS:
            return m.group(0)
        key = f"{tag}-{len(found)}"
        found[key] = body
        return f'{m.group(1)}"{key}"' + "\n" * body.count("\n")  # same line numbers after it

    lifted = _ARRAY.sub(lift, text)
    if not found:
        return tomllib.loads(text)
    try:
        doc = tomllib.loads(lifted)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return tomllib.loads(text)
    seen: dict[str, int] = {}

    def put_back(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, str) and v in found:
                    seen[v] = seen.get(v, 0) + 1
                    node[k] = _value(found[v])
                elif isinstance(v, (dict, list)):
                    put_back(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, str) and v in found:
                    seen[v] = seen.get(v, 0) + 1
                    node[i] = _value(found[v])
                elif isinstance(v, (dict, list)):
                    put_back(v)

    if _has_tag(doc, tag, found):
        return tomllib.loads(text)  # a placeholder landed inside a string or a key
    put_back(doc)
    if len(seen) != len(found) or any(n != 1 for n in seen.values()):
        return tomllib.loads(text)  # one sat inside a comment, or was lost
    return doc


def _has_tag(node, tag: str, found: dict) -> bool:
    """Whether a key, or a string that is not exactly a placeholder, mentions ``tag``."""
    if isinstance(node, str):
        return tag in node and node not in found
    if isinstance(node, dict):
        return any(tag in k or _has_tag(v, tag, found) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_tag(v, tag, found) for v in node)
    return False
