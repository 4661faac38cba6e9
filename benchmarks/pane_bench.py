"""Pane drawing times: the timings that used to be assertions in the tests (a test checks only
what a pane draws; how fast is measured here, as medians).

Rows: the Sequence pane at 100,000 steps (80x24 content area), and every pane of a text trace
of 1,000 steps at hidden size 64 (100x30), one step after another with one pane object, as the
screen draws them. Run: ``.venv/bin/python benchmarks/pane_bench.py`` (or call
:func:`run_pane_benchmarks` with an ``emit`` as benchmarks/run.py does).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SECTION = "panes"
#: What the tests once asserted (20 ms a draw), kept as the target of these rows.
TARGET_S = 0.02
REPEATS = 10

SERIES = """
[scenario]
name = "wave"
kind = "series"
[model]
hidden_size = 4
output = "identity"
[train]
epochs = 0
[data]
points = 100001
"""


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2]


def _draw_times(view_at, pane_cls, steps, width, height) -> list[float]:
    from rnntui.widgets.base import Pane  # noqa: F401  (the panes' base, imported first)
    pane = pane_cls()
    pane.draw(view_at(steps[0]).reading(pane.READS), width, height)  # its first picture
    times = []
    for _ in range(REPEATS):
        for t in steps:
            v = view_at(t).reading(pane.READS)
            start = time.perf_counter()
            pane.draw(v, width, height)
            times.append(time.perf_counter() - start)
    return times


def run_pane_benchmarks(args=None, emit=print) -> dict:
    from engine import History, initial_params
    from engine.scenario import loads
    from engine.train import dataset_loss
    from rnntui.jobs import compute_trace
    from rnntui.view import View
    from rnntui.widgets import GradientPane, HiddenPane, OutputPane, SequencePane, StepPane

    def opened(sc) -> View:
        p0 = initial_params(sc)
        view = View.open(sc, History(losses=[dataset_loss(p0, sc)], epochs=[0], weights=[p0]))
        return view

    out: dict = {}
    long = opened(loads(SERIES))
    med = _median(_draw_times(long.at, SequencePane, (0, 50_000, 99_999), 76, 22))
    out["sequence_100k_s"] = med
    emit(dict(section=SECTION, name="Sequence pane, 100,000 steps (76x22)",
              value=f"{med * 1e3:.2f} ms", target=f"< {TARGET_S * 1e3:.0f} ms",
              status="ok" if med < TARGET_S else "over"))
    words = " ".join(f"w{i % 200}" for i in range(1000))
    big = opened(loads(f"""
[scenario]
name = "big"
kind = "text"
[model]
hidden_size = 64
[train]
epochs = 0
[data]
text = ["{words}"]
"""))
    big = big.with_trace(*compute_trace(big))
    for cls in (SequencePane, StepPane, HiddenPane, OutputPane, GradientPane):
        med = _median(_draw_times(big.at, cls, range(400, 410), 100, 30))
        out[f"{cls.__name__}_big_text_s"] = med
        emit(dict(section=SECTION, name=f"{cls.__name__}, text T=1000 H=64 (100x30)",
                  value=f"{med * 1e3:.2f} ms", target=f"< {TARGET_S * 1e3:.0f} ms",
                  status="ok" if med < TARGET_S else "over"))
    return out


if __name__ == "__main__":
    run_pane_benchmarks(emit=lambda row: print(f"{row['name']}: {row['value']} "
                                               f"(target {row['target']}, {row['status']})"))
