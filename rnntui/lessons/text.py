"""Placeholders in a lesson's words: ``{p_target}``, ``{loss:.3f}``, ``{{`` for a brace."""

from __future__ import annotations

import re
import string

from ..safe_text import clip
from .quantities import FIELDS, LAB_FIELDS, QUANTITIES, fmt_value, output_form

__all__ = ["PlaceholderError", "placeholders", "fill"]

#: The most characters one placeholder fills in (a longer text is cut, with "...").
MAX_VALUE = 300
#: The most characters a filled text may have: the rest is left out, and it says so.
MAX_FILLED = 4000
CUT = " … (the rest is left out: the text filled in is too long)"

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
        if name not in QUANTITIES and name not in FIELDS and name not in LAB_FIELDS:
            from engine._scenario_checks import suggest
            raise PlaceholderError(f"unknown placeholder {{{name}}}"
                                   f"{suggest(name, [*QUANTITIES, *FIELDS, *LAB_FIELDS])} "
                                   f"(docs/lessons.md lists the quantities)")
        spec = spec or ""
        if not _SPEC.fullmatch(spec):
            raise PlaceholderError(f"{{{name}:{spec}}}: the format after ':' may be like .3f, "
                                   f".2e, .4g, +.3f or d")
        out.append((name, spec))
    return out


def fill(text: str, facts) -> str:
    """``text`` with every placeholder replaced by its value from ``facts`` (a lookup
    function): a value not computed yet is written '…' (see ``facts.pending``), one that cannot
    be computed says so. A text value (a word of the scenario, one typed, a name) is shown
    with its control characters visible and cut at MAX_VALUE characters; the whole is at most
    MAX_FILLED characters."""
    out: list[str] = []
    size = 0
    pending = getattr(facts, "pending", None)
    for literal, name, spec, _ in _FORMATTER.parse(text):
        out.append(literal)
        size += len(literal)
        if name is not None:
            value = facts(name)
            if value is None and (pending(name) if pending is not None else not facts.ready):
                piece = "…"
            else:
                q = QUANTITIES.get(name)  # (no spec: as the pane showing it writes it)
                form = q.form if q is not None else None
                if form == "output":
                    form = output_form(getattr(facts, "view", None))
                piece = fmt_value(value, spec or "", form)
                if isinstance(value, str) or len(piece) > MAX_VALUE:
                    piece = clip(piece, MAX_VALUE)
            out.append(piece)
            size += len(piece)
        if size > MAX_FILLED:
            return "".join(out)[:MAX_FILLED] + CUT
    return "".join(out)
