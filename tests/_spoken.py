"""How a transcript of reader mode must read (tests/unit/test_reader.py and the classroom's
reader-mode tests): the numbers as a pane formats them, said; nothing a listener must not hear."""

from __future__ import annotations

import re

#: What must never reach a listener: controls (ESC included), box drawing, blocks, geometric
#: shapes, braille, and the symbols a synthesiser reads badly or not at all.
BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2500-\u25ff\u2800-\u28ff‖∂τ×⊙ρ₀₁₂₃₄₅₆₇₈₉ᵀ²−≤≥→←]")


def spoken(s: str) -> str:
    """A number as a pane formats it, as the transcript should say it (written out here)."""
    if "e" in s:
        mant, exp = s.split("e")
        power = f"minus {exp[1:]}" if exp.startswith("-") else exp
        return f"{spoken(mant)} times ten to the {power}"
    return "minus " + s[1:] if s.startswith("-") else s.lstrip("+")


def check_plain(lines: list[str]) -> None:
    for line in lines:
        bad = BAD.findall(line)
        assert not bad, f"{bad!r} in {line!r}"
