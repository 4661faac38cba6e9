"""The key hints at the foot of every screen: one widget drawing one line.

Textual's ``Footer`` composes a widget for every key (a ``FooterKey``, a ``KeyGroup`` and a
``FooterLabel`` per group): twenty of the main screen's thirty-eight widgets, each styled, laid
out and drawn on its own, and all removed and mounted again whenever the bindings may have
changed (on every focus change). That was half of what opening the app cost (0.30 s of CPU
against 0.16 s with one line of text; ``benchmarks/README.md``, "The key bar"). This widget
draws the same line, cell for cell and style for style (the same theme variables as the
compact ``Footer``), from the screen's active bindings, and redraws it only when they change:

* a key with its description (``t train``), a group of keys with one label (``←→ step``), each
  followed by one space; a disabled key dim;
* a click on a key presses it (a bell if disabled); the key under the mouse is highlighted and
  its tooltip shown;
* when the line is wider than the screen, the keys of ``drop_first`` are left out in that order
  until it fits (the main screen keeps ``? help`` and ``q quit``, at the end, in view).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget


@dataclass(frozen=True)
class Item:
    """One piece of the line: a key (``key`` set) or a group's label, and the cells after it."""

    text: str  # the key as shown, or the label
    description: str = ""  # a lone key's words ("" for a key of a group)
    key: str | None = None  # what a click presses
    enabled: bool = True
    tooltip: str = ""
    before: int = 0  # blank cells before it (a group's first key: 1)
    after: int = 1  # blank cells after it

    @property
    def width(self) -> int:
        words = cell_len(self.text) + (1 + cell_len(self.description) if self.description
                                       else 0)
        return self.before + words + self.after


def items_of(screen, get_key_display) -> tuple[Item, ...]:
    """The pieces of the line for ``screen``'s active bindings, as Textual's compact Footer
    lays them out: one key per action (its first binding), consecutive actions of one group
    (more than one) as their keys side by side and the group's label."""
    by_action: dict[str, list] = {}
    for _, binding, enabled, tooltip in screen.active_bindings.values():
        if binding.show:
            by_action.setdefault(binding.action, []).append((binding, enabled, tooltip))
    out: list[Item] = []
    for group, runs in groupby(by_action.values(), lambda run: run[0][0].group):
        runs = list(runs)
        if group is not None and len(runs) > 1:
            for i, run in enumerate(runs):
                binding, enabled, tooltip = run[0]
                last = i == len(runs) - 1
                out.append(Item(get_key_display(binding), key=binding.key, enabled=enabled,
                                tooltip=tooltip or binding.description,
                                before=1 if i == 0 or not group.compact else 0,
                                after=1 if last or not group.compact else 0))
            out.append(Item(group.description))
        else:
            for run in runs:
                binding, enabled, tooltip = run[0]
                out.append(Item(get_key_display(binding), binding.description, binding.key,
                                enabled, tooltip))
    return tuple(out)


class KeyBar(Widget, can_focus=False):
    """The screen's keys on one line (see the module's docstring)."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--item",
                         "key-bar--hover"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-bar--item {
            background: $footer-item-background;
        }
        & > .key-bar--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
    }
    """

    class Ready(Message):
        """The keys are drawn for the first time: the next refresh is the first full frame."""

    def __init__(self, drop_first: tuple[str, ...] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.drop_first = drop_first
        self.items: tuple[Item, ...] = ()
        self.shown: tuple[Item, ...] = ()  # what fits the width
        self._hover: int | None = None
        self._ready = False
        self._strip = Strip([])
        self._strip_for: tuple | None = None

    # -- what the line holds ----------------------------------------------------------------

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self._update()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._update()

    def _update(self) -> None:
        items = items_of(self.screen, self.app.get_key_display)
        if items != self.items:
            self.items = items
            self._fit()
        if not self._ready and self.items:
            self._ready = True
            self.post_message(self.Ready())

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Leave out the keys of ``drop_first``, in that order, until the line fits (its last
        blank cell need not)."""
        shown = list(self.items)
        width = self.size.width
        for key in self.drop_first:
            if not width or sum(i.width for i in shown) - 1 <= width:
                break
            shown = [i for i in shown if not (i.key == key and i.description)]
        if tuple(shown) != self.shown:
            self.shown = tuple(shown)
            self._hover = None
            self.refresh()

    @property
    def keys(self) -> list[str]:
        """The keys shown, in order (as bound: ``space``, ``left``)."""
        return [i.key for i in self.shown if i.key is not None]

    # -- drawing ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """The line, each piece in its final style as Textual's renderer would give the compact
        Footer's widgets (key and words over the key's own colours, the gaps in the bar's
        background alone); drawn again only when the keys, the hover or the width change."""
        made_for = (self.shown, self._hover, self.size.width, self.rich_style)
        if made_for != self._strip_for:
            self._strip = self._draw(self.size.width)
            self._strip_for = made_for
        return self._strip if y == 0 else Strip.blank(self.size.width, self._blank())

    def _blank(self) -> Style:
        return Style(bgcolor=self.rich_style.bgcolor)

    def _draw(self, width: int) -> Strip:
        style = self.get_component_rich_style
        base = self.rich_style
        # (a key's and its words' own colours only, over the item's: a transparent background
        # then shows the item's, highlighted under the mouse, as on the Footer's own keys)
        key_style = style("key-bar--key", partial=True)
        words_style = style("key-bar--description", partial=True)
        label_style = style("key-bar--description")
        blank = self._blank()
        segments = []
        for n, i in enumerate(self.shown):
            if i.before:
                segments.append(Segment(" " * i.before, blank))
            if i.key is None:  # a group's label
                segments.append(Segment(i.text, base + label_style))
            else:
                under = base + style("key-bar--hover" if n == self._hover else "key-bar--item")
                if not i.enabled:
                    under += Style(dim=True)
                segments.append(Segment(i.text, under + key_style))
                if i.description:
                    segments.append(Segment(" " + i.description, under + words_style))
            if i.after:
                segments.append(Segment(" " * i.after, blank))
        return Strip(segments).crop_extend(0, width, blank).simplify()

    # -- the mouse ----------------------------------------------------------------------------

    def _item_at(self, x: int) -> int | None:
        left = 0
        for n, i in enumerate(self.shown):
            start = left + i.before
            left += i.width
            if i.key is not None and start <= x < left - i.after:
                return n
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        n = self._item_at(event.x)
        if n != self._hover:
            self._hover = n
            self.tooltip = self.shown[n].tooltip or None if n is not None else None
            self.refresh()

    def on_leave(self) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        n = self._item_at(event.x)
        if n is None:
            return
        item = self.shown[n]
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()
