"""The package front doors import lazily: a part of the engine or of the app loads what it
needs and not the rest (issue 18's fast start)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded(code: str) -> set[str]:
    """The modules of engine and rnntui loaded after running ``code`` in a fresh interpreter."""
    probe = code + "\nimport sys\nprint('\\n'.join(m for m in sys.modules " \
                   "if m.split('.')[0] in ('engine', 'rnntui')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    return set(out.split())


def test_engine_types_loads_nothing_else_of_the_engine():
    assert _loaded("import engine.types") == {"engine", "engine.types"}


def test_the_app_starts_without_the_lesson_modules_and_the_dialogs():
    loaded = _loaded("from rnntui.app import make_app")
    assert "rnntui.screens.main" in loaded  # (the probe did load the app)
    for module in ("rnntui.lessons", "rnntui.lessons.session", "rnntui.screens.compare",
                   "rnntui.screens.help", "rnntui.screens.picker", "rnntui.screens.lessons",
                   "engine.seq2seq", "engine.pairs"):  # (asking whether a scenario is one
                                                        # is the kinds registry's)
        assert module not in loaded



def test_a_plain_scenario_opens_trains_and_traces_without_the_other_models():
    """Opening king, every pane's module, training it and tracing it load neither the
    encoder-decoder, the padded batches, the bidirectional cell, truncated BPTT nor the other
    data kinds (a scenario file names its attention: the names are in engine.types)."""
    loaded = _loaded("from rnntui.app import make_app\n"
                     "from rnntui.widgets import PANES, pane_class\n"
                     "from engine import fit, load, run_trace\n"
                     "make_app('king')\n"
                     "panes = [pane_class(p) for p in PANES]\n"
                     "sc = load('king')\n"
                     "h = fit(sc, 2)\n"
                     "run_trace(h.weights[-1], sc.sequence)")
    assert {"engine.trace", "engine.train", "rnntui.widgets.batch"} <= loaded
    for module in ("engine.seq2seq", "engine.seq2seq_train", "engine.batch",
                   "engine.cells.bidir", "engine.tbptt",
                   # the other data kinds: only a key out of place needs them all
                   "engine.kinds.series", "engine.kinds.translate", "engine.pairs"):
        assert module not in loaded, module
    assert "engine.kinds.text" in loaded

@pytest.mark.parametrize("package", ["engine", "rnntui.widgets", "rnntui.screens"])
def test_every_name_of_a_front_door_is_there(package):
    import importlib
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
        assert name in dir(module)
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_the_old_entry_points_still_work():
    from engine import fit, load, run_trace  # noqa: F401
    import engine.model
    from rnntui.app import make_app  # noqa: F401
    assert engine.model.Params is not None and callable(engine.model.run)
