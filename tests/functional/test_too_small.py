"""The size notice and every screen the app can show: whichever is opened first, resizes below
and above the minimum size never crash the app, the notice is the one top screen while the
terminal is too small, and the screen it covered comes back when it grows.

The command palette (ctrl+p), a resize to 30x10 and ctrl+p again once crashed the app with
DuplicateIds: the notice was pushed over the palette, and the palette again over the notice.
"""

from __future__ import annotations

import pytest
from helpers import settle, wait_until
from textual.command import CommandPalette
from textual.geometry import Size

from rnntui.screens import HelpScreen, PickerScreen, TextInputScreen, TooSmallScreen
from rnntui.screens.about import AboutScreen
from rnntui.screens.compare import CompareScreen
from rnntui.screens.generate import GenerateScreen
from rnntui.screens.lessons import LessonListScreen
from rnntui.screens.too_small import too_small

SMALL, BIG = Size(30, 10), Size(80, 24)
assert too_small(SMALL) and not too_small(BIG)

#: The key that opens each screen over the main screen, and the screen it opens.
OPENERS = {"question_mark": HelpScreen, "o": PickerScreen, "L": LessonListScreen,
           "i": TextInputScreen, "w": GenerateScreen, "d": AboutScreen, "C": CompareScreen,
           "ctrl+p": CommandPalette}


def notices(app) -> list:
    return [s for s in app.screen_stack if isinstance(s, TooSmallScreen)]


async def resize(pilot, size) -> None:
    await pilot.resize_terminal(*size)
    await wait_until(pilot, lambda: pilot.app.size == size, f"the app at {size}")


async def expect(pilot, opened, where: str) -> None:
    """The notice alone on top while too small, else ``opened`` on top; the app alive."""
    app = pilot.app
    assert app._exception is None, f"{where}: {app._exception!r}"
    stack = [type(s).__name__ for s in app.screen_stack]
    if too_small(app.size):
        assert isinstance(app.screen, TooSmallScreen) and len(notices(app)) == 1, \
            f"{where}: {stack}"
        assert opened in app.screen_stack, f"{where}: {stack}"
    else:
        assert app.screen is opened and not notices(app), f"{where}: {stack}"


async def open_screen(pilot, key: str, small: bool):
    """Open the screen ``key`` opens: by the key, or while the notice shows (keys do nothing
    then) by its action, as --at or a presenter's step opens one; returns the screen."""
    app, kind = pilot.app, OPENERS[key]
    if not small:
        await pilot.press(key)
    elif kind is CommandPalette:
        app.action_command_palette()
    else:
        action = next(b.action for b in app.main_screen.BINDINGS if key in b.key.split(","))
        await app.main_screen.run_action(action)
    await wait_until(pilot, lambda: any(isinstance(s, kind) for s in app.screen_stack),
                     kind.__name__)
    return next(s for s in app.screen_stack if isinstance(s, kind))


async def close_all(pilot) -> None:
    app = pilot.app
    for _ in range(3):
        if app.screen is app.main_screen:
            return
        await pilot.press("escape")
    assert app.screen is app.main_screen, [type(s).__name__ for s in app.screen_stack]


@pytest.mark.parametrize("first", ["screen", "small"])
async def test_every_screen_survives_resizes_below_and_above_the_minimum(app_factory, first):
    """Each screen opened, then small, big, small, big (ctrl+p pressed over the notice); or
    small first, the screen opened under the notice, then big, small, big."""
    app = app_factory("king", train=False)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        for key in OPENERS:  # compare last: it trains two cells in the background
            name = OPENERS[key].__name__
            if first == "small":
                await resize(pilot, SMALL)
            opened = await open_screen(pilot, key, small=first == "small")
            await expect(pilot, opened, f"{first} first, {name} opened")
            sizes = (SMALL, BIG, SMALL, BIG) if first == "screen" else (BIG, SMALL, BIG)
            for size in sizes:
                await resize(pilot, size)
                await expect(pilot, opened, f"{first} first, {name}, then {size}")
                if too_small(size):
                    await pilot.press("ctrl+p")
                    await expect(pilot, opened, f"{first} first, {name}, {size}, ctrl+p")
            await close_all(pilot)
