"""Placeholders in a lesson's words: ``{p_target}``, ``{loss:.3f}``, ``{{`` for a brace."""

from __future__ import annotations

import re
import string

from .quantities import FIELDS, QUANTITIES, fmt_value

__all__ = ["PlaceholderError", "placeholders", "fill"]

#: A format spec a placeholder may carry: align, sign, width, precision, type.
_SPEC = re.compile(r"[<>^]?[+\- ]?[0-9]{0,2}(?:\.[0-9]{1,2})?[fegdn%]?")
_FORMATTER = string.Formatter()


class PlaceholderError(ValueError):
    """A placeholder that cannot be filled; ``str(err)`` is one line."""


def placeholders(text: str) -> list[tuple[str, str]]:
    """The (name, format spec) of every placeholder in ``text``, checked: a name of
    docs/lessons.md, an allowed spec, no conversions. Raises PlaceholderError."""
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError as err:
        raise PlaceholderError(f"{err} (write {{{{ and }}}} for a brace)") from None
    out = []
    for _, name, spec, conv in parts:
        if name is None:
            continue
        if conv is not None or not name.isidentifier():
            raise PlaceholderError(f"{{{name}{'!' + conv if conv else ''}}} is not a "
                                   f"placeholder: write {{name}} or {{name:.3f}}")
        if name not in QUANTITIES and name not in FIELDS:
            from engine._scenario_checks import suggest
            raise PlaceholderError(f"unknown placeholder {{{name}}}"
                                   f"{suggest(name, list(QUANTITIES) + list(FIELDS))} "
                                   f"(docs/lessons.md lists the quantities)")
        spec = spec or ""
        if not _SPEC.fullmatch(spec):
            raise PlaceholderError(f"{{{name}:{spec}}}: the format after ':' may be like .3f, "
                                   f".2e, .4g, +.3f or d")
        out.append((name, spec))
    return out


def fill(text: str, facts) -> str:
    """``text`` with every placeholder replaced by its value from ``facts`` (a lookup
    function); a value not known yet is written '…'."""
    out = []
    for literal, name, spec, _ in _FORMATTER.parse(text):
        out.append(literal)
        if name is not None:
            value = facts(name)
            out.append("…" if value is None and not facts.ready else fmt_value(value, spec or ""))
    return "".join(out)
