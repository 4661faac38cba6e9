"""The rnntui App: the factory the CLI and the tests share, the theme, and the main screen.

Everything else lives elsewhere: the keys and their actions, the play timer and training on
the main screen (screens/main.py), background work in jobs.py, the size policy with the screens
(screens/too_small.py), saving in export.py, and what is shown in the View (view.py).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.filter import Monochrome, NoColor
from textual.reactive import Reactive
from textual.screen import Screen

from engine.types import Scenario, ScenarioError

from .position import Position, check_epoch
from .safe_text import visible
from .screens import MIN_SIZE, MainScreen, TooSmallScreen, check_size
from .view import View

#: The theme: Textual's ANSI theme uses the terminal's own 16 colours, so it reads the same in a
#: 16-colour console, over SSH with 256 colours and in truecolor, on dark and light terminals.
DEFAULT_THEME = "ansi-dark"


class RnnApp(App):
    """Step through a recurrent network: forward, backward and across training epochs."""

    CSS_PATH = "app.tcss"
    TITLE = "rnntui"
    ALLOW_IN_MAXIMIZED_VIEW = "KeyBar, #status"
    #: Ctrl+C quits, as it stops a program in a terminal: from the main screen and from every
    #: dialog, a box one types in too (Textual's own default only says how to quit, and inside
    #: a text box Ctrl+C copies, so it did nothing there). q quits at any moment anyway. In a
    #: browser tab (rnntui serve) Ctrl+C is the copy key, so a reflex must not end the session:
    #: there it only says how to quit.
    BINDINGS = [Binding("ctrl+c", "interrupt", "quit", show=False, priority=True,
                        id="ctrl-c-quit"),
                # with a lab open (rnntui lab NAME): from the main screen back to the lab
                Binding("escape", "back_to_lab", "lab", show=False, id="back-to-lab")]
    #: Textual's own default theme is textual-dark; starting in ours (rather than setting it in
    #: __init__) spares a second parse of every stylesheet at start-up (~10 ms).
    theme: Reactive[str] = Reactive(DEFAULT_THEME)

    def __init__(self, scenario: Scenario, *, source: str | None = None,
                 theme: str | None = None, export_dir: str | os.PathLike | None = None,
                 cursor_blink: bool = True, **screen_options) -> None:
        # Everything imported so far (Textual, NumPy, the engine: ~50,000 objects) lives as long
        # as the app: freeze it out of the garbage collector's full scans, which otherwise take
        # 20-40 ms each, once during start-up and now and then later, in the middle of a step.
        gc.freeze()
        super().__init__()
        wanted = theme or os.environ.get("TEXTUAL_THEME") or DEFAULT_THEME
        if wanted != self.theme and wanted in self.available_themes:
            self.theme = wanted
        if self.no_color:
            # Textual chose its NO_COLOR filter for its own default theme before ours was set;
            # its greyscale filter turns an ANSI theme's colours into black on black. Plain
            # "no colour" keeps the terminal's own foreground and background, and bold/reverse.
            self._filters[:] = [f for f in self._filters
                                if not isinstance(f, (Monochrome, NoColor))] + [NoColor()]
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.cursor_blink = cursor_blink
        #: Set by q: from then on no other action runs (keys queued behind q do nothing).
        self.quitting = False
        self._main = MainScreen(scenario, source=source, **screen_options)
        #: The lab screen (rnntui.screens.lab), when a lab is open: Esc on the main screen
        #: comes back to it.
        self.lab = None
        #: A lab screen to open as the app starts (rnntui lab NAME).
        self.lab_at_start = None
        self.title = f"rnntui: {visible(scenario.name)}"

    def on_mount(self) -> None:
        if self.lab_at_start is not None:
            self.open_lab(self.lab_at_start)

    def get_default_screen(self) -> Screen:
        return self._main

    @property
    def main_screen(self) -> MainScreen:
        return self._main

    @property
    def view(self) -> View:
        """What the main screen shows now."""
        return self._main.view

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # quitting, or the size notice up (ctrl+p once opened the palette over it): only quit
        quit_only = self.quitting or isinstance(self.screen, TooSmallScreen)
        if quit_only and action not in ("quit", "interrupt"):
            return False
        if action == "back_to_lab":
            return self.lab is not None and self.screen is self._main
        return super().check_action(action, parameters)

    # -- a lab (rnntui lab NAME) ---------------------------------------------------------------
    def open_lab(self, screen) -> None:
        """Show the lab screen ``screen`` over the main screen, and keep it (with its sweep)
        while a run is open on the main screen."""
        if self.lab is None:
            self.lab = screen
            self.install_screen(screen, "lab")
        if self.screen is not self.lab:
            self.push_screen(self.lab)

    def action_back_to_lab(self) -> None:
        if self.lab is not None and self.screen is self._main:
            self.push_screen(self.lab)

    def open_lab_run(self, lab, job: dict) -> None:
        """The main screen on the run ``job`` of ``lab`` (rnntui.labrun): its scenario, trained
        as the lab trained it (from the training cache when the lab's worker kept it)."""
        from engine.lab import scenario_text
        from engine.scenario import loads

        from .labrun import run_name
        name = run_name(lab, job)
        try:
            sc = loads(scenario_text(job), name, files=False)
        except ScenarioError as err:
            self.notify(visible(str(err)), severity="error", markup=False, timeout=8)
            return
        if self.screen is self.lab:
            self.pop_screen()
        self._main.train_on_open = True
        self._main.use_scenario(sc, name)
        self.notify(visible(f"{sc.name}: every key works on this run; Esc comes back to the "
                            f"lab."), markup=False, timeout=5)

    def exit(self, *args, **kwargs) -> None:
        if self.lab is not None:  # q stops everything at once: the sweep's workers too
            self.lab.stop()
        super().exit(*args, **kwargs)

    def on_resize(self, event) -> None:
        """The size policy for every screen, Textual's own (the command palette) included:
        the app gets each resize first, whichever screen is on top."""
        if self._main.is_mounted:  # before that, the main screen checks once it is up
            check_size(self, event.size)

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """Textual's SVG of the screen, the same bytes, ~15 ms sooner for a full screen (a
        third of the export): Rich names the picture's CSS classes after a checksum of the
        repr of every segment (Console.export_svg with no unique_id), and the repr of a Style
        is slow; here each distinct style's is taken once, for the same checksum.
        tests/unit/test_export_svg.py compares the two."""
        import io
        import zlib

        from rich.console import Console
        from rich.segment import Segment

        assert self._driver is not None, "App must be running"
        width, height = self.size
        console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                          color_system="truecolor", record=True, legacy_windows=False,
                          safe_box=False)
        console.print(self.screen._compositor.render_update(
            full=True, screen_stack=self._background_screens, simplify=simplify))
        title = title or self.title
        with console._record_buffer_lock:
            segments = list(Segment.filter_control(console._record_buffer))
        styles: dict = {}
        parts = []
        for text, style, control in segments:  # repr(Segment), with each style's repr once
            if style is not None and style not in styles:
                styles[style] = repr(style)
            if control is not None:
                parts.append(f"Segment({text!r}, {styles.get(style, 'None')}, {control!r})")
            elif style is not None:
                parts.append(f"Segment({text!r}, {styles[style]})")
            else:
                parts.append(f"Segment({text!r})")
        checksum = zlib.adler32("".join(parts).encode("utf-8", "ignore")
                                + title.encode("utf-8", "ignore"))
        return console.export_svg(title=title, unique_id=f"terminal-{checksum}")

    def push_screen(self, screen, *args, **kwargs):
        """Push ``screen``; while the size notice shows it goes under the notice (compare mode
        opened by --at at start-up, a presenter's step in a follower), which stays on top."""
        if self.screen_stack and isinstance(self.screen, TooSmallScreen) \
                and not isinstance(screen, TooSmallScreen):
            self.pop_screen()
            pushed = super().push_screen(screen, *args, **kwargs)
            super().push_screen(TooSmallScreen(self.size))
            return pushed
        return super().push_screen(screen, *args, **kwargs)

    async def action_interrupt(self) -> None:
        """Ctrl+C: quit; in a browser tab, say how to quit (see BINDINGS)."""
        from .served import in_browser
        if in_browser():
            self.notify("Press q to quit (Ctrl+Q from inside a box you type in).",
                        title="Do you want to quit?", markup=False)
            return
        await self.action_quit()

    async def action_quit(self) -> None:
        self.quitting = True
        self._main.jobs.cancel()
        self.exit(0)


def load_scenario(scenario: str | os.PathLike | Scenario) -> Scenario:
    """A Scenario from a built-in name, a .toml path or a lab run's name (rnntui.labrun;
    raises ScenarioError), or as given."""
    if isinstance(scenario, Scenario):
        return scenario
    from .labrun import load_any
    return load_any(str(scenario))


def make_app(scenario: str | os.PathLike | Scenario = "king", *,
             at: str | Position | None = None, source: str | None = None,
             **options) -> RnnApp:
    """The app for ``scenario`` (a built-in name, a .toml path or a loaded Scenario; ``source``
    says how a loaded one was named, for positions).

    ``at``: a position (string or Position) to open at; a position naming another scenario
    opens that one. Options: ``theme`` (a Textual theme name; default ``$TEXTUAL_THEME`` if
    that names one, else ``ansi-dark``), ``train`` (train on open when the scenario has
    ``[train] epochs > 0``; default True), ``export_dir`` (default: the current folder),
    ``cursor_blink`` (False for snapshots), ``play_rate`` (steps per second), ``big_trace``
    (T x hidden size above which traces are computed in a worker), ``draw_ahead`` (draw the
    panes one step on and back while idle; default True).
    Raises :class:`ScenarioError` when the scenario cannot be loaded, and
    :class:`~rnntui.position.PositionError` for a bad position.
    """
    if source is None:
        source = scenario.name if isinstance(scenario, Scenario) else os.fspath(scenario)
    if isinstance(at, str):
        at = Position.parse(at, scenario=source)
    if at is not None and at.scenario != source:
        scenario = source = at.scenario
    sc = load_scenario(scenario)
    if at is not None:
        from .position import scenario_at
        sc = scenario_at(sc, at)
    if at is not None:
        check_epoch(at, sc)  # an epoch past the limit or budget: refused, not trained
    return RnnApp(sc, source=source, at=at, **options)


__all__ = ["DEFAULT_THEME", "MIN_SIZE", "RnnApp", "ScenarioError", "make_app"]
