"""Shared helpers for the benchmark suite: thread settings, statistics, the table printer.

Nothing here imports numpy, torch or textual, so the orchestrator (run.py) stays light and
never starts a BLAS thread pool of its own.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def thread_env(threads: int, base: dict | None = None) -> dict:
    """The environment for a worker: every BLAS/OpenMP pool limited to ``threads``."""
    env = dict(os.environ if base is None else base)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env["PYTHONHASHSEED"] = "0"
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + old if old else "")
    return env


def median(xs) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def percentile(xs, q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def machine_info() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        info["loadavg_start"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                            capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "engine"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        info["engine_dirty"] = bool(dirty)
    except OSError:
        pass
    return info


def fmt_time(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def print_table(rows: list[dict], file=sys.stdout) -> None:
    """Rows with keys: section, name, value, compare, ratio, target, status (strings)."""
    cols = [("name", "benchmark"), ("value", "ours"), ("compare", "reference"),
            ("ratio", "ratio"), ("cpu", "(cpu)"), ("target", "target"), ("status", "")]
    widths = {k: max(len(h), *(len(str(r.get(k, ""))) for r in rows)) if rows else len(h)
              for k, h in cols}
    order: list = []
    for r in rows:
        if r.get("section") not in order:
            order.append(r.get("section"))
    rows = sorted(rows, key=lambda r: order.index(r.get("section")))  # stable: keeps row order
    section = None
    line = "  ".join(h.ljust(widths[k]) for k, h in cols)
    print(line.rstrip(), file=file)
    print("-" * len(line.rstrip()), file=file)
    for r in rows:
        if r.get("section") != section:
            section = r.get("section")
            print(f"[{section}]", file=file)
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k, _ in cols).rstrip(), file=file)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False, default=float) + "\n")
