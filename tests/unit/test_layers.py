"""The layers, read from the source with ast: the engine stands alone, the panes know nothing of
the app or its screens, and no rnntui module imports, even inside a function, one that imports
it back."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI_LIBRARIES = ("rnntui", "textual", "rich", "plotext")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _under_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path, type_checking: bool = False,
            source: str | None = None) -> list[tuple[str, int]]:
    """Every module ``path`` imports when it runs (at the top or in a function; under
    ``if TYPE_CHECKING:`` too when ``type_checking``), as absolute names, with the line;
    ``from X import y`` gives X and, when X is a package with a module y, X.y too.
    ``source`` is read instead of the file when given."""
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _under_type_checking(node) and not type_checking:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if _module_path(sub) is not None:
                    out.append((sub, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def _module_path(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_source_is_where_the_test_looks():
    assert len(sources("engine")) > 5 and len(sources("rnntui")) > 10
    assert (ROOT / "rnntui" / "widgets" / "base.py").is_file()
    # the reader finds relative, function-level and from-package imports
    found = dict(imports(ROOT / "rnntui" / "screens" / "main.py"))
    assert "rnntui.jobs" in found and "rnntui.view" in found
    assert "rnntui.screens.help" in found  # imported inside action_help


def test_the_engine_imports_neither_rnntui_nor_a_ui_library():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {name}"
           for path in sources("engine") for name, line in imports(path)
           if name.split(".")[0] in UI_LIBRARIES]
    assert not bad, "\n".join(bad)


def test_the_widgets_import_neither_the_app_nor_the_screens():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {name}"
           for path in sources("rnntui/widgets") for name, line in imports(path)
           if name in ("rnntui.app", "rnntui.screens", "rnntui.cli", "rnntui.jobs")
           or name.startswith(("rnntui.app.", "rnntui.screens."))]
    assert not bad, "\n".join(bad)


def import_graph(package: str = "rnntui", extra: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """module -> the modules of ``package`` it imports, at any level, under TYPE_CHECKING too
    (a module also runs its packages' __init__ first, so importing rnntui.screens.main depends
    on rnntui.screens too). ``extra`` folders (benchmarks/) count as importers."""
    graph: dict[str, set[str]] = {}
    for path in sources(package) + [p for folder in extra for p in sources(folder)]:
        me = module_name(path)
        edges = graph.setdefault(me, set())
        for name, _ in imports(path, type_checking=True):
            if not name.startswith(package):
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                dep = ".".join(parts[:i])
                if dep != me and not me.startswith(dep + ".") and _module_path(dep):
                    edges.add(dep)
    if package == "engine":  # the cell registry imports its modules by name (importlib)
        from engine.cells import CELLS
        graph["engine.cells"] |= {f"engine.cells.{name}" for name in CELLS}
        from engine.kinds import KINDS  # and the kind registry its kinds
        graph["engine.kinds"] |= {f"engine.kinds.{name}" for name in KINDS}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of nodes (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {n: WHITE for n in graph}
    stack: list[str] = []

    def dfs(n: str) -> list[str] | None:
        colour[n] = GREY
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if colour.get(m, WHITE) == GREY:
                return stack[stack.index(m):] + [m]
            if colour.get(m, WHITE) == WHITE:
                found = dfs(m)
                if found:
                    return found
        stack.pop()
        colour[n] = BLACK
        return None

    for n in sorted(graph):
        if colour[n] == WHITE:
            found = dfs(n)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_among_rnntui_modules():
    graph = import_graph()
    assert "rnntui.app" in graph and "rnntui.screens.main" in graph["rnntui.app"] or \
        "rnntui.screens" in graph["rnntui.app"]
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_no_import_cycle_among_engine_modules():
    graph = import_graph("engine", extra=("benchmarks",))
    assert "engine.trace" in graph["engine"] and "engine.cells.lstm" in graph["engine.cells"]
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_test_sees_imports_in_functions_and_under_type_checking():
    probe = ROOT / "engine" / "cells" / "probe.py"  # read from the text below, not a file
    text = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..trace import Trace\n"
            "def f():\n    from . import base\n    import engine.budget\n")
    found = {name for name, _ in imports(probe, type_checking=True, source=text)}
    assert {"engine.trace", "engine.cells.base", "engine.budget"} <= found
    assert "engine.trace" not in {n for n, _ in imports(probe, source=text)}


def quoted_cell_names(text: str, names) -> list[str]:
    """Each place ``text`` spells one of the cell ``names`` in quotes ("lstm", 'GRU', any case),
    code, comment or docstring alike."""
    pattern = re.compile(r"""(["'])\s*(%s)\s*\1""" % "|".join(map(re.escape, names)),
                         re.IGNORECASE)
    return [m.group(0) for m in pattern.finditer(text)]


def test_the_quoted_name_finder_finds_names_in_code_comments_and_docstrings():
    names = ("rnn", "lstm", "gru")
    assert quoted_cell_names('if cell == "lstm":', names) == ['"lstm"']
    assert quoted_cell_names("# the 'GRU' keeps\n", names) == ["'GRU'"]
    assert quoted_cell_names('"""cell: "rnn" or "gru"."""', names) == ['"rnn"', '"gru"']
    assert quoted_cell_names('"lstm_x", "rnntui", "the rnn"', names) == []


def test_no_code_outside_the_cells_names_a_cell():
    """Adding a cell is its module plus one registry line: nothing else may name one (CLI
    choices, positions, panes, lessons and compare mode ask engine.cells)."""
    from engine.cells import CELLS
    cells_dir = ROOT / "engine" / "cells"
    files = [p for folder in ("engine", "rnntui", "benchmarks") for p in sources(folder)
             if cells_dir not in p.parents]
    assert len(files) > 50 and ROOT / "rnntui" / "widgets" / "step.py" in files
    bad = [f"{path.relative_to(ROOT)}: {', '.join(found)}" for path in files
           if (found := quoted_cell_names(path.read_text(encoding="utf-8"), CELLS))]
    assert not bad, "\n".join(bad)
