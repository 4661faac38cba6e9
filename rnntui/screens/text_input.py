"""The typed-input dialog: a sentence of known words (or characters) to step through."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from engine.types import Scenario, ScenarioError, Sequence

from ..safe_text import visible
from .guard import Dialog
from .keybar import KeyBar

#: The longest text accepted (the box stops taking characters there).
MAX_TEXT = 2000
#: Known words listed in the dialog at most (a 5000-word vocabulary would fill the screen).
MAX_WORDS = 300
#: ... and at most this many characters of them: three lines of an 80x24 dialog, so the box
#: and its error line stay on screen.
MAX_LISTED = 200


def known_list(words: list[str]) -> str:
    """The known words that fit MAX_WORDS and MAX_LISTED, then how many more there are."""
    shown, used = [], 0
    for w in words[:MAX_WORDS]:
        s = _shown(w)
        if used + len(s) + 1 > MAX_LISTED:
            break
        shown.append(s)
        used += len(s) + 1
    more = len(words) - len(shown)
    return " ".join(shown) + (f" … and {more} more" if more else "")


def _shown(word: str) -> str:
    return "␣" if word == " " else visible(word)


@dataclass
class Typed:
    """What the dialog hands back: the encoded sequence and the text (None: the scenario's
    own sequence, restored by submitting an empty box)."""

    sequence: Sequence
    text: str | None


class TextInputScreen(Dialog, ModalScreen[Typed | None]):
    """Type a sentence of known words; returns :class:`Typed` (empty restores the scenario's)."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="input-cancel")]

    def __init__(self, scenario: Scenario, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.scenario = scenario
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        sc = self.scenario
        from engine.kinds import get_kind
        kind = get_kind(sc.kind)
        words = (kind.source_words(sc) if kind.seq2seq  # an encoder-decoder: its source's
                 else sorted(sc.token_vectors or sc.vocab or []))
        unit = "characters" if (sc.unit or "word") == "char" else "words"
        with Vertical(id="input-box", classes="dialog") as box:
            box.border_title = "Type your own input"
            box.border_subtitle = "Enter steps through it · empty restores · Esc cancels"
            yield Static(Text.assemble((f"Known {unit}: ", "bold"), known_list(words)),
                         id="input-vocab", classes="label")
            yield Input(placeholder=f"a text of known {unit}", id="input-text",
                        max_length=MAX_TEXT)
            yield Static("", id="input-error")
        yield KeyBar()

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = self.cursor_blink
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.close_once(Typed(self.scenario.sequence, None))
            return
        try:
            from engine.scenario import encode_text
            sequence = encode_text(self.scenario, text)
        except ScenarioError as err:
            self._error(visible(str(err)))
            return
        if len(sequence) == 0:
            self._error("That has no known words.")
            return
        self.close_once(Typed(sequence, text))

    def _error(self, message: str) -> None:
        for error in self.query("#input-error").results(Static):
            error.update(Text(message, style="bold"))

    def action_cancel(self) -> None:
        self.close_once(None)
