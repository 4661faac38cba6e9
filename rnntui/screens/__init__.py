"""The screens of rnntui: the main screen of panes, and the dialogs and notices shown over it."""

from .help import HelpScreen
from .main import MainScreen
from .picker import PickerScreen
from .text_input import TextInputScreen
from .too_small import MIN_SIZE, TooSmallScreen, check_size

__all__ = ["HelpScreen", "MIN_SIZE", "MainScreen", "PickerScreen", "TextInputScreen",
           "TooSmallScreen", "check_size"]
