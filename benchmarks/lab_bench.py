"""The memory lab's figures (docs/lab.md; issue 21's numbers to reach), not timed tests.

    python benchmarks/lab_bench.py first      # time to the first finished point on screen
    python benchmarks/lab_bench.py overhead   # what a run costs beyond its own training

The speed-up of 2 workers over 1 is timed from outside, as whole processes (farm-bench):

    farm-bench -n 3 --warmup 0 --timeout 1500 \\
      --vs '.venv/bin/rnntui lab benchmarks/lab_bench.toml --table --no-cache --workers 2' \\
      -- .venv/bin/rnntui lab benchmarks/lab_bench.toml --table --no-cache --workers 1

and ``overhead`` runs the same sweep on one worker and compares its wall time with the sum of
its runs' own times.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent


def first_point(name: str = "adding") -> None:
    """Seconds from this process's start to the lab screen's first landed run (a cold lab and
    training cache, 2 workers), as `rnntui lab NAME` opens it."""
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="lab-bench-")
    import asyncio

    from engine.lab import load_lab
    from rnntui.app import make_app
    from rnntui.lab import Sweep
    from rnntui.labrun import load_any, run_name
    from rnntui.screens.lab import LabScreen
    lab = load_lab(name)
    first = run_name(lab, lab.jobs()[0])
    app = make_app(load_any(first), source=first, train=False)
    screen = app.lab_at_start = LabScreen(lab, Sweep(lab, workers=2))
    landed: list[float] = []
    screen.hooks.append(lambda record: landed.append(time.perf_counter() - START))

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            while not landed:
                await pilot.pause(0.05)
            await pilot.press("q")

    asyncio.run(main())
    print(f"{name}: first point on screen {landed[0]:.1f} s after the process started")


def overhead(path: str = str(HERE / "lab_bench.toml")) -> None:
    """The time a run costs beyond its own training and measuring (a worker's start, the
    data, the cache writes, the messages): one local worker, a cold cache, the sweep's wall
    time against the sum of its runs' own times (each record's ``seconds``)."""
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="lab-bench-")
    from engine.lab import load_lab
    from rnntui.lab import Sweep
    lab = load_lab(path)
    t = time.perf_counter()
    records = Sweep(lab, workers=1).run()
    wall = time.perf_counter() - t
    own = [r["seconds"] for r in records]
    extra = (wall - sum(own)) / len(own)
    print(f"{len(own)} runs on 1 worker: wall {wall:.1f} s, runs' own {sum(own):.1f} s "
          f"(median {statistics.median(own):.2f} s a run); overhead a run {extra:.2f} s = "
          f"{100 * extra / statistics.mean(own):.1f}% of a run's own time")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "first"
    {"first": first_point, "overhead": overhead}[what](*sys.argv[2:])
