"""Plain-text tables for the CLI (``rnntui trace``): aligned columns, and a table wider than the
terminal printed in parts of whole columns, so that no number or token is ever cut."""

from __future__ import annotations

from .fit import wrap


def wrapped(lines: list[str], width: int) -> list[str]:
    """``lines`` with each longer than ``width`` wrapped at spaces, its later lines indented."""
    return [part for line in lines for part in
            (wrap(line, width, indent="  ") if len(line) > width else [line])]


#: The columns every part of a split table repeats: the step and the input.
KEY_COLUMNS = 2
GAP = "  "


def table(rows: list[tuple[str, ...]], right: set[int], width: int | None) -> list[str]:
    """``rows`` (the first is the header) as aligned columns, ``right`` ones right-aligned;
    wider than ``width``: in parts of whole columns that fit, each led by the key columns."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    whole = len(GAP.join("-" * w for w in widths))
    parts: list[list[int]] = [list(range(len(widths)))]
    if width is not None and whole > width:
        keys = list(range(KEY_COLUMNS))
        parts = [keys[:]]
        for i in range(KEY_COLUMNS, len(widths)):
            if len(parts[-1]) > KEY_COLUMNS and \
                    sum(widths[j] + len(GAP) for j in parts[-1]) + widths[i] > width:
                parts.append(keys[:])
            parts[-1].append(i)
    lines: list[str] = []
    for part in parts:
        if lines:
            lines.append("")
        for k, r in enumerate(rows):
            cells = [r[i].rjust(widths[i]) if i in right else r[i].ljust(widths[i])
                     for i in part]
            lines.append(GAP.join(cells).rstrip())
            if k == 0:
                lines.append(GAP.join("-" * widths[i] for i in part))
    if len(parts) > 1:
        lines += wrapped([f"(in {len(parts)} parts to fit {width} columns; COLUMNS={whole} "
                          f"prints the table in one)"], width)
    return lines
