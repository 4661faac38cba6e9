"""Benchmarks for your own data: CSV load, truncated-BPTT training throughput, generation.

    .venv/bin/python benchmarks/data_bench.py [--quick] [--threads N] [--no-torch]

Rows (medians over repeats; every ratio measured side by side in this run, each side in its
own process with the same thread limits, NumPy and PyTorch never in one process):

* CSV load of 100,000 rows: ``engine.scenario.load`` of a series scenario whose [data].csv
  has 100,000 rows (read, check every cell, z-score, cut windows), against ``numpy.loadtxt``
  of the same column (no checks) in the same process.
* text training throughput, characters a second, at H = 64 and 128 and batch 1 and 32: one
  epoch of the truncated-BPTT loop (engine/tbptt.py: a window of 32 steps of every stream,
  forward, backward, clipping and Adam) over ~22,000 characters, against ``torch.nn.RNN``
  (tanh, in float32 and in float64 like the engine, one-hot inputs, a Linear read-out,
  cross-entropy, the same clipping and Adam, the state carried and detached between windows).
* generation, tokens a second: ``engine.generate.generate_text`` (2000 tokens at temperature
  0.8, H = 64 and 128) against the same sampling loop in PyTorch (``nn.RNN`` one step at a
  time, ``torch.multinomial``).

This is a standalone script, not a test: nothing here fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, median, thread_env  # noqa: E402

RHYMES = REPO / "scenarios" / "rhymes.txt"
WINDOW = 32
COPIES = 5  # rhymes.txt five times over: ~22,000 characters
GEN_TOKENS = 2000


# ---------------------------------------------------------------------------------------------
# workers (each runs in its own process)


def _corpus():
    from engine.corpus import make_corpus
    text = RHYMES.read_text(encoding="utf-8") * COPIES
    return make_corpus(text, "char", validation=0.05, window=WINDOW)


def worker_csv(reps: int) -> dict:
    import tempfile

    import numpy as np

    from engine.scenario import load
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(0, 1, 100_000)) + 100.0
    with tempfile.TemporaryDirectory() as d:
        csv_path = Path(d) / "big.csv"
        csv_path.write_text("day,price\n" + "".join(f"{i},{v:.4f}\n" for i, v in
                                                    enumerate(values)), encoding="utf-8")
        toml = Path(d) / "big.toml"
        toml.write_text('[scenario]\nname = "big"\nkind = "series"\n[data]\ncsv = "big.csv"\n'
                        'column = "price"\nwindow = 50\n', encoding="utf-8")
        ours, base = [], []
        for _ in range(reps):
            t = time.perf_counter()
            sc = load(toml)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            np.loadtxt(csv_path, delimiter=",", skiprows=1, usecols=1)
            base.append(time.perf_counter() - t)
        assert len(sc.data["original"]) == 100_000
    return {"ours": ours, "base": base}


def worker_train_numpy(hidden: int, batch: int, reps: int) -> dict:
    from engine.model import init_params
    from engine.tbptt import window_step
    from engine.train import _Optimizer
    from engine.types import TrainConfig
    c = _corpus()
    V = len(c.vocab)
    params = init_params(hidden, V, V, seed=0)
    opt = _Optimizer(TrainConfig(learning_rate=0.002, optimizer="adam", clip=5.0), {})
    windows = c.windows("train", batch)
    chars = sum(x.size for x, _ in windows)
    times = []
    for _ in range(reps + 1):  # the first epoch warms up
        t = time.perf_counter()
        state = None
        for X, Y in windows:
            p, state = window_step(params, X, Y, state, V)
            opt.step(params, p.grads)
        times.append(time.perf_counter() - t)
    return {"times": times[1:], "chars": chars}


def worker_train_torch(hidden: int, batch: int, reps: int, threads: int,
                       dtype: str = "float64") -> dict:
    import torch
    torch.set_num_threads(threads)
    torch.set_default_dtype(getattr(torch, dtype))
    c = _corpus()
    V = len(c.vocab)
    x, y = c.streams("train", batch)
    X = torch.nn.functional.one_hot(torch.as_tensor(x), V).to(torch.get_default_dtype())
    Y = torch.as_tensor(y)
    torch.manual_seed(0)
    rnn = torch.nn.RNN(V, hidden, nonlinearity="tanh")
    lin = torch.nn.Linear(hidden, V)
    params = list(rnn.parameters()) + list(lin.parameters())
    opt = torch.optim.Adam(params, lr=0.002)
    lossf = torch.nn.CrossEntropyLoss()
    chars = int(Y.numel())
    times = []
    for _ in range(reps + 1):
        t = time.perf_counter()
        h = torch.zeros(1, X.shape[1], hidden)
        for i in range(0, X.shape[0], WINDOW):
            out, h = rnn(X[i:i + WINDOW], h)
            h = h.detach()
            loss = lossf(lin(out).reshape(-1, V), Y[i:i + WINDOW].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
        times.append(time.perf_counter() - t)
    return {"times": times[1:], "chars": chars}


def worker_gen_numpy(hidden: int, reps: int) -> dict:
    from engine.generate import generate_text
    from engine.model import init_params
    from engine.scenario import load
    sc = load("rhymes")
    V = sc.input_size
    params = init_params(hidden, V, V, seed=0)
    times = []
    for r in range(reps + 1):
        t = time.perf_counter()
        generate_text(sc, params, "the king", GEN_TOKENS, 0.8, seed=r)
        times.append(time.perf_counter() - t)
    return {"times": times[1:], "tokens": GEN_TOKENS}


def worker_gen_torch(hidden: int, reps: int, threads: int, dtype: str = "float64") -> dict:
    import torch
    torch.set_num_threads(threads)
    torch.set_default_dtype(getattr(torch, dtype))
    from engine.scenario import load  # (the vocabulary only: no NumPy arithmetic here)
    sc = load("rhymes")
    V = sc.input_size
    index = {t: i for i, t in enumerate(sc.vocab)}
    torch.manual_seed(0)
    rnn = torch.nn.RNN(V, hidden, nonlinearity="tanh")
    lin = torch.nn.Linear(hidden, V)
    eye = torch.eye(V)
    prime = [index[ch] for ch in "the king"]
    times = []
    with torch.no_grad():
        for r in range(reps + 1):
            gen = torch.Generator().manual_seed(r)
            t = time.perf_counter()
            out, h = rnn(eye[prime].unsqueeze(1))
            logits = lin(out[-1, 0])
            for _ in range(GEN_TOKENS):
                i = int(torch.multinomial(torch.softmax(logits / 0.8, -1), 1, generator=gen))
                out, h = rnn(eye[i].view(1, 1, V), h)
                logits = lin(out[0, 0])
            times.append(time.perf_counter() - t)
    return {"times": times[1:], "tokens": GEN_TOKENS}


WORKERS = {"csv": worker_csv, "train-numpy": worker_train_numpy,
           "train-torch": worker_train_torch, "gen-numpy": worker_gen_numpy,
           "gen-torch": worker_gen_torch}


# ---------------------------------------------------------------------------------------------
# the orchestrator


def _spawn(kind: str, args: list, threads: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind,
           json.dumps(args)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=thread_env(threads),
                         cwd=REPO)
    if res.returncode != 0:
        raise RuntimeError(f"{kind} worker failed: {res.stderr.strip()[-400:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _torch_available() -> bool:
    res = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
    return res.returncode == 0


def _versus_torch(ours: float, kind: str, args: list, threads: int, count: str) -> dict:
    """Torch's rate in float32 and float64 (the engine's precision), and ours against each."""
    rates = {}
    for dtype in ("float32", "float64"):
        b = _spawn(kind, args + [dtype], threads)
        rates[dtype] = b[count] / median(b["times"])
    return {"base": f"f32 {rates['float32']:,.0f} / f64 {rates['float64']:,.0f}",
            "ratio": f"{ours / rates['float32']:.2f}x f32, {ours / rates['float64']:.2f}x f64"}


def run(quick: bool = False, threads: int = 1, torch: bool = True) -> list[dict]:
    reps = 3 if quick else 7
    rows = []
    r = _spawn("csv", [reps], threads)
    ours, base = median(r["ours"]), median(r["base"])
    rows.append({"name": "CSV load, 100,000 rows (load() vs np.loadtxt)",
                 "ours": f"{ours * 1e3:.0f} ms", "base": f"{base * 1e3:.0f} ms",
                 "ratio": f"{ours / base:.2f}x the time"})
    torch = torch and _torch_available()
    for hidden in (64, 128):
        for batch in (1, 32):
            a = _spawn("train-numpy", [hidden, batch, reps], threads)
            ours = a["chars"] / median(a["times"])
            row = {"name": f"text training, H={hidden} batch {batch} (chars/s)",
                   "ours": f"{ours:,.0f}", "base": "-", "ratio": "-"}
            if torch:
                row.update(_versus_torch(ours, "train-torch", [hidden, batch, reps, threads],
                                         threads, "chars"))
            rows.append(row)
    for hidden in (64, 128):
        a = _spawn("gen-numpy", [hidden, reps], threads)
        ours = a["tokens"] / median(a["times"])
        row = {"name": f"generation, H={hidden} (tokens/s)", "ours": f"{ours:,.0f}",
               "base": "-", "ratio": "-"}
        if torch:
            row.update(_versus_torch(ours, "gen-torch", [hidden, reps, threads], threads,
                                     "tokens"))
        rows.append(row)
    return rows


def print_rows(rows: list[dict], threads: int) -> None:
    head = ("benchmark", "rnntui", "baseline (torch f32 / f64; np.loadtxt)",
            "rnntui's speed / time vs baseline")
    table = [head] + [(r["name"], r["ours"], r["base"], r["ratio"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    print(f"data benchmarks (medians; {threads} thread(s) per process)")
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="benchmarks/data_bench.py",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    ap.add_argument("--threads", type=int, default=1, help="threads per process (default 1)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch columns")
    ap.add_argument("--worker", nargs=2, metavar=("KIND", "ARGS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        kind, raw = args.worker
        print(json.dumps(WORKERS[kind](*json.loads(raw))))
        return 0
    rows = run(args.quick, args.threads, not args.no_torch)
    print_rows(rows, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
