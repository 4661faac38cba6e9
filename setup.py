"""The packages are found, not listed: a hand-kept list in pyproject.toml once missed
engine.cells, and only a non-editable install noticed. Everything else is in pyproject.toml,
including the one package that cannot be found: the built-in scenarios, which live in the
top-level scenarios/ folder and install as engine.scenarios (see [tool.setuptools.package-dir])."""

from setuptools import find_namespace_packages, setup

setup(packages=find_namespace_packages(include=["engine", "engine.*", "rnntui", "rnntui.*"],
                                       exclude=["*.__pycache__"])
      + ["engine.scenarios"])
