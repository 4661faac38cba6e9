"""The base of every pane: drawn from the View it is handed, it redraws only the lines that changed."""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.style import Style
from textual.widget import Widget

from ._draw import Block

if TYPE_CHECKING:
    from rich.console import Console
    from rich.terminal_theme import TerminalTheme

    from rnntui.view import View


#: Pictures a pane keeps ready besides the one shown: the one before (a step back shows it
#: again) and those drawn ahead, one step on and one back, and the neighbouring knob settings
#: and epochs (when their traces were computed ahead, see rnntui.jobs).
READY_PICTURES = 8


#: A pane with this many rows or more (120x40's grid, a maximised pane) gives its last row to a
#: legend line (the pane's :meth:`Pane.legend_line`): what its signs mean (k shows a longer one
#: at any size; help lists them all).
LEGEND_ROOM = (0, 14)


class Pane(Widget, can_focus=True):
    """A bordered pane drawn from the :class:`~rnntui.view.View` it is handed (:meth:`show`).

    Subclasses set ``TITLE``, declare in ``READS`` the View fields the picture depends on, and
    implement :meth:`draw` (``draw(view, width, height)``: a Rich Text of at most width x height
    cells). The view a pane draws from only lets it read what ``READS`` names, so a forgotten
    dependency raises at once instead of leaving a stale picture; the picture's key is those
    fields (objects by identity) and the size. When :meth:`show` gets a View whose key changed,
    the pane draws at once and marks only the lines that differ from the last picture as dirty,
    so a plain step repaints (and writes to the terminal) only what moved. A pane whose key did
    not change costs one tuple comparison.

    The screen also calls :meth:`draw_ahead` with ``view.moved(±1)`` while idle, so the pictures
    one step on and one step back are usually ready before their key is pressed.

    The picture is turned into lines of segments by :class:`StripMaker` rather than by Textual's
    Content renderer, which took 3-8x longer on these many-span pictures (~7 ms of a step at
    120x40, the largest part of it). While the user selects text with the mouse, Textual's
    renderer is used: it draws the selection.
    """

    #: The pane's id on the main screen (and the name of its module, rnntui.widgets.PANES).
    ID = ""
    #: Where the main screen puts it: "top" (across the top) or "grid" (the grid of panes).
    PLACE = "grid"
    #: What the pane shows, in the help screen's words.
    HELP = ""
    #: What its signs mean: the paragraph the ``k`` key shows for the focused pane.
    LEGEND = ""
    #: The one-line legend a tall pane draws on its last row (see :meth:`legend_line`).
    LEGEND_LINE = ""
    TITLE = ""
    #: A shorter title for narrow panes (a title is shown whole, never cut).
    SHORT_TITLE = ""
    #: Written before the title (compare mode names each column's cell there).
    title_prefix = ""
    #: Marks the focused pane's title, so focus shows without colour too (``m`` maximises it).
    FOCUS_MARK = "◆"
    #: The View fields the picture depends on (see :meth:`View.reading`).
    READS: ClassVar[tuple[str, ...]] = ("trace", "t")
    #: Panes that can draw before the first trace exists set this to False.
    NEEDS_TRACE = True
    #: Whether the pane draws an encoder-decoder's trace (engine/seq2seq.py); the main screen
    #: hides the others on such a scenario (app.tcss, ``MainScreen.-s2s``), and ONLY_SEQ2SEQ
    #: panes on every other.
    SEQ2SEQ: ClassVar[bool] = False
    ONLY_SEQ2SEQ: ClassVar[bool] = False
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
        self._has_focus = False
        self._drawn_key: object = None
        self._cache: Text | None = None  # the last picture
        self._strips: list[Strip] = []  # the same picture as lines of segments
        self._strips_for: tuple | None = None  # (picture key, base style, size) of the strips
        self._maker: StripMaker | None = None
        self._ready: dict = {}  # content key -> (picture, strips, strips_for), drawn earlier
        self._view: View | None = None

    def title_for(self, width: int, focused: bool) -> str:
        """The border title that fits ``width`` cells (the border takes 4), marked when
        focused."""
        mark = f"{self.FOCUS_MARK} " if focused else ""
        mark += f"{self.title_prefix} · " if self.title_prefix else ""
        for title in (self.TITLE, self.SHORT_TITLE or self.TITLE):
            if len(mark + title) <= width - 4:
                return mark + title
        return mark.rstrip(" ·")

    def _update_title(self) -> None:
        self.border_title = self.title_for(self.size.width, self._has_focus)

    def on_focus(self) -> None:
        self._has_focus = True
        self._update_title()

    def on_blur(self) -> None:
        self._has_focus = False
        self._update_title()

    def on_resize(self) -> None:
        self._update_title()

    @property
    def view(self) -> "View | None":
        """The View this pane was last handed."""
        return self._view

    def content_key(self, view: "View | None" = None) -> tuple:
        """What the picture of ``view`` (default: the one shown) depends on."""
        view = view or self._view
        size = self.content_size
        return (None if view is None else view.key(self.READS), size.width, size.height,
                self.extra_key())

    def extra_key(self) -> tuple:
        """What else the picture depends on that is not in the View (a setting the screen
        gives the pane, such as a log scale shared with another pane)."""
        return ()

    @classmethod
    def draws(cls, trace) -> bool:
        """Whether this pane draws ``trace``: an encoder-decoder's only when SEQ2SEQ, a
        cell's unless ONLY_SEQ2SEQ."""
        if getattr(trace, "seq2seq", False):
            return cls.SEQ2SEQ or cls.ONLY_SEQ2SEQ
        return not cls.ONLY_SEQ2SEQ

    def draw(self, view, width: int, height: int) -> Text:
        """The picture of ``view`` (restricted to ``READS``) in ``width`` x ``height`` cells."""
        raise NotImplementedError

    def show(self, view: "View") -> None:
        """Show ``view``: repaint the lines whose content changed (nothing when the key is the
        same)."""
        self._view = view
        self.sync()

    # -- the picture ---------------------------------------------------------------------------
    def picture(self) -> Text:
        """The pane's picture for the current content key, drawn only when the key changed and
        no picture for the new key is ready (see :meth:`draw_ahead`)."""
        key = self.content_key()
        if key != self._drawn_key or self._cache is None:
            if self._cache is not None:  # a step back shows it again
                self._keep(self._drawn_key, (self._cache, self._strips, self._strips_for))
            ready = self._ready.pop(key, None)
            if ready is not None:
                self._cache, self._strips, self._strips_for = ready
            else:
                self._cache = self._draw(self._view)
            self._drawn_key = key
        return self._cache

    def draw_ahead(self, view: "View") -> None:
        """Draw the picture of ``view`` now, for :meth:`picture` to use when its key comes up.
        The screen calls this while idle with the View a step on or back."""
        key = self.content_key(view)
        if key == self._drawn_key or key in self._ready or not self.region:
            return
        picture = self._draw(view)
        made_for = (key, self.visual_style, self.content_size)
        self._keep(key, (picture, self._strips_of(picture, made_for), made_for))

    def has_picture(self, view: "View") -> bool:
        """Whether the picture of ``view`` is the one shown or one drawn ahead."""
        key = self.content_key(view)
        return key == self._drawn_key or key in self._ready

    def _keep(self, key, drawing: tuple) -> None:
        self._ready[key] = drawing
        if len(self._ready) > READY_PICTURES:
            del self._ready[next(iter(self._ready))]  # the oldest

    def _draw(self, view: "View | None") -> Text:
        if view is None:
            return Text("")
        if self.NEEDS_TRACE and view.trace is None:
            return Text("computing…", style="dim")
        if view.trace is not None and not self.draws(view.trace):
            return Text("(not drawn for this model)", style="dim")
        width, height = self.content_size.width, self.content_size.height
        seen = view.reading(self.READS, type(self).__name__)
        legend = self.legend_line(seen)
        if not (legend and height >= LEGEND_ROOM[1] and width >= len(legend)):
            return self.draw(seen, width, height)
        picture = self.draw(seen, width, height - 1)
        sign = self.legend_sign(seen)
        if sign and sign not in picture.plain:  # (a legend for a sign the picture lacks: none)
            return picture
        picture = picture.copy()
        picture.rstrip()
        lines = picture.split("\n", allow_blank=True)[: height - 1]
        lines += [Text("")] * (height - 1 - len(lines))
        return Text("\n").join([*lines, Text(legend, style="dim italic")])

    def legend_sign(self, view: "View") -> str:
        """The sign the legend line explains: the line is left out of a picture without it
        (the maximised Step pane writes whole vectors, no ‖v‖). "": always shown."""
        return ""

    def legend_line(self, view: "View") -> str:
        """The legend line for ``view`` (a pane whose signs depend on the scenario says so
        here); it reads only what the pane's ``READS`` name, so the picture's key covers it."""
        return self.LEGEND_LINE

    def render(self) -> Text:
        return self.picture()

    def _lines(self) -> list[Strip]:
        """The picture as one Strip per line, made again only when the picture changed."""
        picture = self.picture()
        made_for = (self._drawn_key, self.visual_style, self.content_size)
        if made_for != self._strips_for:
            self._strips = self._strips_of(picture, made_for)
            self._strips_for = made_for
        return self._strips

    def _strips_of(self, picture: Text, made_for: tuple) -> list[Strip]:
        maker, theme = self._maker, self.app.ansi_theme
        if maker is None or maker.base != made_for[1] or maker.ansi_theme != theme:
            maker = self._maker = StripMaker(self.app.console, made_for[1], theme)
        return maker.strips(picture, made_for[2].height)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._lines()  # once per paint; render_line below is called for every line of crop
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if self.text_selection is not None:  # Textual's own renderer draws the selection
            return super().render_line(y)
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width, self.visual_style.rich_style)

    # -- after a change of View ----------------------------------------------------------------
    def sync(self) -> None:
        """Repaint the lines whose content changed (nothing when the content key is the same)."""
        if self.content_key() == self._drawn_key:
            return
        old, old_for = self._strips, self._strips_for
        if old_for is None or not self.region or self.text_selection is not None:
            self.refresh()  # not painted yet, hidden, or being selected: draw when painted
            return
        new = self._lines()
        if len(new) != len(old) or self._strips_for[1:] != old_for[1:]:
            self.refresh()  # another number of lines, size or style: all of it
            return
        changed = [changed_cells(a, b, y) for y, (a, b) in enumerate(zip(old, new)) if a != b]
        if changed:
            self.refresh(*changed)


def changed_cells(old: Strip, new: Strip, y: int) -> Region:
    """The part of line ``y`` that differs between two pictures of it: the cells between the
    segments the two share at the start and those they share at the end."""
    a, b = list(old), list(new)
    same = 0
    start = 0
    while same < min(len(a), len(b)) and a[same] == b[same]:
        start += a[same].cell_length
        same += 1
    end_a, end_b = old.cell_length, new.cell_length
    for sa, sb in zip(reversed(a[same:]), reversed(b[same:])):
        if sa != sb:
            break
        end_a -= sa.cell_length
        end_b -= sb.cell_length
    end = max(end_a, end_b, start + 1)
    return Region(start, y, end - start, 1)


_start = itemgetter(0)
_NULL = RichStyle.null()
#: At most this many styles-with-offsets are kept per pane (a few hundred in practice).
OFFSET_CACHE_SIZE = 4096


class StripMaker:
    """Turns pane pictures (Rich Text) into Strips, each span's style laid over ``base`` (the
    pane's own colours) exactly as Textual's Content renderer does it, but without wrapping
    (pictures are drawn to fit) and with the combined styles cached across pictures."""

    def __init__(self, console: "Console", base: Style, ansi_theme: "TerminalTheme") -> None:
        self.console, self.base, self.ansi_theme = console, base, ansi_theme
        self._final: dict = {}  # a Rich style, or a tuple of style names -> the final Rich style
        self._with_offset: dict = {}  # (final style, x, y) -> that style with its offset

    def _over_base(self, style: RichStyle) -> RichStyle:
        final = self._final.get(style)
        if final is None:
            final = (self.base + Style.from_rich_style(style, self.ansi_theme)).rich_style
            self._final[style] = final
        return final

    def _style(self, *names) -> RichStyle:
        """The final style of text styled ``names`` (names or Rich styles, later ones on top)."""
        final = self._final.get(names)
        if final is None:
            get = self.console.get_style
            rich = RichStyle.combine(get(n, default=_NULL) if isinstance(n, str) else n
                                     for n in names)
            final = self._final[names] = self._over_base(rich)
        return final

    def _parts(self, line: Text) -> list[tuple[str, RichStyle]]:
        """One line of text (no newlines) as (text, final style) pieces."""
        plain, style = line.plain, line.style
        parts = []
        pos = 0
        for start, end, span_style in sorted(line.spans, key=_start):
            if start < pos:  # overlapping spans: let Rich combine them
                return [(seg.text, self._over_base(seg.style))
                        for seg in line.render(self.console) if seg.text]
            if start >= end:
                continue
            if start > pos:
                parts.append((plain[pos:start], self._style(style)))
            parts.append((plain[start:end], self._style(style, span_style)))
            pos = end
        if pos < len(plain):
            parts.append((plain[pos:], self._style(style)))
        return parts

    def strip(self, line: Text, y: int) -> Strip:
        """Line ``y`` of a picture as a Strip. Each segment carries its offset in the pane (what
        a mouse selection starts from), as Textual's renderer and Strip.apply_offsets give it;
        the styles with offsets are cached, as the same style tends to start at the same place
        from one step to the next."""
        with_offset = self._with_offset
        if len(with_offset) > OFFSET_CACHE_SIZE:
            with_offset.clear()
        segments = []
        x = 0
        for text, style in self._parts(line):
            key = (style, x, y)
            final = with_offset.get(key)
            if final is None:
                final = with_offset[key] = style + RichStyle.from_meta({"offset": (x, y)})
            segments.append(Segment(text, final))
            x += len(text)
        return Strip(segments, line.cell_len)

    def strips(self, text: Text, height: int) -> list[Strip]:
        """The first ``height`` lines of ``text`` as Strips."""
        lines = text.lines if isinstance(text, Block) else text.split("\n", allow_blank=True)
        return [self.strip(line, y) for y, line in enumerate(lines[:max(height, 0)])]
