"""No key is bound twice: not within the main screen, not over one of Textual's own, not within
a dialog. Keys that later issues add cannot silently shadow each other."""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter

import pytest
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

import rnntui.screens
from rnntui.app import RnnApp
from rnntui.screens import MainScreen


def keys_of(bindings) -> list[str]:
    """Every key of a BINDINGS list ("left,h" is two keys)."""
    return [k.strip() for b in Binding.make_bindings(bindings) for k in b.key.split(",")]


def textual_keys() -> set[str]:
    """The keys Textual itself binds on every app and screen: quit, help-quit, the command
    palette, focus next/previous, copy."""
    return set(keys_of(App.BINDINGS)) | set(keys_of(Screen.BINDINGS)) | \
        {App.COMMAND_PALETTE_BINDING}


def screen_classes() -> list[type]:
    """Every Screen class defined in rnntui.screens (the dialogs, the notices, the main one)."""
    found = []
    for info in pkgutil.iter_modules(rnntui.screens.__path__):
        module = importlib.import_module(f"rnntui.screens.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Screen) and \
                    value.__module__ == module.__name__:
                found.append(value)
    return found


def test_textual_binds_what_the_test_expects():
    assert {"ctrl+q", "ctrl+c", "ctrl+p", "tab", "shift+tab"} <= textual_keys()
    # and a shared key is seen (the checks below can fail)
    assert Counter(keys_of([Binding("a, b", "x"), Binding("b", "y")]))["b"] == 2


def test_no_two_main_screen_bindings_share_a_key():
    counts = Counter(keys_of(MainScreen.BINDINGS) + keys_of(RnnApp.__dict__.get("BINDINGS", [])))
    twice = {k: n for k, n in counts.items() if n > 1}
    assert not twice, twice


def test_no_main_screen_key_shadows_one_of_textuals():
    shadowed = set(keys_of(MainScreen.BINDINGS)) & textual_keys()
    assert not shadowed, shadowed


def test_the_screens_are_found():
    names = {cls.__name__ for cls in screen_classes()}
    assert {"MainScreen", "HelpScreen", "PickerScreen", "TextInputScreen",
            "TooSmallScreen"} <= names


@pytest.mark.parametrize("screen", screen_classes(), ids=lambda c: c.__name__)
def test_each_screens_keys_do_not_collide(screen):
    own = keys_of(screen.__dict__.get("BINDINGS", []))
    twice = {k: n for k, n in Counter(own).items() if n > 1}
    assert not twice, twice
    # a dialog may take Enter, Esc or q for itself, but never one of Textual's app-wide keys
    assert not set(own) & (set(keys_of(App.BINDINGS)) | {App.COMMAND_PALETTE_BINDING})
