"""What the status lines of the screens share: the cells' names and how parts are joined."""

from __future__ import annotations

from rich.text import Text

#: How status lines name each cell.
CELL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def join_parts(parts) -> Text:
    """(text, style) parts as one line, `` · `` between them; a part that starts with a space
    sticks to the one before it instead (``king`` `` (text)``)."""
    text = Text(" ", no_wrap=True, overflow="ellipsis")
    for i, (part, style, *_) in enumerate(parts):
        if i and not part.startswith(" "):
            text.append(" · ", style="dim")
        text.append(part, style=style)
    return text
