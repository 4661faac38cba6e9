"""Damaging a TOML file the way editors and people do, for the fuzz tests of scenario and lesson
files: lines deleted, repeated or swapped, values retyped or blanked, keys and headers added."""

from __future__ import annotations

import re

from hypothesis import strategies as st

#: ``key = value`` (group 1: everything up to the value).
ASSIGN = re.compile(r"^(\s*[A-Za-z0-9_\"'. -]+?\s*=\s*)(.*)$")
EDITS = ["delete", "duplicate", "retype", "retype", "retype", "new_key", "header", "swap",
         "blank_value"]


def quoted(s: str) -> str:
    """``s`` as a TOML basic string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def mangle(draw, text: str, *, values, keys: list[str], headers: list[str],
           most: int) -> str:
    """``text`` with up to ``most`` edits drawn (``values``: a strategy of TOML values; ``keys``
    and ``headers``: the names a new line may use)."""
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, most))):
        if not lines:
            lines = ["\n"]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(EDITS))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(draw(st.integers(0, len(lines))), lines[i])
        elif op == "retype":
            m = ASSIGN.match(lines[i].rstrip("\n"))
            if m:
                lines[i] = m.group(1) + draw(values) + "\n"
        elif op == "new_key":
            lines.insert(i, f"{draw(st.sampled_from(keys))} = {draw(values)}\n")
        elif op == "header":
            lines.insert(i, draw(st.sampled_from(headers)) + "\n")
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:  # blank_value
            m = ASSIGN.match(lines[i].rstrip("\n"))
            if m:
                lines[i] = m.group(1) + "\n"
    return "".join(lines)
