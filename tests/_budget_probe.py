"""Run in a child process by tests/test_budget.py: load scenario files, and do the memory-heavy
part of each one's work under an address-space cap set from its estimate.

stdin: JSON [[id, file text], ...]; stdout: one JSON object {id: result}. A result is
{"refused": message} or {"estimate": bytes, "ran": true} or {"error": "..."}. For files refused
for memory, the same work runs with the budgets lifted under a cap of half the estimate and must
hit MemoryError ({"refused": ..., "over_cap": true}): estimates hold within 2x both ways.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import numpy as np

from engine import initial_params, loads
from engine.budget import BUDGET_ENV, budgets, estimate
from engine.model import run
from engine.train import batches, eval_batches
from engine.types import ScenarioError

SLACK = 150 << 20  # interpreter, BLAS buffers, and a loaded scenario's own data


def vm_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def exercise(sc) -> None:
    """Hold at once what the app may hold: the kept weights, a trace's pass and a Jacobian
    batch, the training batches and the biggest training and evaluation pass."""
    est = estimate(sc)
    p = initial_params(sc)
    # + newest, Adam's, epoch start...: the cap is on address space (RLIMIT_AS), which an
    # allocation takes whole whether or not its pages are written, so the kept weights are
    # allocated, not filled (copying ~600 MB of them took half of this file's time)
    kept = [[np.empty_like(a) for a in p.arrays()] for _ in range(est.snapshots + 5)]
    seq = sc.sequence
    tr = run(p, seq.inputs, seq.targets, seq.mask, activation=sc.model.activation,
             output=sc.model.output)
    # (the Jacobian sweep's own arrays are at most budget.JACOBIAN_STACK_BYTES: within SLACK)
    data = batches(sc.train_sequences, sc.train.batch_size)
    evals = eval_batches(sc)
    X, Y, M = max(data, key=lambda b: b[0].shape[0] * b[0].shape[1])
    run(p, X, Y, M, activation=sc.model.activation, output=sc.model.output)
    X, Y, M = max(evals, key=lambda b: b[0].shape[0] * b[0].shape[1])
    run(p, X, Y, M, activation=sc.model.activation, output=sc.model.output, backward=False)
    del kept, tr, data, evals


def capped(limit: int, fn) -> str | None:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        fn()
        return None
    except MemoryError as err:
        return f"MemoryError: {err}"
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def main() -> None:
    cases = json.load(sys.stdin)
    out = {}
    memory_budget = budgets()["memory"]
    done: dict[float, str] = {}
    for name, text in cases:
        t0 = time.process_time()
        try:
            sc = loads(text, name)
        except ScenarioError as err:
            msg = str(err)
            out[name] = {"refused": msg}
            if "of memory" in msg:
                os.environ.update({env: "1e30" for env in BUDGET_ENV.values()})
                try:
                    big = loads(text, name)
                finally:
                    for env in BUDGET_ENV.values():
                        del os.environ[env]
                need = estimate(big).total_bytes
                failed = capped(vm_bytes() + int(need / 2), lambda: exercise(big))
                out[name]["over_cap"] = failed is not None
                del big
            continue
        est = estimate(sc)
        if est.total_bytes in done:  # the same sizes as a case already run
            out[name] = {"estimate": est.total_bytes, "ran": True, "error": None,
                         "under_budget": est.total_bytes <= memory_budget, "same_as": done[
                             est.total_bytes]}
            continue
        done[est.total_bytes] = name
        failed = capped(vm_bytes() + int(est.total_bytes * 1.1) + SLACK, lambda: exercise(sc))
        out[name] = {"estimate": est.total_bytes, "ran": failed is None, "error": failed,
                     "under_budget": est.total_bytes <= memory_budget}
        del sc
        print(f"{name} {time.process_time() - t0:.2f}", file=sys.stderr)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
