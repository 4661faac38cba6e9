"""Budgets: the memory and arithmetic a scenario's trace and training need, estimated from sizes.

Every documented limit (docs/scenarios.md) holds alone, but their products do not: hidden 1024
times a series of 200,000 points is a 10 GB trace and hours of Jacobian products. So before any
work starts, :func:`estimate` adds up, from the sizes alone, what the work will allocate and
compute, and :func:`check` refuses a scenario over a budget with one message that names the
estimate, the budget and what to change. The budgets have defaults and explicit overrides (the
environment variables below, set by ``rnntui --memory-budget`` and friends too); nothing is
ever silently cut short.

Memory is counted in bytes of float64 arrays (8 bytes a number). "Operations" are
floating-point multiplies and adds (a matrix product of n x k by k x m is 2 n k m), plus what
the interpreter costs per step, counted as the operations it could have done meanwhile
(STEP_OVERHEAD_OPS); one step of the Jacobian sweep is counted at its measured worst case
(JACOBIAN_OPS_PER_H3 x H^3: an SVD of an H x H product when the power-step certificate fails).
At the ~40 G operations a second measured here, the trace budget is about 60 s of work at worst
(an SVD every step; ~20 s measured for a 100,000-step series at H = 64), most of it the Jacobian
sweep, which for any big trace runs in a background worker while the screen shows the rest. A
compact trace (COMPACT_CELLS cells or more) is counted at what it keeps and what
engine.rows.compact_pass allocates, not at the full pass's size.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .cells import DEFAULT, get_cell
from .kinds import get_kind
from .types import Scenario, ScenarioError

__all__ = ["BUDGET_ENV", "DEFAULTS", "Estimate", "Sizes", "budgets", "check", "estimate",
           "eval_batch_size", "format_bytes", "format_ops", "jacobian_chunk", "parse_amount",
           "snapshot_cap", "snapshot_spacing"]

#: Default budgets: bytes for memory and snapshots, operations for a trace and a training run.
DEFAULTS = {
    "memory": 1 << 30,          # everything at once: data, weights kept, a trace, a batch
    "snapshots": 256 << 20,     # the weights kept per epoch (spaced further apart to fit)
    "trace": 2.5e12,            # one trace: forward, backward, step Jacobians (~60 s here at
    # worst; a trace of over 20,000 cells shows without its Jacobian norms, which a worker adds)
    "train": 1e13,              # the scenario's training run (~4 min here)
}
#: The environment variable that overrides each budget (e.g. RNNTUI_MEMORY_BUDGET=4G).
BUDGET_ENV = {
    "memory": "RNNTUI_MEMORY_BUDGET",
    "snapshots": "RNNTUI_SNAPSHOT_BUDGET",
    "trace": "RNNTUI_TRACE_BUDGET",
    "train": "RNNTUI_TRAIN_BUDGET",
}
#: Bytes one batch of the forward-only loss evaluation may use (its batch is made smaller).
EVAL_BATCH_BYTES = 64 << 20
#: Bytes the stack of step-Jacobian products waiting for one batched SVD may use.
JACOBIAN_STACK_BYTES = 32 << 20
#: Largest batch of the loss evaluation (the number used before budgets existed).
EVAL_BATCH = 256
#: Most weight snapshots a run keeps, evenly spaced, plus the first and the last.
MAX_SNAPSHOTS = 1000

#: Operations one pass of Python loop overhead stands for (~3 us per step at ~40 G/s).
STEP_OVERHEAD_OPS = 1.2e5
#: One Jacobian step costs up to this many times H^3 (measured: 0.5-1.9 ns per H^3 here).
JACOBIAN_OPS_PER_H3 = 60
#: Fixed cost of one Jacobian step (~100 us of Python and small NumPy calls).
JACOBIAN_STEP_OPS = 5e6
#: Fixed cost of one training batch (~400 us: a pass's set-up, its gradients, the optimiser).
BATCH_OVERHEAD_OPS = 1.6e7

_F = 8  # bytes per float64
#: Traces of a cell without gates of at least this many cells (T x H) are compact (see
#: engine.trace.run_trace): h and dL/dh kept, the rest recomputed a window at a time.
COMPACT_CELLS = 1_000_000
#: Rows of the pass's working arrays (a, f'(a), the flow) made at a time by
#: engine.rows.compact_pass.
PASS_CHUNK = 4096
_SUFFIX = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
           "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
           "KI": 1024, "MI": 1024 ** 2, "GI": 1024 ** 3, "TI": 1024 ** 4,
           "KIB": 1024, "MIB": 1024 ** 2, "GIB": 1024 ** 3, "TIB": 1024 ** 4}


def parse_amount(text: str) -> float:
    """``"1G"``, ``"512MiB"``, ``"4e11"``, ``"2.5T"`` -> a positive number; ValueError if not."""
    s = str(text).strip().upper().replace(" ", "").replace("_", "")
    i = len(s)
    while i and s[i - 1].isalpha():
        i -= 1
    number, suffix = s[:i], s[i:]
    if suffix not in _SUFFIX or not number:
        raise ValueError(f"not an amount: {text!r} (write e.g. 2G, 512M or 4e11)")
    value = float(number) * _SUFFIX[suffix]
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"not a positive amount: {text!r}")
    return value


#: The smallest budget an override may set (bytes or operations): less than this runs no
#: scenario at all, so a value under it is a mistake (``RNNTUI_MEMORY_BUDGET=1.5`` meant 1.5G),
#: refused with a clear line rather than reported as "the budget is 1 bytes".
MINIMUM = 1000


def budgets() -> dict[str, float]:
    """The budgets in force: the defaults, each replaced by its environment variable if set.

    A malformed variable, or one under its MINIMUM, raises ScenarioError (a budget is never
    silently ignored).
    """
    out = dict(DEFAULTS)
    for key, env in BUDGET_ENV.items():
        raw = os.environ.get(env)
        if raw is None or not raw.strip():
            continue
        try:
            value = parse_amount(raw)
        except ValueError as err:
            raise ScenarioError(f"{env}: {err}") from None
        if value < MINIMUM:
            unit, example = (("bytes", "512M or 4G") if key in ("memory", "snapshots")
                             else ("operations", "5e12"))
            raise ScenarioError(f"{env}={raw.strip()[:40]!r} is {value:g} {unit}, too small a "
                                f"budget to run anything; give at least {MINIMUM} {unit}, "
                                f"e.g. {example}")
        out[key] = value
    return out


def format_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:g} bytes"


def format_ops(n: float) -> str:
    return f"{n:.2g} operations"


def eval_batch_size(steps: int, hidden: int, outputs: int) -> int:
    """Sequences per batch of the forward-only loss over sequences of ``steps`` steps: 256, or
    fewer so that one batch's arrays stay within EVAL_BATCH_BYTES."""
    per_seq = _F * max(steps, 1) * (2 * hidden + 2 * outputs + 2)
    return int(max(1, min(EVAL_BATCH, EVAL_BATCH_BYTES // per_seq)))


def jacobian_chunk(hidden: int) -> int:
    """How many H x H step-Jacobian products wait for one batched SVD (at most 256)."""
    return int(max(1, min(256, JACOBIAN_STACK_BYTES // (_F * hidden * hidden))))


def snapshot_spacing(epochs: int, param_count: int, budget: float | None = None) -> int:
    """Keep the weights every this many epochs, so that at most MAX_SNAPSHOTS snapshots (plus
    the first and the last) are kept and they fit within the snapshot budget."""
    budget = budgets()["snapshots"] if budget is None else budget
    per = _F * max(param_count, 1)
    room = int(budget // per) - 2  # the first and the last are always kept
    cap = max(1, min(MAX_SNAPSHOTS, room))
    return max(1, -(-int(epochs) // cap))


def snapshot_cap(param_count: int) -> int:
    """Most snapshots kept at once (the first and the last included) within the budget."""
    per = _F * max(param_count, 1)
    return max(2, min(MAX_SNAPSHOTS + 2, int(budgets()["snapshots"] // per)))


@dataclass(frozen=True)
class Estimate:
    """What a scenario's work needs, from its sizes (see the module docstring for the units)."""

    data_bytes: float        # the scenario's sequences, and the batches made from them
    params_bytes: float      # one set of weights
    snapshot_bytes: float    # the weights kept during training
    trace_bytes: float       # one trace of the scenario's sequence
    train_bytes: float       # the working arrays of one training batch or loss evaluation
    trace_ops: float
    train_ops: float
    snapshots: int           # how many snapshots training keeps
    batch_bytes: float = 0.0     # the part of data_bytes that is training/evaluation batches
    jacobian_bytes: float = 0.0  # the part of trace_bytes that is the Jacobian sweep's work

    @property
    def total_bytes(self) -> float:
        """Everything the app may hold at once: data, kept weights, a trace, a batch at work,
        and six more sets of weights (the newest, gradients, Adam's two moments, the copy an
        epoch starts from, clipping's scaled gradients)."""
        return (self.data_bytes + self.snapshot_bytes + 6 * self.params_bytes
                + self.trace_bytes + self.train_bytes)


def _pass_bytes(T: int, B: int, H: int, O: int, backward: bool) -> float:
    # a, h (T+1), y, out, losses; with backward also dy, dh, da, flow, slope
    per = (2 * H + 2 * O + 1) if not backward else (6 * H + 3 * O + 1)
    return _F * (T + 1) * B * per


@dataclass(frozen=True)
class Sizes:
    """What an estimate depends on: known from a file before any sequence is built.

    ``steps`` is the length of the sequence stepped through; ``lengths`` maps each training
    sequence length to how many training sequences have it.
    """

    kind: str
    hidden: int
    inputs: int
    outputs: int
    steps: int
    lengths: dict
    epochs: int
    batch_size: int
    #: The recurrent cell (its name): an LSTM has 4 gate blocks and a state of 2H, a GRU 3 and H.
    cell: str = DEFAULT
    #: Where the data comes from, for the advice of a refusal: "file" (a text file, [data]
    #: file), "csv" (a series read from a CSV file, [data] csv), or "" (the scenario's own).
    source: str = ""
    #: 2 for a bidirectional model (two copies of the cell: twice its work and weights)
    directions: int = 1

    @classmethod
    def of(cls, scenario: Scenario, epochs: int | None = None) -> "Sizes":
        by_len: dict[int, int] = {}
        for seq in scenario.train_sequences:
            by_len[len(seq)] = by_len.get(len(seq), 0) + 1
        data = getattr(scenario, "data", None) or {}
        source = "file" if "corpus" in data else "csv" if "csv" in data else ""
        return cls(scenario.kind, scenario.model.hidden_size, scenario.input_size,
                   scenario.output_size, len(scenario.sequence), by_len,
                   scenario.train.epochs if epochs is None else int(epochs),
                   scenario.train.batch_size, scenario.model.cell, source,
                   2 if getattr(scenario.model, "bidirectional", False) else 1)


def _sizes(what, epochs: int | None) -> Sizes:
    if isinstance(what, Sizes):
        return what if epochs is None else Sizes(**{**what.__dict__, "epochs": int(epochs)})
    return Sizes.of(what, epochs)


def _compact(z: Sizes) -> bool:
    """Whether the trace of ``z``'s sequence is a compact one (see COMPACT_CELLS)."""
    return not get_cell(z.cell).gated and z.steps > 0 and z.steps * z.hidden >= COMPACT_CELLS


def estimate(scenario: Scenario | Sizes, epochs: int | None = None) -> Estimate:
    """The memory and operations of ``scenario``'s trace and of training it ``epochs`` epochs
    (default: its own ``[train].epochs``), from the sizes alone."""
    z = _sizes(scenario, epochs)
    H, I, O, T, epochs = z.hidden, z.inputs, z.outputs, z.steps, z.epochs
    # A gated cell: G gate blocks in every matrix product, a state of S units whose step
    # Jacobians are S x S and need an eigenvalue computation each (no certified power step).
    cell = get_cell(z.cell)
    # (a bidirectional model: as many more blocks, Jacobians and read-out columns)
    D = z.directions
    G, S, eig = D * cell.blocks, cell.state_size(H), D * (2.0 if cell.gated else 1.0)
    n_params = G * (H * I + H * H + H) + O * D * H + O
    params = _F * n_params

    # the trace: the pass, its copies (h, h_prev, norms), the Jacobian stack and the SVDs
    chunk = jacobian_chunk(H)
    jacobian = _F * (2 * min(chunk, max(T, 1)) + 6) * S * S
    # (+ two sets of weights: the trace's gradients, and the W_h knob's scaled copy)
    if _compact(z):
        # kept: h (with h0), dL/dh, y, out, dy, the losses, x, ||dL/dh||, the norms; while the
        # pass runs: dL/da (for the gradients), the read-out's T x O temporaries, blocks of
        # rows; the Jacobian sweep: f'(a) and what it is made from (a for relu), 3 T x H
        jacobian += _F * 3 * T * H
        trace_bytes = (_F * (T * (3 * H + 5 * O + I + 5) + H + 2 * min(PASS_CHUNK, T) * H)
                       + jacobian + 2 * params)
    else:
        trace_bytes = (G * _pass_bytes(T, 1, H, O, True) + _F * T * (3 * S + I + 4)
                       + jacobian + 2 * params)
    trace_ops = (T * (G * (6 * H * H + 4 * H * I) + 6 * H * O + 2 * G * STEP_OVERHEAD_OPS)
                 + max(T - 1, 0) * (eig * JACOBIAN_OPS_PER_H3 * S ** 3 + JACOBIAN_STEP_OPS)
                 + 40 * S ** 3)

    # training: batches of equal-length sequences, the loss evaluation's smaller batches
    by_len = z.lengths
    steps = sum(n * length for length, n in by_len.items())
    data = _F * (steps + T) * (I + O + 1)  # the sequences themselves (inputs, targets, mask)
    data_batches = 2 * _F * steps * (I + O + 1)  # training batches + evaluation batches
    bs = z.batch_size
    work = 0.0
    for length, n in by_len.items():
        b = min(bs, n)
        work = max(work, G * _pass_bytes(length, b, H, O, True) + _F * length * b * (I + S))
        eb = min(n, eval_batch_size(length, H, O))
        work = max(work, _pass_bytes(length, eb, H, O, False))
    n_batches = sum(-(-n // bs) for n in by_len.values())
    loops = sum(-(-n // bs) * length + -(-n // eval_batch_size(length, H, O)) * length
                for length, n in by_len.items())  # batch-steps: the Python loop's overhead
    per_epoch = (steps * (G * (8 * H * H + 6 * H * I) + 8 * H * O)
                 + 2 * G * loops * STEP_OVERHEAD_OPS
                 + n_batches * BATCH_OVERHEAD_OPS)
    train_ops = (epochs + 1) * per_epoch

    every = snapshot_spacing(epochs, n_params) if epochs else 1
    kept = min(epochs // every + 2, snapshot_cap(n_params)) if epochs else 1
    return Estimate(data_bytes=data + data_batches, params_bytes=params,
                    snapshot_bytes=kept * params, trace_bytes=trace_bytes,
                    train_bytes=work, trace_ops=float(trace_ops), train_ops=float(train_ops),
                    snapshots=kept, batch_bytes=data_batches, jacobian_bytes=jacobian)


def _advice(kind: str, what: str, source: str = "") -> str:
    size = "a smaller [model].hidden_size"
    more = get_kind(kind).more(what, source)
    if what == "trace":
        return f"use {more} or {size}"
    if what == "train":
        return f"use fewer [train].epochs, {more}, or {size}"
    return f"use {size}, {more}, or a smaller [train].batch_size"


def check(scenario: Scenario | Sizes, epochs: int | None = None, *,
          path: str | None = None) -> Estimate:
    """The :func:`estimate`, or ScenarioError (naming the file, the estimate, the budget, the
    override and what to change) when the work would go over a budget. The loader calls it with
    the :class:`Sizes` of a file before it builds any sequence."""
    z = _sizes(scenario, epochs)
    est = estimate(z)
    limit = budgets()
    where = path if path is not None else getattr(scenario, "source", None)
    n_epochs = z.epochs
    kind = z.kind

    def refuse(text: str, env: str) -> None:
        raise ScenarioError(f"{text} (raise the budget with {env}=..., see docs/scenarios.md)",
                            path=where)

    if est.trace_ops > limit["trace"]:
        refuse(f"this {kind} scenario's trace needs about {format_ops(est.trace_ops)}"
               f" (T = {z.steps} steps at hidden size {z.hidden}); the budget is {format_ops(limit['trace'])}: "
               f"{_advice(kind, 'trace', z.source)}", BUDGET_ENV["trace"])
    if est.total_bytes > limit["memory"]:
        parts = {"its trace": est.trace_bytes, "training batches": est.train_bytes,
                 "the data": est.data_bytes, "the weights kept": est.snapshot_bytes}
        biggest = max(parts, key=parts.get)
        refuse(f"this {kind} scenario needs about {format_bytes(est.total_bytes)} of "
               f"memory ({biggest}: {format_bytes(parts[biggest])}); the budget is "
               f"{format_bytes(limit['memory'])}: "
               f"{_advice(kind, 'trace' if biggest == 'its trace' else 'memory', z.source)}",
               BUDGET_ENV["memory"])
    if 2 * est.params_bytes > limit["snapshots"]:
        refuse(f"its weights take {format_bytes(est.params_bytes)}, and keeping the first and "
               f"the last epoch's needs twice that; the snapshot budget is "
               f"{format_bytes(limit['snapshots'])}: use a smaller [model].hidden_size or "
               f"vocabulary", BUDGET_ENV["snapshots"])
    if n_epochs and est.train_ops > limit["train"]:
        refuse(f"training {n_epochs} epochs needs about {format_ops(est.train_ops)}; the "
               f"budget is {format_ops(limit['train'])}: {_advice(kind, 'train', z.source)}",
               BUDGET_ENV["train"])
    return est
