"""RnnApp.export_screenshot gives Textual's own SVG byte for byte (it only takes the checksum
that names the picture's CSS classes faster): on every screen the snapshots show, in each theme."""

from __future__ import annotations

import pytest
from helpers import quiet_app, settle
from textual.app import App

pytestmark = pytest.mark.warm_cache


@pytest.mark.parametrize("scenario,keys,theme", [
    ("king", ["right", "right", "b"], "ansi-dark"),
    ("sine", ["right"], "textual-dark"),
    ("echo", ["question_mark"], "textual-light"),
    ("translate", ["right", "right"], "ansi-dark"),
])
async def test_the_svg_is_textuals_own(scenario, keys, theme):
    app = quiet_app(scenario, theme=theme)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        for title in (None, "a title with <markup> & ünïcode"):
            ours = app.export_screenshot(title=title)
            same(ours, App.export_screenshot(app, title=title))
            assert "terminal-" in ours and len(ours) > 10_000
        same(app.export_screenshot(simplify=True), App.export_screenshot(app, simplify=True))


def same(ours: str, textuals: str) -> None:
    """Equal, or fail with where they part (pytest's own diff of two 70 kB strings is slow)."""
    if ours != textuals:
        at = next((i for i, (a, b) in enumerate(zip(ours, textuals)) if a != b),
                  min(len(ours), len(textuals)))
        pytest.fail(f"the SVGs part at character {at}: ours {ours[at - 40:at + 40]!r}, "
                    f"Textual's {textuals[at - 40:at + 40]!r}")
