"""The screens of rnntui: the main screen of panes, and the dialogs and notices shown over it.

This front door imports lazily (as Textual's ``textual.widgets`` does): a dialog's module loads
when it is first asked for, not when the app starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import front_door

#: Where each name lives, a module of this folder.
_WHERE = {
    "HelpScreen": "help", "MainScreen": "main", "PickerScreen": "picker",
    "TextInputScreen": "text_input", "MIN_SIZE": "too_small", "TooSmallScreen": "too_small",
    "check_size": "too_small",
}

if TYPE_CHECKING:
    from .help import HelpScreen
    from .main import MainScreen
    from .picker import PickerScreen
    from .text_input import TextInputScreen
    from .too_small import MIN_SIZE, TooSmallScreen, check_size

__all__ = ["HelpScreen", "MIN_SIZE", "MainScreen", "PickerScreen", "TextInputScreen",
           "TooSmallScreen", "check_size"]


__getattr__, __dir__ = front_door(__name__, _WHERE, __all__)
