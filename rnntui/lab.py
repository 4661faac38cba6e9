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
import sys
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
#: An encoder-decoder lab's records (and CSV columns) also name the attention, after the cell.
FIELDS_ATTENTION = FIELDS[:4] + ("attention",) + FIELDS[4:]


def fields(lab_or_job) -> tuple[str, ...]:
    """The fields of a record of ``lab_or_job`` (a Lab or a job)."""
    has = bool(lab_or_job.get("attention")) if isinstance(lab_or_job, dict) \
        else bool(lab_or_job.attentions)
    return FIELDS_ATTENTION if has else FIELDS

#: The version of the records' layout: a change makes older records misses.
FORMAT = 1
_MAX_RECORD = 64 * 1024
#: The lab records' folder is kept under this share of the training cache's size cap
#: (RNNTUI_CACHE_MAX; 200 MiB / 16 = 12.5 MiB by default, some 10,000 records), dropping the
#: least recently used first. It is a cap of its own: evicting weights never drops a record.
SHARE_OF_CACHE = 16


def add_arguments(p) -> None:
    p.description = ("Run a memory lab's sweep (each cell at each value of the swept "
                     "parameter, each seed) on the lab screen, where its curves fill in and "
                     "any run opens in the stepping screen; with --table, --json or --csv, "
                     "without a screen (docs/lab.md).")
    p.add_argument("lab", metavar="NAME|PATH", help="a built-in lab or a lab .toml file")
    p.add_argument("--table", action="store_true",
                   help="run the sweep without the lab screen and print the table of medians")
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
    if not isinstance(record, dict) or set(record) != set(fields(job)):
        return None
    try:
        os.utime(_folder() / f"{key}.json")  # recently used: pruned last
    except OSError:
        pass
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


def prune(folder: Path | None = None, limit: int | None = None) -> None:
    """Keep the lab records' folder under ``limit`` bytes (default: the training cache's cap
    / SHARE_OF_CACHE), dropping the least recently used records first, and any temporary file
    a crash left once it is a minute old."""
    import time

    from .cache import CacheSettingError, enabled, max_bytes
    if not enabled():
        return
    folder = folder or _folder()
    if limit is None:
        try:
            limit = max_bytes() // SHARE_OF_CACHE
        except CacheSettingError:
            return
    try:
        files = list(folder.iterdir())
    except OSError:
        return
    now, entries = time.time(), []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        if f.name.startswith(".tmp-"):
            if now - st.st_mtime > 60:
                _unlink(f)
        elif f.suffix == ".json":
            entries.append((st.st_mtime, st.st_size, f))
    total = sum(size for _, size, _ in entries)
    for _, size, f in sorted(entries):
        if total <= limit:
            break
        _unlink(f)
        total -= size


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# -- running -----------------------------------------------------------------------------------

def _pin_blas() -> None:
    os.environ.update(BLAS_ENV)


def _keep_weights(scenario, history) -> None:
    """A local worker keeps each run's training in the training cache (rnntui.cache), so the
    lab screen opens a finished run at once (or retrains it, if the cap evicted it)."""
    from .cache import store
    store(scenario, history, scenario.train.epochs)


def _work(job: dict) -> dict:
    """One run in a local worker process: its record, its weights kept."""
    from engine.lab import run_job
    return run_job(job, _keep_weights)


def _start_tracker() -> None:
    """Start multiprocessing's resource tracker, which every spawned worker needs, with a
    standard error it can pass on. Inside the app (a lesson opens the lab) sys.stderr is
    Textual's stand-in, whose file descriptor is -1: the tracker did not start, and the lab
    said "the lab's runs stopped: bad value(s) in fds_to_keep". It gets /dev/null then (the
    terminal is the app's)."""
    from multiprocessing import resource_tracker
    saved = sys.stderr
    try:
        real = saved is not None and saved.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        real = False
    try:
        with open(os.devnull, "w", encoding="utf-8") as null:
            if not real:
                sys.stderr = null
            resource_tracker.ensure_running()
    except (OSError, ValueError):
        pass  # (the pool then says what is wrong)
    finally:
        sys.stderr = saved


class Sweep:
    """A lab's runs, run in the background of whoever calls :meth:`run`; :meth:`stop` (from
    any thread) ends it at once: the runs not finished are dropped and the worker processes
    ended, while every finished run's record is already kept."""

    def __init__(self, lab, *, workers: int | None = None, scheduler: str | None = None) -> None:
        self.lab = lab
        self.workers = workers
        self.scheduler = scheduler
        self.stopped = False
        self._pool = None
        self._client = None
        if scheduler is None:
            _start_tracker()

    def stop(self) -> None:
        self.stopped = True
        pool, client = self._pool, self._client
        if pool is not None:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                try:
                    proc.terminate()
                except (OSError, AttributeError):
                    pass
            pool.shutdown(wait=False, cancel_futures=True)
        if client is not None:
            try:
                client.close(timeout=1)
            except Exception:  # noqa: BLE001 - stopping: whatever the client says
                pass

    def run(self, done=None) -> list[dict | None]:
        """Every run's record, in the lab's order (value, cell, seed); None for a run not
        finished when the sweep was stopped. ``done(record, finished, total, cached)`` is
        called as each run ends (``cached``: it was read from the cache)."""
        from engine.lab import run_job
        jobs = self.lab.jobs()
        records: list[dict | None] = [cached(job) for job in jobs]
        todo = [i for i, r in enumerate(records) if r is None]
        finished = len(jobs) - len(todo)
        for r in records:
            if r is not None and done:
                done(r, finished, len(jobs), True)

        def land(i: int, record: dict) -> None:
            nonlocal finished
            records[i] = record
            keep(jobs[i], record)
            finished += 1
            if done:
                done(record, finished, len(jobs), False)

        try:
            if todo and self.scheduler and not self.stopped:
                from distributed import Client
                from distributed import as_completed as dask_completed
                with Client(self.scheduler, timeout="10s") as client:
                    self._client = client
                    futures = {client.submit(run_job, jobs[i], pure=False): i for i in todo}
                    for future in dask_completed(futures):
                        if self.stopped:
                            break
                        land(futures[future], future.result())
            elif todo and not self.stopped:
                self._run_local(jobs, todo, land)
        except Exception:
            if not self.stopped:
                raise
        finally:
            prune()
        return records

    def _run_local(self, jobs, todo, land) -> None:
        import multiprocessing
        _pin_blas()  # spawned workers start with it, before they import numpy
        n = max(1, min(self.workers or os.cpu_count() or 1, len(todo)))
        pool = self._pool = ProcessPoolExecutor(
            n, mp_context=multiprocessing.get_context("spawn"))
        futures: dict = {}
        try:
            # the costliest runs first (longest-processing-time order), so that no worker is
            # left with a long run at the end while the other waits; results do not depend
            # on the order (each run is a pure job)
            order = sorted(todo, key=lambda i: _cost(jobs[i]), reverse=True)
            futures = {pool.submit(_work, jobs[i]): i for i in order}
            for future in as_completed(futures):
                if self.stopped:
                    break
                land(futures[future], future.result())
        finally:
            if self.stopped:
                self.stop()
            else:
                for f in futures:
                    f.cancel()
                pool.shutdown(wait=True, cancel_futures=True)


def _cost(job: dict) -> float:
    """A run's rough cost, to order the work: the swept value (a length, gap or delay: the
    steps a sequence has grow with it) times the epochs times the cell's blocks."""
    from engine.cells import get_cell
    return float(job["value"]) * job["train"]["epochs"] * get_cell(job["cell"]).blocks


def run_lab(lab, *, workers: int | None = None, scheduler: str | None = None,
            done=None) -> list[dict]:
    """Every run's record, in the lab's order (value, cell, seed). Cached runs are read; the
    others run on ``workers`` local processes (spawned with BLAS pinned to one thread), or on a
    Dask scheduler's workers. ``done(record, finished, total)`` is called as each one ends."""
    sweep = Sweep(lab, workers=workers, scheduler=scheduler)
    try:
        return sweep.run(None if done is None else
                         lambda record, finished, total, _cached: done(record, finished, total))
    except BaseException:
        sweep.stop()
        raise


def in_order(lab, records: dict) -> list[dict]:
    """The finished runs of ``records`` (``lab.key(record)``: (value, line, seed) -> record)
    in the lab's order."""
    return [records[k] for k in (lab.key(j) for j in lab.jobs()) if k in records]


def _openable(lab, records: list[dict]) -> list[dict]:
    """``records`` with each ``position`` the name that opens the run (rnntui.labrun): a lab
    file's runs are named by its path, a built-in's by its name."""
    from .labrun import run_name
    return [{**r, "position": run_name(lab, r)} for r in records]


def document(lab, records: list[dict]) -> dict:
    """The JSON object ``--json`` writes (docs/lab.md)."""
    from engine.lab import METRICS
    return {"lab": lab.name, "task": lab.task, "parameter": lab.parameter,
            "values": list(lab.values), "cells": list(lab.cells), "seeds": list(lab.seeds),
            **({"attentions": list(lab.attentions)} if lab.attentions else {}),
            "metric": lab.metric, "metric_means": METRICS[lab.metric],
            "train": dict(lab.train), "data": dict(lab.fixed),
            "runs": _openable(lab, records)}


def csv_text(records: list[dict], lab=None) -> str:
    """One CSV row a record (with ``lab``: each position the name that opens the run)."""
    buf = io.StringIO()
    names = fields(lab) if lab is not None else \
        FIELDS_ATTENTION if any("attention" in r for r in records) else FIELDS
    w = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    w.writeheader()
    for r in records if lab is None else _openable(lab, records):
        w.writerow({k: "" if r.get(k) is None else r[k] for k in names})
    return buf.getvalue()


def table(lab, records: list[dict]) -> str:
    """The median metric over seeds, one row a value and one column a line (a cell, or a
    cell/attention pair), with the baseline."""
    names = lab.line_ids()
    width = max(8, *(len(n) for n in names))
    head = f"{lab.parameter:>8}  " + "  ".join(f"{n:>{width}}" for n in names) + "  baseline"
    lines = [f"{lab.name}: median {lab.metric} over seeds {list(lab.seeds)}", head]
    for v in lab.values:
        row = [r for r in records if r["value"] == v]
        cells = []
        for c, a in lab.lines():
            got = [r["metric"] for r in row if r["cell"] == c and r.get("attention") == a
                   and r["metric"] is not None]
            cells.append(f"{statistics.median(got):{width}.3f}" if got else f"{'—':>{width}}")
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
    attention = parts.pop("attention", None) if lab.attentions else None
    parts.pop("lab", None)
    if parts:
        fail(f"--scenario: unknown {', '.join(sorted(parts))} (give {lab.parameter}=, cell=, "
             f"{'attention=, ' * bool(lab.attentions)}seed=)")
        return None
    from engine.cells import CELLS
    if cell not in CELLS:
        fail(f"--scenario: cell must be one of {', '.join(CELLS)}, got {cell!r}")
        return None
    if attention is not None and attention not in lab.attentions:
        fail(f"--scenario: attention must be one of {', '.join(lab.attentions)}, got "
             f"{attention!r}")
        return None
    return lab.job(value, cell, seed, attention)


def cmd_lab(args, out, fail, open_screen=None) -> int:
    """``rnntui lab``: the lab screen (``open_screen(lab, args)``, rnntui.cli's); with
    --table, --json or --csv: run the sweep, print its table and progress, write the files."""
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
    if not (args.table or args.json or args.csv) and open_screen is not None:
        return open_screen(lab, args)

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
            _write(args.csv, csv_text(records, lab), out)
    except OSError as err:
        return fail(f"could not write the results: {err}")
    return 0
