"""A View's position as a short string: ``scenario=king,epoch=50,t=3,phase=backward,wh=+4``.

The position is what a person navigates to (scenario, epoch, t, pass, knob, typed text), not
what is computed from it. It round-trips exactly (``Position.parse(str(p)) == p``) and is what
``rnntui SCENARIO --at ...``, exports and (later) lessons and the presenter use. The schema is
documented in docs/position.md.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

from engine.cells import CELLS  # the cells a position may name: the registry's

FORWARD, BACKWARD = "forward", "backward"
#: |knob| at most: W_h x1024 or x1/1024.
KNOB_LIMIT = 40
#: The longest position string accepted (a typed sentence or a generation's prime included).
MAX_LENGTH = 16384
#: The Gradients pane's two views: every loss at once, or the loss at one target step.
GRAD_VIEWS = ("total", "loss")
#: Keys in the order they are written.
KEYS = ("scenario", "cell", "cells", "attention", "mask", "sort", "epoch", "t", "phase", "wh",
        "grads", "tau", "seq", "window", "text", "gen", "temp", "seed", "from", "genepoch",
        "genwh", "prime")
#: How mask= and sort= write a padded batch's switch.
SWITCH = {True: "on", False: "off"}
#: The keys that only mean something with gen=.
GEN_KEYS = ("temp", "seed", "from", "genepoch", "genwh", "prime")
#: The two parts of a text file's windows (window=val:N, window=train:N).
WINDOW_PARTS = ("val", "train")
#: The largest seed a position may give (the generation dialog takes up to 18 digits).
MAX_SEED = 10 ** 18 - 1
_BARE = re.compile(r"[A-Za-z0-9_.+\-/~:]+")


class PositionError(ValueError):
    """A position string that cannot be read; ``str(err)`` is one line naming the bad part."""


@dataclass(frozen=True)
class WindowRef:
    """One window of a text file (``[data] file``): ``part`` "val" (held out) or "train", and
    its ``number`` counted from 1 as the screen says it ("validation window 2/14")."""

    part: str
    number: int

    def __str__(self) -> str:
        return f"{self.part}:{self.number}"


@dataclass(frozen=True)
class Generation:
    """How a generated sequence was made (key w), so that the same position makes it again.

    Text: ``length`` tokens sampled after the text ``prime`` at ``temperature`` (0: greedy)
    from a generator seeded with ``seed``. A series: a free-running forecast of ``length``
    steps from the sequence up to t = ``start`` (``temperature`` None). ``epoch`` and ``knob``
    are the weights it was made with when they are not the position's own (None: the same);
    ``example`` (a View's, written as ``seq=``) the training sequence a forecast started from.
    """

    length: int
    temperature: float | None = None
    seed: int = 0
    prime: str | None = None
    start: int | None = None
    epoch: int | None = None
    knob: int | None = None
    example: int | None = None

    @property
    def is_text(self) -> bool:
        return self.prime is not None

    def relative_to(self, epoch: int | None, knob: int) -> "Generation":
        """This generation as a position writes it next to ``epoch`` and ``knob``: its own
        weights named only where they differ, and no ``example`` (that is ``seq=``)."""
        return replace(self, example=None,
                       epoch=None if self.epoch in (None, epoch) else self.epoch,
                       knob=None if self.knob in (None, knob) else self.knob)

    def parts(self) -> list[str]:
        out = [f"gen={self.length}"]
        if self.is_text:
            out.append(f"temp={_float(self.temperature or 0.0)}")
            out.append(f"seed={self.seed}")
        if self.start is not None:
            out.append(f"from={self.start}")
        if self.epoch is not None:
            out.append(f"genepoch={self.epoch}")
        if self.knob is not None:
            out.append(f"genwh={self.knob:+d}")
        if self.prime is not None:
            out.append(f"prime={_quote(self.prime)}")
        return out


@dataclass(frozen=True)
class Position:
    """Where a View is. ``scenario`` is a built-in name or a path; ``epoch`` the epoch whose
    weights are shown (None: the last the scenario trains to); ``t`` the 0-based step; ``phase`` forward or backward; ``knob`` the W_h
    knob in clicks (W_h x 2**(knob/4)); ``grads`` the Gradients pane's view; ``target`` the
    pinned target step of the per-loss view (None: the cursor); ``example`` a training
    sequence (0-based) instead of the scenario's own; ``text`` a typed sequence, or None;
    ``cell`` the recurrent cell (None: the scenario file's own); ``cells`` two cells compared
    side by side (compare mode), where ``epoch`` is the share of training in percent;
    ``window`` a window of a text file instead of the scenario's own sequence; ``gen`` a
    sequence the network wrote or forecast (see :class:`Generation`); ``attention`` an
    encoder-decoder's attention when it is not the scenario file's own (None: the file's);
    ``mask`` and ``sort`` a padded scenario's mask and batch sorting when they are not the
    file's own (keys u and s; None: the file's)."""

    scenario: str
    epoch: int | None = None
    t: int = 0
    phase: str = FORWARD
    knob: int = 0
    text: str | None = None
    grads: str = "total"
    target: int | None = None
    example: int | None = None
    cell: str | None = None
    cells: tuple[str, str] | None = None
    window: WindowRef | None = None
    gen: Generation | None = None
    attention: str | None = None
    mask: bool | None = None
    sort: bool | None = None

    def setting(self) -> str:
        """The model settings it names, as it writes them: ``cell=lstm,mask=off`` ("" when
        it names none: the file's own)."""
        parts = [f"cell={self.cell}"] if self.cell is not None else []
        if self.attention is not None:
            parts.append(f"attention={self.attention}")
        for key in ("mask", "sort"):
            if getattr(self, key) is not None:
                parts.append(f"{key}={SWITCH[getattr(self, key)]}")
        return ",".join(parts)

    def __str__(self) -> str:
        parts = [f"scenario={_quote(self.scenario)}"]
        if self.cells is not None:
            parts.append(f"cells={_quote(','.join(self.cells))}")
        if self.setting():
            parts.append(self.setting())
        if self.epoch is not None:
            parts.append(f"epoch={self.epoch}")
        parts.append(f"t={self.t}")
        if self.phase != FORWARD:
            parts.append(f"phase={self.phase}")
        if self.knob:
            parts.append(f"wh={self.knob:+d}")
        if self.grads != "total":
            parts.append(f"grads={self.grads}")
        if self.target is not None:
            parts.append(f"tau={self.target}")
        if self.example is not None:
            parts.append(f"seq={self.example}")
        if self.window is not None:
            parts.append(f"window={self.window}")
        if self.text is not None:
            parts.append(f"text={_quote(self.text)}")
        if self.gen is not None:
            parts.extend(self.gen.parts())
        return ",".join(parts)

    @classmethod
    def parse(cls, text: str, *, scenario: str | None = None) -> "Position":
        """Read a position string. ``scenario`` is used when the string names none (``--at``
        after a scenario argument); a string that names one wins. Raises PositionError."""
        if len(text) > MAX_LENGTH:
            raise PositionError(f"position is {len(text)} characters long; at most "
                                f"{MAX_LENGTH} are read")
        values = _pairs(text)
        if "scenario" not in values and scenario is None:
            raise PositionError("position names no scenario: add scenario=NAME")
        pos = cls(scenario=values.pop("scenario", scenario))  # type: ignore[arg-type]
        if "cell" in values:
            cell = values.pop("cell")
            if cell not in CELLS:
                raise PositionError(f"cell={_show(cell)}: cell is {', '.join(CELLS)}")
            pos = replace(pos, cell=cell)
        if "cells" in values:
            raw = values.pop("cells")
            pair = tuple(c.strip() for c in raw.split(","))
            if len(pair) != 2 or any(c not in CELLS for c in pair) or pair[0] == pair[1]:
                raise PositionError(f"cells={_show(raw)}: cells is two different cells of "
                                    f"{', '.join(CELLS)}, e.g. cells=\"{','.join(CELLS[:2])}\"")
            pos = replace(pos, cells=pair)  # type: ignore[arg-type]
        if "attention" in values:
            from engine.seq2seq import ATTENTIONS
            pos = replace(pos, attention=_choice("attention", values.pop("attention"),
                                                 ATTENTIONS))
        for key in ("mask", "sort"):
            if key in values:
                on = _choice(key, values.pop(key), tuple(SWITCH.values())) == SWITCH[True]
                pos = replace(pos, **{key: on})
        if "epoch" in values:
            pos = replace(pos, epoch=_int("epoch", values.pop("epoch"), low=0))
        if "t" in values:
            pos = replace(pos, t=_int("t", values.pop("t"), low=0))
        if "phase" in values:
            pos = replace(pos, phase=_choice("phase", values.pop("phase"), (FORWARD, BACKWARD)))
        if "wh" in values:
            pos = replace(pos, knob=_int("wh", values.pop("wh"), low=-KNOB_LIMIT,
                                         high=KNOB_LIMIT))
        if "grads" in values:
            pos = replace(pos, grads=_choice("grads", values.pop("grads"), GRAD_VIEWS))
        if "tau" in values:
            pos = replace(pos, target=_int("tau", values.pop("tau"), low=0))
        if "seq" in values:
            pos = replace(pos, example=_int("seq", values.pop("seq"), low=0))
        if "window" in values:
            pos = replace(pos, window=_window(values.pop("window")))
        if "text" in values:
            pos = replace(pos, text=values.pop("text"))
        if "gen" in values:
            pos = replace(pos, gen=_generation(values))
        for key in GEN_KEYS:
            if key in values:
                raise PositionError(f"{key}= belongs to a generated sequence: add gen=LENGTH")
        named = [k for k, v in (("seq", pos.example), ("window", pos.window),
                                ("text", pos.text)) if v is not None]
        if pos.gen is not None and (pos.gen.is_text or "seq" not in named):
            named.append("gen")  # (a forecast's seq= is the sequence it started from)
        if len(named) > 1:
            raise PositionError(f"{'= and '.join(named)}= name {len(named)} sequences: "
                                f"give one")
        if not pos.scenario:
            raise PositionError("scenario= is empty")
        return pos


def scenario_at(scenario, pos: Position):
    """``scenario`` with the cell, the attention, the mask and the sorting ``pos`` names
    (itself when it names none); ScenarioError (one line) when it cannot have them."""
    if pos.mask is not None or pos.sort is not None:
        from engine.scenario import with_batching
        scenario = with_batching(scenario, mask=pos.mask, sort=pos.sort)
    if pos.cell is not None and pos.cell != scenario.model.cell:
        from engine.scenario import with_cell
        scenario = with_cell(scenario, pos.cell)
    if pos.attention is not None and pos.attention != scenario.model.attention:
        from engine.seq2seq import with_attention
        scenario = with_attention(scenario, pos.attention)
    return scenario


def check_epoch(pos: Position, scenario) -> None:
    """PositionError (one line) when ``pos`` names an epoch (``epoch`` or ``genepoch``) past
    what ``scenario`` may train to: the limit of [train].epochs, or the train budget. Such a
    position is refused, never clamped and trained (a position can come from the network)."""
    if pos.cells is not None:
        return  # compare mode: epoch is a share of training in percent
    from engine.scenario import LIMITS
    from engine.types import ScenarioError
    for key, epoch in (("epoch", pos.epoch), ("genepoch", pos.gen and pos.gen.epoch)):
        if epoch is None or epoch <= scenario.train.epochs:
            continue
        if epoch > LIMITS["epochs"]:
            raise PositionError(f"{key}={epoch}: past the limit of {LIMITS['epochs']} epochs "
                                f"a scenario may train")
        from engine import budget
        try:
            budget.check(scenario, epochs=epoch)
        except ScenarioError as err:
            raise PositionError(f"{key}={epoch}: {err.message}") from None


def _window(value: str) -> WindowRef:
    part, _, number = value.partition(":")
    if part not in WINDOW_PARTS or not re.fullmatch(r"[0-9]{1,9}", number) or int(number) < 1:
        raise PositionError(f"window={_show(value)}: window is val:N or train:N, N counted "
                            f"from 1 (e.g. window=val:2)")
    return WindowRef(part, int(number))


def _generation(values: dict[str, str]) -> Generation:
    """gen= and the keys that go with it (taken out of ``values``)."""
    from engine.generate import MAX_LENGTH as MAX_GEN, TEMPERATURE_RANGE
    length = _int("gen", values.pop("gen"), low=1, high=MAX_GEN)
    prime = values.pop("prime", None)
    start = _int("from", values.pop("from"), low=0) if "from" in values else None
    epoch = _int("genepoch", values.pop("genepoch"), low=0) if "genepoch" in values else None
    knob = (_int("genwh", values.pop("genwh"), low=-KNOB_LIMIT, high=KNOB_LIMIT)
            if "genwh" in values else None)
    if prime is None and start is None:
        raise PositionError("gen= needs prime=\"TEXT\" (text written after it) or from=T "
                            "(a series forecast from step T)")
    if prime is not None and start is not None:
        raise PositionError("gen=: prime= (text) and from= (a forecast) do not go together")
    if prime is None:
        for key in ("temp", "seed"):
            if key in values:
                raise PositionError(f"{key}= belongs to generated text (prime=); a forecast "
                                    f"has none")
        return Generation(length, start=start, epoch=epoch, knob=knob)
    raw = values.pop("temp", None)
    if raw is None:
        raise PositionError("gen= with prime= needs temp= (0 for greedy)")
    lo, hi = TEMPERATURE_RANGE
    if not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,20})?", raw) or \
            not (float(raw) == 0 or lo <= float(raw) <= hi):
        raise PositionError(f"temp={_show(raw)}: temp is 0 (greedy) or from {lo:g} to {hi:g}")
    seed = values.pop("seed", "0")
    if not re.fullmatch(r"[0-9]{1,18}", seed):
        raise PositionError(f"seed={_show(seed)}: seed is a whole number from 0 to {MAX_SEED}")
    return Generation(length, float(raw), int(seed), prime, epoch=epoch, knob=knob)


def _float(x: float) -> str:
    """The shortest text that reads back as exactly ``x`` (0.8, 1, 0.123456789)."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


#: Characters written as a backslash and a letter inside quotes: a newline, a return, a tab.
_ESCAPES = {"\n": "n", "\r": "r", "\t": "t"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}


def _quote(value: str) -> str:
    """A value as written: bare when it is plain, else in double quotes with \\" and \\\\
    (and \\n, \\r, \\t for a newline, a return and a tab)."""
    if value and _BARE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    for char, code in _ESCAPES.items():  # (so that a position is always one line)
        escaped = escaped.replace(char, "\\" + code)
    return '"' + escaped + '"'


def _show(value: str) -> str:
    """A bad value quoted in an error message, cut to a readable length."""
    v = value if len(value) <= 40 else value[:40] + "…"
    return repr(v)


def _pairs(text: str) -> dict[str, str]:
    """``key=value`` pairs separated by commas; a value in double quotes may hold anything."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    if not text.strip():
        return out
    while i <= n:
        j = text.find("=", i)
        comma = text.find(",", i)
        if j < 0 or (0 <= comma < j):
            part = text[i: comma if comma >= 0 else n].strip()
            raise PositionError(f"{_show(part)} is not key=value (keys: {', '.join(KEYS)})")
        key = text[i:j].strip()
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else f" (keys: {', '.join(KEYS)})"
            raise PositionError(f"{_show(key)} is not a position key{hint}")
        if key in out:
            raise PositionError(f"{key}= is given twice")
        i = j + 1
        if i < n and text[i] == '"':
            value, i = _quoted(text, i, key)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            value, i = text[i:end].strip(), end
        out[key] = value
        if i >= n:
            break
        if text[i] != ",":
            raise PositionError(f"{key}=: expected a comma after the value, found "
                                f"{_show(text[i:])}")
        i += 1
        if i >= n:
            raise PositionError("the position ends with a comma")
    return out


def _quoted(text: str, i: int, key: str) -> tuple[str, int]:
    """The value of a double-quoted string starting at ``text[i]``, and the index after it."""
    out = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
        elif c == "\\" and i + 1 < len(text) and text[i + 1] in _UNESCAPES:
            out.append(_UNESCAPES[text[i + 1]])
            i += 2
        elif c == '"':
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise PositionError(f"{key}=: the quoted value has no closing \"")


def _choice(key: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` when it is one of ``choices``, else the one-line error listing them."""
    if value not in choices:
        raise PositionError(f"{key}={_show(value)}: {key} is {', '.join(choices[:-1])} or "
                            f"{choices[-1]}")
    return value


def _int(key: str, value: str, *, low: int | None = None, high: int | None = None) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", value):
        raise PositionError(f"{key}={_show(value)}: {key} is a whole number")
    n = int(value)
    if low is not None and n < low or high is not None and n > high:
        rng = f"at least {low}" if high is None else f"from {low} to {high}"
        raise PositionError(f"{key}={value}: {key} is {rng}")
    return n
