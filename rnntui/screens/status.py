"""What the status lines of the screens share: how parts are joined (a cell's name is its
``title`` in the registry, engine.cells)."""

from __future__ import annotations

from rich.text import Text

def join_parts(parts) -> Text:
    """(text, style) parts as one line, `` · `` between them; a part that starts with a space
    sticks to the one before it instead (``king`` `` (text)``)."""
    text = Text(" ", no_wrap=True, overflow="ellipsis")
    for i, (part, style, *_) in enumerate(parts):
        if i and not part.startswith(" "):
            text.append(" · ", style="dim")
        text.append(part, style=style)
    return text
