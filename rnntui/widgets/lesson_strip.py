"""The lesson strip: a few docked lines under the panes with the step's words, task or question.

It draws the :class:`~rnntui.lessons.session.Card` it is handed (``show``) and knows nothing of
lessons otherwise. A head line names the lesson, ``step 3/7`` and the keys; below it the
narration, then the task (☐ to do, ✓ done, with what it showed) or the question (choices 1-4,
and after a pick ✓ or ✗ with why). Text longer than the strip scrolls (Tab to it, then ↑↓).
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

__all__ = ["LessonStrip", "card_parts", "card_text", "head_text"]

TODO, DONE, WRONG, ASK = "☐", "✓", "✗", "?"


def head_text(card, width: int) -> Text:
    """``Lesson 3 · Next-word prediction     step 3/7 · . next , back · L leave``, fitted."""
    keys = "  . next  , back  L leave" if card.index < card.count - 1 else \
        "  . finish  , back  L leave"
    tails = [keys, ""]
    if card.prompt is not None and card.picked is None:  # the answer keys go last
        answer = f"  1-{len(card.choices)} answer"
        tails = [answer + keys, answer, ""]
    right = f"step {card.index + 1}/{card.count}"
    name = f"Lesson {card.number}: " if card.number else "Lesson: "
    title = card.title + (f" · {card.step_title}" if card.step_title else "")
    for tail in tails:
        room = width - len(name) - len(right) - len(tail) - 3
        if room >= 8 or tail == tails[-1]:
            break
    room = max(room, 1)
    if len(title) > room and len(card.title) <= room:
        title = card.title  # the step's title goes before a word of the lesson's is cut
    elif len(title) > room:  # cut at a word: never part of one
        cut = title[: max(room - 1, 0)]
        title = (cut[: cut.rfind(" ")] if " " in cut else cut).rstrip(" ·:") + "…"
    text = Text.assemble(("▌", "bold"), (name, "bold"), (title, "bold"))
    gap = width - text.cell_len - len(right) - len(tail)
    text.append(" " * max(gap, 1))
    text.append(right, "bold reverse")
    text.append(tail, "dim")
    return text


def card_parts(card, width: int | None = None) -> tuple[Text, Text | None]:
    """The strip's scrolling body and the part pinned under it: a task still to do (its
    ``☐ Task:`` line) or a question not yet answered (prompt and choices) stays in view on the
    smallest screen, and only the narration scrolls. Once done or answered, all of it scrolls
    (the reveal below the narration)."""
    if card.do is not None and not card.done:
        pinned = Text.assemble((f"{TODO} Task: ", "bold"), card.do)
    elif card.prompt is not None and card.picked is None:
        pinned = _question(card, width)
    else:
        return card_text(card, width), None
    body = Text(card.narration)
    if card.pending:
        body.append("\n")
        body.append("(the screen is getting there: training or computing…)", "dim")
    return body, pinned


def _question(card, width: int | None = None) -> Text:
    """The prompt and its choices: on one line when they fit ``width``, else one a line (a
    choice's number never ends a line without its words)."""
    out = Text()
    out.append(f"{ASK} ", "bold")
    out.append(card.prompt, "bold")
    out.append("\n")
    marks = 2 if card.picked is not None else 0
    one_line = sum(len(c) + 2 + marks for c in card.choices) + 3 * (len(card.choices) - 1)
    gap = "   " if width is None or one_line <= width else "\n"
    for i, choice in enumerate(card.choices, start=1):
        if i > 1:
            out.append(gap)
        if card.picked is not None and i == card.answer:
            out.append(f"{DONE} ", "bold")
        elif card.picked is not None and i == card.picked:
            out.append(f"{WRONG} ", "bold")
        out.append(f"{i}", "bold reverse" if i == card.picked else "bold")
        out.append(f" {choice}")
    return out


def card_text(card, width: int | None = None) -> Text:
    """The strip's body: narration, then the task or the question (its choices on one line
    when they fit ``width``)."""
    out = Text(card.narration)
    if card.do is not None:
        out.append("\n")
        if card.done:
            out.append(f"{DONE} ", "bold")
            out.append(card.do, "strike dim")
            if card.then:
                out.append("\n")
                out.append(card.then, "italic")
        else:
            out.append(f"{TODO} Task: ", "bold")
            out.append(card.do)
    if card.prompt is not None:
        out.append("\n")
        out.append_text(_question(card, width))
        if card.picked is not None:
            right = card.picked == card.answer
            out.append("\n")
            out.append(f"{DONE} Right. " if right else f"{WRONG} Not this one: it is "
                       f"{card.answer}. ", "bold")
            out.append(card.why or "")
    if card.pending:
        out.append("\n")
        out.append("(the screen is getting there: training or computing…)", "dim")
    return out


class LessonStrip(Vertical):
    """The docked narration strip (hidden while no lesson is shown)."""

    DEFAULT_CSS = """
    LessonStrip {
        height: 5;
        display: none;
        background: $boost;
    }
    LessonStrip.-shown { display: block; }
    LessonStrip #lesson-head { height: 1; background: $panel; padding: 0 1; }
    LessonStrip #lesson-room { height: 1; padding: 0 1; display: none; text-style: bold; }
    LessonStrip #lesson-room.-shown { display: block; }
    LessonStrip #lesson-scroll { padding: 0 1; }
    LessonStrip #lesson-scroll { height: 1fr; scrollbar-size-vertical: 1; }
    LessonStrip #lesson-body { height: auto; }
    LessonStrip #lesson-pinned { height: auto; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "leave", "leave lesson", id="lesson-strip-leave", show=False),
    ]

    _card = None
    _built = False

    def _build(self) -> None:
        """Mount the strip's parts, the first time a card is shown: most runs of the app open
        no lesson, and five widgets fewer to style and lay out start it sooner (~12 ms)."""
        self._built = True
        self._head = Static(id="lesson-head")
        self._room = Static(id="lesson-room")  # the classroom's line: never scrolled away
        self._body = Static(id="lesson-body")
        self._scroll = VerticalScroll(self._body, id="lesson-scroll")
        self._pinned = Static(id="lesson-pinned")
        self.mount(self._head, self._room, self._scroll, self._pinned)

    def show(self, card) -> None:
        """Draw ``card`` (None hides the strip)."""
        old, self._card = self._card, card
        self.set_class(card is not None, "-shown")
        self.screen.set_class(card is not None, "-lesson")  # (notices go to the top: app.tcss)
        if card is None:
            return
        if not self._built:
            self._build()
        self._draw()
        scroll = self._scroll
        if old is None or old.index != card.index or old.title != card.title:
            scroll.scroll_home(animate=False)
        elif (card.done and not old.done) or (card.picked is not None and old.picked is None):
            self.call_after_refresh(scroll.scroll_end, animate=False)

    def _draw(self) -> None:
        card = self._card
        if card is None or not self._built:
            return
        width = max((self.size.width or self.app.size.width) - 2, 10)
        self._head.update(head_text(card, width))
        room = getattr(card, "room", None)
        line = self._room
        line.set_class(bool(room), "-shown")
        line.update(Text(room or "", no_wrap=True, overflow="ellipsis"))
        body, pinned = card_parts(card, width - 2)
        self._body.update(body)
        bottom = self._pinned
        bottom.display = pinned is not None
        bottom.update(pinned if pinned is not None else "")
        # The strip grows (never shrinks below its own height) so that the pinned part and
        # one line of narration fit: on a narrow screen a question's prompt and choices can
        # take four lines.
        need = 0
        if pinned is not None:
            from rich.console import Console
            console = Console(width=width, color_system=None, legacy_windows=False)
            need = 2 + len(console.render_lines(pinned, pad=False)) + bool(room)
        base = 9 if self.screen.has_class("-tall") else 5  # (app.tcss and DEFAULT_CSS)
        want = need if need > base else None  # None: the stylesheet's height
        now = self.styles.inline.height
        if (now.value if now is not None else None) != want:
            self.styles.height = want

    def on_resize(self) -> None:
        self._draw()

    @property
    def card(self):
        return self._card

    def action_leave(self) -> None:
        lessons = getattr(self.screen, "lessons", None)
        if lessons is not None:
            lessons.leave()
