"""The panes of the rnntui screen, one widget per module, each drawn from the Session's trace.

A pane is one module here that defines ``PANE``, a :class:`~rnntui.widgets.base.Pane` with its
``ID``, ``TITLE``, ``HELP`` (the help screen's words), ``READS`` (the View fields it draws from)
and ``draw``, plus one line in :data:`PANES` below. The main screen's layout, the help screen and
the lesson schema (``point = "..."``) read that list (docs/architecture.md).

This front door imports lazily (as Textual's ``textual.widgets`` does): ``from rnntui.widgets
import LossPane`` loads the loss pane's module (and plotext) and no other pane's.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .._lazy import front_door

#: The pane registry: one line per pane, its id on the main screen, which is also the name of
#: its module in this folder. Order: the panes whose ``PLACE`` is "top" across the top, then
#: the grid (app.tcss's ``#panes``: 3 columns, 2 rows) left to right, top to bottom; the help
#: screen lists them in this order too.
PANES = (
    "sequence",
    "batch",
    "step",
    "hidden",
    "output",
    "attention",
    "gradients",
    "retention",
    "loss",
)


def pane_class(pane_id: str) -> type[Pane]:
    """The pane class of ``pane_id`` (one of :data:`PANES`); KeyError for any other id."""
    if pane_id not in PANES:
        raise KeyError(f"no pane {pane_id!r}; the panes are {', '.join(PANES)}")
    cls = importlib.import_module(f"{__name__}.{pane_id}").PANE
    if cls.ID != pane_id:
        raise KeyError(f"rnntui/widgets/{pane_id}.py defines the pane {cls.ID!r}")
    return cls


#: Where each name lives, a module of this folder.
_WHERE = {
    "AttentionPane": "attention", "BatchPane": "batch", "GradientPane": "gradients",
    "HiddenPane": "hidden", "LossPane": "loss",
    "OutputPane": "output", "Pane": "base", "RetentionPane": "retention",
    "SequencePane": "sequence", "StepPane": "step",
}

if TYPE_CHECKING:
    from .attention import AttentionPane
    from .base import Pane
    from .batch import BatchPane
    from .gradients import GradientPane
    from .hidden import HiddenPane
    from .loss import LossPane
    from .output import OutputPane
    from .retention import RetentionPane
    from .sequence import SequencePane
    from .step import StepPane

__all__ = ["PANES", "pane_class", "AttentionPane", "BatchPane", "GradientPane", "HiddenPane", "LossPane",
           "OutputPane", "Pane", "RetentionPane",
           "SequencePane", "StepPane"]


__getattr__, __dir__ = front_door(__name__, _WHERE, __all__)
