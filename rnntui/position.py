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

FORWARD, BACKWARD = "forward", "backward"
#: |knob| at most: W_h x1024 or x1/1024.
KNOB_LIMIT = 40
#: The longest position string accepted (a typed sentence included).
MAX_LENGTH = 4096
#: The Gradients pane's two views: every loss at once, or the loss at one target step.
GRAD_VIEWS = ("total", "loss")
#: Keys in the order they are written.
KEYS = ("scenario", "cell", "cells", "epoch", "t", "phase", "wh", "grads", "tau", "seq", "text")
#: The cells a position may name (engine.types.CELLS).
CELLS = ("rnn", "lstm", "gru")
_BARE = re.compile(r"[A-Za-z0-9_.+\-/~:]+")


class PositionError(ValueError):
    """A position string that cannot be read; ``str(err)`` is one line naming the bad part."""


@dataclass(frozen=True)
class Position:
    """Where a View is. ``scenario`` is a built-in name or a path; ``epoch`` the epoch whose
    weights are shown (None: the last the scenario trains to); ``t`` the 0-based step; ``phase`` forward or backward; ``knob`` the W_h
    knob in clicks (W_h x 2**(knob/4)); ``grads`` the Gradients pane's view; ``target`` the
    pinned target step of the per-loss view (None: the cursor); ``example`` a training
    sequence (0-based) instead of the scenario's own; ``text`` a typed sequence, or None;
    ``cell`` the recurrent cell (None: the scenario file's own); ``cells`` two cells compared
    side by side (compare mode), where ``epoch`` is the share of training in percent."""

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

    def __str__(self) -> str:
        parts = [f"scenario={_quote(self.scenario)}"]
        if self.cell is not None:
            parts.append(f"cell={self.cell}")
        if self.cells is not None:
            parts.append(f"cells={_quote(','.join(self.cells))}")
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
        if self.text is not None:
            parts.append(f"text={_quote(self.text)}")
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
                                    f"{', '.join(CELLS)}, e.g. cells=\"rnn,lstm\"")
            pos = replace(pos, cells=pair)  # type: ignore[arg-type]
        if "epoch" in values:
            pos = replace(pos, epoch=_int("epoch", values.pop("epoch"), low=0))
        if "t" in values:
            pos = replace(pos, t=_int("t", values.pop("t"), low=0))
        if "phase" in values:
            phase = values.pop("phase")
            if phase not in (FORWARD, BACKWARD):
                raise PositionError(f"phase={_show(phase)}: phase is forward or backward")
            pos = replace(pos, phase=phase)
        if "wh" in values:
            pos = replace(pos, knob=_int("wh", values.pop("wh"), low=-KNOB_LIMIT,
                                         high=KNOB_LIMIT))
        if "grads" in values:
            grads = values.pop("grads")
            if grads not in GRAD_VIEWS:
                raise PositionError(f"grads={_show(grads)}: grads is "
                                    f"{' or '.join(GRAD_VIEWS)}")
            pos = replace(pos, grads=grads)
        if "tau" in values:
            pos = replace(pos, target=_int("tau", values.pop("tau"), low=0))
        if "seq" in values:
            pos = replace(pos, example=_int("seq", values.pop("seq"), low=0))
        if "text" in values:
            pos = replace(pos, text=values.pop("text"))
        if pos.text is not None and pos.example is not None:
            raise PositionError("seq= and text= name two sequences: give one")
        if not pos.scenario:
            raise PositionError("scenario= is empty")
        return pos


def _quote(value: str) -> str:
    """A value as written: bare when it is plain, else in double quotes with \\" and \\\\."""
    if value and _BARE.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
        elif c == '"':
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise PositionError(f"{key}=: the quoted value has no closing \"")


def _int(key: str, value: str, *, low: int | None = None, high: int | None = None) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", value):
        raise PositionError(f"{key}={_show(value)}: {key} is a whole number")
    n = int(value)
    if low is not None and n < low or high is not None and n > high:
        rng = f"at least {low}" if high is None else f"from {low} to {high}"
        raise PositionError(f"{key}={value}: {key} is {rng}")
    return n
