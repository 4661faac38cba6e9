"""How a registry (the cells, the data kinds) finds a member: a module of the same name in the
registry's package that defines one object, imported the first time it is asked for."""

from __future__ import annotations

import importlib

from .types import ScenarioError


def member(package: str, names: tuple[str, ...], found: dict, name: str, what: str,
           attr: str):
    """The object ``attr`` of module ``package.name``, one of ``names`` (kept in ``found``);
    ScenarioError for a name not registered, or a module whose object has another name."""
    obj = found.get(name)
    if obj is None:
        if name not in names:
            raise ScenarioError(f"unknown {what} {name!r}; choose one of {', '.join(names)}")
        obj = getattr(importlib.import_module(f"{package}.{name}"), attr)
        if obj.name != name:
            folder = package.replace(".", "/")
            raise ScenarioError(f"{folder}/{name}.py defines the {what} {obj.name!r}")
        found[name] = obj
    return obj
