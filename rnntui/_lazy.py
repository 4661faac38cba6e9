"""Lazy package front doors, as Textual's ``textual.widgets`` does: a package's names are
imported from their modules the first time they are asked for, so importing the package (or
one of its modules) loads nothing else. (``engine/__init__.py`` has its own: the engine never
imports rnntui.)"""

from __future__ import annotations

import importlib
import sys


def front_door(package: str, where: dict[str, str], names: list[str]):
    """The module ``__getattr__`` and ``__dir__`` of ``package``, whose names live in its
    modules: ``where`` maps each name to its module (relative to the package)."""

    def __getattr__(name: str):
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # asked once
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
