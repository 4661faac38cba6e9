"""The screens of rnntui: the main screen of panes, and the dialogs and notices shown over it.

This front door imports lazily (as Textual's ``textual.widgets`` does): a dialog's module loads
when it is first asked for, not when the app starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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


def __getattr__(name: str):
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
