"""A Trace: one sequence run forward and backward, with every per-step array kept for display."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from . import analysis
from .budget import COMPACT_CELLS
from .cells import DEFAULT, cell_of, get_cell
from .cells.base import GatedParams, is_bidirectional
from .cells.numerics import row_norms
from .cells.rnn import Params, run
from .types import Sequence


@dataclass
class Trace:
    """Every number the app shows for one sequence under one set of weights.

    Per-step arrays have a leading time axis of length T: ``x`` (T, I); ``a``, ``h``, ``dh``,
    ``da``, ``flow`` (T, H); ``y``, ``out``, ``dy`` (T, O). ``h_prev[t]`` is h_{t-1} (zeros at
    t = 0). ``out`` is what the output function makes of ``y`` (probabilities for softmax, the
    value for identity, P(1) for sigmoid). ``step_loss[t]`` is the loss at t (0 where there is no
    target, see ``mask``); ``loss`` is their mean over the steps that have a target.
    ``grad_h[t]`` = ||dL/dh_t|| and ``jacobian_log10[t]`` = log10 ||dh_{T-1}/dh_t||_2.
    """

    params: Params
    activation: str
    output: str
    sequence: Sequence
    x: np.ndarray
    a: np.ndarray
    h: np.ndarray
    h_prev: np.ndarray
    y: np.ndarray
    out: np.ndarray
    step_loss: np.ndarray
    loss: float
    dy: np.ndarray
    dh: np.ndarray
    da: np.ndarray
    flow: np.ndarray
    grads: Params
    grad_h: np.ndarray
    jacobian_log10: np.ndarray
    spectral_norm: float
    spectral_radius: float
    retention: np.ndarray
    # -- gated cells (docs/cells.md); for the vanilla cell these keep their defaults ------------
    #: the cell's name (engine.cells.CELLS). For a gated cell ``a`` and ``da`` are None (there is
    #: no single pre-activation: see ``gate_pre``), ``flow[t]`` is everything step t sends back
    #: into dL/dh_{t-1}, and ``jacobian_log10`` is of the whole state s (h and c for the LSTM).
    cell: str = DEFAULT
    #: LSTM: c_t and c_{t-1} (zeros at t = 0), each (T, H); else None. ``dc[t]`` is BPTT's
    #: dL/dc_t = dh_t o_t tanh'(c_t) + f_{t+1} dc_{t+1} (h_t recomputed from c_t), and
    #: ``dc_carry[t]`` = f_{t+1} dc_{t+1} (0 at the last step) is dL/dc_t with h_t held: what
    #: reaches c_t along the cell state alone, the c half of dL/ds_t.
    c: np.ndarray | None = None
    c_prev: np.ndarray | None = None
    dc: np.ndarray | None = None
    dc_carry: np.ndarray | None = None
    #: gate name -> (T, H) values: LSTM i, f, o (in [0, 1]) and candidate g; GRU r, z, n.
    gates: dict = field(default_factory=dict)
    #: the same names -> pre-activations and -> dL/d(pre-activation); the GRU adds "hn",
    #: W_hn h_{t-1} + b_hn (the part the reset gate multiplies).
    gate_pre: dict = field(default_factory=dict)
    gate_grad: dict = field(default_factory=dict)
    #: log10 of the carry path alone: max over units of f_{t+1} ... f_{T-1} (LSTM forget gates)
    #: or z_{t+1} ... z_{T-1} (GRU update gates); (T,), None for the vanilla cell.
    carry_log10: np.ndarray | None = None
    #: ||dc_t|| (LSTM, else None) and ||dL/ds_t|| = ||[dh_t, dc_carry_t]|| for the whole state
    #: (the GRU: ||dh_t||), (T,), gated cells only.
    grad_c: np.ndarray | None = None
    grad_state: np.ndarray | None = None
    #: False while ``jacobian_log10`` is not computed yet (all NaN): a trace made with
    #: ``jacobians=False``, whose norms :func:`with_jacobians` adds later (in a worker).
    jacobians_done: bool = True
    #: False while the backward part (dy, dL/dh, dL/da, the flow, the gradients, ||dL/dh||) is
    #: not computed yet (every entry NaN): a compact trace made with ``backward=False``, whose
    #: backward part :func:`with_backward` adds later (in a worker).
    backward_done: bool = True
    #: A bidirectional model (engine/cells/bidir.py): this Trace's per-step arrays of the cell
    #: (h, a, gates, dh, flow, the Jacobian norms ...) are the FORWARD direction's, ``params``
    #: and ``grads`` the whole model's (BiParams: ``W_h`` is the forward direction's), y, out,
    #: dy and the losses the model's; ``back`` is the backward direction's Trace, its arrays in
    #: reading order too: ``back.h[t]`` is h←_t, ``back.h_prev[t]`` h←_{t+1} (zeros at the
    #: last step), ``back.jacobian_log10[t]`` = log10 ||dh←_0/dh←_t||. None for one direction.
    back: "Trace | None" = None

    @property
    def bidirectional(self) -> bool:
        return self.back is not None

    def direction(self, which: str) -> "Trace":
        """The Trace of one direction: ``"fwd"`` (this one) or ``"bwd"`` (``back``)."""
        return self.back if which == "bwd" and self.back is not None else self

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def mask(self) -> np.ndarray:
        return self.sequence.mask

    @property
    def targets(self) -> np.ndarray:
        return self.sequence.targets

    @property
    def jacobian_norm(self) -> np.ndarray:
        """||dh_{T-1}/dh_t||_2 as plain floats (0 below ~1e-308, inf above ~1e308)."""
        with np.errstate(over="ignore", under="ignore"):
            return np.power(10.0, self.jacobian_log10)

    @property
    def finite(self) -> bool:
        """False when anything overflowed (the W_h knob or training can push it there)."""
        return bool(np.isfinite(self.loss) and np.isfinite(self.h).all())




def run_trace(params: Params, sequence: Sequence, *, activation: str = "tanh",
              output: str = "softmax", retention_steps: int = 15,
              jacobians: bool = True, should_stop=None, compact: bool | None = None,
              backward: bool = True) -> Trace:
    """Run ``sequence`` forward and backward under ``params`` and gather the whole trace.

    ``should_stop`` (a callable) lets a caller in another thread abandon a long trace: the step
    Jacobians then raise :class:`engine.analysis.Cancelled`. Gated parameters (an LSTM's or a
    GRU's, see engine.cells) give the gated trace; ``activation`` is then unused.
    ``jacobians=False`` leaves the step-Jacobian norms for :func:`with_jacobians`.

    ``compact`` (default: from COMPACT_CELLS cells on, vanilla cell only) keeps h, with
    ``h_prev`` a view of the same block, and dL/dh as arrays, and ``a``, ``da`` and ``flow`` as
    :class:`engine.rows.RecomputedRows`: recomputed exactly, a window at a time, when read
    (2 instead of 6 T x H arrays: 102 MB instead of 307 MB at T = 100,000, H = 64).
    ``backward=False`` (compact traces only; ignored otherwise) leaves the backward part for
    :func:`with_backward` too: the forward quantities around t are there first.
    """
    cell = cell_of(params)
    if is_bidirectional(params):
        return _bidirectional_trace(cell, params, sequence, activation=activation,
                                    output=output, retention_steps=retention_steps,
                                    should_stop=should_stop)
    if cell.gated:
        tr = _gated_trace(params, sequence, output=output, retention_steps=retention_steps,
                          jacobians=jacobians, should_stop=should_stop, activation=activation)
        tr.jacobians_done = bool(jacobians)
        return tr
    activation = cell.activation_for(activation)
    T = len(sequence)
    first = sequence.inputs[0] if T else np.zeros(params.input_size)
    if compact is None:
        compact = T * params.hidden_size >= COMPACT_CELLS
    h0 = _carried_state(params, sequence, activation, output)
    if compact and T:
        tr = _compact_trace(params, sequence, h0, activation, output, retention_steps, first,
                            backward=backward or jacobians)
        return with_jacobians(tr, should_stop=should_stop) if jacobians else tr
    p = run(params, sequence.inputs, sequence.targets, sequence.mask,
            activation=activation, output=output, h0=h0)
    return _vanilla_from_pass(params, p, sequence, activation, output, retention_steps,
                              jacobians, should_stop)


def _vanilla_from_pass(params: Params, p, sequence: Sequence, activation: str, output: str,
                       retention_steps: int, jacobians: bool, should_stop) -> Trace:
    """The vanilla cell's Trace of the first sequence of pass ``p`` (forward and back)."""
    T = len(sequence)
    first = sequence.inputs[0] if T else np.zeros(params.input_size)
    h = p.h[:, 0]
    with np.errstate(over="ignore", invalid="ignore"):
        grad_h = row_norms(p.dh[:, 0])
    jac = (analysis.jacobian_log10_norms(params.W_h, p.slope[:, 0], should_stop=should_stop)
           if jacobians
           else np.full(T, np.nan))
    h_prev = np.vstack([p.h0, h[:-1]]) if T else np.zeros((0, params.hidden_size))
    return Trace(
        params=params, activation=activation, output=output, sequence=sequence,
        x=np.asarray(sequence.inputs, dtype=np.float64), a=p.a[:, 0], h=h, h_prev=h_prev,
        y=p.y[:, 0], out=p.out[:, 0], step_loss=p.losses[:, 0], loss=p.loss,
        dy=p.dy[:, 0], dh=p.dh[:, 0], da=p.da[:, 0], flow=p.flow[:, 0], grads=p.grads,
        grad_h=grad_h, jacobian_log10=jac,
        spectral_norm=analysis.spectral_norm(params.W_h),
        spectral_radius=analysis.spectral_radius(params.W_h),
        retention=analysis.retention(params, first, retention_steps, activation),
        jacobians_done=bool(jacobians), cell=params.cell,
    )


def jacobians_of(trace: Trace, should_stop=None) -> np.ndarray:
    """``trace``'s ``jacobian_log10`` as :func:`run_trace` computes it, from the trace alone:
    the same step Jacobians and the same certified-or-SVD norms, so the numbers are identical
    to a trace made with ``jacobians=True``. Raises :class:`engine.analysis.Cancelled` when
    ``should_stop()`` says so."""
    if trace.jacobians_done:
        return trace.jacobian_log10
    if get_cell(trace.cell).gated:  # the gated pass's right multipliers are not kept: again
        again = run_trace(trace.params, trace.sequence, activation=trace.activation,
                          output=trace.output, retention_steps=len(trace.retention),
                          should_stop=should_stop)
        return again.jacobian_log10
    from .cells.numerics import activation_slope
    with np.errstate(over="ignore", invalid="ignore"):
        slope = activation_slope(trace.activation, trace.a, trace.h)
    return analysis.jacobian_log10_norms(trace.params.W_h, slope, should_stop=should_stop)


def with_backward(trace: Trace, should_stop=None) -> Trace:
    """``trace`` (a compact one made with ``backward=False``) with its backward part: a new
    Trace sharing every forward array, its numbers those of a trace made whole. Raises
    :class:`engine.analysis.Cancelled` when ``should_stop()`` says so."""
    if trace.backward_done:
        return trace
    from . import rows
    seq = trace.sequence
    T, H = len(trace), trace.params.hidden_size
    p = _ForwardPass(trace.y[:, None], trace.out[:, None])
    hs = _hs_block(trace)
    rows.compact_backward(trace.params, p, hs, seq.inputs, seq.targets, seq.mask,
                          activation=trace.activation, output=trace.output,
                          should_stop=should_stop)
    dh = p.dh[:, 0]
    with np.errstate(over="ignore", invalid="ignore"):
        grad_h = row_norms(dh)
    slope = rows.slopes(trace.activation, trace.a, trace.h)
    da = rows.RecomputedRows(T, H, rows.pre_activation_grads(dh, slope))
    flow = rows.RecomputedRows(T, H, rows.flows(trace.params.W_h, da))
    return dataclasses.replace(trace, dy=p.dy[:, 0], dh=dh, da=da, flow=flow, grads=p.grads,
                               grad_h=grad_h, backward_done=True)


@dataclass
class _ForwardPass:
    y: np.ndarray
    out: np.ndarray
    dy: np.ndarray | None = None
    dh: np.ndarray | None = None
    grads: Params | None = None


def _hs_block(trace: Trace) -> np.ndarray:
    """h0 stacked on h: the one (T + 1, H) block a compact trace's h and h_prev are views of."""
    T = len(trace)
    hp = trace.h_prev
    if T and np.shares_memory(hp, trace.h) and hp.base is not None:
        block = hp.base
        while isinstance(block.base, np.ndarray):
            block = block.base
        hs = block.reshape(-1)[:(T + 1) * hp.shape[1]].reshape(T + 1, hp.shape[1])
        if hs[1:].ctypes.data == trace.h.ctypes.data:
            return hs
    return np.vstack([hp[:1], trace.h])


def with_jacobians(trace: Trace, jacobian_log10: np.ndarray | None = None,
                   should_stop=None) -> Trace:
    """``trace`` with its step-Jacobian norms (computed here unless given): a new Trace that
    shares every other array with ``trace``."""
    if trace.jacobians_done:
        return trace
    if jacobian_log10 is None:
        jacobian_log10 = jacobians_of(trace, should_stop)
    return dataclasses.replace(trace, jacobian_log10=jacobian_log10, jacobians_done=True)


def _compact_trace(params, sequence, h0, activation, output, retention_steps, first,
                   backward: bool = True) -> Trace:
    """The compact trace (see :func:`run_trace`), without its Jacobian norms: the pass made by
    :func:`engine.rows.compact_pass` (no full-size a, f'(a) or flow at any moment), h and
    dL/dh kept, a, dL/da and the flow recomputed from them when read. Without ``backward``,
    the forward part only (the backward arrays NaN, computing nothing, until
    :func:`with_backward`)."""
    from . import rows
    T, H = len(sequence), params.hidden_size
    p, hs3 = rows.compact_forward(params, sequence.inputs, sequence.targets, sequence.mask,
                                  activation=activation, output=output, h0=h0)
    hs = hs3[:, 0]
    h = hs[1:]
    x = np.asarray(sequence.inputs, dtype=np.float64)
    a = rows.RecomputedRows(T, H, rows.pre_activations(params, x, hs))
    if backward:
        rows.compact_backward(params, p, hs3, sequence.inputs, sequence.targets, sequence.mask,
                              activation=activation, output=output)
        dh, dy, grads = p.dh[:, 0], p.dy[:, 0], p.grads
        with np.errstate(over="ignore", invalid="ignore"):
            grad_h = row_norms(dh)
        slope = rows.slopes(activation, a, h)
        da = rows.RecomputedRows(T, H, rows.pre_activation_grads(dh, slope))
        flow = rows.RecomputedRows(T, H, rows.flows(params.W_h, da))
    else:  # not yet computed: NaN rows, made when read (nothing kept)
        dh = da = flow = rows.RecomputedRows(T, H, lambda r: np.full((len(r), H), np.nan))
        dy = np.full((T, params.output_size), np.nan)
        grad_h = np.full(T, np.nan)
        grads = Params(*(np.full_like(w, np.nan) for w in params.arrays()), cell=params.cell)
    return Trace(
        params=params, activation=activation, output=output, sequence=sequence,
        x=x, a=a, h=h, h_prev=hs[:-1],
        y=p.y[:, 0], out=p.out[:, 0], step_loss=p.losses[:, 0],
        loss=p.loss, dy=dy, dh=dh, da=da, flow=flow, grads=grads,
        grad_h=grad_h, jacobian_log10=np.full(T, np.nan), backward_done=backward,
        spectral_norm=analysis.spectral_norm(params.W_h),
        spectral_radius=analysis.spectral_radius(params.W_h),
        retention=analysis.retention(params, first, retention_steps, activation),
        jacobians_done=False, cell=params.cell,
    )


def _gated_trace(params: GatedParams, sequence: Sequence, *, output: str = "softmax",
                 retention_steps: int = 15, jacobians: bool = True, should_stop=None,
                 activation: str = "tanh") -> Trace:
    """Every per-step array of the gated pass, for the first (only) sequence, as a Trace.

    ``spectral_norm`` is ||W_h||_2 of the stacked recurrent blocks (G*H x H) and
    ``spectral_radius`` is nan: a non-square matrix has no eigenvalues.
    """
    cell = get_cell(params.cell)
    p = cell.run(params, sequence.inputs, sequence.targets, sequence.mask, output=output,
                 state0=_carried_state(params, sequence, activation, output))
    return _gated_from_pass(cell, params, p, sequence, output, retention_steps, jacobians,
                            should_stop, activation)


def _gated_from_pass(cell, params: GatedParams, p, sequence: Sequence, output: str,
                     retention_steps: int, jacobians: bool, should_stop,
                     activation: str) -> Trace:
    """A gated cell's Trace of the first sequence of pass ``p`` (forward and back)."""
    T = len(sequence)
    H = params.hidden_size
    h = np.ascontiguousarray(p.h[:, 0])
    h_prev = np.vstack([p.h0, h[:-1]]) if T else np.zeros((0, H))
    gates = {k: np.ascontiguousarray(p.gates[k][:, 0]) for k in cell.gates}
    pre = {k: np.ascontiguousarray(v[:, 0]) for k, v in cell.pre_activations(p).items()}
    dpre = {k: np.ascontiguousarray(p.dpre[k][:, 0]) for k in pre}
    c = c_prev = dc = dc_carry = grad_c = None
    with np.errstate(over="ignore", invalid="ignore"):
        dh = p.dh[:, 0]
        grad_h = row_norms(dh)
        if p.c is not None:
            c = np.ascontiguousarray(p.c[:, 0])
            c_prev = np.vstack([p.c0, c[:-1]]) if T else np.zeros((0, H))
            dc = p.dc[:, 0]
            grad_c = row_norms(dc)
            dc_carry = np.zeros_like(dc)
            np.multiply(gates[cell.carry_gate_name][1:], dc[1:], out=dc_carry[:-1])
            grad_state = row_norms(np.hstack([dh, dc_carry]))
        else:
            grad_state = grad_h.copy()
    S = cell.state_size(H)
    jac = (analysis.state_jacobian_log10(cell.right_multiplier(params, p), T, S, should_stop=should_stop)
           if jacobians else np.full(T, np.nan))
    first = sequence.inputs[0] if T else np.zeros(params.input_size)
    return Trace(
        params=params, activation=activation, output=output, sequence=sequence,
        x=np.asarray(sequence.inputs, dtype=np.float64), a=None, h=h, h_prev=h_prev,
        y=p.y[:, 0], out=p.out[:, 0], step_loss=p.losses[:, 0], loss=p.loss,
        dy=p.dy[:, 0], dh=dh, da=None, flow=p.flow[:, 0], grads=p.grads,
        grad_h=grad_h, jacobian_log10=jac,
        spectral_norm=analysis.spectral_norm(params.W_h), spectral_radius=float("nan"),
        retention=analysis.cell_retention(cell, params, first, retention_steps),
        cell=params.cell, c=c, c_prev=c_prev, dc=dc, dc_carry=dc_carry, gates=gates, gate_pre=pre, gate_grad=dpre,
        carry_log10=analysis.carry_log10(cell.carry_gate(p)) if T else np.zeros(0),
        grad_c=grad_c, grad_state=grad_state,
    )


#: The per-step fields of a Trace (leading axis T), which a direction read backwards reverses.
_STEP_FIELDS = ("x", "a", "h", "h_prev", "y", "out", "step_loss", "dy", "dh", "da", "flow",
                "grad_h", "jacobian_log10", "c", "c_prev", "dc", "dc_carry", "carry_log10",
                "grad_c", "grad_state")


def _reading_order(tr: Trace, sequence: Sequence) -> Trace:
    """A Trace made over a sequence reversed, with every per-step array put back in the
    sequence's order (copies), and ``sequence`` the original."""
    flip = {f: np.ascontiguousarray(getattr(tr, f)[::-1]) for f in _STEP_FIELDS
            if getattr(tr, f) is not None}
    for f in ("gates", "gate_pre", "gate_grad"):
        flip[f] = {k: np.ascontiguousarray(v[::-1]) for k, v in getattr(tr, f).items()}
    return dataclasses.replace(tr, sequence=sequence, **flip)


def _carried_state(params, sequence: Sequence, activation: str, output: str):
    """The state a window of a text file starts from (engine.tbptt.carried_state), None for
    any other sequence (without loading the corpus modules for it)."""
    if getattr(sequence, "stream", None) is None:
        return None
    from .tbptt import carried_state
    return carried_state(params, sequence, activation, output)


def _bidirectional_trace(cell, params, sequence: Sequence, *, activation: str, output: str,
                         retention_steps: int, should_stop) -> Trace:
    """Both directions of a bidirectional model over one sequence (see ``Trace.back``): each
    direction's pass, with the gradients the model's read-out sends into it, made into the
    cell's Trace exactly as a one-way pass is; the backward one over the sequence reversed,
    then put in reading order. The Jacobian norms are always computed."""
    from .cells import bidir
    activation = cell.activation_for(activation)
    p = bidir.run(cell, params, sequence.inputs, sequence.targets, sequence.mask,
                  output=output, activation=activation)
    rev_seq = Sequence(inputs=sequence.inputs[::-1], targets=sequence.targets[::-1],
                       mask=sequence.mask[::-1], labels=sequence.labels[::-1],
                       target_labels=sequence.target_labels[::-1],
                       tokens=None if sequence.tokens is None else sequence.tokens[::-1])
    traces = []
    for which, part, seq, order in (("fwd", p.fwd, sequence, slice(None)),
                                    ("bwd", p.bwd, rev_seq, slice(None, None, -1))):
        # the model's read-out and loss, in this direction's reading order
        part.y, part.out, part.losses, part.loss = p.y[order], p.out[order], p.losses[order], p.loss
        part.dy = p.dy[order]
        dp = params.direction(which)
        if cell.gated:
            tr = _gated_from_pass(cell, dp, part, seq, output, retention_steps, True,
                                  should_stop, activation)
        else:
            tr = _vanilla_from_pass(dp, part, seq, activation, output, retention_steps, True,
                                    should_stop)
        traces.append(tr)
    fwd, bwd = traces[0], _reading_order(traces[1], sequence)
    return dataclasses.replace(fwd, params=params, grads=p.grads, back=bwd)


def one_way(trace: Trace) -> Trace:
    """A bidirectional model's forward direction as a one-way Trace: its own weights with its
    half of the read-out (W_y's first H columns, b_y), its own gradients, no ``back``. What
    reaches h→_t from a loss at τ >= t goes only through h→_τ and that half of W_y, so
    engine.influence and the Jacobians read it as they read any cell's. ``trace`` itself when
    it has one direction."""
    if not trace.bidirectional:
        return trace
    H = trace.h.shape[1]
    fwd = trace.params.fwd.copy()
    fwd.W_y, fwd.b_y = trace.params.W_y[:, :H].copy(), trace.params.b_y.copy()
    grads = trace.grads.fwd.copy()
    grads.W_y, grads.b_y = trace.grads.W_y[:, :H].copy(), trace.grads.b_y.copy()
    return dataclasses.replace(trace, params=fwd, grads=grads, back=None)
