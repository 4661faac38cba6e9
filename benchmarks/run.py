"""rnntui's benchmark suite: ``make bench`` (or ``.venv/bin/python benchmarks/run.py``).

Prints one table and writes benchmarks/results.json. Figures are medians over repeated runs;
every comparison is a ratio measured side by side in this same run. Benchmarks are not tests:
nothing here fails a build. See benchmarks/README.md for what each row means.

    --quick            fewer repetitions (a rough look in well under a minute)
    --only SECTION     one section: engine, app, startup, knob or long
    --threads N        BLAS/OpenMP/torch threads in every worker (default 1)
    --baseline REV     also time engine/model.py as of git REV, side by side (e.g. HEAD)
    --no-torch         skip the PyTorch rows even when torch is installed
    --json PATH        where to write the results (default benchmarks/results.json)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, machine_info, print_table, write_json  # noqa: E402


#: The sections, in the order they run (startup, knob and long: benchmarks/startup_bench.py,
#: knob_bench.py and long_bench.py, the rows of issue 12).
SECTIONS = ("engine", "app", "startup", "knob", "long")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--only", choices=SECTIONS, help="run one section")
    ap.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    ap.add_argument("--baseline", metavar="REV", help="also time engine/model.py at git REV")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    ap.add_argument("--json", type=Path, default=BENCH_DIR / "results.json",
                    help="results file (default benchmarks/results.json)")
    args = ap.parse_args(argv)

    rows: list[dict] = []

    def emit(row: dict) -> None:
        rows.append(row)
        print(f"  {row['section']}: {row['name']}: {row['value']}"
              + (f" vs {row['compare']}" if row.get("compare") else "")
              + (f" = {row['ratio']}" if row.get("ratio") else "")
              + (f" ({row['status']})" if row.get("status") else ""), flush=True)

    results: dict = {"machine": machine_info(), "args": {k: (str(v) if isinstance(v, Path) else v)
                                                          for k, v in vars(args).items()}}
    t0 = time.perf_counter()
    for section in SECTIONS:
        if args.only not in (None, section):
            continue
        print(f"{section} benchmarks ...", flush=True)
        try:
            if section == "engine":
                from engine_bench import run_engine
                results["engine"] = run_engine(args, emit)
            elif section == "app":
                from app_bench import run_app_benchmarks
                results["app"] = run_app_benchmarks(args, emit)
            elif section == "startup":
                from startup_bench import run_startup_benchmarks
                results["startup"] = run_startup_benchmarks(args, emit)
            elif section == "knob":
                from knob_bench import run_knob_benchmarks
                results["knob"] = run_knob_benchmarks(args, emit)
            else:
                from long_bench import run_long_benchmarks
                results["long"] = run_long_benchmarks(args, emit)
        except Exception as err:  # keep the table and the JSON of what did run
            import traceback
            traceback.print_exc()
            results[section] = {"error": f"{type(err).__name__}: {err}"}
            emit(dict(section=section, name="(section)", value="-", status=f"failed: {err}"[:90]))
    results["elapsed_s"] = time.perf_counter() - t0
    try:
        results["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    results["table"] = rows
    print()
    print_table(rows)
    print(f"\n{len(rows)} rows in {results['elapsed_s']:.0f} s; wrote {args.json}")
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
