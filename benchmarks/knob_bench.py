"""A knob turn and an epoch change at H = 64, T = 1000: how long until the new forward and
backward numbers are on screen, and until the exact Jacobian norms are.

In one process, the app headless (``run_test``, 120x40) on a 1000-character text scenario
(benchmarks/app_bench.write_bench_scenario), trained a few epochs so that ``]`` has epochs to
move to. Each press is the screen's own action called directly (``action_knob``,
``action_epoch``) and timed until it returns: the View is made, its trace got and every pane
handed it and redrawn (Textual paints afterwards). Rows:

* before: the whole trace (forward, backward and exact norms) that a press waited for until
  now (``compute_trace`` with the norms; it ran in a worker, so the numbers came after it);
* a press whose trace is not ready: the forward and backward part made at once in the UI
  thread, panes drawn, norms then from a worker (the time until they are shown is its own row);
* a press onto a setting computed ahead while idle (knob one click either way, the next or
  previous kept epoch): its trace and its panes' pictures were made while idle, so the press
  shows a finished picture.

Run: ``.venv/bin/python benchmarks/knob_bench.py`` (or via benchmarks/run.py).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # as the app (rnntui/__init__.py), before NumPy loads

from _common import median  # noqa: E402

SECTION = "knob"
FRAME_S = 0.016
ROUNDS = 8


def _scenario(folder: Path):
    from app_bench import write_bench_scenario
    path = write_bench_scenario(folder, T=1000, H=64)
    text = path.read_text().replace("epochs = 0", "epochs = 4")
    path.write_text(text)
    from engine.scenario import load
    return load(str(path))


async def _measure(sc, rounds: int) -> dict:
    from rnntui.app import make_app
    from rnntui.jobs import compute_trace
    from rnntui.screenshot import busy
    app = make_app(sc, cursor_blink=False)
    out: dict = {"whole": [], "cold": [], "ahead": [], "norms": [], "epoch_ahead": []}
    cpu: dict = {k: [] for k in out}  # the UI thread's own CPU time (time.thread_time)

    async def idle() -> None:
        for _ in range(6000):
            await asyncio.sleep(0.005)
            if busy(app) is None:
                return

    async def ahead_done(screen) -> None:
        from rnntui.jobs import neighbours
        keys = [v.wanted_key for v in neighbours(screen.view)]
        for _ in range(6000):
            kept = screen.jobs.kept
            if all(k in kept and kept[k].jacobians_done for k in keys):
                break
            await asyncio.sleep(0.005)
        for _ in range(2000):  # and their pictures drawn ahead (an idle moment per setting)
            ready = screen.jobs.ready_neighbours(screen.view)
            if all(p.has_picture(v) for v in ready for p in screen.panes):
                return
            await asyncio.sleep(0.005)

    async with app.run_test(size=(120, 40)) as pilot:
        await idle()
        screen = app.main_screen
        for i in range(rounds):
            v = screen.view
            # before: the whole trace of the next knob setting
            t0, c0 = time.perf_counter(), time.thread_time()
            compute_trace(v.with_knob(v.knob + 5))
            out["whole"].append(time.perf_counter() - t0)
            cpu["whole"].append(time.thread_time() - c0)
            # a press onto a setting nobody computed: a big jump (0 resets the knob; then 5)
            screen.jobs.kept.clear()
            screen.jobs.ahead_on = False
            target = 5 if v.knob != 5 else -5
            t0, c0 = time.perf_counter(), time.thread_time()
            screen.action_knob(target - v.knob)
            cpu["cold"].append(time.thread_time() - c0)
            while screen.view.needs_trace:  # (a loaded machine sends it to a worker)
                out["in_worker"] = out.get("in_worker", 0) + 1
                await asyncio.sleep(0.001)
            out["cold"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            while not screen.view.trace.jacobians_done:
                await asyncio.sleep(0.001)
            out["norms"].append(time.perf_counter() - t0)
            screen.jobs.ahead_on = True
            screen.view = screen.view  # idle again: the neighbours are computed ahead
            await ahead_done(screen)
            await pilot.pause()
            t0, c0 = time.perf_counter(), time.thread_time()
            screen.action_knob(1 if i % 2 else -1)
            out["ahead"].append(time.perf_counter() - t0)
            cpu["ahead"].append(time.thread_time() - c0)
            assert screen.view.trace.jacobians_done, "not computed ahead"
            await ahead_done(screen)
            await pilot.pause()
            t0, c0 = time.perf_counter(), time.thread_time()
            screen.action_epoch(-1 if screen.view.epoch else 1)
            out["epoch_ahead"].append(time.perf_counter() - t0)
            cpu["epoch_ahead"].append(time.thread_time() - c0)
            await idle()
        await pilot.press("q")
    out["cpu"] = cpu
    return out


def run_knob_benchmarks(args=None, emit=print, rounds: int | None = None) -> dict:
    rounds = rounds or (3 if getattr(args, "quick", False) else ROUNDS)
    with tempfile.TemporaryDirectory() as tmp:
        sc = _scenario(Path(tmp))
        samples = asyncio.run(_measure(sc, rounds))
    med = {k: median(v) for k, v in samples.items() if isinstance(v, list)}
    rows = [
        ("before: whole trace a press waited for (knob, H=64 T=1000)", "whole", None),
        ("knob press, not computed yet: numbers on screen (norms follow)", "cold", FRAME_S),
        ("  ... then the exact norms shown (worker)", "norms", None),
        ("knob press onto a setting computed ahead: finished picture", "ahead", FRAME_S),
        ("epoch press onto an epoch computed ahead", "epoch_ahead", FRAME_S),
    ]
    cpu_med = {k: median(v) for k, v in samples["cpu"].items() if v}
    for name, k, target in rows:
        row = dict(section=SECTION, name=name, value=f"{med[k] * 1e3:.1f} ms")
        if k in cpu_med:
            row["cpu"] = f"{cpu_med[k] * 1e3:.1f} ms"
        if k != "whole":
            row["compare"] = f"before {med['whole'] * 1e3:.1f} ms"
            row["ratio"] = f"{med['whole'] / med[k]:.1f}x faster" if med[k] else ""
        if target:
            row["target"] = f"< {target * 1e3:.0f} ms"
            row["status"] = "ok" if med[k] < target else "over"
        emit(row)
    return {"samples": samples, "median_s": med, "rounds": rounds}


if __name__ == "__main__":
    res = run_knob_benchmarks(emit=lambda r: print(
        f"{r['name']}: {r['value']}" + (f" (UI thread cpu {r['cpu']})" if r.get("cpu") else "")
        + (f" vs {r['compare']} ({r['ratio']})" if r.get('compare')
                                        else "")
        + (f" [target {r['target']}: {r['status']}]" if r.get("target") else "")))
    for k, v in res["samples"].items():
        if isinstance(v, list):
                print(f"  {k}: " + " ".join(f"{x * 1e3:.1f}" for x in v))
