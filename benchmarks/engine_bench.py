"""Engine benchmarks: the NumPy engine against PyTorch CPU, per-step overhead, trace costs.

Every engine-vs-PyTorch figure is a ratio of medians measured side by side in the same run:
one persistent worker process per backend (same thread count), asked in alternating rounds,
so both see the same machine noise. See README.md for what each row means.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from _common import BENCH_DIR, REPO, fmt_time, median, percentile, thread_env

from engine.cells import cells_where, get_cell

T_STEPS = 1000
VOCAB = 65
#: (H, target ratio torch/engine) for forward + full BPTT.
FB_TARGETS = [(64, 6.0), (128, 3.5), (256, 2.0), (512, 1.0)]
#: forward only (engine backward=False vs torch.no_grad()), H <= 64.
F_TARGETS = [(4, 2.0), (8, 2.0), (16, 2.0), (64, 2.0)]
#: gated cells, forward + full BPTT: (cell, H, target ratio torch/engine).
CELL_TARGETS = [(name, H, target) for name in cells_where(lambda c: c.torch is not None)
                for H, target in ((64, 3.0), (256, 1.0))]
#: context rows: nn.LSTM with torch's fused oneDNN kernel turned off (no target).
CELL_CONTEXT = [(CELL_TARGETS[0][0], 64), (CELL_TARGETS[0][0], 256)]
#: per-step overhead, forward + backward, microseconds per time step.
STEP_HS, STEP_TARGET_US = (4, 8, 16), 3.0


class Worker:
    """A benchmark worker process (see _worker.py), asked one JSON request at a time."""

    def __init__(self, backend: str, threads: int, model_file: str | None = None):
        cmd = [sys.executable, str(BENCH_DIR / "_worker.py"), backend]
        if model_file:
            cmd += ["--model-file", model_file]
        self.backend = backend
        self._err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err, text=True, env=thread_env(threads),
                                     cwd=REPO)
        self.hello = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self._err.seek(0)
            raise RuntimeError(f"{self.backend} worker died:\n{self._err.read()[-2000:]}")
        return json.loads(line)

    def ask(self, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        ans = self._read()
        if "error" in ans:
            raise RuntimeError(f"{self.backend} worker: {ans['error']}")
        return ans

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._err.close()


def side_by_side(workers: dict[str, Worker], reqs: list[dict], rounds: int, per_round: int,
                 progress=None) -> list[dict[str, dict]]:
    """Time every request on every worker, ``rounds`` times round-robin.

    Round r asks, for each request in turn, each worker (the order flips every time) for one
    untimed warm-up call (two in the first round) and ``per_round`` timed calls. Spreading each
    case's samples over the whole section means a burst of load from another process spoils a
    few samples of many cases (which the medians shrug off) rather than all of one.
    Returns, per request, per worker: all wall and CPU times, their medians, p10/p90, loss.
    """
    names = list(workers)
    got = [{k: {"times": [], "cpu": [], "loss": None} for k in names} for _ in reqs]
    for r in range(rounds):
        for i, req in enumerate(reqs):
            order = names if (r + i) % 2 == 0 else names[::-1]
            for k in order:
                ans = workers[k].ask(**req, n=per_round, warmup=2 if r == 0 else 1)
                got[i][k]["times"] += ans["times"]
                got[i][k]["cpu"] += ans.get("cpu", [])
                got[i][k]["loss"] = ans.get("loss")
        if progress:
            progress(r + 1, rounds)
    for res in got:
        for k in names:
            ts = res[k]["times"]
            res[k].update(median=median(ts), p10=percentile(ts, 10), p90=percentile(ts, 90),
                          cpu_median=median(res[k]["cpu"]))
    return got


def run_engine(args, emit) -> dict:
    """Run the engine section; ``emit(row)`` adds a table row. Returns the JSON section."""
    quick = args.quick
    rounds, per_round = (3, 2) if quick else (10, 2)
    out: dict = {"T": T_STEPS, "vocab": VOCAB, "threads": args.threads, "rounds": rounds,
                 "calls_per_round": per_round, "cases": []}
    np_w = Worker("numpy", args.threads)
    out["numpy"] = np_w.hello
    workers = {"engine": np_w}
    torch_w = None
    if not args.no_torch:
        try:
            torch_w = Worker("torch", args.threads)
            if "error" in torch_w.hello:
                out["torch"] = torch_w.hello
                torch_w.close()
                torch_w = None
            else:
                out["torch"] = torch_w.hello
                workers["torch"] = torch_w
        except (RuntimeError, OSError) as err:
            out["torch"] = {"error": str(err)}
            torch_w = None
    base_w = None
    if args.baseline:
        model_file = _baseline_model(args.baseline)
        base_w = Worker("numpy", args.threads, model_file=model_file)
        workers["baseline"] = base_w
        out["baseline"] = {"rev": args.baseline, **base_w.hello}
    torch_note = ("" if torch_w else "skipped: --no-torch" if args.no_torch
                  else "skipped: torch not installed" if "No module" in str(out.get("torch"))
                  else "skipped: torch worker failed")

    try:
        cases = ([("fb", H, tgt) for H, tgt in FB_TARGETS]
                 + [("f", H, tgt) for H, tgt in F_TARGETS]
                 + [("fb", H, None) for H in STEP_HS])
        reqs = [{"op": "vanilla", "H": H, "T": T_STEPS, "V": VOCAB, "backward": mode == "fb"}
                for mode, H, _ in cases]
        results = side_by_side(workers, reqs, rounds, per_round,
                               progress=lambda r, n: print(f"  round {r}/{n}", flush=True))
        for (mode, H, target), res in zip(cases, results):
            case = {"mode": mode, "H": H, "target": target,
                    **{f"{k}_{s}": v[s] for k, v in res.items()
                       for s in ("median", "p10", "p90", "cpu_median", "loss")},
                    "samples": {k: v["times"] for k, v in res.items()}}
            eng = res["engine"]["median"]
            label = ("forward+BPTT" if mode == "fb" else "forward only") + f" H={H}"
            sec_vs = (f"engine vs PyTorch CPU (T={T_STEPS}, V={VOCAB}, batch 1, "
                      f"{args.threads} thread)")
            have_torch = "torch" in res
            if have_torch:
                ratio = res["torch"]["median"] / eng
                cpu_ratio = res["torch"]["cpu_median"] / res["engine"]["cpu_median"]
                case.update(ratio=ratio, cpu_ratio=cpu_ratio)
                if res["engine"]["loss"] is not None and res["torch"]["loss"] is not None:
                    case["loss_abs_diff"] = abs(res["engine"]["loss"] - res["torch"]["loss"])
            if target is None:  # per-step overhead row
                us = eng / T_STEPS * 1e6
                case["us_per_step"] = us
                case["cpu_us_per_step"] = res["engine"]["cpu_median"] / T_STEPS * 1e6
                emit(dict(section=f"engine: per-step overhead (T={T_STEPS}, forward + backward)",
                          name=f"H={H} per step", value=f"{us:.2f} us",
                          compare=(f"torch {res['torch']['median'] / T_STEPS * 1e6:.1f} us"
                                   if have_torch else ""),
                          ratio=f"{ratio:.1f}x" if have_torch else "",
                          cpu=f"{case['cpu_us_per_step']:.2f} us",
                          target=f"< {STEP_TARGET_US:g} us",
                          status="ok" if us < STEP_TARGET_US else "MISS"))
            elif have_torch:
                emit(dict(section=sec_vs, name=label, value=fmt_time(eng),
                          compare=fmt_time(res["torch"]["median"]), ratio=f"{ratio:.2f}x",
                          cpu=f"{cpu_ratio:.2f}x", target=f">= {target:g}x",
                          status="ok" if ratio >= target else "MISS"))
            else:
                emit(dict(section=sec_vs, name=label, value=fmt_time(eng), compare="-",
                          ratio="-", target=f">= {target:g}x", status=torch_note))
            if "baseline" in res:
                b = res["baseline"]["median"] / eng
                case["speedup_vs_baseline"] = b
                case["cpu_speedup_vs_baseline"] = (res["baseline"]["cpu_median"]
                                                   / res["engine"]["cpu_median"])
                emit(dict(section=f"engine now vs engine/model.py at {args.baseline} (same run)",
                          name=label, value=fmt_time(eng),
                          compare=fmt_time(res["baseline"]["median"]), ratio=f"{b:.2f}x",
                          cpu=f"{case['cpu_speedup_vs_baseline']:.2f}x", target="", status=""))
            out["cases"].append(case)
        out["cells"] = _cell_rows(args, {k: w for k, w in workers.items() if k != "baseline"},
                                  rounds, per_round, emit, torch_note)
    finally:
        for w in workers.values():
            w.close()

    # -- trace costs (NumPy only) ------------------------------------------------------------
    n = 3 if quick else 9
    w = Worker("numpy", args.threads)
    try:
        tr = w.ask(op="trace", H=64, T=T_STEPS, V=VOCAB, n=n, warmup=1)
        jac = w.ask(op="jacobian", H=64, T=T_STEPS, n=n, warmup=1)
        fb = w.ask(op="vanilla", H=64, T=T_STEPS, V=VOCAB, backward=True, n=n, warmup=1)
        gated = CELL_TARGETS[0][0]  # the LSTM: a state of 2H, the widest
        norms = w.ask(op="norms", cell=gated, H=64, T=T_STEPS, V=VOCAB, n=n)
    finally:
        w.close()
    sec = "engine: what a knob turn costs (H=64, T=1000, text V=65)"
    t_tr, t_jac, t_fb = median(tr["times"]), median(jac["times"]), median(fb["times"])
    out["trace"] = {"run_trace_s": t_tr, "jacobian_s": t_jac, "run_fb_s": t_fb,
                    "trace_mb": tr["mb"], "samples": {"run_trace": tr["times"],
                                                      "jacobian": jac["times"],
                                                      "run": fb["times"]}}
    emit(dict(section=sec, name="run_trace (whole trace)", value=fmt_time(t_tr),
              compare=f"run {fmt_time(t_fb)}", ratio="", target="", status=""))
    emit(dict(section=sec, name="jacobian_log10_norms alone", value=fmt_time(t_jac),
              compare=f"{t_jac / t_tr * 100:.0f}% of trace", ratio="", target="", status=""))
    t_nv, t_ng = median(norms["vanilla"]), median(norms["gated"])
    out["trace"]["norms_side_by_side"] = {"cell": gated, "vanilla_s": t_nv, "gated_s": t_ng,
                                          "samples": norms}
    emit(dict(section=sec, name=f"exact norms, {get_cell(gated).title} / vanilla",
              value=fmt_time(t_ng), compare=f"vanilla {fmt_time(t_nv)}",
              ratio=f"{t_ng / t_nv:.2f}x", target="", status=""))
    emit(dict(section=sec, name="trace memory", value=f"{tr['mb']:.2f} MB", compare="",
              ratio="", target="", status=""))

    # -- a 100,000-step series, in a fresh process so its peak RSS is its own ------------------
    T_long = 100_000
    w = Worker("numpy", args.threads)
    try:
        s = w.ask(op="series", H=64, T=T_long, n=1, warmup=0)
    finally:
        w.close()
    sec = f"engine: {T_long:,}-step series (H=64, input 1, output 1, identity)"
    t_s = median(s["times"])
    out["series"] = {"T": T_long, "H": 64, "run_trace_s": t_s, "run_s": s["run_only_s"],
                     "trace_mb": s["mb"], "parts_mb": s["parts_mb"],
                     "peak_rss_mb": s["peak_rss_mb"], "rss_before_mb": s["rss_before_mb"]}
    emit(dict(section=sec, name="run_trace", value=fmt_time(t_s),
              compare=f"run {fmt_time(s['run_only_s'])}", ratio="", target="", status=""))
    emit(dict(section=sec, name="trace memory (array nbytes)", value=f"{s['mb']:.0f} MB",
              compare=f"peak RSS {s['peak_rss_mb']:.0f} MB", ratio="", target="", status=""))
    return out


def _cell_rows(args, workers: dict, rounds: int, per_round: int, emit, torch_note: str) -> list:
    """LSTM and GRU forward + BPTT (float64) against nn.LSTM / nn.GRU (float32), side by side."""
    cases = [(c, H, tgt, True) for c, H, tgt in CELL_TARGETS]
    if "torch" in workers:
        cases += [(c, H, None, False) for c, H in CELL_CONTEXT]
    reqs = [{"op": "cell", "cell": c, "H": H, "T": T_STEPS, "V": VOCAB, "backward": True,
             "onednn": onednn} for c, H, _, onednn in cases]
    results = side_by_side(workers, reqs, rounds, per_round,
                           progress=lambda r, n: print(f"  cells round {r}/{n}", flush=True))
    sec = (f"gated cells vs PyTorch CPU, forward+BPTT (T={T_STEPS}, V={VOCAB}, batch 1, "
           f"{args.threads} thread; engine float64, torch float32)")
    rows = []
    for (c, H, target, onednn), res in zip(cases, results):
        eng = res["engine"]["median"]
        row = {"cell": c, "H": H, "target": target, "onednn": onednn,
               **{f"{k}_{s}": v[s] for k, v in res.items()
                  for s in ("median", "p10", "p90", "cpu_median", "loss")},
               "samples": {k: v["times"] for k, v in res.items()}}
        label = f"{c.upper()} H={H}" + ("" if onednn else " (torch without oneDNN)")
        if "torch" in res:
            ratio = res["torch"]["median"] / eng
            cpu_ratio = res["torch"]["cpu_median"] / res["engine"]["cpu_median"]
            row.update(ratio=ratio, cpu_ratio=cpu_ratio)
            emit(dict(section=sec, name=label, value=fmt_time(eng),
                      compare=fmt_time(res["torch"]["median"]), ratio=f"{ratio:.2f}x",
                      cpu=f"{cpu_ratio:.2f}x",
                      target=f">= {target:g}x" if target else "context",
                      status=("ok" if ratio >= target else "MISS") if target else ""))
        else:
            emit(dict(section=sec, name=label, value=fmt_time(eng), compare="-", ratio="-",
                      target=f">= {target:g}x", status=torch_note))
        rows.append(row)
    return rows


def _baseline_model(rev: str) -> str:
    """engine/model.py as of git revision ``rev``, written to a temporary file."""
    text = subprocess.run(["git", "show", f"{rev}:engine/model.py"], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout
    fd, path = tempfile.mkstemp(prefix="model_", suffix=".py")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


__all__ = ["run_engine", "Worker", "side_by_side"]
