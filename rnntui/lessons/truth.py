"""The rule every lesson keeps: a decimal number in its words stands on the screen beside them.

A lesson's words (narration, task, question, choices, what a task showed) may quote a number
only as a pane above the strip writes it, with the pane's own digits: ``0.0078`` beside a pane's
``0.0078×``, never ``0.008`` or ``0.00781``. :func:`unseen` lists the numbers of some words that
no pane text holds; the course's walk test (tests/functional/test_lessons_app.py) applies it to
every step at 80x24 and 60x20, and ``rnntui check`` warns with it about a teacher's lesson.

A figure quoted from the texts this course draws on (a ``TEXT_FIGURES`` quantity) is the one
kind of number that stands alone: the words say whose figure it is.
"""

from __future__ import annotations

import re

__all__ = ["TEXT_FIGURES", "decimals", "unseen"]

#: A decimal number as the screen or the words write it: a point or an exponent makes it one
#: (whole numbers such as t = 4 or 200 epochs are counts, not measurements). A sign written
#: before it is part of it.
DECIMAL = re.compile(r"(?<![\w.])([+\-−]?)(\d*\.\d+(?:e[+\-−]?\d+)?|\d+e[+\-−]?\d+)(?![\w])")

#: Quantities whose value is a figure printed in the texts the course draws on (not on screen).
TEXT_FIGURES = ("seed_power_figure", "seed_scalar_step")


def decimals(text: str) -> list[tuple[str, str]]:
    """Every decimal number of ``text`` as (sign, digits): ``('-', '0.1519')``; the sign is ''
    when none is written, and a minus sign (−) reads as '-'."""
    return [(sign.replace("−", "-"), digits.replace("−", "-"))
            for sign, digits in DECIMAL.findall(text)]


def unseen(words: str, screen: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The decimal numbers of ``words`` that ``screen`` does not write with the same digits (a
    number the words write without a sign may stand with '+' on screen, not with '-').
    ``allowed``: numbers that may stand alone (a text's figure, as the words write it)."""
    shown = set(decimals(screen))
    missing = []
    for sign, digits in decimals(words):
        if digits in allowed or f"{sign}{digits}" in allowed:
            continue
        ok = (sign, digits) in shown or (sign in ("", "+") and {("", digits), ("+", digits)}
                                         & shown)
        if not ok:
            missing.append(f"{sign}{digits}")
    return missing


#: Where each quantity stands at 80x24: (the panes that show it in the grid, the panes that
#: show it maximised). A quantity not named here is on no pane: a step that quotes it asks
#: the learner to take the number on trust. The course's walk test holds the built-in lessons
#: to the real screen; this table lets ``rnntui check`` warn about a teacher's lesson without
#: training anything.
SHOWN_AT_80x24: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "p_top": (("output",), ("output",)),
    "p_target": (("output",), ("output",)),
    "p_input": ((), ("output",)),
    "step_loss": ((), ("output", "step")),
    "loss": (("loss",), ("loss",)),
    "h_unit0": (("hidden",), ("hidden", "step")),
    "units": (("hidden",), ("hidden",)),
    "a_unit0": ((), ("step",)),
    "h_norm": ((), ("hidden",)),
    "spectral_norm": (("gradients",), ("gradients",)),
    "spectral_radius": (("gradients",), ("gradients",)),
    "gradient_share": (("gradients",), ("gradients",)),
    "reach_share": (("gradients",), ("gradients",)),
    "effect_left": (("retention",), ("retention",)),
    "retention": ((), ("retention",)),
    "grad_h": (("step",), ()),
    "predicted": (("output",), ("output",)),
    "truth": ((), ("output",)),
    "accuracy": ((), ("output",)),
    "wh_scale": ((), ("gradients",)),
}
#: Numbers a step may quote that are counts, not measurements (or the texts' own figures).
_COUNTS = ("t", "T", "tau", "epoch", "trained", "knob", "retention_swings", "real_steps",
           "padded_steps") + TEXT_FIGURES


def screen_warnings(lesson) -> list[str]:
    """One line per quantity a step quotes that the pane it points at does not show at 80x24
    (``lesson.toml:12: step 3 quotes {step_loss}, which ...``)."""
    from .conditions import NUMBER
    from .quantities import QUANTITIES
    from .text import placeholders
    out = []
    for step in lesson.steps:
        texts = [step.narration]
        if step.task is not None:
            texts += [step.task.do, step.task.then or ""]
        if step.question is not None:
            texts += [step.question.prompt, step.question.why or "", *step.question.choices]
        quoted = []
        for text in texts:
            for name, _ in placeholders(text):
                q = QUANTITIES.get(name)
                if (q is not None and (q.kind == NUMBER or name == "units") and name not in _COUNTS
                        and name not in quoted):
                    quoted.append(name)
        where = f"{lesson.source}:{step.line}" if step.line else str(lesson.source)
        for name in quoted:
            grid, maxed = SHOWN_AT_80x24.get(name, ((), ()))
            panes = maxed if step.maximize else grid
            if step.point in panes or (step.point is None and panes):
                continue
            if not grid and not maxed:
                why = "which no pane shows: the learner has to take it on trust"
            elif step.point is None:
                why = f"and points at no pane ({' or '.join(grid + maxed)} shows it)"
            elif step.point in maxed and not step.maximize:
                why = f"which the {step.point} pane shows only maximised: add maximize = true"
            else:
                shown = " or ".join(dict.fromkeys((grid if not step.maximize else maxed)
                                                  or (grid + maxed)))
                why = f"which the {step.point} pane does not show (the {shown} pane does)"
            out.append(f"{where}: warning: step {step.index + 1} quotes {{{name}}}, {why} "
                       f"at 80x24")
    return out
