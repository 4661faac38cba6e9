"""The base of every pane: it reads the app's Session and redraws only when its picture changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widget import Widget

if TYPE_CHECKING:
    from rnntui.session import Session


class Pane(Widget, can_focus=True):
    """A bordered pane drawn from ``self.app.session``.

    Subclasses set ``TITLE`` and implement :meth:`content_key` (everything the picture depends
    on, as a hashable tuple, including the size if the drawing adapts to it) and :meth:`draw`
    (returns a Rich renderable for width x height cells). :meth:`sync` is called by the app after
    every change to the session; it refreshes the pane only when the key changed, so a plain step
    redraws only the panes whose content moved.
    """

    TITLE = ""
    DEFAULT_CSS = """
    Pane {
        border: round $primary 50%;
        border-title-color: $text;
        padding: 0 1;
        height: 1fr;
        width: 1fr;
    }
    Pane:focus { border: round $accent; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = self.TITLE
        self._drawn_key: object = None
        self._cache: object = None

    @property
    def session(self) -> "Session":
        return self.app.session  # type: ignore[attr-defined]

    def content_key(self) -> tuple:
        s = self.session
        return (id(s), s.version, self.content_size.width, self.content_size.height)

    def sync(self) -> None:
        if self.content_key() != self._drawn_key:
            self.refresh()

    def render(self):
        key = self.content_key()
        if key != self._drawn_key or self._cache is None:
            s = self.session
            if s.trace is None:
                self._cache = Text("computing…", style="dim")
            else:
                self._cache = self.draw(self.content_size.width, self.content_size.height)
            self._drawn_key = key
        return self._cache

    def draw(self, width: int, height: int):
        raise NotImplementedError
