"""The lab screen (``rnntui lab NAME``): a sweep running in the background, drawn as it fills in.

The metric against the swept parameter, one line a cell (or cell and attention) with its seeds' range and the baseline
(rnntui.labplot draws it), progress and an estimate of the time left. The arrow keys and ``s``
select a run; Enter opens it on the main screen (the same scenario, data and weights: from the
training cache when the lab's worker kept them, else trained again), where every pane works on
it and Esc comes back here. ``e`` saves the screen as SVG and the results as JSON and CSV under
fresh names; ``q`` stops everything at once (the finished runs are kept in the cache).

The screen is installed in the app (``RnnApp.open_lab``): popped to show a run, it lives on,
and so does its sweep.
"""

from __future__ import annotations

import threading
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static


from .. import labplot
from ..keys import BINDINGS as KEYS
from ..safe_text import visible
from ..widgets.lesson_strip import LessonStrip
from .guard import QuitGuard
from .lesson_keys import LessonKeys
from .keybar import KeyBar

#: What each metric measures, in a few words (lower is better for all).
METRIC_WORDS = {"share": "test loss ÷ baseline", "loss": "test loss",
                "error": "share of answers wrong"}

_MOVE = Binding.Group("select", compact=True)
#: The lesson keys (. , 1-4 L), the main screen's own bindings.
LESSON_BINDINGS = [b for b in KEYS if b.id == "lessons" or (b.id or "").startswith(
    ("lesson-next", "lesson-back", "lesson-answer-"))]


def duration(seconds: float) -> str:
    """``40 s``, ``2 min 5 s``: a time left, whole seconds."""
    s = max(0, round(seconds))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60} s"


def run_words(lab, records: dict, key: tuple) -> str:
    """The selected run in words: its place, the median of its cell there, its own metric."""
    v, c, s = key
    head = f"{lab.parameter} {v} · {labplot.title(lab, c)}"
    stats = labplot.summary(lab, records).get((v, c))
    if stats is not None:
        head += f": median {stats[0]:.3g} of {stats[3]} seed{'s' if stats[3] > 1 else ''}"
    r = records.get(key)
    if r is None:
        return f"{head} · seed {s}: not finished yet"
    m = "diverged" if r["metric"] is None else f"{r['metric']:.3g}"
    return (f"{head} · seed {s}: {m} (baseline {r['baseline']:.3g}) in {r['epochs']} epochs "
            f"· Enter opens it")


class LabScreen(LessonKeys, QuitGuard, Screen):
    """One lab's sweep. ``sweep`` runs it (rnntui.lab.Sweep, or anything with ``run(done)`` and
    ``stop()``); ``workers`` is what the status line says runs it."""

    DEFAULT_CSS = """
    LabScreen { layout: vertical; }
    LabScreen #lab-status { height: 1; background: $panel; }
    LabScreen #lab-head { height: 1; }
    LabScreen #lab-chart { height: 1fr; min-height: 6; }
    LabScreen #lab-info { height: auto; }
    LabScreen #lab-legend { height: auto; color: $text-muted; }
    """

    #: The arrows select runs even while a lesson's strip (which scrolls) has the focus.
    BINDINGS = [
        Binding("left,h", "select(-1, 0, 0)", "value", group=_MOVE, priority=True,
                id="lab-left",
                tooltip="The previous swept value."),
        Binding("right,l", "select(1, 0, 0)", "value", group=_MOVE, priority=True,
                id="lab-right",
                tooltip="The next swept value."),
        Binding("up,k", "select(0, -1, 0)", "cell", group=_MOVE, priority=True,
                id="lab-up",
                tooltip="The previous cell."),
        Binding("down,j", "select(0, 1, 0)", "cell", group=_MOVE, priority=True,
                id="lab-down",
                tooltip="The next cell."),
        Binding("s", "select(0, 0, 1)", "seed", id="lab-seed", tooltip="The next seed."),
        Binding("enter", "open_run", "open", id="lab-open",
                tooltip="Open the selected run on the main screen; Esc comes back."),
        Binding("e", "export", "export", id="lab-export",
                tooltip="Save the screen as SVG and the results as JSON and CSV."),
        Binding("d", "describe", "about", id="lab-about", tooltip="The lab's description."),
        Binding("q", "app.quit", "quit", id="lab-quit",
                tooltip="Quit: the sweep stops at once; finished runs stay cached."),
        # a lesson's step on this screen (rnntui.lessons.session): the main screen's keys
        *LESSON_BINDINGS,
    ]

    def __init__(self, lab, sweep, *, workers: int | None = None) -> None:
        super().__init__(id="lab")
        self.lab = lab
        self.sweep = sweep
        self.worker_count = workers
        #: (value, line, seed) (``lab.key``) -> the run's record, as they finish.
        self.records: dict[tuple, dict] = {}
        self.total = len(lab.values) * len(lab.line_ids()) * len(lab.seeds)
        self.selected = (lab.values[-1], lab.line_ids()[0], lab.seeds[0])
        self.error: str | None = None
        self.ended = False
        self._started: float | None = None
        self._fresh = 0  # runs finished (not read from the cache) since the sweep started
        self._thread: threading.Thread | None = None
        #: Called with each record as it lands on screen (tests, the lessons).
        self.hooks: list = []

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="lab-status")
        yield Static(id="lab-head")
        yield Static(id="lab-chart")
        yield Static(id="lab-info")
        yield Static(id="lab-legend")
        self.lesson_strip = LessonStrip(id="lesson-strip")
        yield self.lesson_strip
        yield KeyBar()

    def on_mount(self) -> None:
        self.redraw()
        self._lesson_strip()
        if self._thread is None:
            self._started = time.monotonic()
            self._thread = threading.Thread(target=self._run, name="lab-sweep", daemon=True)
            self._thread.start()
            self.set_interval(1.0, self._tick)

    def on_resize(self) -> None:
        self.redraw()

    def on_screen_resume(self) -> None:
        self.redraw()
        self._lesson_strip()

    def _lesson_strip(self) -> None:
        """Draw the lesson's strip here when its step is on this screen."""
        main = getattr(self.app, "main_screen", None)
        if main is not None:
            self.lessons.redraw()

    # -- the sweep ---------------------------------------------------------------------------
    def _run(self) -> None:
        error = None
        try:
            self.sweep.run(self._done)
        except Exception as err:  # noqa: BLE001 - said on screen, never a traceback
            error = f"the lab's runs stopped: {err}"
        try:
            self.app.call_from_thread(self._ended, error)
        except Exception:  # noqa: BLE001 - the app has gone
            pass

    def _done(self, record: dict, finished: int, total: int, cached: bool) -> None:
        try:
            self.app.call_from_thread(self._landed, record, cached)
        except Exception:  # noqa: BLE001 - the app has gone: stop the sweep
            self.sweep.stop()

    def _landed(self, record: dict, cached: bool) -> None:
        self.records[self.lab.key(record)] = record
        if not cached:
            self._fresh += 1
        self.redraw()
        for hook in self.hooks:
            hook(record)

    def _ended(self, error: str | None) -> None:
        self.ended = True
        self.error = error
        if error:
            self.notify(visible(error), severity="error", markup=False, timeout=10)
        self.redraw()

    def _tick(self) -> None:
        if not self.ended and self.is_current:
            self._show_status()

    def stop(self) -> None:
        """Stop the sweep at once (the app quits)."""
        self.sweep.stop()

    # -- drawing -----------------------------------------------------------------------------
    def status_text(self) -> Text:
        done = len(self.records)
        text = Text.assemble(("Lab ", "bold"), (visible(self.lab.name), "bold"),
                             f" · {done}/{self.total} runs")
        if self.ended:
            text.append(" · stopped" if self.error or done < self.total else " · done")
        elif done < self.total:
            text.append(" · " + self.time_left())
        return text

    def time_left(self) -> str:
        left = self.total - len(self.records)
        if not self._fresh or self._started is None:
            return "first runs training…"
        per_run = (time.monotonic() - self._started) / self._fresh
        return f"about {duration(per_run * left)} left"

    def _show_status(self) -> None:
        status = self.query_one("#lab-status", Static)
        status.update(self.status_text())

    def redraw(self) -> None:
        if not self.is_mounted:
            return
        lab = self.lab
        width = self.size.width or self.app.size.width
        self._show_status()
        seeds = len(lab.seeds)
        head = (f"median {METRIC_WORDS[lab.metric]} over {seeds} seed{'s' if seeds > 1 else ''}"
                f" against {lab.parameter}; lower is better")
        self.query_one("#lab-head", Static).update(Text(head[:width], style="bold"))
        info = Text(run_words(lab, self.records, self.selected))
        legend = labplot.legend(lab, width, above=self._above())
        self.query_one("#lab-info", Static).update(info)
        self.query_one("#lab-legend", Static).update(Text("\n").join(legend))
        chart = self.query_one("#lab-chart", Static)
        self.call_after_refresh(self._draw_chart)
        chart.refresh()

    def _above(self) -> bool:
        base = next(iter(self.records.values()), {}).get("baseline")
        return bool(base) and any(r["metric"] is not None and r["metric"] > 2 * base
                                  for r in self.records.values())

    def _draw_chart(self) -> None:
        chart = self.query_one("#lab-chart", Static)
        w, h = chart.size.width, chart.size.height
        if not w or not h:
            return
        lines = labplot.chart(self.lab, self.records, w, h, self.selected)
        chart.update(Text("\n").join(lines))

    # -- a lesson's step on this screen -----------------------------------------------------
    @property
    def lessons(self):
        """The lessons' session (the main screen's): a step may be on this screen."""
        return self.app.main_screen.lessons  # type: ignore[attr-defined]

    def select(self, value, cell: str, seed=None) -> None:
        """Select the run at ``value`` of ``cell`` (its first seed unless ``seed``)."""
        self.selected = (value, cell, self.lab.seeds[0] if seed is None else seed)
        self.redraw()

    # -- keys --------------------------------------------------------------------------------
    def action_select(self, dv: int, dc: int, ds: int) -> None:
        lab = self.lab
        v, c, s = self.selected
        vi = min(len(lab.values) - 1, max(0, lab.values.index(v) + dv))
        lines = lab.line_ids()
        ci = min(len(lines) - 1, max(0, lines.index(c) + dc))
        si = (lab.seeds.index(s) + ds) % len(lab.seeds)
        self.selected = (lab.values[vi], lines[ci], lab.seeds[si])
        self.redraw()

    def action_open_run(self) -> None:
        record = self.records.get(self.selected)
        v, c, s = self.selected
        if record is None:
            self.notify(f"This run ({lab_words(self.lab, v, c, s)}) has not finished yet.",
                        markup=False, timeout=4)
            return
        cell, attention = self.lab.split_line(c)
        self.app.open_lab_run(self.lab,  # type: ignore[attr-defined]
                              self.lab.job(v, cell, s, attention))

    def action_describe(self) -> None:
        text = " ".join(self.lab.description.split()) or "This lab has no description."
        self.notify(visible(text), title=f"Lab {visible(self.lab.name)}", markup=False,
                    timeout=20)

    def action_export(self) -> None:
        from ..export import write_file_set
        from ..lab import csv_text, document, in_order
        from ..served import in_browser
        records = in_order(self.lab, self.records)
        svg = self.app.export_screenshot(title=f"rnntui lab {self.lab.name}")
        import json
        files = {".svg": svg, ".json": json.dumps(document(self.lab, records), indent=1) + "\n",
                 ".csv": csv_text(records, self.lab)}
        stem = "rnntui-lab-" + "".join(ch if ch.isalnum() or ch in "-_" else "-"
                                       for ch in self.lab.name).strip("-")
        if in_browser():
            import io
            for suffix, text in files.items():
                self.app.deliver_text(io.StringIO(text), save_filename=stem + suffix,
                                      open_method="download", encoding="utf-8")
            self.notify(f"Sent {stem}.svg, .json and .csv to your browser as downloads.",
                        title="Exported", markup=False, timeout=6)
            return
        from pathlib import Path
        folder = Path(self.app.export_dir) if self.app.export_dir else Path.cwd()  # type: ignore[attr-defined]
        try:
            paths = write_file_set(folder, stem, files)
        except OSError as err:
            self.notify(visible(f"Could not save in {folder}: {err.strerror or err}. Nothing "
                                f"was overwritten."), title="Export failed", severity="error",
                        markup=False, timeout=8)
            return
        done = len(records)
        self.notify(visible(f"Saved {', '.join(p.name for p in paths)} in {folder} ({done} of "
                            f"{self.total} runs)."), title="Exported", markup=False, timeout=6)


def lab_words(lab, value, line, seed) -> str:
    return f"{lab.parameter} {value}, {labplot.title(lab, line)}, seed {seed}"
