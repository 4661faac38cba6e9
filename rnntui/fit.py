"""Command-line output that fits the terminal: its width, text wrapped at spaces (never inside
a word), and a one-line field shortened at a space with an ellipsis."""

from __future__ import annotations

import shutil
import textwrap

#: Output is never fitted narrower than this (a narrower terminal wraps it itself).
NARROWEST = 40


def columns() -> int:
    """The width to fit: ``$COLUMNS``, else the terminal's, else 80 (a pipe or a file)."""
    return max(NARROWEST, shutil.get_terminal_size((80, 24)).columns)


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` as lines of at most ``width`` characters, continuation lines indented by
    ``indent``; a word longer than a line stays whole."""
    return textwrap.wrap(text, width, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [""]


def shorten(text: str, width: int) -> str:
    """``text`` whole when it fits in ``width`` characters, else cut at a space with "…"."""
    if len(text) <= width:
        return text
    return textwrap.shorten(text, max(width, 2), placeholder="…", break_long_words=False,
                            break_on_hyphens=False)
