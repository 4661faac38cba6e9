"""Running the app headless to an SVG (:func:`render_svg`); interactively is rnntui.cli.run_interactive.

The headless render waits for the app to settle (training and trace workers finished) before and
after each key, so the same scenario, size and keys give the same picture every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from textual.pilot import Pilot


#: Seconds between two looks at whether the app is done.
POLL = 0.005
#: Give up waiting for background work after this many looks (a safety net: ten minutes).
MAX_SETTLE_ROUNDS = 120_000


def busy(app) -> str | None:
    """What the app is still doing in the background, or None when it is done: a worker not
    finished (pending or running; traces computed ahead for neighbouring settings aside: they
    change no picture), the first full frame not yet out, a trace or its Jacobian norms asked of
    a worker and not yet shown, training whose end the screen has not yet seen, the initial loss
    not yet in."""
    for worker in app.workers:
        if not worker.is_finished and not str(worker.group).endswith("ahead"):
            return f"worker {worker.group!r} is {worker.state.name}"
    screen = app.main_screen
    if not getattr(screen, "_started", True):  # (set once the first full frame is out)
        return "the first frame is not drawn yet"
    if screen.jobs.pending is not None:
        return "a trace is being computed"
    if getattr(screen.jobs, "norms_pending", None) is not None:
        return "the Jacobian norms are being computed"
    view = screen.view
    if view.training is not None:
        return "training"
    if view.loss_pending:
        return "the initial loss is being computed"
    for other in getattr(app.screen, "views", ()):  # compare mode's two columns
        if other.training is not None or other.needs_trace:
            return "compare mode is training or tracing"
    return None


async def settle(pilot: Pilot, *, poll: float = POLL, rounds: int = MAX_SETTLE_ROUNDS,
                 strict: bool = False) -> None:
    """Wait until the app is done (see :func:`busy`) and the screen has handled every message.

    Unlike ``app.workers.wait_for_complete()`` this never raises for a worker that a later key
    cancelled, and it sees a worker that is pending as well as one that is running; unlike
    ``pilot.pause()`` it does not wait for an idle CPU (a training thread keeps it busy). After
    ``rounds`` looks ``poll`` seconds apart it goes on as things are, or with ``strict`` (the
    tests: tests/helpers.py) raises AssertionError saying what the app is still doing."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause(poll)
        if busy(app) is None:
            await pilot.pause(poll)  # what the last answer posted
            if busy(app) is None:
                break
    else:
        if strict:
            raise AssertionError(f"the app never settled: {busy(app)}")
    animator = app.animator  # (waiting for no animation costs two ~20 ms idle waits)
    if getattr(animator, "_animations", True) or getattr(animator, "_scheduled", True):
        await pilot.wait_for_scheduled_animations()
    app.screen._on_timer_update()  # the screen's pending repaint (as pause() does), and
    await pilot._wait_for_screen()  # every message it posted


async def press_and_settle(pilot: Pilot, keys: Iterable[str]) -> None:
    """Press each key in turn, letting any work it starts finish before the next."""
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def render_svg(scenario, size: tuple[int, int] = (100, 32),
               press: Iterable[str] = (), *, at=None, source: str | None = None) -> str:
    """The app on ``scenario`` (a name, a path or a loaded Scenario) at ``size`` (columns, rows),
    opened at position ``at`` (a string or Position, optional), after pressing ``press``, as SVG.

    Keys use Textual's names: ``right``, ``left``, ``b``, ``left_square_bracket``,
    ``question_mark``, ... Training the scenario asks for is finished first.
    """
    from .app import make_app
    # (no drawing ahead: pictures of the steps next to this one would never be shown)
    app = make_app(scenario, cursor_blink=False, at=at, source=source, draw_ahead=False)
    keys = list(press)

    async def run() -> str:
        async with app.run_test(size=tuple(size)) as pilot:
            await press_and_settle(pilot, keys)
            return app.export_screenshot(title=app.title)

    return asyncio.run(run())
