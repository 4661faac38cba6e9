"""Lesson files: read a TOML lesson, check every key against its schema, build a Lesson.

Lesson files are data, like scenario files, and are checked by the same machinery
(engine._scenario_checks.Checker and engine._toml_lines): every problem is one
:class:`LessonError` naming the file, the line and the key, with a did-you-mean for a misspelt
key, e.g. ``lessons/mine.toml:14: [step.task].condition (step 2): unknown name 'phse'; did you
mean phase?``. The schema is in docs/lessons.md.
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from engine._scenario_checks import MISSING, Checker, describe, quote, show, suggest
from engine._toml_lines import key_lines
from engine.scenario import _TOML_AT, builtin_names
from engine.cells import CELLS
from engine.types import ScenarioError

from ..labrun import is_run
from ..position import BACKWARD, FORWARD, GRAD_VIEWS, KNOB_LIMIT
from .conditions import ConditionError
from .conditions import parse as parse_condition
from .quantities import LAB_FIELDS, QUANTITIES, applies, names_and_kinds
from .schema import PANES, Lesson, Question, Step, Task
from .text import PlaceholderError, placeholders

__all__ = ["LessonError", "load_lesson", "loads_lesson", "is_lesson_text"]

#: A lesson file may be at most this big.
MAX_BYTES = 256 * 1024
#: At most this many steps in a lesson.
MAX_STEPS = 50
LESSON_KEYS = ("title", "summary", "minutes", "scenario")
STATE_KEYS = ("scenario", "cell", "attention", "epoch", "t", "phase", "knob", "grads", "tau",
              "text")
STEP_KEYS = ("title",) + STATE_KEYS + ("point", "maximize", "narration", "task", "question",
                                       "lab", "select")
TASK_KEYS = ("do", "condition", "then", "keys")
QUESTION_KEYS = ("prompt", "choices", "answer", "why")
SECTIONS = ("lesson", "step")
_STEP_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*step[ \t]*\]\][ \t]*(#.*)?$")
_LESSON_HEADER = re.compile(r"^[ \t]*\[[ \t]*lesson[ \t]*\][ \t]*(#.*)?$", re.M)


class LessonError(ScenarioError):
    """A lesson file that is not valid: ``str(err)`` is ``FILE:LINE: key: what is wrong``."""


def is_lesson_text(text: str) -> bool:
    """Whether a TOML text is a lesson (it has a ``[lesson]`` table) rather than a scenario."""
    return bool(_LESSON_HEADER.search(text))


class _Checker(Checker):
    """The scenario checker, raising LessonError, with the lines of each ``[[step]]`` kept
    apart (the shared scanner records a table array's keys once for all its entries)."""

    def __init__(self, source: str, text: str) -> None:
        super().__init__(source, text)
        self._step_lines: list[dict] | None = None

    def _steps(self) -> list[dict]:
        if self._step_lines is None:
            lines = self._text.split("\n")
            heads = [i for i, ln in enumerate(lines) if _STEP_HEADER.match(ln)]
            out = []
            for k, start in enumerate(heads):
                end = heads[k + 1] if k + 1 < len(heads) else len(lines)
                part = key_lines("\n".join(lines[start:end]))
                out.append({path: n + start for path, n in part.items()})
            self._step_lines = out
        return self._step_lines

    def line(self, path: tuple) -> int | None:
        if len(path) >= 2 and path[0] == "step" and isinstance(path[1], int):
            steps = self._steps()
            if path[1] < len(steps):
                found = steps[path[1]]
                rest = ("step",) + tuple(path[2:])
                for k in range(len(rest), 0, -1):
                    if rest[:k] in found:
                        return found[rest[:k]]
        return super().line(path)

    def fail(self, path: tuple, message: str, *, at: tuple | None = None):
        raise LessonError(message, path=self.source, line=self.line(at or path),
                          key=lesson_key(tuple(path)))


def lesson_key(path: tuple) -> str | None:
    """``("step", 2, "task", "condition")`` -> ``[step.task].condition (step 3)``."""
    if not path:
        return None
    if path[0] != "step" or len(path) < 2 or not isinstance(path[1], int):
        head, rest = f"[{path[0]}]", path[1:]
        return head + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in rest)
    n, rest = path[1] + 1, [p for p in path[2:]]
    if rest and rest[0] in ("task", "question") and len(rest) > 1:
        table, rest = f"[step.{rest[0]}]", rest[1:]
    else:
        table = "[[step]]"
    tail = "".join(f".{show(str(p))}" if isinstance(p, str) else f"[{p}]" for p in rest)
    return f"{table}{tail} (step {n})"


# ---------------------------------------------------------------------------------------------
# reading


def load_lesson(path: str | os.PathLike, *, number: int | None = None) -> Lesson:
    """The lesson in a ``.toml`` file (raises LessonError). Only a regular file is read (a FIFO
    or a device is refused, never waited on), and only up to MAX_BYTES."""
    from engine.files import FileReadError, read_regular
    source = os.fspath(path)
    try:
        data = read_regular(source, MAX_BYTES)
    except FileReadError as err:
        problem = str(err)
        if problem.startswith("the file is ") and "bytes; at most" in problem:
            problem = f"the file is over {MAX_BYTES // 1024} KiB; a lesson file is text"
        raise LessonError(problem, path=source) from None
    return loads_lesson(_decode(data, source), source, number=number)


def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_BYTES:
        raise LessonError(f"the file is over {MAX_BYTES // 1024} KiB; a lesson file is text",
                          path=source)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LessonError("the file is UTF-16 text; save it as UTF-8", path=source)
    data = data.removeprefix(b"\xef\xbb\xbf")
    zero = data.find(b"\x00")
    if zero >= 0:
        raise LessonError("the file contains a zero byte: it is not UTF-8 text",
                          path=source, line=data.count(b"\n", 0, zero) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LessonError(f"the file is not UTF-8 text (byte 0x{data[e.start]:02x}); save it "
                          f"as UTF-8", path=source, line=data.count(b"\n", 0, e.start) + 1) \
            from None


def loads_lesson(text: str, source: str = "<string>", *, number: int | None = None,
                 sent: bool = False) -> Lesson:
    """The lesson written in ``text``; ``source`` names the file (scenario paths in it are
    relative to the file's folder). ``sent``: a lesson from the network, which may name
    built-in scenarios only (its names never become paths)."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise LessonError("the file is empty; a lesson needs [lesson] and [[step]] tables",
                          path=source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg, line = str(e), None
        m = _TOML_AT.search(msg)
        if m:
            line, msg = int(m.group(1)), f"{msg[:m.start()]} (column {m.group(2)})"
        raise LessonError(f"TOML syntax error: {msg}", path=source, line=line) from None
    except (ValueError, RecursionError) as e:
        raise LessonError(f"TOML syntax error: {e}", path=source) from None
    ck = _Checker(source, text)
    return _lesson(ck, doc, None if sent else Path(source).parent, _stem(source), number)


def _stem(source: str) -> str:
    stem = Path(source.removeprefix("presenter:")).stem  # (a presenter's: rnntui.classroom)
    return re.sub(r"^[0-9]+[_-]", "", stem) or stem


# ---------------------------------------------------------------------------------------------
# checking


def _lesson(ck: _Checker, doc: dict, folder: Path | None, name: str, number) -> Lesson:
    for key, value in doc.items():
        if key in SECTIONS:
            continue
        if not isinstance(value, dict):
            where = "[[step]]" if key in STEP_KEYS else "[lesson]" if key in LESSON_KEYS else None
            hint = f"; it belongs under {where}" if where else ""
            ck.fail((key,), f"'{show(key)}' is written before any table header{hint}")
        ck.fail((key,), f"unknown table [{show(key)}]{suggest(key, SECTIONS)} (a lesson has "
                        f"[lesson] and [[step]] tables)")
    head = ck.table(doc, ("lesson",), required=True)
    ck.known_keys(head, ("lesson",), LESSON_KEYS,
                  elsewhere={k: f"'{k}' belongs under [[step]]" for k in STEP_KEYS
                             if k not in LESSON_KEYS})
    title = _line_text(ck, head, ("lesson", "title"), 60)
    summary = _line_text(ck, head, ("lesson", "summary"), 160)
    minutes = ck.integer(head, ("lesson", "minutes"), lo=1, hi=240)
    raw = doc.get("step", MISSING)
    if raw is MISSING:
        ck.fail(("step",), "a lesson needs at least one [[step]]", at=("lesson",))
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        ck.fail(("step",), f"must be [[step]] tables, got {describe(raw)}")
    if not 1 <= len(raw) <= MAX_STEPS:
        ck.fail(("step",), f"a lesson has 1 to {MAX_STEPS} steps, this one {len(raw)}")
    state = {"scenario": None, "cell": None, "attention": None, "epoch": "trained", "t": 0, "phase": FORWARD,
             "knob": 0, "grads": "total", "tau": None, "text": None}
    if "scenario" in head:
        state["scenario"] = _scenario_ref(ck, head, ("lesson", "scenario"), folder)
    steps = []
    tally = _Tally()
    for i, table in enumerate(raw):
        step, state = _step(ck, table, i, state, folder, tally)
        steps.append(step)
    return Lesson(name=name, title=title, summary=summary, minutes=minutes, steps=tuple(steps),
                  source=ck.source, number=number, sent=folder is None)


def _line_text(ck: _Checker, table: dict, path: tuple, most: int, default=MISSING) -> str:
    value = ck.string(table, path, default, max_len=most, allow_empty=False)
    if value is not default and ("\n" in value.strip() or not value.strip().isprintable()):
        ck.fail(path, "must be one line of printable text")
    return value.strip() if isinstance(value, str) else value


def _words(ck: _Checker, table: dict, path: tuple, most: int = 2000, default=MISSING) -> str:
    """Prose that may hold placeholders (checked here); lines are joined as one paragraph,
    a blank line starts a new one."""
    value = ck.string(table, path, default, max_len=most, allow_empty=False)
    if value is default:
        return value
    if any(not (c.isprintable() or c == "\n") for c in value):
        ck.fail(path, "must be printable text (no tabs or control characters)")
    try:
        placeholders(value)
    except PlaceholderError as err:
        ck.fail(path, str(err))
    return _reflow(value)


def _reflow(text: str) -> str:
    paras = re.split(r"\n[ \t]*\n", text.strip())
    return "\n".join(" ".join(p.split()) for p in paras)


#: Scenarios kept for the lessons' steps at most (fewer when big: see _Scenarios).
KEEP_SCENARIOS = 16
#: The share of the memory budget the scenarios kept may take together.
KEEP_SHARE = 0.25


def kept_bytes(sc) -> float:
    """What a loaded scenario keeps in memory: its sequences and one set of weights."""
    from engine import budget
    est = budget.estimate(sc)
    return est.data_bytes - est.batch_bytes + est.params_bytes


class _Scenarios:
    """Scenarios by built-in name or resolved path, with a cell: the few used last are kept
    (many steps and lessons open the same few), within KEEP_SCENARIOS and KEEP_SHARE of the
    memory budget; one dropped is loaded again when a step needs it."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple, tuple[object, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, source: str, cell: str | None, attention: str | None = None):
        key = (source, cell, attention)
        with self._lock:
            got = self._kept.get(key)
            if got is not None:
                self._kept.move_to_end(key)
                return got[0]
        from engine.scenario import with_cell

        from ..labrun import load_any  # a built-in, a file, or a lab run's name
        sc = load_any(source)
        if cell is not None and cell != sc.model.cell:
            sc = with_cell(sc, cell)
        if attention is not None and attention != sc.model.attention:
            from engine.seq2seq import with_attention
            sc = with_attention(sc, attention)
        self._keep(key, sc)
        return sc

    def _keep(self, key: tuple, sc) -> None:
        from engine import budget
        try:
            room = KEEP_SHARE * budget.budgets()["memory"]
        except ScenarioError:
            room = KEEP_SHARE * budget.DEFAULTS["memory"]
        with self._lock:
            self._kept[key] = (sc, kept_bytes(sc))
            self._kept.move_to_end(key)
            total = sum(size for _, size in self._kept.values())
            while len(self._kept) > 1 and (len(self._kept) > KEEP_SCENARIOS or total > room):
                _, (_, size) = self._kept.popitem(last=False)
                total -= size

    def cache_clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


_scenario = _Scenarios()


def _scenario_ref(ck: _Checker, table: dict, path: tuple, folder: Path | None) -> str:
    """A built-in's name, a lab run's name, or the normalised path of a scenario file relative
    to ``folder`` (None: a lesson sent over the network, which names built-ins only)."""
    value = ck.string(table, path, max_len=1000, allow_empty=False)
    if is_run(value):
        return _lab_run_ref(ck, path, value, folder)
    return _file_ref(ck, path, value, folder, "scenario", builtin_names())


def _file_ref(ck: _Checker, path: tuple, value: str, folder: Path | None, what: str,
              names) -> str:
    """``value`` as one of the built-in ``names`` (of scenarios or labs), or the normalised
    path of a file relative to ``folder`` (None: a presenter's lesson: built-ins only)."""
    if value in names:
        return value
    if folder is None:
        ck.fail(path, f"{quote(value)} is not a built-in {what}; a lesson sent by a presenter "
                      f"may name only built-in ones ({', '.join(names)})")
    if "/" not in value and os.sep not in value and not value.lower().endswith(".toml"):
        ck.fail(path, f"no built-in {what} {quote(value)}{suggest(value, names)} (built-ins: "
                      f"{', '.join(names)}; a file is a path ending in .toml, relative to "
                      f"the lesson file)")
    resolved = Path(value).expanduser()
    if not resolved.is_absolute():
        resolved = folder / resolved
    return os.path.normpath(str(resolved))


def _lab_run_ref(ck: _Checker, path: tuple, value: str, folder: Path | None) -> str:
    """A lab run's name (rnntui.labrun), read strictly: its lab, value, cell and seed must be
    the lab's. A lesson sent by a presenter may name a built-in lab's runs only."""
    from ..labrun import lab_ref, parse
    try:
        lab, _ = parse(value)
    except ScenarioError as err:
        ck.fail(path, str(err))
    if folder is None and lab_ref(lab) != lab.name:
        ck.fail(path, f"{quote(value)} names a lab file; a lesson sent by a presenter may name "
                      f"runs of built-in labs only")
    return value


def _step(ck: _Checker, t: dict, i: int, prev: dict, folder: Path | None, tally: "_Tally"):
    p = ("step", i)
    ck.known_keys(t, p, STEP_KEYS, elsewhere={
        **{k: f"'{k}' belongs under [step.task]" for k in TASK_KEYS},
        **{k: f"'{k}' belongs under [step.question]" for k in QUESTION_KEYS if k != "keys"},
        "minutes": "'minutes' belongs under [lesson]", "summary": "'summary' belongs under "
                                                                 "[lesson]"})
    if "lab" in t or "select" in t:
        return _lab_step(ck, t, i, prev, folder), prev
    state = dict(prev)
    if "scenario" in t:
        new = _scenario_ref(ck, t, p + ("scenario",), folder)
        if new != prev["scenario"]:  # another scenario: its own defaults, not the last one's
            state.update(scenario=new, cell=None, attention=None, epoch="trained", t=0, phase=FORWARD, knob=0,
                         grads="total", tau=None, text=None)
    if state["scenario"] is None:
        ck.fail(p + ("scenario",), "the first step needs a scenario (here or in [lesson])",
                at=p)
    if "cell" in t:
        if is_run(state["scenario"]):
            ck.fail(p + ("cell",), "a lab run's cell is part of its name (cell=...): name the "
                                   "run of the other cell as the step's scenario")
        state["cell"] = ck.choice(t, p + ("cell",), CELLS)
    if "attention" in t:
        from engine.kinds import is_seq2seq
        from engine.types import ATTENTIONS
        state["attention"] = ck.choice(t, p + ("attention",), ATTENTIONS)
        try:
            s2s = is_seq2seq(_scenario(state["scenario"], state["cell"]))
        except ScenarioError:
            s2s = True  # (said below)
        if not s2s:
            ck.fail(p + ("attention",), "only an encoder-decoder scenario (reverse, translate) "
                                        "has attention to switch")
    try:
        sc = _scenario(state["scenario"], state["cell"], state["attention"])
    except ScenarioError as err:
        key = p + ("scenario",) if "cell" not in t else p + ("cell",)
        ck.fail(key, f"the scenario does not open: {err}", at=key if key[-1] in t else p)
    if "epoch" in t:
        raw = t["epoch"]
        if isinstance(raw, str):
            state["epoch"] = ck.choice(t, p + ("epoch",), ("trained", "untrained"))
        else:
            state["epoch"] = ck.integer(t, p + ("epoch",), lo=0, hi=100_000)
    epoch = state["epoch"]
    epoch = sc.train.epochs if epoch == "trained" else 0 if epoch == "untrained" else epoch
    if epoch > sc.train.epochs:  # trained on up to in the app: within the budgets?
        from engine import budget
        try:
            budget.check(sc, epochs=epoch)
        except ScenarioError as err:
            ck.fail(p + ("epoch",), f"epoch {epoch}: {err.message}",
                    at=p + ("epoch",) if "epoch" in t else p)
    tally.add(ck, p, "scenario" in t, state["scenario"], sc, epoch)
    if "text" in t:  # ("": back to the scenario's own sequence)
        state["text"] = ck.string(t, p + ("text",), max_len=500, allow_empty=True) or None
        state["t"], state["tau"] = 0, None
    sequence = sc.sequence
    if state["text"] is not None:
        from engine.scenario import encode_text
        try:
            sequence = encode_text(sc, state["text"])
        except ScenarioError as err:
            ck.fail(p + ("text",), err.message, at=p + ("text",) if "text" in t else p)
    T = len(sequence)
    if "t" in t:
        state["t"] = ck.integer(t, p + ("t",), lo=0, hi=T - 1)
    if state["t"] > T - 1:
        ck.fail(p + ("t",), f"t = {state['t']} is past the sequence's last step, {T - 1}", at=p)
    if "phase" in t:
        state["phase"] = ck.choice(t, p + ("phase",), (FORWARD, BACKWARD))
    if "knob" in t:
        state["knob"] = ck.integer(t, p + ("knob",), lo=-KNOB_LIMIT, hi=KNOB_LIMIT)
    if "grads" in t:
        state["grads"] = ck.choice(t, p + ("grads",), GRAD_VIEWS)
    if "tau" in t:
        state["tau"] = ck.integer(t, p + ("tau",), lo=0, hi=T - 1)
    point = ck.choice(t, p + ("point",), PANES, None)
    maximize = t.get("maximize", False)
    if not isinstance(maximize, bool):
        ck.fail(p + ("maximize",), f"must be true or false, got {describe(maximize)}")
    if maximize and point is None:
        ck.fail(p + ("maximize",), "says which pane with point = \"…\" (the pane to maximise)")
    if maximize and point == "sequence":
        ck.fail(p + ("maximize",), "the Sequence pane is one line: point at another pane to "
                                   "maximise it")
    title = _line_text(ck, t, p + ("title",), 60, None)
    narration = _words(ck, t, p + ("narration",))
    kind, cell = sc.kind, sc.model.cell
    _applies(ck, narration_names(t.get("narration", "")), p + ("narration",), kind, cell)
    task = _task(ck, t, p, kind, cell) if "task" in t else None
    question = _question(ck, t, p, kind, cell) if "question" in t else None
    if task is not None and question is not None:
        ck.fail(p + ("question",), "a step has a task or a question, not both: split it into "
                                   "two steps")
    step = Step(index=i, title=title, scenario=state["scenario"], cell=state["cell"],
                attention=state["attention"], epoch=epoch,
                t=state["t"], phase=state["phase"], knob=state["knob"], grads=state["grads"],
                tau=state["tau"], text=state["text"], point=point, maximize=maximize,
                narration=narration, task=task, question=question, line=ck.line(p))
    return step, state


#: What a step on the lab screen may not say: it shows the lab, not a position of a run.
_NOT_ON_A_LAB_STEP = STATE_KEYS + ("point", "maximize", "task")


def _lab_step(ck: _Checker, t: dict, i: int, prev: dict, folder: Path | None) -> Step:
    """A step on the lab screen (``lab = "memory"``): narration and maybe a question, whose
    numbers are the lab's medians ({median_rnn}); the point of ``select``'s cell (default: the
    lab's first) at the longest swept value is selected."""
    p = ("step", i)
    if "lab" not in t:
        ck.fail(p + ("select",), "selects a cell on the lab screen: the step needs lab = "
                                 "\"NAME\" too", at=p + ("select",))
    for key in _NOT_ON_A_LAB_STEP:
        if key in t:
            ck.fail(p + (key,), f"a step on the lab screen (lab = ...) has no {key}: it shows "
                                f"the lab's curves; give {key} to a step on the main screen")
    if prev["scenario"] is None:
        ck.fail(p + ("lab",), "a lesson that starts on the lab names in [lesson] the scenario "
                              "its later steps open (scenario = \"...\", a lab run's name "
                              "works)", at=p)
    ref = _lab_ref(ck, t, p + ("lab",), folder)
    from engine.lab import load_lab
    try:
        lab = load_lab(ref, check_runs=False)
    except ScenarioError as err:
        ck.fail(p + ("lab",), f"the lab does not open: {err}")
    select = ck.choice(t, p + ("select",), tuple(lab.cells), lab.cells[0])
    title = _line_text(ck, t, p + ("title",), 60, None)
    narration = _words(ck, t, p + ("narration",))
    question = _question(ck, t, p, None, None) if "question" in t else None
    texts = {("narration",): t.get("narration", "")}
    if question is not None:
        qt = t["question"]
        texts.update({("question", "prompt"): qt.get("prompt", ""),
                      ("question", "why"): qt.get("why", "")})
        texts.update({("question", "choices", j): c for j, c in enumerate(qt["choices"])})
    lab_names = {f"median_{cell}" for cell in lab.cells}
    for where, text in texts.items():
        for name in narration_names(text):
            if name not in lab_names:
                known = ", ".join("{" + n + "}" for n in sorted(lab_names))
                what = f"{{{name}}} is a number of the main screen" if name not in LAB_FIELDS \
                    else f"lab {quote(lab.name)} runs no {name.removeprefix('median_')} cell"
                ck.fail(p + where, f"{what}; a step on the lab screen quotes the lab's medians "
                                   f"only ({known})")
    return Step(index=i, title=title, scenario=prev["scenario"], cell=prev["cell"],
                attention=prev["attention"], epoch=_epoch_of(prev), t=prev["t"], phase=prev["phase"], knob=prev["knob"],
                grads=prev["grads"], tau=prev["tau"], text=prev["text"], point=None,
                maximize=False, narration=narration, question=question, line=ck.line(p),
                lab=ref, select=select)


def _epoch_of(state: dict) -> int:
    epoch = state["epoch"]
    if isinstance(epoch, int):
        return epoch
    sc = _scenario(state["scenario"], state["cell"], state["attention"])
    return sc.train.epochs if epoch == "trained" else 0


def _lab_ref(ck: _Checker, t: dict, path: tuple, folder: Path | None) -> str:
    """A built-in lab's name, or the normalised path of a lab file relative to ``folder``."""
    from engine.lab import builtin_labs
    value = ck.string(t, path, max_len=1000, allow_empty=False)
    return _file_ref(ck, path, value, folder, "lab", builtin_labs())


class _Tally:
    """The memory a lesson's scenarios need together: each one's data (its sequences, kept
    while the lesson is open) added up, and the largest one's work on top (a trace, training,
    the weights kept: one scenario is worked on at a time). Over the memory budget, the lesson
    is refused at the step whose scenario brings it over (budgets hold for a lesson as a
    whole, not only for each scenario)."""

    def __init__(self) -> None:
        self.data: dict[str, float] = {}
        self.work = 0.0

    def add(self, ck: _Checker, p: tuple, named: bool, source: str, sc, epoch: int) -> None:
        from engine import budget
        try:
            limit = budget.budgets()["memory"]
        except ScenarioError as err:
            ck.fail(p + ("scenario",), err.message, at=p + ("scenario",) if named else p)
        est = budget.estimate(sc, epochs=max(int(epoch), sc.train.epochs))
        data = est.data_bytes - est.batch_bytes
        self.data[source] = max(self.data.get(source, 0.0), data)
        self.work = max(self.work, est.total_bytes - data)
        total = sum(self.data.values()) + self.work
        if total > limit and len(self.data) > 1:
            ck.fail(p + ("scenario",), f"the lesson's {len(self.data)} scenarios up to this step "
                    f"need about {budget.format_bytes(total)} of memory together (their data "
                    f"{budget.format_bytes(sum(self.data.values()))}, the largest one's work "
                    f"{budget.format_bytes(self.work)}); the budget is "
                    f"{budget.format_bytes(limit)}: name fewer or smaller scenarios (raise the "
                    f"budget with {budget.BUDGET_ENV['memory']}=..., see docs/scenarios.md)",
                    at=p + ("scenario",) if named else p)


def narration_names(text) -> list[str]:
    try:
        return [n for n, _ in placeholders(text)] if isinstance(text, str) else []
    except PlaceholderError:
        return []


def _applies(ck: _Checker, names, path: tuple, kind: str, cell: str) -> None:
    for name in names:
        if name in LAB_FIELDS:
            ck.fail(path, f"{{{name}}} is a number of the lab screen: a step with lab = "
                          f"\"NAME\" quotes it")
        q = QUANTITIES.get(name)
        why = applies(q, kind, cell) if q is not None else None
        if why:
            ck.fail(path, f"{{{name}}} {why} (this step's scenario is a {kind} scenario, cell "
                          f"{cell})")


def _task(ck: _Checker, t: dict, p: tuple, kind: str, cell: str) -> Task:
    path = p + ("task",)
    tt = ck.table(t, path)
    ck.known_keys(tt, path, TASK_KEYS, elsewhere={
        k: f"'{k}' belongs under [step.question]" for k in QUESTION_KEYS})
    do = _words(ck, tt, path + ("do",), 400)
    then = _words(ck, tt, path + ("then",), 1200)
    for key in ("do", "then"):
        _applies(ck, narration_names(tt.get(key, "")), path + (key,), kind, cell)
    raw = ck.string(tt, path + ("condition",), max_len=500, allow_empty=False)
    try:
        cond = parse_condition(raw)
        cond.check(names_and_kinds())
    except ConditionError as err:
        ck.fail(path + ("condition",), str(err))
    _applies(ck, sorted(cond.names()), path + ("condition",), kind, cell)
    keys = tt.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or len(keys) > 40:
        ck.fail(path + ("keys",), f"must be a list of at most 40 key names such as [\"right\", "
                                  f"\"b\"], got {describe(keys)}")
    known = _key_names()
    for j, key in enumerate(keys):
        if not (len(key) == 1 and key.isprintable() or key in known):
            ck.fail(path + ("keys", j), f"unknown key {quote(key)}{suggest(key, sorted(known))}"
                                        f" (a single character, or one of "
                                        f"{', '.join(sorted(known))})")
    return Task(do=do, condition=cond, then=then, keys=tuple(keys))


@lru_cache(maxsize=1)
def _key_names() -> frozenset[str]:
    from ..keys import known_keys
    return frozenset(known_keys())


def _question(ck: _Checker, t: dict, p: tuple, kind: str, cell: str) -> Question:
    path = p + ("question",)
    qt = ck.table(t, path)
    ck.known_keys(qt, path, QUESTION_KEYS, elsewhere={
        k: f"'{k}' belongs under [step.task]" for k in TASK_KEYS})
    prompt = _words(ck, qt, path + ("prompt",), 600)
    why = _words(ck, qt, path + ("why",), 1200)
    for key in ("prompt", "why"):
        if kind is not None:  # (None: a lab step's, checked by _lab_step)
            _applies(ck, narration_names(qt.get(key, "")), path + (key,), kind, cell)
    raw = qt.get("choices", MISSING)
    if raw is MISSING:
        ck.fail(path + ("choices",), "missing (this key is required)", at=path)
    if not isinstance(raw, list) or not 2 <= len(raw) <= 4:
        ck.fail(path + ("choices",), f"must be a list of 2 to 4 answers (keys 1-4 pick them), "
                                     f"got {describe(raw)}")
    choices = []
    for j, choice in enumerate(raw):
        if not isinstance(choice, str) or not choice.strip():
            ck.fail(path + ("choices", j), f"must be a non-empty string, got {describe(choice)}")
        choices.append(_choice(ck, choice, path + ("choices", j)))
    answer = ck.integer(qt, path + ("answer",), lo=1, hi=len(choices))
    return Question(prompt=prompt, choices=tuple(choices), answer=answer, why=why)


def _choice(ck: _Checker, choice: str, path: tuple) -> str:
    if len(choice) > 200:
        ck.fail(path, f"must be at most 200 characters long, got {len(choice)}")
    if any(not c.isprintable() for c in choice):
        ck.fail(path, "must be one line of printable text")
    try:
        placeholders(choice)
    except PlaceholderError as err:
        ck.fail(path, str(err))
    return " ".join(choice.split())

