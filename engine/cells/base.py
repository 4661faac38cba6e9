"""The cell interface every recurrent cell implements, and the pieces the gated cells share.

A cell turns inputs x_t and its state s_{t-1} into a new state s_t; the read-out
``y_t = W_y h_t + b_y`` and the loss are the same for every cell. Shapes: T steps, B sequences
side by side, I inputs, H hidden units, O outputs, G gate blocks (LSTM 4, GRU 3).

A gated cell keeps its gate blocks stacked, one (G*H, .) matrix each for the input weights, the
recurrent weights and the biases, so that one matrix product serves every gate. The stacking
order is internal (chosen so the time loop needs the fewest NumPy calls); the names a person sees
(``W_xi``, ``W_hf``, ``b_o``, ...) are views into those blocks, see :meth:`GatedParams.named`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .numerics import _carve, _input_projection, sine_matrix
from ..types import OUTPUTS, ScenarioError


@dataclass(frozen=True)
class StepRow:
    """One row the Step pane shows for a gated cell's forward step: ``quantity`` names the
    per-step array (``gate:f`` is ``trace.gates["f"]``; otherwise a Trace field such as ``c``
    or ``h_prev``). Labels may say ``{t}`` and ``{p}`` (t - 1); ``short``/``tiny`` are for narrow
    panes, ``column`` heads the table view, lower ``rank`` is kept first when the pane is short,
    and a ``spare`` row may be left out of the table."""

    rank: int
    quantity: str
    label: str
    short: str = ""
    tiny: str = ""
    column: str = ""
    spare: bool = False


class Cell:
    """What a cell is: its parameters, state, internals, and how to run it forward and back,
    and everything the rest of the program asks about it (see engine/cells/__init__.py).

    Subclasses set the class attributes and implement the methods below. ``name`` is what
    ``[model].cell``, ``--cell`` and a position's ``cell=`` say; ``state`` names the parts of
    the state (``("h",)``, or ``("h", "c")`` for the LSTM: the state vector s is their
    concatenation, of size ``state_size(H)``); ``gates`` names the internals a pane shows, in
    reading order; ``recurrent`` names the parameter blocks the W_h knob scales.
    """

    name: str = ""
    #: what the status line, the panes and messages call it, and the longer name of a sentence
    title: str = ""
    long_title: str = ""
    state: tuple[str, ...] = ("h",)
    gates: tuple[str, ...] = ()
    #: the gates that read as shares in [0, 1] (sigmoids); the candidates are in [-1, 1]
    sigmoid_gates: tuple[str, ...] = ()
    #: the gates the Hidden pane shows beside each unit, in reading order
    shown_gates: tuple[str, ...] = ()
    #: the gate whose product over steps is the carry path (the "belt"), and its word
    carry_gate_name: str | None = None
    carry_word: str = ""
    recurrent: tuple[str, ...] = ()
    #: names accepted in ``[model].init_scale`` (each scales every block of that kind)
    scale_names: tuple[str, ...] = ("W_x", "W_h", "b", "W_y", "b_y")
    #: whether ``[model].activation`` applies; ``activation``: the one the cell always uses
    takes_activation: bool = False
    activation: str | None = None
    #: whether ``[model].forget_bias`` applies (a forget gate whose bias starts at it)
    has_forget_bias: bool = False
    #: the cell compare mode puts beside this one by default
    partner: str = ""
    #: whether the ``c`` key cycles through this cell (the others: --cell, --at, a file)
    cycles: bool = True
    #: the PyTorch module with the same equations and its gate stacking (for the benchmarks)
    torch: tuple[str, str] | None = None
    #: a gated cell's Step pane: its formula (long, short, tiny) and its rows after x_t
    step_formulas: tuple[str, str, str] = ("", "", "")
    step_rows: tuple[StepRow, ...] = ()

    @property
    def gated(self) -> bool:
        """True for a cell with gates: no single pre-activation a_t, a state Jacobian that is
        not diag(f'(a)) W_h, gate blocks stacked in W_h (not square, no eigenvalues)."""
        return bool(self.gates)

    @property
    def blocks(self) -> int:
        """The blocks stacked in each weight matrix: one per gate (and candidate), 1 without
        gates; about the work of a step relative to the vanilla cell's."""
        return max(1, len(self.gates))

    def activation_for(self, requested: str) -> str:
        """The activation this cell runs with when ``requested`` is asked for."""
        return self.activation or requested

    def state_size(self, hidden: int) -> int:
        return len(self.state) * hidden

    def shapes(self, hidden: int, inputs: int, outputs: int) -> dict[str, tuple[int, ...]]:
        """Every named parameter (as a scenario file writes it) and its shape, in file order."""
        raise NotImplementedError

    def init(self, hidden: int, inputs: int, outputs: int, *, init: str = "xavier",
             scales: dict | None = None, seed: int = 0, weights: dict | None = None,
             forget_bias: float = 1.0):
        """Seeded initial parameters (the same seed always gives the same numbers)."""
        raise NotImplementedError

    def run(self, params, inputs, targets=None, mask=None, *, output: str = "softmax",
            activation: str = "tanh", state0=None, backward: bool = True,
            readout: bool = True):
        """Forward pass over T steps (with a batch axis) and, unless ``backward`` is False,
        backpropagation through time. Returns a Pass-like object (see :class:`GatedPass`).
        ``readout=False``: the states alone (see :meth:`forward`)."""
        raise NotImplementedError

    # -- the composite interface: a cell inside a bigger model --------------------------------
    def forward(self, params, inputs, *, state0=None, activation: str = "tanh"):
        """The states alone over T steps: a pass without read-out, loss or backward part (its
        ``y`` and ``out`` are (T, B, 0), its loss 0). A model that owns the read-out (both
        directions of a bidirectional model, an encoder) runs its cells this way, then
        :meth:`backward_from` with the gradients it computed. ``params``' W_y and b_y are not
        used (they may have 0 rows)."""
        return self.run(params, inputs, None, None, activation=activation, state0=state0,
                        backward=False, readout=False)

    def backward_from(self, params, p, inputs, dh, ds_last=None, *, activation: str = "tanh"):
        """BPTT through the pass ``p`` (from :meth:`forward` or :meth:`run`) from gradients
        supplied from outside: ``dh`` (T, B, H) is the direct dL/dh_t of every step (what the
        caller's read-out or attention sends into h_t), ``ds_last`` (B, S) optionally dL/ds on
        the final state s_{T-1} (for the LSTM [dh, dc]). Fills ``p``'s backward arrays as
        :meth:`run` does (``p.dy`` stays None) and returns ``(grads, ds0)``: the cell's
        parameter gradients (W_y and b_y zero) and dL/ds_0, the gradient reaching the initial
        state (B, S). With ``dh`` = dy W_y from the read-out, the numbers are those of
        :meth:`run`, bit for bit."""
        raise NotImplementedError

    def final_state(self, p) -> np.ndarray:
        """The state vector after the last step of every sequence of pass ``p``: (B, S), the
        ``state0`` that continues the pass (the initial state when T = 0)."""
        c = getattr(p, "c", None)
        if len(p.h) == 0:
            parts = [p.h0] + ([p.c0] if c is not None else [])
        else:
            parts = [p.h[-1]] + ([c[-1]] if c is not None else [])
        return np.concatenate(parts, axis=-1)

    def step(self, params, x: np.ndarray, s: np.ndarray, activation: str = "tanh") -> np.ndarray:
        """One step for one sequence: the state vector s_t from x_t and s_{t-1} (plain formulas,
        for retention, hand checks and finite differences)."""
        raise NotImplementedError

    def step_jacobians(self, params, p, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """ds_t/ds_{t-1} for t in [lo, hi) of the first sequence of pass ``p``: (hi-lo, S, S)."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Parameters


def is_bidirectional(params) -> bool:
    """Whether ``params`` are a bidirectional model's (engine.cells.bidir): asked here, where
    every caller has it, so that a one-way run never loads that module to find out."""
    return bool(getattr(params, "bidirectional", False))


def weight_names(params, prefix: str = "") -> list[str]:
    """The names of the weight arrays of ``params`` (a dataclass), in field order, which is
    the order of ``params.arrays()``: ``W_x``, ``W_h``, ...; a part that is itself a dataclass
    (a direction of a bidirectional model) gives ``part__name``; an array with no numbers (that
    direction's read-out, which is the model's) is not a weight. What the training cache and
    the classroom's weights name."""
    out = []
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if isinstance(value, np.ndarray) and value.size:
            out.append(prefix + f.name)
        elif dataclasses.is_dataclass(value):
            out += weight_names(value, f"{prefix}{f.name}__")
    return out


def weight_of(params, name: str) -> np.ndarray:
    """The array ``name`` (from :func:`weight_names`) of ``params``."""
    for part in name.split("__"):
        params = getattr(params, part)
    return params


def with_weights(params, arrays: dict):
    """A copy of ``params`` with the arrays named in ``arrays`` (from :func:`weight_names`)
    replaced."""
    here = {n: a for n, a in arrays.items() if "__" not in n}
    for part in {n.split("__", 1)[0] for n in arrays if "__" in n}:
        inner = {n.split("__", 1)[1]: a for n, a in arrays.items()
                 if n.startswith(part + "__")}
        here[part] = with_weights(getattr(params, part), inner)
    return dataclasses.replace(params, **here)


class Weights:
    """What every cell's parameters answer (``W_x``, ``W_h``, ``W_y`` and ``arrays`` and
    ``copy`` are the subclass's): the sizes, the W_h knob, whether all is finite."""

    @property
    def hidden_size(self) -> int:
        return int(self.W_h.shape[1])

    @property
    def input_size(self) -> int:
        return int(self.W_x.shape[1])

    @property
    def output_size(self) -> int:
        return int(self.W_y.shape[0])

    def with_wh_scale(self, factor: float):
        """A copy whose recurrent matrices (every gate block of W_h) are multiplied by
        ``factor``: the W_h knob. Biases (the GRU's b_hn included) are left as they are."""
        p = self.copy()
        p.W_h *= factor
        return p

    def is_finite(self) -> bool:
        return all(bool(np.isfinite(a).all()) for a in self.arrays())



@dataclass
class GatedParams(Weights):
    """The weights of a gated cell (stacked gate blocks) and its read-out, all float64.

    ``W_x`` (G*H, I), ``W_h`` (G*H, H) and ``b`` (G*H,) hold the gate blocks in the cell's
    internal ``order``; ``b_hn`` (H,) is the GRU's separate recurrent bias of the candidate
    (None for the LSTM). :meth:`named` gives the per-gate arrays under their public names.
    """

    cell: str
    order: tuple[str, ...]
    W_x: np.ndarray
    W_h: np.ndarray
    b: np.ndarray
    W_y: np.ndarray
    b_y: np.ndarray
    b_hn: np.ndarray | None = None
    #: the gates in their public order (the cell's ``gates``): the order :meth:`named` lists
    gates: tuple[str, ...] = ()

    def arrays(self) -> list[np.ndarray]:
        """The trainable arrays in a fixed order (the optimiser's view)."""
        out = [self.W_x, self.W_h, self.b, self.W_y, self.b_y]
        return out + [self.b_hn] if self.b_hn is not None else out

    def block(self, kind: str, gate: str) -> np.ndarray:
        """The rows of ``W_x``, ``W_h`` or ``b`` (``kind``) that belong to ``gate`` (a view)."""
        H = self.hidden_size
        k = self.order.index(gate)
        return getattr(self, kind)[k * H:(k + 1) * H]

    def named(self) -> dict[str, np.ndarray]:
        """Every parameter under the name a scenario file uses (views into the stacks), in the
        order a file lists them (the cell's ``shapes``)."""
        gates = self.gates or self.order
        names = ([f"W_x{g}" for g in gates] + [f"W_h{g}" for g in gates]
                 + [f"b_{g}" for g in gates] + (["b_hn"] if self.b_hn is not None else [])
                 + ["W_y", "b_y"])
        return {name: self._by_name(name) for name in names}

    def _by_name(self, name: str) -> np.ndarray:
        if name in ("W_y", "b_y", "b_hn"):
            return getattr(self, name)
        if name.startswith("W_x"):
            return self.block("W_x", name[3:])
        if name.startswith("W_h"):
            return self.block("W_h", name[3:])
        return self.block("b", name[2:])

    def as_dict(self) -> dict[str, np.ndarray]:
        """The same as :meth:`named` (the vanilla Params' method of the same name)."""
        return self.named()

    def copy(self) -> "GatedParams":
        return GatedParams(self.cell, self.order, *(a.copy() for a in
                                                    (self.W_x, self.W_h, self.b, self.W_y,
                                                     self.b_y)),
                           b_hn=None if self.b_hn is None else self.b_hn.copy(), gates=self.gates)


def init_gated(cell: Cell, order: tuple[str, ...], hidden: int, inputs: int, outputs: int, *,
               init: str, scales: dict | None, seed: int, weights: dict | None,
               bias_fill: dict[str, float] | None = None, b_hn: bool = False) -> GatedParams:
    """Seeded gated parameters: each gate block is initialised as if it were its own matrix.

    ``xavier``: uniform in +-sqrt(6 / (fan_in + fan_out)) per (H, .) block, times the scale;
    ``normal``: Gaussian with std = scale (default 0.1); ``zeros``; ``sine``: the seed-000
    pattern over the stacked matrix. Biases start at zero (``normal`` draws them when a bias
    scale is given), then ``bias_fill`` sets whole gate biases (the LSTM's forget gate: 1).
    Blocks are drawn in the public order of ``cell.gates``, so the numbers do not depend on
    how the cell stacks them. Any named array in ``weights`` replaces the initialised one.
    """
    from ..types import INITS
    if init not in INITS:
        raise ScenarioError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    scales = scales or {}
    rng = np.random.default_rng(seed)
    G, H = len(order), hidden
    W_x, W_h, b = np.zeros((G * H, inputs)), np.zeros((G * H, H)), np.zeros(G * H)
    W_y, b_y = np.zeros((outputs, H)), np.zeros(outputs)
    bhn = np.zeros(H) if b_hn else None
    blocks = [("W_x", W_x, inputs), ("W_h", W_h, H), ("b", b, None)]

    def rows(arr, gate):
        k = order.index(gate)
        return arr[k * H:(k + 1) * H]

    def draw(name: str, shape: tuple[int, ...]):
        scale = scales.get(name)
        if init == "zeros" or (len(shape) == 1 and (init != "normal" or scale is None)):
            return np.zeros(shape)
        if init == "xavier":
            lim = np.sqrt(6.0 / (shape[0] + shape[1]))
            return rng.uniform(-lim, lim, size=shape) * (1.0 if scale is None else scale)
        if init == "normal":
            return rng.normal(0.0, 0.1 if scale is None else scale, size=shape)
        return None  # sine: below, over the whole stack

    for name, arr, cols in blocks:
        for gate in cell.gates:
            got = draw(name, (H, cols) if cols else (H,))
            if got is not None:
                rows(arr, gate)[...] = got
    for name, arr in (("W_y", W_y), ("b_y", b_y)) + ((("b_hn", bhn),) if b_hn else ()):
        got = draw(name, arr.shape)
        if got is not None:
            arr[...] = got
    if init == "sine":  # the whole stack in public order, top to bottom, as a file writes it
        for name, arr in (("W_x", W_x), ("W_h", W_h)):
            s = scales.get(name)
            full = sine_matrix(G * H, arr.shape[1], 1.0 if s is None else s)
            for j, gate in enumerate(cell.gates):
                rows(arr, gate)[...] = full[j * H:(j + 1) * H]
        s = scales.get("W_y")
        W_y[...] = sine_matrix(outputs, H, 1.0 if s is None else s)
    for gate, value in (bias_fill or {}).items():
        rows(b, gate)[...] = value
    p = GatedParams(cell.name, order, W_x, W_h, b, W_y, b_y, bhn, gates=cell.gates)
    shapes = cell.shapes(hidden, inputs, outputs)
    for name, arr in (weights or {}).items():
        if name not in shapes:
            raise ScenarioError(f"the {cell.name} cell has no parameter {name!r}; "
                                f"it has {', '.join(shapes)}")
        arr = np.asarray(arr, dtype=np.float64)
        if arr.shape != shapes[name]:
            raise ScenarioError(f"{name} must have shape {shapes[name]}, got {arr.shape}")
        p._by_name(name)[...] = arr
    return p


# ---------------------------------------------------------------------------------------------
# The pass of a gated cell


@dataclass
class GatedPass:
    """Everything one forward + backward pass of a gated cell computed (T steps, B sequences).

    ``h`` (T, B, H) is h_t and ``h0`` (B, H) the state before the first step; the LSTM also has
    ``c`` (T, B, H) and ``c0``. ``gates[name]`` (T, B, H) are the gate values and the candidate,
    ``pre[name]`` their pre-activations (the GRU adds ``pre["hn"]`` = W_hn h_{t-1} + b_hn).
    ``y``/``out``/``dy`` are (T, B, O); ``losses`` (T, B) with 0 where there is no target.
    ``dh[t]`` (and ``dc[t]``) are the full dL/dh_t (dL/dc_t) through all later steps,
    ``dpre[name]`` = dL/d(pre-activation), ``flow[t]`` what flows back from step t into
    dL/dh_{t-1}. ``grads`` are dL/dparam. ``aux`` holds the products the Jacobians reuse.
    """

    h: np.ndarray
    h0: np.ndarray
    gates: dict
    pre: dict
    y: np.ndarray
    out: np.ndarray
    losses: np.ndarray
    loss: float
    c: np.ndarray | None = None
    c0: np.ndarray | None = None
    dy: np.ndarray | None = None
    dh: np.ndarray | None = None
    dc: np.ndarray | None = None
    dpre: dict | None = None
    flow: np.ndarray | None = None
    grads: GatedParams | None = None
    aux: dict = field(default_factory=dict)


def prepare(inputs, targets, mask, output: str, O: int):
    """(X, Y, M): inputs as (T, B, I), targets (T, B, O) and mask (T, B), checked as
    :func:`engine.model.run` does."""
    if output not in OUTPUTS:
        raise ScenarioError(f"unknown output {output!r}; choose one of {', '.join(OUTPUTS)}")
    X = np.asarray(inputs, dtype=np.float64)
    if X.ndim == 2:
        X = X[:, None, :]
    T, B, _ = X.shape
    if targets is None:
        return X, np.zeros((T, B, O)), np.zeros((T, B), dtype=bool)
    Y = np.asarray(targets, dtype=np.float64).reshape(T, B, O)
    M = (np.ones((T, B), dtype=bool) if mask is None
         else np.asarray(mask, dtype=bool).reshape(T, B))
    return X, Y, M


def start_state(given, B: int, H: int) -> np.ndarray:
    if given is None:
        return np.zeros((B, H))
    return np.broadcast_to(np.asarray(given, dtype=np.float64), (B, H)).copy()


def carve(shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Uninitialised float64 arrays of these shapes, views of ONE new block (see
    engine.cells.numerics._carve: one allocation a pass lets malloc reuse the memory next time instead of
    page-faulting on fresh pages, which cost more than the arithmetic of a small pass)."""
    return _carve(shapes)


def input_part(X: np.ndarray, params: GatedParams, out: np.ndarray | None = None) -> np.ndarray:
    """X W_x^T + b for every step at once: (T, B, G*H), one gather for one-hot inputs."""
    T, B, _ = X.shape
    A = np.empty((T, B, params.W_x.shape[0])) if out is None else out
    _input_projection(X, params.W_x, A)
    A += params.b
    return A


def output_backward(y, out, Y, M, n, output: str, W_y: np.ndarray, bufs=None):
    """dL/dy (T, B, O) and its direct part of dL/dh_t, dy @ W_y (T, B, H); ``bufs`` = (dy,
    dh) arrays to fill, else new ones."""
    if bufs is None:
        bufs = np.empty(y.shape), np.empty(y.shape[:-1] + (W_y.shape[1],))
    dy, dhd = bufs
    if output == "identity":
        np.subtract(y, Y, out=dy)
        dy *= 2.0
    else:
        np.subtract(out, Y, out=dy)
    dy *= (M / n)[..., None] if n else 0.0
    np.matmul(dy, W_y, out=dhd)
    return dy, dhd


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z): accurate to the last digits even where it is tiny (no cancellation)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))
