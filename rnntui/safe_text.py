"""Text from a file, a path or a user, made safe to show: every control character visible.

A scenario's name, its tokens, a typed sentence or a file name may hold bytes a terminal acts on
(ESC starts a sequence that can rename the window, blink, or move the cursor), characters that
break a row (newline, tab), or characters that are invisible or reorder what follows them
(bidi overrides and isolates, zero-width spaces). :func:`visible` turns each of those into a
visible escape, so what is on screen is exactly what is in the data, and nothing else happens::

    visible("a\\x1b[31mred")      -> "a␛[31mred"
    visible("two\\nlines\\tx")     -> "two\\\\nlines\\\\tx"   (a backslash and an n)
    visible("abc\\u202edef")      -> "abcU+202Edef"
    visible("café 日本 🙂")        -> "café 日本 🙂"        (ordinary text is left alone)

It is for the screen, the trace table, SVG, messages and the command line's output (where
``keep="\\n\\t"`` leaves the line breaks and tabs of a multi-line text, as ``rnntui generate``
prints it); JSON keeps the exact data (its own escaping takes care of control characters).
:func:`clip` bounds how much of a text is quoted.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clip", "visible"]

#: Short, familiar escapes for the common controls; ESC gets the symbol a terminal user knows.
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "␛", "\x00": "\\0", "\x7f": "\\x7f"}

#: Characters that are printable to Python but invisible, or that change the order or joining of
#: the text around them: zero-width space/joiners, LRM/RLM, bidi embeddings, overrides and
#: isolates, the word joiner and invisible operators, the BOM, the line/paragraph separators.
_INVISIBLE = set("\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
                 "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff\u00ad\u061c"
                 "\u180e\ufff9\ufffa\ufffb")

# Anything that may need escaping: C0, DEL, C1, and the characters above (and any non-ASCII,
# checked one by one). Plain printable ASCII never matches, so the common case is one search.
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
                      "\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]|[^\x00-\x7f]")


#: What :func:`visible` may be asked to leave as it is: a terminal only moves the cursor for these.
_KEEPABLE = frozenset("\n\t")


def _escape(c: str) -> str:
    named = _NAMED.get(c)
    if named is not None:
        return named
    code = ord(c)
    if code < 0x20 or 0x7f <= code <= 0x9f:
        return f"\\x{code:02x}"
    if c in _INVISIBLE:
        return f"U+{code:04X}"
    category = unicodedata.category(c)
    # Cc/Cf: control and format characters; Cs: lone surrogates; Co/Cn: private or unassigned;
    # Zl/Zp: line and paragraph separators. Combining marks (Mn) and spaces (Zs) stay.
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return f"U+{code:04X}"
    return c


def _escape_match(m: re.Match) -> str:
    return _escape(m.group(0))


def visible(s: str, keep: str = "") -> str:
    """``s`` with every control, format or invisible character written as a visible escape.

    ESC becomes ``␛``; newline, tab, CR and NUL become ``\\n``, ``\\t``, ``\\r``, ``\\0``; other C0
    and C1 controls and DEL become ``\\xNN``; bidi overrides/isolates (U+202A-202E, U+2066-2069),
    zero-width characters (U+200B-200F, U+2060), the BOM (U+FEFF), the soft hyphen and other
    format, private-use, unassigned or surrogate code points become ``U+XXXX``. Letters of every
    script, accents, CJK, emoji and ordinary spaces are left as they are. A string with nothing
    to escape is returned as it is (one regex search; cheap on short strings). Non-strings are
    converted with ``str()`` first. The characters of ``keep`` (only newline and tab may be
    kept) are left as they are: ``visible(text, keep="\\n\\t")`` for text printed on lines.
    """
    if not isinstance(s, str):
        s = str(s)
    if _SUSPECT.search(s) is None:
        return s
    if not keep:
        return _SUSPECT.sub(_escape_match, s)
    if set(keep) - _KEEPABLE:
        raise ValueError(f"visible: only newline and tab may be kept, not {keep!r}")
    return _SUSPECT.sub(lambda m: m.group(0) if m.group(0) in keep else _escape(m.group(0)), s)


def clip(s: str, limit: int = 80) -> str:
    """At most ``limit`` characters of ``s`` made :func:`visible`, with ``...`` when cut.

    For quoting data in one-line messages: a 1.5 MB key gives a short message.
    """
    if not isinstance(s, str):
        s = str(s)
    if len(s) > limit:
        return visible(s[:max(limit - 3, 1)]) + "..."
    return visible(s)
