"""The rule every lesson keeps: a decimal number in its words stands on the screen beside them.

A lesson's words (narration, task, question, choices, what a task showed) may quote a number
only as a pane above the strip writes it, with the pane's own digits: ``0.0078`` beside a pane's
``0.0078×``, never ``0.008`` or ``0.00781``. :func:`unseen` lists the numbers of some words that
no pane text holds; the course's walk test (tests/functional/test_lessons_app.py) applies it to
every step at 80x24 and 60x20, and ``rnntui check`` warns with it about a teacher's lesson.

A figure quoted from the texts this course draws on (a ``TEXT_FIGURES`` quantity) is the one
kind of number that stands alone: the words say whose figure it is.
"""

from __future__ import annotations

import re

__all__ = ["TEXT_FIGURES", "decimals", "unseen"]

#: A decimal number as the screen or the words write it: a point or an exponent makes it one
#: (whole numbers such as t = 4 or 200 epochs are counts, not measurements). A sign written
#: before it is part of it.
DECIMAL = re.compile(r"(?<![\w.])([+\-−]?)(\d*\.\d+(?:e[+\-−]?\d+)?|\d+e[+\-−]?\d+)(?![\w])")

#: Quantities whose value is a figure printed in the texts the course draws on (not on screen).
TEXT_FIGURES = ("seed_power_figure", "seed_scalar_step")


def decimals(text: str) -> list[tuple[str, str]]:
    """Every decimal number of ``text`` as (sign, digits): ``('-', '0.1519')``; the sign is ''
    when none is written, and a minus sign (−) reads as '-'."""
    return [(sign.replace("−", "-"), digits.replace("−", "-"))
            for sign, digits in DECIMAL.findall(text)]


def unseen(words: str, screen: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The decimal numbers of ``words`` that ``screen`` does not write with the same digits (a
    number the words write without a sign may stand with '+' on screen, not with '-').
    ``allowed``: numbers that may stand alone (a text's figure, as the words write it)."""
    shown = set(decimals(screen))
    missing = []
    for sign, digits in decimals(words):
        if digits in allowed or f"{sign}{digits}" in allowed:
            continue
        ok = (sign, digits) in shown or (sign in ("", "+") and {("", digits), ("+", digits)}
                                         & shown)
        if not ok:
            missing.append(f"{sign}{digits}")
    return missing
