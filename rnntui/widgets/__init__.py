"""The panes of the rnntui screen, one widget per module, each drawn from the Session's trace."""

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
