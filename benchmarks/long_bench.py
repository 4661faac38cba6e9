"""A 100,000-step series (H = 64): the app's first frame with its numbers, and what the trace
holds in memory, against keeping every per-step array at full size (as before).

Each figure comes from a fresh child process (so its peak RSS is its own). Rows:

* first frame: ``make_app`` on the series, headless at 80x24, until the screen shows the
  trace's forward numbers (the View has the trace, every pane drawn from it); the backward
  part comes next from a worker (timed too), and the exact Jacobian norms after it (``--norms``
  also times them: ~20 s here);
* the forward-and-backward part alone (``compute_trace(..., jacobians=False)``), the worker's
  first job;
* trace memory: :func:`rnntui.jobs.trace_bytes` (every array the trace keeps alive, each block
  counted once) of the compact trace, next to the same trace with every array at full size
  (``compact=False``); and the peak of Python allocations while it is made (tracemalloc), and
  the child's peak RSS.

Run: ``.venv/bin/python benchmarks/long_bench.py [--norms]`` (or via benchmarks/run.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, median, thread_env  # noqa: E402

SECTION = "long"
T, H = 100_000, 64
FIRST_FRAME_TARGET_S = 1.0
TRACE_TARGET_BYTES = 128 << 20
SERIES = f"""
[scenario]
name = "long"
kind = "series"
[model]
hidden_size = {H}
output = "identity"
[train]
epochs = 0
[data]
points = {T + 1}
"""


def _child(what: str, norms: bool) -> dict:
    for env in ("RNNTUI_TRACE_BUDGET", "RNNTUI_MEMORY_BUDGET"):  # (the default budgets)
        os.environ.pop(env, None)
    import rnntui  # noqa: F401  (one BLAS thread, before NumPy)
    import resource
    import tracemalloc

    from engine.scenario import loads
    sc = loads(SERIES)
    out: dict = {}
    if what == "engine":
        from engine import History, initial_params
        from engine.trace import run_trace
        from rnntui.jobs import trace_bytes
        p = initial_params(sc)
        run_trace(p, sc.sequence, jacobians=False)  # (untimed: the process's fresh pages)
        t0 = time.perf_counter()
        run_trace(p, sc.sequence, jacobians=False, backward=False)
        out["forward_s"] = time.perf_counter() - t0
        for compact in (True, False):
            t0 = time.perf_counter()
            tr = run_trace(p, sc.sequence, jacobians=False, compact=compact)
            out[f"fast_s_{compact}"] = time.perf_counter() - t0
            out[f"trace_bytes_{compact}"] = trace_bytes(tr)
            del tr
            tracemalloc.start()  # (a second time: tracemalloc slows every allocation down)
            tr = run_trace(p, sc.sequence, jacobians=False, compact=compact)
            out[f"peak_bytes_{compact}"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            del tr
        del History
    else:
        import asyncio

        from rnntui.app import make_app

        async def run() -> None:
            t0 = time.perf_counter()
            app = make_app(sc, cursor_blink=False, train=False)
            async with app.run_test(size=(80, 24)) as pilot:
                while app.view.trace is None or app.view.needs_trace:
                    await asyncio.sleep(0.005)
                out["first_frame_s"] = time.perf_counter() - t0
                from rnntui.jobs import trace_bytes
                out["trace_bytes"] = trace_bytes(app.view.trace)
                while not app.view.trace.backward_done:
                    await asyncio.sleep(0.005)
                out["backward_s"] = time.perf_counter() - t0
                if norms:
                    while not app.view.trace.jacobians_done:
                        await asyncio.sleep(0.05)
                    out["norms_s"] = time.perf_counter() - t0
                await pilot.press("q")

        asyncio.run(run())
    out["maxrss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def _spawn(what: str, norms: bool = False) -> dict:
    env = thread_env(1)
    r = subprocess.run([sys.executable, __file__, "--child", what] + (["--norms"] if norms else []),
                       env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip()[-400:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_long_benchmarks(args=None, emit=print, rounds: int | None = None,
                        norms: bool = False) -> dict:
    rounds = rounds or (1 if getattr(args, "quick", False) else 3)
    app = [_spawn("app", norms and i == 0) for i in range(rounds)]
    eng = [_spawn("engine") for _ in range(rounds)]
    first = median([a["first_frame_s"] for a in app])
    emit(dict(section=SECTION, name=f"first frame with its numbers, T={T:,} H={H} (80x24)",
              value=f"{first:.2f} s", target=f"< {FIRST_FRAME_TARGET_S:.0f} s",
              status="ok" if first < FIRST_FRAME_TARGET_S else "over"))
    emit(dict(section=SECTION, name="  ... the backward part filled in (worker)",
              value=f"{median([a['backward_s'] for a in app]):.2f} s"))
    if "norms_s" in app[0]:
        emit(dict(section=SECTION, name="  ... the exact Jacobian norms filled in (worker)",
                  value=f"{app[0]['norms_s']:.1f} s"))
    emit(dict(section=SECTION, name="forward part of the compact trace alone",
              value=f"{median([e['forward_s'] for e in eng]):.2f} s"))
    fast_c = median([e["fast_s_True"] for e in eng])
    fast_f = median([e["fast_s_False"] for e in eng])
    emit(dict(section=SECTION, name="forward+backward part of the trace (compact)",
              value=f"{fast_c:.2f} s", compare=f"full arrays {fast_f:.2f} s",
              ratio=f"{fast_f / fast_c:.2f}x"))
    tb_c = median([e["trace_bytes_True"] for e in eng])
    tb_f = median([e["trace_bytes_False"] for e in eng])
    emit(dict(section=SECTION, name="trace memory (arrays kept alive)",
              value=f"{tb_c / 2**20:.0f} MB", compare=f"full arrays {tb_f / 2**20:.0f} MB",
              ratio=f"{tb_f / tb_c:.1f}x less", target="< 128 MB",
              status="ok" if tb_c < TRACE_TARGET_BYTES else "over"))
    pk_c = median([e["peak_bytes_True"] for e in eng])
    pk_f = median([e["peak_bytes_False"] for e in eng])
    emit(dict(section=SECTION, name="peak allocations while the trace is made (tracemalloc)",
              value=f"{pk_c / 2**20:.0f} MB", compare=f"full arrays {pk_f / 2**20:.0f} MB"))
    rss = median([a["maxrss_bytes"] for a in app])
    emit(dict(section=SECTION, name="app process peak RSS (first frame)",
              value=f"{rss / 2**20:.0f} MB"))
    return {"app": app, "engine": eng}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--child" in argv:
        what = argv[argv.index("--child") + 1]
        print(json.dumps(_child(what, "--norms" in argv)))
        return 0
    run_long_benchmarks(emit=lambda r: print(
        f"{r['name']}: {r['value']}" + (f" vs {r['compare']}" if r.get("compare") else "")
        + (f" ({r['ratio']})" if r.get("ratio") else "")
        + (f" [target {r['target']}: {r['status']}]" if r.get("target") else "")),
        rounds=3, norms="--norms" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
