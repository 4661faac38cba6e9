"""The panes of the rnntui screen, one widget per module, each drawn from the Session's trace.

This front door imports lazily (as Textual's ``textual.widgets`` does): ``from rnntui.widgets
import LossPane`` loads the loss pane's module (and plotext) and no other pane's.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: Where each name lives, a module of this folder.
_WHERE = {
    "GradientPane": "gradients", "HiddenPane": "hidden", "LossPane": "loss",
    "OutputPane": "output", "Pane": "base", "RetentionPane": "retention",
    "SequencePane": "sequence", "StepPane": "step",
}

if TYPE_CHECKING:
    from .base import Pane
    from .gradients import GradientPane
    from .hidden import HiddenPane
    from .loss import LossPane
    from .output import OutputPane
    from .retention import RetentionPane
    from .sequence import SequencePane
    from .step import StepPane

__all__ = ["GradientPane", "HiddenPane", "LossPane", "OutputPane", "Pane", "RetentionPane",
           "SequencePane", "StepPane"]


def __getattr__(name: str):
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
