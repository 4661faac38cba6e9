"""A lesson running on the main screen: opening each step's state, checking its task, its answer.

The :class:`LessonSession` belongs to the main screen (``screen.lessons``) and does everything a
lesson needs, so the screen only delegates to it: it moves the screen to a step's position
(another scenario, cell, epoch: trained up to when needed), fills the step's words from the
engine once the step's state is on screen, checks the task's condition on every new View (and
when a pane is maximised or focused, and when compare mode closes), reveals a question's answer
after the learner picks, points at a pane, and records progress. The strip only draws the
:class:`Card` it is given.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from textual.message import Message

from engine.types import ScenarioError

from ..safe_text import visible
from .loader import _scenario
from .progress import Progress
from .quantities import Facts, QuantityStore, compute_values
from .schema import Lesson, Step
from .text import fill, placeholders

__all__ = ["Card", "LessonQuantities", "LessonSession", "StepRun", "step_view"]

#: Seconds before looking again whether the screen has started its own work.
RETRY = 0.05
#: The subtitle a pointed-at pane carries (visible without colour).
POINT_MARK = "◀ look here"
#: On a screen smaller than this (columns, rows) a step that quotes numbers maximises the pane
#: it points at: a grid pane there is too small to show every number whole.
ROOM_FOR_NUMBERS = (80, 24)


@dataclass
class StepRun:
    """What happened at one step during this visit."""

    arrived: bool = False
    done: bool = False
    picked: int | None = None
    compared: bool = False
    words: dict = field(default_factory=dict)
    #: Some placeholder of the words, or of "then", is not computed yet ('…'): filled again
    #: when it is (from the View it was filled at: the step's state, the moment of "then").
    words_pending: bool = False
    then_pending: bool = False
    words_view: object = None
    then_view: object = None


class LessonQuantities(Message):
    """The lesson's worker has computed quantities (posted to the main screen, which hands it
    to ``screen.lessons.computed``)."""


@dataclass(frozen=True)
class Card:
    """What the strip shows: plain data, drawn by widgets.lesson_strip."""

    title: str
    number: int | None
    index: int
    count: int
    step_title: str | None
    narration: str
    do: str | None = None
    done: bool = False
    then: str | None = None
    prompt: str | None = None
    choices: tuple[str, ...] = ()
    picked: int | None = None
    answer: int | None = None
    why: str | None = None
    pending: bool = False
    finished: bool = False
    #: A line about the class (presenting or following: the poll, how to follow again).
    room: str | None = None


def own_cell(step: Step) -> str:
    return step.cell or _scenario(step.scenario, None).model.cell


def elsewhere(view, step: Step) -> bool:
    """Whether ``view`` shows another scenario, cell or attention than ``step`` opens on."""
    return view.source != step.scenario or view.cell != own_cell(step) or (
        step.attention is not None and view.scenario.model.attention != step.attention)


def quotes_numbers(step: Step) -> bool:
    """Whether any of a step's words quote a number (a number placeholder or a decimal)."""
    from .conditions import NUMBER
    from .quantities import FIELDS, LAB_FIELDS, QUANTITIES
    from .text import placeholders
    from .truth import decimals
    texts = [step.narration]
    if step.task is not None:
        texts += [step.task.do, step.task.then or ""]
    if step.question is not None:
        texts += [step.question.prompt, step.question.why or "", *step.question.choices]
    for text in texts:
        for name, _ in placeholders(text):
            kind = QUANTITIES[name].kind if name in QUANTITIES else \
                {**FIELDS, **LAB_FIELDS}[name][0]
            if (kind == NUMBER or name in ("h", "h_prev", "units")) and \
                    name not in ("t", "tau", "T", "epoch", "trained", "knob"):
                return True
        if decimals(text.replace("{{", "").replace("}}", "")):
            return True
    return False


def step_view(view, step: Step, *, compute: bool = True):
    """``view`` (the right scenario, cell and epoch) moved to exactly the step's position, with
    the trace for it (computed here when the screen does not have it, unless ``compute`` is
    False: then it may need one)."""
    from ..jobs import compute_trace
    from ..view import view_at
    v = view_at(view, step.position).with_epoch(step.epoch)
    if v.needs_trace and compute:
        v = v.with_trace(*compute_trace(v))
    return v


def step_facts(view, step: Step, extra: dict | None = None) -> Facts:
    return Facts(step_view(view, step), extra)


def fill_step(step: Step, facts: Facts) -> dict:
    """Every text of a step with its placeholders filled."""
    words = {"narration": fill(step.narration, facts)}
    if step.task is not None:  # (its "then" is filled when the task is done)
        words["do"] = fill(step.task.do, facts)
    if step.question is not None:
        q = step.question
        words["prompt"] = fill(q.prompt, facts)
        words["why"] = fill(q.why, facts)
        words["choices"] = tuple(fill(c, facts) for c in q.choices)
    return words


class LessonSession:
    """The lesson open on ``screen`` (a MainScreen), if any."""

    def __init__(self, screen, progress: Progress | None = None, *, list_screen=None,
                 compare_screen=None, lab_screen=None) -> None:
        self.screen = screen
        self._lab_screen_class = lab_screen
        #: The screen classes it opens or recognises, handed in by the main screen, so this
        #: package never imports rnntui.screens (which imports it).
        self._list_screen = list_screen
        self._compare_screen = compare_screen
        self.lesson: Lesson | None = None
        self.index = 0
        #: The strip is shown and the lesson's keys act (False: left, to explore freely).
        self.active = False
        self.runs: dict[int, StepRun] = {}
        self._progress = progress
        self._pointed = None
        self._maximized_by_us = False
        self._pending_open: tuple[Lesson, int | None] | None = None
        self._nudge_queued = False
        self._watching = False
        self._mounted = False
        #: Costly quantities, kept per trace, computed by one worker thread at a time off the
        #: UI thread: the newest request per purpose ("check", "words", "then") waits in
        #: ``_jobs``; a running one is abandoned when its purpose gets a newer one.
        self.store = QuantityStore()
        self._jobs: dict[str, tuple] = {}
        self._job_lock = threading.Lock()
        self._working = False
        self._generation: dict[str, int] = {}
        self._asked: dict[str, tuple] = {}
        #: The classroom's: ``room()`` gives the strip's line about the class (or None), and
        #: each of ``hooks`` is called after every change the strip shows (step, task, pick).
        self.room = None
        self.hooks: list = []

    # -- progress ------------------------------------------------------------------------------
    @property
    def progress(self) -> Progress:
        if self._progress is None:
            from ..served import in_browser
            # a browser tab's app runs as the teacher: its marks stay in the tab's process
            self._progress = Progress(memory=in_browser())
            if self._progress.problem is not None:  # set aside: one line says so
                from ..safe_text import visible
                self.screen.notify(visible(self._progress.problem), markup=False,
                                   severity="warning", timeout=8)
        return self._progress

    # -- opening, leaving, moving ----------------------------------------------------------
    @property
    def step(self) -> Step | None:
        return self.lesson.steps[self.index] if self.lesson is not None else None

    @property
    def run(self) -> StepRun:
        return self.runs.setdefault(self.index, StepRun())

    def open(self, lesson: Lesson, index: int | None = None) -> None:
        """Open ``lesson`` at step ``index`` (default: where this learner left it: this run's
        step, else the progress file's, else the first)."""
        if not self._mounted:
            self._pending_open = (lesson, index)
            return
        self._watch()
        self.screen.app.clear_notifications()  # ('Lesson finished' would cover the strip)
        if self.lesson is None or lesson.source != self.lesson.source:
            self.lesson, self.runs = lesson, {}
            if index is None:
                entry = self.progress.entry_of(lesson)
                index = 0 if entry["finished"] else entry["step"]
        elif index is None:
            index = self.index
        self.active = True
        self.go(max(0, min(int(index), len(lesson) - 1)))

    def mounted(self) -> None:
        """The screen is mounted: open a lesson asked for before (the command line's)."""
        self._mounted = True
        if self._pending_open is not None:
            lesson, index = self._pending_open
            self._pending_open = None
            self.open(lesson, index)

    def leave(self) -> None:
        """Hide the strip and let every key explore; the lesson waits where it is (L resumes)."""
        if not self.active:
            return
        self.active = False
        self._unpoint()
        self._show()
        self.screen.notify("Lesson left where it was: explore freely. L lists the lessons; "
                           "pick this one again to resume.", markup=False, timeout=5)

    def toggle(self) -> None:
        """L: leave an open lesson, or list the lessons."""
        if self.active:
            self.leave()
            return
        current = self.lesson.name if self.lesson is not None else None
        self.screen.app.push_screen(
            self._list_screen(self.progress, resume=current,
                             resume_step=self.index if self.lesson is not None else None),
            self._picked)

    def _not_in_a_lesson(self) -> None:
        if self.lesson is not None:
            text = "The lesson is left, waiting: L, then Enter, resumes it."
        else:
            text = ". , and 1-4 move through a lesson: L lists them."
        self.screen.notify(text, markup=False, timeout=4)

    def _picked(self, lesson) -> None:
        if lesson is not None:
            self.open(lesson)

    def move(self, direction: int) -> None:
        """. and , : the next or the previous step (. after the last closes the lesson)."""
        if not self.active or self.lesson is None:
            self._not_in_a_lesson()
            return
        new = self.index + direction
        if new >= len(self.lesson):
            self.progress.record_lesson(self.lesson, step=self.index, finished=True)
            self.screen.notify(f"Lesson finished: {self.lesson.title}. L lists the others.",
                               markup=False, timeout=6)
            self.active = False
            self.lesson, self.runs = None, {}
            self._unpoint()
            if self._maximized_by_us and self.screen.maximized is not None:
                self.screen.minimize()  # the lesson's emphasis goes with it
            self._maximized_by_us = False
            self._show()
            return
        if new < 0:
            return
        self.go(new)

    def go(self, index: int) -> None:
        """Show step ``index`` and move the screen to its state."""
        self.index = index
        run = self.run
        run.arrived = False
        run.compared = False
        self.progress.record_lesson(self.lesson, step=index)
        self._unpoint()
        if self.step.lab is not None:
            self._go_lab(self.step)
            return
        self._off_the_lab()
        self._apply(self.step)
        self._show()
        self._queue_nudge()

    # -- a step on the lab screen --------------------------------------------------------------
    def _app_lab(self):
        """The app's lab screen, if it has one (rnntui lab NAME, or a lesson's lab step)."""
        try:
            return getattr(self.screen.app, "lab", None)
        except Exception:  # noqa: BLE001 - no app (a screen alone): no lab
            return None

    def lab_screen(self):
        """The app's lab screen when it shows the current step's lab (else None)."""
        step = self.step
        lab = self._app_lab()
        if step is None or step.lab is None or lab is None:
            return None
        return lab if _names_lab(lab.lab, step.lab) else None

    def _go_lab(self, step: Step) -> None:
        """Open the step's lab on the lab screen (its sweep starts, or goes on) and arrive at
        once: a question can be answered while the runs train; the step's numbers are filled
        in when the runs they need are in."""
        app = self.screen.app
        screen = self.lab_screen()
        if screen is None:
            from engine.lab import load_lab
            try:
                lab = load_lab(step.lab)
            except ScenarioError as err:
                self.screen.notify(f"This step's lab does not open: {visible(str(err))}",
                                   markup=False, severity="error", timeout=8)
                return
            old = getattr(app, "lab", None)
            if old is not None:  # another lab's screen: its sweep stops, its runs are kept
                if old in app.screen_stack:
                    while app.screen is not self.screen and len(app.screen_stack) > 1:
                        app.pop_screen()
                old.stop()
                app.uninstall_screen("lab")
                app.lab = None
            screen = self._lab_screen_class(lab, make_sweep(lab))
        if self._on_lab not in screen.hooks:
            screen.hooks.append(self._on_lab)
        if app.screen is not screen:
            app.open_lab(screen)
        screen.select(screen.lab.values[-1], step.select or screen.lab.cells[0])
        self.run.arrived = True
        self._fill_lab_words()
        self._show()

    def _off_the_lab(self) -> None:
        """A step on the main screen: the lab screen, if on top, goes back under it."""
        lab = self._app_lab()
        if lab is not None and self.screen.app.screen is lab:
            self.screen.app.pop_screen()

    def _lab_facts(self):
        screen = self.lab_screen()
        return _LabFacts(screen.lab, screen.records) if screen is not None else _LabFacts(
            None, {})

    def _fill_lab_words(self) -> None:
        run, step = self.run, self.step
        facts = self._lab_facts()
        run.words = fill_step(step, facts)
        run.words_pending = any(facts.pending(name) for name in self._word_names())

    def _on_lab(self, record) -> None:
        """A run of the lab landed: fill in the numbers that waited for it."""
        step = self.step
        if self.active and step is not None and step.lab is not None and self.run.arrived \
                and self.run.words_pending:
            self._fill_lab_words()
            self._show()

    def answer(self, choice: int) -> None:
        """1-4: pick an answer of the step's question (the reveal follows)."""
        step = self.step
        if not self.active or step is None or step.question is None:
            if self.active:
                self.screen.notify("This step asks no question.", markup=False, timeout=3)
            else:
                self._not_in_a_lesson()
            return
        run = self.run
        if run.picked is not None or not 1 <= choice <= len(step.question.choices):
            return
        run.picked = choice
        self.progress.record_lesson(self.lesson, step=self.index, done=self.index)
        self._show()

    # -- the screen's state --------------------------------------------------------------------
    def _apply(self, step: Step) -> None:
        screen = self.screen
        view = screen.view
        if screen.maximized is not None and self._maximized_by_us:
            screen.minimize()
        self._maximized_by_us = False
        try:
            if elsewhere(view, step):
                screen.use_scenario(_scenario(step.scenario, step.cell, step.attention),
                                    step.scenario)
        except ScenarioError as err:  # (its file changed or went since the lesson was read)
            screen.notify(f"This step's scenario does not open: {visible(str(err))}",
                          markup=False, severity="error", timeout=8)
            return
        screen.apply_position(step.position)  # (trains on up to its epoch when needed)

    def _queue_nudge(self) -> None:
        if not self._nudge_queued:
            self._nudge_queued = True
            self.screen.call_later(self._nudge)

    def _nudge(self) -> None:
        """Bring the screen to the step's epoch once its training allows, then arrive."""
        self._nudge_queued = False
        step, screen = self.step, self.screen
        if step is None or not self.active or self.run.arrived or step.lab is not None:
            return
        view = screen.view
        try:
            if elsewhere(view, step):
                return
        except ScenarioError:
            return  # (said when the step was applied)
        if view.training is not None or view.loss_pending or view.needs_trace:
            return  # its end (the trace) comes as a new View
        if view.trained_epochs < step.epoch:
            if not screen._started:  # the screen's own training on open comes first
                screen.set_timer(RETRY, self._queue_nudge)
                return
            screen.apply_position(step.position)  # trains on from what there is
            return
        target = view.history.nearest_epoch(step.epoch)
        if view.epoch != target:
            screen.view = view.with_epoch(target)
            return
        self._arrive()

    def _arrive(self) -> None:
        step, run, screen = self.step, self.run, self.screen
        state = self._step_state()
        if state is None:  # the learner moved the screen off the step's trace: back to it
            screen.apply_position(step.position)
            return
        run.arrived = True
        then = run.words.get("then")  # a task done on an earlier visit keeps what it showed
        self._fill_words(state)
        if then is not None:
            run.words["then"] = then
        self._point(step)
        self._check()
        self._show()

    def _step_state(self):
        """The screen's View moved to the step's state, when the trace it has is that state's
        (None when it would need another: never computed here, on the UI thread)."""
        v = step_view(self.screen.view, self.step, compute=False)
        return None if v.needs_trace else v

    def _fill_words(self, view) -> None:
        """The step's words at ``view`` (its state); what is not computed yet is asked of the
        worker and filled in when it comes."""
        run = self.run
        facts = Facts(view, self._extra(), self.store)
        run.words = {**run.words, **fill_step(self.step, facts)}
        run.words_view = view
        run.words_pending = _pending(facts, self._word_names())
        if facts.missing:
            self._compute("words", view, facts.missing)

    def _word_names(self) -> set[str]:
        step = self.step
        texts = [step.narration]
        if step.task is not None:
            texts.append(step.task.do)
        if step.question is not None:
            texts += [step.question.prompt, step.question.why, *step.question.choices]
        return {name for text in texts for name, _ in placeholders(text)}

    def _refill(self) -> None:
        """Fill again the words, and "then", that wait for a value (from the worker, or the
        trace's norms, now in)."""
        run, step = self.run, self.step
        if step is None or not run.arrived or step.lab is not None:
            return
        changed = False
        if run.words_pending:
            view = _newer(run.words_view, self.screen.view) or self._step_state() or \
                run.words_view
            then = run.words.get("then")
            self._fill_words(view)
            if then is not None:
                run.words["then"] = then
            changed = True
        if run.then_pending and step.task is not None:
            view = _newer(run.then_view, self.screen.view) or run.then_view
            facts = Facts(view, self._extra(), self.store)
            run.words["then"] = fill(step.task.then, facts)
            run.then_view = view
            run.then_pending = _pending(facts, {n for n, _ in placeholders(step.task.then)})
            if facts.missing:
                self._compute("then", view, facts.missing)
            changed = True
        if changed:
            self._show()

    def _extra(self) -> dict:
        screen = self.screen
        return {"maximized": getattr(screen.maximized, "id", None) or "",
                "focused": getattr(screen.focused, "id", None) or "",
                "compared": self.run.compared}

    # -- what the screen tells us --------------------------------------------------------------
    def on_view(self, view) -> None:
        """Every new View of the screen (from its one update place)."""
        if not self.active or self.lesson is None or self.step.lab is not None:
            return
        if not self.run.arrived:
            self._queue_nudge()
        else:
            if self.run.words_pending or self.run.then_pending:
                self._refill()  # (a trace's norms may have come)
            self._check()

    def _check(self) -> None:
        step, run = self.step, self.run
        if step is None or step.task is None or run.done or not run.arrived:
            return
        view = self.screen.view
        if view.needs_trace:
            return  # checked again when the trace is in
        facts = Facts(view, self._extra(), self.store)
        holds = step.task.condition.holds(facts)
        if facts.missing:  # a costly value: the worker computes it, then this looks again
            self._compute("check", view, facts.missing)
        if holds:
            run.done = True
            then_facts = Facts(view, self._extra(), self.store)
            run.words["then"] = fill(step.task.then, then_facts)  # what the screen shows now
            run.then_view = view
            run.then_pending = _pending(then_facts,
                                        {n for n, _ in placeholders(step.task.then)})
            if then_facts.missing:
                self._compute("then", view, then_facts.missing)
            self.progress.record_lesson(self.lesson, step=self.index, done=self.index)
            self._show()

    # -- the worker ----------------------------------------------------------------------------
    def _compute(self, purpose: str, view, names) -> None:
        """Ask the worker for ``names`` at ``view`` (replacing this purpose's older request;
        the same one again, waiting or at work, is left to finish)."""
        names = tuple(sorted(names))
        asked = (id(view.trace), tuple(self.store.key(view, n) for n in names))
        with self._job_lock:
            if self._asked.get(purpose) == asked:
                return
            self._asked[purpose] = asked
            self._generation[purpose] = self._generation.get(purpose, 0) + 1
            self._jobs[purpose] = (view, names, self._generation[purpose])
            start = not self._working
            self._working = True
        if start:
            self.screen.run_worker(self._work, thread=True, group="lesson-quantities",
                                   exit_on_error=False)

    def _work(self) -> None:
        """The worker thread: the waiting requests one by one, each answered with a
        LessonQuantities message to the screen."""
        from textual.worker import get_current_worker

        from engine.analysis import Cancelled
        worker = get_current_worker()
        while True:
            with self._job_lock:
                if not self._jobs or worker.is_cancelled:
                    self._working = False
                    return
                purpose = next(iter(self._jobs))
                view, names, generation = self._jobs.pop(purpose)

            def stop(purpose=purpose, generation=generation) -> bool:
                return worker.is_cancelled or self._generation.get(purpose) != generation
            try:
                compute_values(view, names, self.store, stop)
            except Cancelled:
                continue
            finally:
                with self._job_lock:
                    if self._generation.get(purpose) == generation:
                        self._asked.pop(purpose, None)  # (asked again, it is computed again)
            if not worker.is_cancelled:
                self.screen.post_message(LessonQuantities())

    def computed(self) -> None:
        """The worker has put values in the store: fill in what waited for them, look at the
        task's condition again."""
        if not self.active or self.lesson is None or not self.run.arrived:
            return
        if self.run.words_pending or self.run.then_pending:
            self._refill()
        self._check()

    def suspended(self) -> None:
        """Another screen went on top of the main one (compare mode, a dialog)."""
        compare = self._compare_screen
        if self.active and compare is not None and isinstance(self.screen.app.screen, compare):
            self.run.compared = True

    def resumed(self) -> None:
        if self.active and self.run.arrived:
            self._check()

    def _watch(self) -> None:
        if not self._watching:
            self._watching = True
            self.screen.watch(self.screen, "maximized", lambda *_: self._changed(), init=False)
            self.screen.watch(self.screen, "focused", lambda *_: self._changed(), init=False)

    def _changed(self) -> None:
        if self.active and self.run.arrived:
            self._check()

    # -- pointing ------------------------------------------------------------------------------
    def _point(self, step: Step) -> None:
        self._unpoint()
        if step.point is None:
            return
        screen = self.screen
        try:
            pane = screen.query_one(f"#{step.point}")
        except Exception:  # noqa: BLE001 - a pane that is not there is not pointed at
            return
        pane.add_class("-pointed")
        pane.border_subtitle = POINT_MARK
        self._pointed = pane
        pane.focus()
        if self._wants_maximized(step):
            screen.maximize(pane)
            self._maximized_by_us = True

    def _wants_maximized(self, step: Step) -> bool:
        size = self.screen.app.size
        small = size.width < ROOM_FOR_NUMBERS[0] or size.height < ROOM_FOR_NUMBERS[1]
        return step.maximize or (small and quotes_numbers(step))

    def resized(self) -> None:
        """The terminal changed size: a step that quotes numbers maximises its pane on a small
        screen and gives the others their room back on a big one."""
        step, pane, screen = self.step, self._pointed, self.screen
        if not self.active or step is None or pane is None or not self.run.arrived:
            return
        want = self._wants_maximized(step)
        if want and screen.maximized is None:
            screen.maximize(pane)
            self._maximized_by_us = True
        elif not want and self._maximized_by_us and screen.maximized is pane:
            screen.minimize()
            self._maximized_by_us = False

    def _unpoint(self) -> None:
        pane, self._pointed = self._pointed, None
        if pane is not None:
            pane.remove_class("-pointed")
            pane.border_subtitle = ""

    # -- the strip -----------------------------------------------------------------------------
    def card(self) -> Card | None:
        """What the strip shows now (None: no lesson shown)."""
        if not self.active or self.lesson is None:
            return None
        step, run = self.step, self.run
        words = run.words if run.arrived else {}
        pending = not run.arrived
        q = step.question
        return Card(
            title=self.lesson.title, number=self.lesson.number, index=self.index,
            count=len(self.lesson), step_title=step.title,
            narration=words.get("narration", "Opening this step…"),
            do=words.get("do") if step.task else None, done=run.done,
            then=words.get("then") if run.done else None,
            prompt=words.get("prompt") if q else None,
            choices=words.get("choices", ()) if q else (),
            picked=run.picked, answer=q.answer if q and run.picked is not None else None,
            why=words.get("why") if q and run.picked is not None else None,
            pending=pending, finished=self.index == len(self.lesson) - 1,
            room=self.room() if self.room is not None else None)

    def _show(self) -> None:
        self.redraw()
        for hook in self.hooks:
            hook()

    def redraw(self) -> None:
        """Draw the strip again (the classroom's line changed): under the panes for a step on
        the main screen, under the chart for a step on the lab screen."""
        card = self.card()
        on_lab = self.step is not None and self.step.lab is not None
        strip = getattr(self.screen, "lesson_strip", None)
        if strip is not None:
            strip.show(None if on_lab else card)
        lab = self._app_lab()
        strip = getattr(lab, "lesson_strip", None)
        if strip is not None:
            strip.show(card if on_lab and lab is self.lab_screen() else None)


def make_sweep(lab):
    """The sweep a lab step starts (the tests put a stand-in here)."""
    from ..lab import Sweep
    return Sweep(lab)


def _names_lab(lab, ref: str) -> bool:
    """Whether ``ref`` (a step's ``lab``: a built-in's name or a resolved path) names ``lab``."""
    from ..labrun import lab_ref
    return ref in (lab_ref(lab), lab.source)


class _LabFacts:
    """A lab step's numbers: {median_CELL}, the median over the seeds of the cell's metric at
    the lab's longest swept value, as the lab screen computes it (rnntui.labplot.summary);
    pending until every seed's run there is in."""

    def __init__(self, lab, records: dict) -> None:
        self.lab, self.records = lab, records

    def _key(self, name: str):
        return (self.lab.values[-1], name.removeprefix("median_"))

    def __call__(self, name: str):
        from .. import labplot
        if self.lab is None or self.pending(name):
            return None
        stats = labplot.summary(self.lab, self.records).get(self._key(name))
        return None if stats is None else stats[0]  # (None: every seed diverged: n/a)

    def pending(self, name: str) -> bool:
        """Some seed's run at the longest value is not in yet."""
        if self.lab is None:
            return False
        key = self._key(name)
        return any((*key, seed) not in self.records for seed in self.lab.seeds)


def _pending(facts: Facts, names) -> bool:
    """Whether any of ``names`` is written '…' (not computed yet) by ``facts``."""
    return any(facts(name) is None and facts.pending(name) for name in names)


def _newer(filled, current):
    """``filled`` (a View words were filled at) with the trace ``current`` has for the same
    setting, when that one has more (its backward part or norms come later); else None."""
    if filled is None or current is None or current.trace is None:
        return None
    if current.trace_key != filled.trace_key or current.trace is filled.trace:
        return None
    return filled.with_trace(current.trace_key, current.trace)
