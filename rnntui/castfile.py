"""``rnntui replay FILE --asciicast OUT.cast``: each event's screen, rendered headless, as an
asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/) that asciinema's web player
plays: a JSON header line, then one ``[time, "o", text]`` event per screen (the whole screen,
drawn from its top-left corner) and one ``[time, "m", label]`` per marker and lesson step.
"""

from __future__ import annotations

import asyncio
import io
import json

from .safe_text import visible

#: Clear the screen and go to its top-left corner before each screen is drawn.
CLEAR = "\x1b[H\x1b[2J"


def screen_text(app) -> str:
    """The app's screen as a terminal would receive it (escape sequences and all)."""
    from rich.console import Console
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True,
                                                  screen_stack=app._background_screens)
    return CLEAR + update.render_segments(console)


def cast_lines(role, scenario, pos, size: tuple[int, int]) -> list[str]:
    """The lines of the asciicast of ``role``'s recording (rnntui.replay.ReplayRole), its
    app opened on ``scenario`` at ``pos``."""
    from .app import make_app
    from .screenshot import settle
    rec = role.recording
    app = make_app(scenario, at=pos, source=pos.scenario, cursor_blink=False, draw_ahead=False)
    app.main_screen.classroom = role
    header = {"version": 2, "width": size[0], "height": size[1],
              "title": visible(f"rnntui replay: {rec.path}"[:200]),
              "env": {"TERM": "xterm-256color"}}
    lines = [json.dumps(header, ensure_ascii=False)]

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            last = None
            for i, event in enumerate(rec.events):
                if event["type"] in ("marker", "step"):
                    label = visible(event.get("label") or _step_label(event))
                    lines.append(json.dumps([event["t"], "m", label], ensure_ascii=False))
                if rec.states[i] is None or event["type"] in ("marker", "poll"):
                    continue  # (nothing on screen changes: no new screen)
                role.go(i)
                await settle(pilot)
                text = screen_text(app)
                if text != last:
                    lines.append(json.dumps([event["t"], "o", text], ensure_ascii=False))
                    last = text

    asyncio.run(run())
    return lines


def _step_label(event: dict) -> str:
    lesson = event.get("lesson")
    if lesson is None:
        return "lesson left"
    return f"{lesson['name']}: step {lesson['step'] + 1}"


def cast_text(role, scenario, pos, size: tuple[int, int]) -> tuple[str, int]:
    """The asciicast's text and its number of screens."""
    lines = cast_lines(role, scenario, pos, size)
    return "\n".join(lines) + "\n", sum(1 for line in lines[1:] if json.loads(line)[1] == "o")
