"""The key bar (rnntui/screens/keybar.py) draws what Textual's compact Footer draws, in one widget.

The reference is Textual's own Footer, mounted in the same little app with the same bindings
(lone keys, a compact group, a disabled key, a tooltip) and the theme the snapshots use: the
bottom row must be the same text in the same styles, cell for cell.
"""

from __future__ import annotations

import pytest
from textual.app import App
from textual.binding import Binding
from textual.widgets import Footer, Static

from rnntui.screens.keybar import KeyBar

STEP = Binding.Group("step", compact=True)


class Keys(App):
    """Bindings of every kind the key bar draws; ``bar`` picks the footer."""

    CSS = "Footer.-compact FooterLabel { margin: 0 1 0 0; }"  # (rnntui/app.tcss has it too)
    BINDINGS = [
        Binding("left", "step(-1)", "back", group=STEP),
        Binding("right", "step(1)", "forward", group=STEP),
        Binding("space", "play", "play"),
        Binding("x", "locked", "locked"),
        Binding("t", "train", "train", tooltip="Train on, or stop."),
        Binding("question_mark", "help", "help"),
        Binding("z", "hidden", "hidden", show=False),
    ]

    def __init__(self, bar: str, drop_first=()) -> None:
        super().__init__()
        self.bar, self.drop_first, self.done = bar, drop_first, []
        self.theme = "ansi-dark"

    def compose(self):
        yield Static("keys")
        if self.bar == "footer":
            yield Footer(compact=True, show_command_palette=False)
        else:
            yield KeyBar(drop_first=self.drop_first)

    def check_action(self, action, parameters):
        return None if action == "locked" else True  # shown, but disabled

    def action_step(self, by: int) -> None:
        self.done.append(("step", by))

    def action_play(self) -> None:
        self.done.append(("play",))

    def action_train(self) -> None:
        self.done.append(("train",))


async def bottom_row(bar: str, size=(80, 6), theme="ansi-dark", drop_first=(), hover=None):
    """The bottom row's (text, style) pieces; ``hover``: the mouse over that column first."""
    app = Keys(bar, drop_first)
    async with app.run_test(size=size) as pilot:
        app.theme = theme
        await pilot.pause()
        if hover is not None:
            await pilot.hover(offset=(hover, size[1] - 1))
        await pilot.pause()
        await pilot.pause()
        strip = app.screen._compositor.render_strips()[-1].simplify()
        # (a style's text form: the mouse offsets Textual keeps in a style are no colour)
        return [(seg.text, str(seg.style)) for seg in strip]


@pytest.mark.parametrize("theme", ["ansi-dark", "textual-dark", "textual-light"])
async def test_the_line_is_textuals_compact_footer_cell_for_cell(theme):
    footer = await bottom_row("footer", theme=theme)
    bar = await bottom_row("keybar", theme=theme)
    assert "".join(t for t, _ in footer).startswith(" ←→ step space play x locked t train")
    assert bar == footer


@pytest.mark.parametrize("words", ["train", "locked", "←"])
async def test_the_key_under_the_mouse_looks_as_on_textuals_footer(words):
    x = " ←→ step space play x locked t train".index(words)
    footer = await bottom_row("footer", theme="textual-dark", hover=x)
    assert footer != await bottom_row("footer", theme="textual-dark")  # (it is highlighted)
    assert await bottom_row("keybar", theme="textual-dark", hover=x) == footer


async def test_a_narrow_bar_leaves_out_the_keys_named_first_and_keeps_the_last():
    row = "".join(t for t, _ in await bottom_row("keybar", size=(30, 6),
                                                  drop_first=("space", "x", "t")))
    assert row.rstrip() == " ←→ step t train ? help"  # space and x went, in that order
    row = "".join(t for t, _ in await bottom_row("keybar", size=(80, 6),
                                                  drop_first=("space", "x", "t")))
    assert "space play x locked t train ? help" in row  # room for all: none left out


async def test_a_click_presses_the_key_and_a_disabled_key_rings_the_bell():
    app = Keys("keybar")
    bells = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(80, 6)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        line = bar.render_line(0).text
        await pilot.click(KeyBar, offset=(line.index("→"), 0))
        await pilot.click(KeyBar, offset=(line.index("play"), 0))  # (the words press it too)
        await pilot.click(KeyBar, offset=(line.index("step"), 0))  # a group's label: nothing
        await pilot.click(KeyBar, offset=(line.index("locked"), 0))
        await pilot.pause()
        assert app.done == [("step", 1), ("play",)] and bells == [1]


async def test_the_key_under_the_mouse_is_highlighted_with_its_tooltip():
    app = Keys("keybar")
    async with app.run_test(size=(80, 6)) as pilot:
        app.theme = "textual-dark"  # (the ANSI themes draw no hover background)
        await pilot.pause()
        bar = app.query_one(KeyBar)
        line = bar.render_line(0).text
        before = {seg.text: seg.style for seg in bar.render_line(0)}
        await pilot.hover(KeyBar, offset=(line.index("train"), 0))
        await pilot.pause()
        after = {seg.text: seg.style for seg in bar.render_line(0)}
        assert bar.tooltip == "Train on, or stop."
        assert after["t"] != before["t"]
        assert after["space"] == before["space"]
        await pilot.hover(Static)
        await pilot.pause()
        assert bar.tooltip is None
        assert {seg.text: seg.style for seg in bar.render_line(0)}["t"] == before["t"]


class Counted(Keys):
    readies = 0

    def on_key_bar_ready(self) -> None:
        self.readies += 1


async def test_the_bar_follows_the_bindings_and_says_once_when_it_is_first_ready():
    app = Counted("keybar")
    async with app.run_test(size=(80, 6)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        assert bar.keys == ["left", "right", "space", "x", "t", "question_mark"]  # not z
        app.bind("n", "play", description="new")  # play's second key: play shows once
        app.bind("m", "mark", description="mark")
        app.refresh_bindings()
        await pilot.pause()
        assert bar.keys[-1] == "m" and "n" not in bar.keys
        assert bar.render_line(0).text.rstrip().endswith("? help m mark")
        assert app.readies == 1
