"""A timing worker: one process per backend, driven by run.py over stdin/stdout (JSON lines).

    python benchmarks/_worker.py numpy [--model-file PATH]
    python benchmarks/_worker.py torch

The parent sets OMP/MKL/OPENBLAS_NUM_THREADS; the torch worker also calls
torch.set_num_threads with the same number. NumPy and PyTorch never share a process: their
thread pools would compete. Each request is one JSON object per line, each answer too:

    {"op": "vanilla", "H": 64, "T": 1000, "V": 65, "backward": true, "n": 5, "warmup": 1}
      -> {"times": [seconds, ...], "loss": float}
    {"op": "trace", "H": 64, "T": 1000, "V": 65, "n": 5}          (numpy only)
    {"op": "jacobian", "H": 64, "T": 1000, "n": 5}                (numpy only)
    {"op": "norms", "cell": NAME, "H": 64, "T": 1000, "n": 5}     (numpy only: vanilla and
      gated exact norms timed in turns -> {"vanilla": [...], "gated": [...]})
    {"op": "series", "H": 64, "T": 100000, "n": 1}                (numpy only)
    {"op": "cell", "cell": NAME, "H": 64, "T": 1000, "V": 65, "backward": true, "n": 5}
      -> the same for a gated cell, NAME from engine.cells.CELLS (torch: the module its
         ``torch`` names, nn.LSTM / nn.GRU; "onednn": false turns off
         torch's fused oneDNN kernels, for the context row only)
    {"op": "quit"}

Both workers build the same weights (engine.model.init_params, xavier, seed 0) and the same
token ids, so their losses must agree (float32 vs float64) and are returned as a check.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "numpy"
THREADS = int(os.environ.get("OMP_NUM_THREADS", "1"))
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402  (after the thread variables)

from engine.model import init_params  # noqa: E402

_model = None  # engine.model, or the module loaded from --model-file


def model():
    global _model
    if _model is None:
        if "--model-file" in sys.argv:
            import importlib.util
            path = sys.argv[sys.argv.index("--model-file") + 1]
            spec = importlib.util.spec_from_file_location("engine._bench_model", path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = mod
            spec.loader.exec_module(mod)
            _model = mod
        else:
            import engine.model as mod
            _model = mod
    return _model


def tokens(T: int, V: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, V, T + 1)


LAST_CPU: list[float] = []  # process CPU seconds of each call of the latest timed()


def timed(fn, n: int, warmup: int) -> tuple[list[float], object]:
    """Wall-clock seconds of ``n`` calls after ``warmup`` untimed ones (CPU seconds go to
    LAST_CPU). The previous result is dropped before each call, as an app would drop it."""
    out = None
    for _ in range(warmup):
        out = fn()
    out = None
    gc.collect()
    times = []
    LAST_CPU.clear()
    for _ in range(n):
        out = None
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        t1, c1 = time.perf_counter(), time.process_time()
        times.append(t1 - t0)
        LAST_CPU.append(c1 - c0)
    return times, out


# ---------------------------------------------------------------------------------------------
# NumPy engine

_np_cache: dict = {}


def np_rnn(req: dict) -> dict:
    H, T, V, backward = req["H"], req["T"], req.get("V", 65), bool(req["backward"])
    key = ("vanilla", H, T, V)
    if key not in _np_cache:
        m = model()
        ids = tokens(T, V)
        eye = np.eye(V)
        p = m.init_params(H, V, V, init="xavier", seed=0)
        _np_cache[key] = (p, eye[ids[:-1]], eye[ids[1:]], np.ones(T, dtype=bool))
    p, X, Y, M = _np_cache[key]
    run = model().run
    times, res = timed(lambda: run(p, X, Y, M, activation="tanh", output="softmax",
                                   backward=backward), req.get("n", 5), req.get("warmup", 1))
    return {"times": times, "loss": float(res.loss)}


def np_cell(req: dict) -> dict:
    """Forward (+ BPTT) of an LSTM or GRU (engine.cells), float64, batch 1, one-hot inputs."""
    from engine.cells import get_cell
    cell = get_cell(req["cell"])
    H, T, V, backward = req["H"], req["T"], req.get("V", 65), bool(req["backward"])
    key = (req["cell"], H, T, V)
    if key not in _np_cache:
        ids = tokens(T, V)
        eye = np.eye(V)
        _np_cache[key] = (cell.init(H, V, V, seed=0), eye[ids[:-1]], eye[ids[1:]],
                          np.ones(T, dtype=bool))
    p, X, Y, M = _np_cache[key]
    times, res = timed(lambda: cell.run(p, X, Y, M, output="softmax", backward=backward),
                       req.get("n", 5), req.get("warmup", 1))
    return {"times": times, "loss": float(res.loss)}


def np_trace(req: dict) -> dict:
    from engine.trace import run_trace
    from engine.types import Sequence
    H, T, V = req["H"], req["T"], req.get("V", 65)
    ids = tokens(T, V)
    eye = np.eye(V)
    seq = Sequence(inputs=eye[ids[:-1]], targets=eye[ids[1:]], mask=np.ones(T, dtype=bool),
                   labels=[str(i) for i in ids[:-1]], target_labels=[str(i) for i in ids[1:]])
    p = init_params(H, V, V, init="xavier", seed=0)
    times, tr = timed(lambda: run_trace(p, seq, activation="tanh", output="softmax",
                                        retention_steps=15), req.get("n", 5), req.get("warmup", 1))
    return {"times": times, "mb": trace_nbytes(tr) / 1e6}


def np_jacobian(req: dict) -> dict:
    from engine.analysis import jacobian_log10_norms
    from engine.model import run
    H, T, V = req["H"], req["T"], req.get("V", 65)
    ids = tokens(T, V)
    eye = np.eye(V)
    p = init_params(H, V, V, init="xavier", seed=0)
    ps = run(p, eye[ids[:-1]], eye[ids[1:]], activation="tanh", output="softmax")
    slope = np.ascontiguousarray(ps.slope[:, 0])
    times, _ = timed(lambda: jacobian_log10_norms(p.W_h, slope), req.get("n", 5),
                     req.get("warmup", 1))
    return {"times": times}


def np_norms_side_by_side(req: dict) -> dict:
    """The exact step-Jacobian norms of the vanilla cell and of a gated one (``cell``, NAME),
    H, T, seed-0 weights, one-hot inputs: timed in turns, one of each per round, so both see
    the same machine. -> {"vanilla": [seconds, ...], "gated": [seconds, ...]}"""
    from engine.analysis import jacobian_log10_norms, state_jacobian_log10
    from engine.cells import get_cell
    from engine.model import run
    H, T, V, n = req["H"], req["T"], req.get("V", 65), req.get("n", 5)
    ids = tokens(T, V)
    eye = np.eye(V)
    X, Y = eye[ids[:-1]], eye[ids[1:]]
    p = init_params(H, V, V, init="xavier", seed=0)
    slope = np.ascontiguousarray(run(p, X, Y, activation="tanh", output="softmax").slope[:, 0])
    cell = get_cell(req["cell"])
    gp = cell.init(H, V, V, seed=0)
    mul = cell.right_multiplier(gp, cell.run(gp, X, Y))
    S = cell.state_size(H)
    fns = {"vanilla": lambda: jacobian_log10_norms(p.W_h, slope),
           "gated": lambda: state_jacobian_log10(mul, T, S)}
    out: dict = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(n):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[name].append(time.perf_counter() - t0)
    return out


def np_series(req: dict) -> dict:
    """A long series scenario (input 1, output 1, identity): run_trace time, memory, peak RSS."""
    from engine.trace import run_trace
    from engine.types import Sequence
    H, T = req["H"], req["T"]
    t = np.arange(T + 1) * 0.1
    v = np.sin(t)
    seq = Sequence(inputs=v[:-1, None], targets=v[1:, None], mask=np.ones(T, dtype=bool),
                   labels=[f"{x:.2f}" for x in v[:-1]], target_labels=[f"{x:.2f}" for x in v[1:]])
    p = init_params(H, 1, 1, init="xavier", seed=0)
    rss0 = _rss_mb()
    peak0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times, tr = timed(lambda: run_trace(p, seq, activation="tanh", output="identity",
                                        retention_steps=15), req.get("n", 1), req.get("warmup", 0))
    peak1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    parts = {name: getattr(tr, name).nbytes / 1e6 for name in
             ("x", "a", "h", "h_prev", "dh", "da", "flow", "y", "out", "dy", "step_loss",
              "grad_h", "jacobian_log10")}
    t0 = time.perf_counter()
    from engine.model import run
    run(p, seq.inputs, seq.targets, seq.mask, activation="tanh", output="identity")
    t_run = time.perf_counter() - t0
    return {"times": times, "mb": trace_nbytes(tr) / 1e6, "parts_mb": parts,
            "rss_before_mb": rss0, "peak_rss_mb": peak1, "peak_rss_before_mb": peak0,
            "run_only_s": t_run}


def trace_nbytes(tr) -> int:
    """Sum of the nbytes of every array the trace holds (views counted at their own size)."""
    from dataclasses import fields, is_dataclass
    seen: set[int] = set()

    def walk(obj) -> int:
        if isinstance(obj, np.ndarray):
            if id(obj) in seen:
                return 0
            seen.add(id(obj))
            return int(obj.nbytes)
        if is_dataclass(obj) and not isinstance(obj, type):
            return sum(walk(getattr(obj, f.name)) for f in fields(obj))
        if isinstance(obj, dict):
            return sum(walk(v) for v in obj.values())
        if isinstance(obj, (list, tuple)):
            return sum(walk(v) for v in obj)
        return 0

    return walk(tr)


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# ---------------------------------------------------------------------------------------------
# PyTorch reference

_torch_cache: dict = {}


def torch_rnn(req: dict) -> dict:
    import torch
    import torch.nn.functional as F
    H, T, V, backward = req["H"], req["T"], req.get("V", 65), bool(req["backward"])
    key = (H, T, V)
    if key not in _torch_cache:
        ids = torch.from_numpy(tokens(T, V))
        X = F.one_hot(ids[:-1], V).to(torch.float32)[:, None, :]  # (T, 1, V): batch 1
        Y = ids[1:]
        p = init_params(H, V, V, init="xavier", seed=0)
        rnn = torch.nn.RNN(V, H, nonlinearity="tanh")
        lin = torch.nn.Linear(H, V)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(torch.from_numpy(p.W_x))
            rnn.weight_hh_l0.copy_(torch.from_numpy(p.W_h))
            rnn.bias_ih_l0.copy_(torch.from_numpy(p.b))
            rnn.bias_hh_l0.zero_()
            lin.weight.copy_(torch.from_numpy(p.W_y))
            lin.bias.copy_(torch.from_numpy(p.b_y))
        _torch_cache[key] = (rnn, lin, X, Y)
    rnn, lin, X, Y = _torch_cache[key]

    def fb():
        rnn.zero_grad(set_to_none=True)
        lin.zero_grad(set_to_none=True)
        out, _ = rnn(X)
        loss = F.cross_entropy(lin(out[:, 0]), Y)
        loss.backward()
        return loss

    def f():
        with torch.no_grad():
            out, _ = rnn(X)
            return F.cross_entropy(lin(out[:, 0]), Y)

    times, loss = timed(fb if backward else f, req.get("n", 5), req.get("warmup", 1))
    return {"times": times, "loss": float(loss.detach())}


def torch_cell(req: dict) -> dict:
    """nn.LSTM / nn.GRU + nn.Linear + cross-entropy in float32 with the engine's weights (the
    gate blocks reordered to PyTorch's i, f, g, o and r, z, n stacking)."""
    import torch
    import torch.nn.functional as F
    from engine.cells import get_cell
    name, H, T, V = req["cell"], req["H"], req["T"], req.get("V", 65)
    backward = bool(req["backward"])
    torch.backends.mkldnn.enabled = bool(req.get("onednn", True))
    key = (name, H, T, V)
    if key not in _torch_cache:
        ids = torch.from_numpy(tokens(T, V))
        X = F.one_hot(ids[:-1], V).to(torch.float32)[:, None, :]
        Y = ids[1:]
        cell = get_cell(name)
        w = cell.init(H, V, V, seed=0).named()
        module, order = cell.torch  # the PyTorch module with the same equations, its stacking
        rnn = getattr(torch.nn, module)(V, H)
        lin = torch.nn.Linear(H, V)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(torch.from_numpy(np.vstack([w[f"W_x{g}"] for g in order])))
            rnn.weight_hh_l0.copy_(torch.from_numpy(np.vstack([w[f"W_h{g}"] for g in order])))
            rnn.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([w[f"b_{g}"] for g in order])))
            rnn.bias_hh_l0.zero_()
            if "b_hn" in w:  # the candidate's own recurrent bias (PyTorch's n block)
                rnn.bias_hh_l0[2 * H:] = torch.from_numpy(w["b_hn"])
            lin.weight.copy_(torch.from_numpy(w["W_y"]))
            lin.bias.copy_(torch.from_numpy(w["b_y"]))
        _torch_cache[key] = (rnn, lin, X, Y)
    rnn, lin, X, Y = _torch_cache[key]

    def fb():
        rnn.zero_grad(set_to_none=True)
        lin.zero_grad(set_to_none=True)
        out, _ = rnn(X)
        loss = F.cross_entropy(lin(out[:, 0]), Y)
        loss.backward()
        return loss

    def f():
        with torch.no_grad():
            out, _ = rnn(X)
            return F.cross_entropy(lin(out[:, 0]), Y)

    try:
        times, loss = timed(fb if backward else f, req.get("n", 5), req.get("warmup", 1))
    finally:
        torch.backends.mkldnn.enabled = True
    return {"times": times, "loss": float(loss.detach())}


def main() -> int:
    if BACKEND == "torch":
        try:
            import torch
        except ImportError as err:
            print(json.dumps({"error": f"torch not available: {err}"}), flush=True)
            return 0
        torch.set_num_threads(THREADS)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        hello = {"backend": "torch", "version": torch.__version__,
                 "threads": torch.get_num_threads()}
        handlers = {"vanilla": torch_rnn, "cell": torch_cell}
    else:
        hello = {"backend": "numpy", "version": np.__version__, "threads": THREADS,
                 "model_file": model().__file__}
        handlers = {"vanilla": np_rnn, "trace": np_trace, "jacobian": np_jacobian,
                    "norms": np_norms_side_by_side,
                    "series": np_series, "cell": np_cell}
    print(json.dumps(hello), flush=True)
    np.seterr(all="ignore")
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("op") == "quit":
            break
        try:
            ans = handlers[req["op"]](req)
        except Exception as err:  # report, keep serving
            ans = {"error": f"{type(err).__name__}: {err}"}
        if "times" in ans and "cpu" not in ans:
            ans["cpu"] = list(LAST_CPU)
        print(json.dumps(ans), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
