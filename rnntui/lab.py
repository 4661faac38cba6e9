"""``rnntui lab NAME|PATH``: run a lab's sweep and write its results (docs/lab.md).

Each run is the pure job :func:`engine.lab.run_job`. Its record is kept in the cache folder's
``lab/`` subfolder under a key made of the job and the engine's source (as the training cache
keys weights), written atomically and checked on reading, so a sweep resumes where it stopped
and a second run of it is instant. Runs not cached go to ``--workers N`` local processes, each
with its BLAS pinned to one thread, or with ``--scheduler tcp://HOST:PORT`` to a Dask
``distributed`` scheduler's workers (the optional ``cluster`` extra).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import statistics
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

__all__ = ["BLAS_ENV", "FIELDS", "cmd_lab", "document", "run_lab", "table"]

#: The environment that pins each BLAS a worker may use to one thread (set before it starts).
BLAS_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                   "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                                   "NUMEXPR_NUM_THREADS")}
#: A record's fields, in the order the CSV writes them (docs/lab.md).
FIELDS = ("task", "parameter", "value", "cell", "seed", "metric", "baseline", "loss",
          "accuracy", "epochs", "stopped", "seconds", "position")
#: The version of the records' layout: a change makes older records misses.
FORMAT = 1
_MAX_RECORD = 64 * 1024


def add_arguments(p) -> None:
    p.description = ("Run a memory lab's sweep (each cell at each value of the swept "
                     "parameter, each seed) and write its results (docs/lab.md).")
    p.add_argument("lab", metavar="NAME|PATH", help="a built-in lab or a lab .toml file")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="write the results as one JSON object ('-': standard output)")
    p.add_argument("--csv", default=None, metavar="PATH",
                   help="write one CSV row a run ('-': standard output)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: the cores)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run on the workers of this Dask distributed scheduler instead")
    p.add_argument("--scenario", default=None, metavar="RUN",
                   help="print the scenario of one run, e.g. 'length=50 cell=gru seed=1', "
                        "and exit: saved as a file, 'rnntui FILE' opens that run")


# -- the cache ---------------------------------------------------------------------------------

def _key(job: dict) -> str:
    from .cache import engine_version
    text = json.dumps({"job": job, "engine": engine_version(), "format": FORMAT},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _folder() -> Path:
    from .cache import cache_dir
    return cache_dir() / "lab"


def cached(job: dict) -> dict | None:
    """The record kept for ``job``, or None (none, the cache is off, or it does not check)."""
    from .cache import enabled
    if not enabled():
        return None
    from engine.files import FileReadError, read_regular
    key = _key(job)
    try:
        doc = json.loads(read_regular(_folder() / f"{key}.json", _MAX_RECORD))
    except (FileReadError, ValueError, OSError):
        return None
    if not isinstance(doc, dict) or doc.get("key") != key or doc.get("job") != job:
        return None
    record = doc.get("record")
    if not isinstance(record, dict) or set(record) != set(FIELDS):
        return None
    return record


def keep(job: dict, record: dict) -> None:
    """Keep ``record`` for ``job`` (atomically; a failure to write only loses the shortcut)."""
    from .cache import _write_atomic, enabled
    if not enabled():
        return
    key = _key(job)
    folder = _folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / f"{key}.json",
                      json.dumps({"key": key, "job": job, "record": record}).encode("utf-8"))
    except OSError:
        pass


# -- running -----------------------------------------------------------------------------------

def _pin_blas() -> None:
    os.environ.update(BLAS_ENV)


def run_lab(lab, *, workers: int | None = None, scheduler: str | None = None,
            done=None) -> list[dict]:
    """Every run's record, in the lab's order (value, cell, seed). Cached runs are read; the
    others run on ``workers`` local processes (spawned with BLAS pinned to one thread), or on a
    Dask scheduler's workers. ``done(record, finished, total)`` is called as each one ends."""
    from engine.lab import run_job
    jobs = lab.jobs()
    records: list[dict | None] = [cached(job) for job in jobs]
    todo = [i for i, r in enumerate(records) if r is None]
    finished = len(jobs) - len(todo)
    for r in records:
        if r is not None and done:
            done(r, finished, len(jobs))

    def land(i: int, record: dict) -> None:
        nonlocal finished
        records[i] = record
        keep(jobs[i], record)
        finished += 1
        if done:
            done(record, finished, len(jobs))

    if todo and scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed
        with Client(scheduler, timeout="10s") as client:
            futures = {client.submit(run_job, jobs[i], pure=False): i for i in todo}
            for future in dask_completed(futures):
                land(futures[future], future.result())
    elif todo:
        import multiprocessing
        _pin_blas()  # spawned workers start with it, before they import numpy
        n = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(run_job, jobs[i]): i for i in todo}
            try:
                for future in as_completed(futures):
                    land(futures[future], future.result())
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    return records  # type: ignore[return-value]


def document(lab, records: list[dict]) -> dict:
    """The JSON object ``--json`` writes (docs/lab.md)."""
    from engine.lab import METRICS
    return {"lab": lab.name, "task": lab.task, "parameter": lab.parameter,
            "values": list(lab.values), "cells": list(lab.cells), "seeds": list(lab.seeds),
            "metric": lab.metric, "metric_means": METRICS[lab.metric],
            "train": dict(lab.train), "data": dict(lab.fixed), "runs": records}


def csv_text(records: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow({k: "" if r[k] is None else r[k] for k in FIELDS})
    return buf.getvalue()


def table(lab, records: list[dict]) -> str:
    """The median metric over seeds, one row a value and one column a cell, with the baseline."""
    head = f"{lab.parameter:>8}  " + "  ".join(f"{c:>8}" for c in lab.cells) + "  baseline"
    lines = [f"{lab.name}: median {lab.metric} over seeds {list(lab.seeds)}", head]
    for v in lab.values:
        row = [r for r in records if r["value"] == v]
        cells = []
        for c in lab.cells:
            got = [r["metric"] for r in row if r["cell"] == c and r["metric"] is not None]
            cells.append(f"{statistics.median(got):8.3f}" if got else f"{'—':>8}")
        lines.append(f"{v:>8}  " + "  ".join(cells) + f"  {row[0]['baseline']:8.4f}")
    return "\n".join(lines)


def _write(path: str, text: str, out) -> None:
    if path == "-":
        out.write(text)
        return
    from .cache import _write_atomic
    _write_atomic(Path(path).resolve(), text.encode("utf-8"))


def _one_run(lab, spec: str, fail) -> dict | None:
    """The job ``spec`` names ('PARAM=V cell=C seed=S'; a missing part: the lab's first)."""
    parts = dict(p.split("=", 1) for p in spec.replace(",", " ").split() if "=" in p)
    try:
        value = int(parts.pop(lab.parameter, lab.values[0]))
        seed = int(parts.pop("seed", lab.seeds[0]))
    except ValueError:
        fail(f"--scenario: {lab.parameter} and seed are whole numbers, got {spec!r}")
        return None
    cell = parts.pop("cell", lab.cells[0])
    parts.pop("lab", None)
    if parts:
        fail(f"--scenario: unknown {', '.join(sorted(parts))} (give {lab.parameter}=, cell=, "
             f"seed=)")
        return None
    from engine.cells import CELLS
    if cell not in CELLS:
        fail(f"--scenario: cell must be one of {', '.join(CELLS)}, got {cell!r}")
        return None
    return lab.job(value, cell, seed)


def cmd_lab(args, out, fail) -> int:
    """``rnntui lab``: run the sweep, print its table and progress, write --json / --csv."""
    import sys

    from engine.lab import load_lab, scenario_text
    from engine.types import ScenarioError
    if args.workers is not None and args.workers < 1:
        return fail(f"--workers must be at least 1, got {args.workers}")
    if args.scheduler is not None and args.workers is not None:
        return fail("--workers and --scheduler: give one (a scheduler has its own workers)")
    try:
        lab = load_lab(args.lab)
    except ScenarioError as err:
        return fail(str(err))
    if args.scenario is not None:
        job = _one_run(lab, args.scenario, fail)
        if job is None:
            return 2
        out.write(scenario_text(job))
        return 0
    if args.scheduler is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            return fail("--scheduler needs Dask's distributed (pip install 'rnntui[cluster]')")

    def done(record, finished, total):
        try:
            print(f"[{finished}/{total}] {record['position']}: {lab.metric} "
                  f"{record['metric']} in {record['seconds']} s", file=sys.stderr)
        except OSError:
            pass

    try:
        records = run_lab(lab, workers=args.workers, scheduler=args.scheduler, done=done)
    except (OSError, TimeoutError) as err:
        return fail(f"the lab's runs could not be run: {err}")
    to_stdout = "-" in (args.json, args.csv)
    if not to_stdout:
        out.write(table(lab, records) + "\n")
    try:
        if args.json:
            _write(args.json, json.dumps(document(lab, records), indent=1) + "\n", out)
        if args.csv:
            _write(args.csv, csv_text(records), out)
    except OSError as err:
        return fail(f"could not write the results: {err}")
    return 0
