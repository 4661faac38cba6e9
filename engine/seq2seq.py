"""The encoder-decoder (sequence-to-sequence) model, with or without attention.

An encoder cell reads the source x_0..x_{S-1} into states h_0..h_{S-1}. A decoder cell (the
same kind of cell, its own weights) reads the target shifted right: <s>, y_0, ..., y_{T-1}
(teacher forcing). At decoder step i, with decoder state s_i:

    none:      z_i = s_i
    additive:  e_ij = v . tanh(W_a s_i + U_a h_j)      (Bahdanau's score)
    dot:       e_ij = s_i . h_j                         (Luong's dot score)
               a_ij = softmax_j(e_ij),  c_i = sum_j a_ij h_j,  z_i = [s_i; c_i]
    logits_i = W_o z_i + b_o,   p_i = softmax(logits_i)

The target after y_{T-1} is the end token </s>. The loss is the mean cross-entropy over the
T + 1 decoder steps (and over the batch). The score uses the decoder's current state s_i (as
Luong et al. place it); its form is Bahdanau's. Greedy decoding feeds back the argmax instead
of the target. Gradients are exact (BPTT through the decoder, the attention and the encoder);
tests check them against central differences and, where installed, PyTorch.

A pair is one :class:`Pair`, a Sequence whose time line is the S source steps then the T + 1
decoder steps, so a cursor walks the encoder and then the decoder; every token is one-hot over
one vocabulary (source words, target words, <s>, </s>).

Nothing here names a cell: it asks the cell registry for the cell and uses each cell's own
forward and backward (see :func:`backward_from`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cells import get_cell
from .cells.numerics import softmax
from .kinds import is_seq2seq  # noqa: F401  (its home is the kinds registry)
from .pairs import END, START, Pair, make_pair
from .types import ATTENTIONS, ScenarioError

__all__ = ["ATTENTIONS", "END", "START", "Pair", "S2SParams", "S2STrace", "make_pair"]

#: What a screen says about how the model is run.
TEACHER_FORCING = "teacher forcing (the decoder reads the target, as in training)"
GREEDY = "greedy (the decoder reads its own best guess)"


# ---------------------------------------------------------------------------------------------
# Parameters


@dataclass
class S2SParams:
    """The encoder's and the decoder's cell parameters (their own read-outs unused), the
    attention's W_a (A, H), U_a (A, H), v (A,) (empty for none and dot) and the read-out
    W_o (O, H or 2H), b_o (O,)."""

    enc: object
    dec: object
    W_o: np.ndarray
    b_o: np.ndarray
    attention: str = "additive"
    W_a: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    U_a: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    v: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def cell(self) -> str:
        return self.enc.cell

    @property
    def hidden_size(self) -> int:
        return self.enc.hidden_size

    @property
    def output_size(self) -> int:
        return int(self.W_o.shape[0])

    def _own(self) -> list[np.ndarray]:
        return [self.W_o, self.b_o] + ([self.W_a, self.U_a, self.v]
                                       if self.attention == "additive" else [])

    def arrays(self) -> list[np.ndarray]:
        """Every trained array, in a fixed order: the encoder's, the decoder's (neither's
        unused read-out), then the read-out and the attention's."""
        return _cell_arrays(self.enc) + _cell_arrays(self.dec) + self._own()

    def copy(self) -> "S2SParams":
        return S2SParams(self.enc.copy(), self.dec.copy(), self.W_o.copy(), self.b_o.copy(),
                         self.attention, self.W_a.copy(), self.U_a.copy(), self.v.copy())

    def is_finite(self) -> bool:
        return all(bool(np.isfinite(a).all()) for a in self.arrays())

    def with_wh_scale(self, factor: float) -> "S2SParams":
        """Both cells' recurrent weights scaled by ``factor`` (the W_h knob)."""
        p = self.copy()
        p.enc, p.dec = self.enc.with_wh_scale(factor), self.dec.with_wh_scale(factor)
        return p

    @property
    def size(self) -> int:
        return sum(int(a.size) for a in self.arrays())


def _cell_arrays(p) -> list[np.ndarray]:
    return [a for a in p.arrays() if a is not p.W_y and a is not p.b_y]


def init_params(cell: str, hidden: int, vocab: int, *, attention: str = "additive",
                attention_size: int | None = None, seed: int = 0,
                forget_bias: float = 1.0) -> S2SParams:
    """Seeded starting weights (xavier; the same seed gives the same numbers)."""
    if attention not in ATTENTIONS:
        raise ScenarioError(f"unknown attention {attention!r}; choose one of "
                            f"{', '.join(ATTENTIONS)}")
    the = get_cell(cell)
    enc = the.init(hidden, vocab, 0, seed=seed, forget_bias=forget_bias)
    dec = the.init(hidden, vocab, 0, seed=seed + 1, forget_bias=forget_bias)
    rng = np.random.default_rng(seed + 2)
    width = hidden if attention == "none" else 2 * hidden

    def xavier(rows, cols):
        lim = np.sqrt(6.0 / (rows + cols))
        return rng.uniform(-lim, lim, size=(rows, cols))

    W_o, b_o = xavier(vocab, width), np.zeros(vocab)
    if attention == "additive":
        A = attention_size or hidden
        W_a, U_a = xavier(A, hidden), xavier(A, hidden)
        v = rng.uniform(-np.sqrt(3.0 / A), np.sqrt(3.0 / A), size=A)
        return S2SParams(enc, dec, W_o, b_o, attention, W_a, U_a, v)
    return S2SParams(enc, dec, W_o, b_o, attention)


# ---------------------------------------------------------------------------------------------
# One cell run forward, and back from gradients given at its states (the cells' composite
# interface: Cell.forward, Cell.backward_from, Cell.final_state)


def cell_forward(params, X: np.ndarray, s0: np.ndarray | None = None):
    """The cell's states over X (T, B, I) from the whole state ``s0`` (B, S; None: zeros)."""
    the = get_cell(params.cell)
    return the.forward(params, X, state0=s0, activation=the.activation_for("tanh"))


def cell_backward(params, p, X: np.ndarray, dh: np.ndarray, ds_last=None):
    """BPTT of a cell's pass ``p`` from dL/dh_t given at every step and dL/ds on its final
    state: (grads, dL/ds_0); ``p.dh`` is then the full dL/dh_t."""
    the = get_cell(params.cell)
    return the.backward_from(params, p, X, dh, ds_last, activation=the.activation_for("tanh"))


def final_state(params, p) -> np.ndarray:
    """The whole state (B, S) after the last step of pass ``p`` (h, and the LSTM's c)."""
    return get_cell(params.cell).final_state(p)


# ---------------------------------------------------------------------------------------------
# The attention


def attend(params: S2SParams, s: np.ndarray, h: np.ndarray):
    """(weights (n, B, S), contexts (n, B, H), the tanh layer (n, B, S, A) or None) for decoder
    states ``s`` (n, B, H) and encoder states ``h`` (S, B, H)."""
    if params.attention == "additive":
        Ws = s @ params.W_a.T  # (n, B, A)
        Uh = h @ params.U_a.T  # (S, B, A)
        u = np.tanh(Ws[:, :, None, :] + Uh.transpose(1, 0, 2)[None])  # (n, B, S, A)
        e = u @ params.v
    else:
        u = None
        e = np.einsum("nbh,sbh->nbs", s, h)
    a = softmax(e)
    ctx = np.einsum("nbs,sbh->nbh", a, h)
    return a, ctx, u


def attend_backward(params: S2SParams, s, h, a, u, dctx, grads: dict):
    """dL/ds (n, B, H) and dL/dh (S, B, H) through the attention, from dL/dcontext; adds the
    attention's own gradients to ``grads``."""
    da = np.einsum("nbh,sbh->nbs", dctx, h)
    dh = np.einsum("nbs,nbh->sbh", a, dctx)
    de = a * (da - np.sum(a * da, axis=-1, keepdims=True))
    if params.attention == "additive":
        grads["v"] = np.einsum("nbs,nbsa->a", de, u)
        dpre = de[..., None] * params.v * (1.0 - u * u)  # (n, B, S, A)
        dWs = dpre.sum(axis=2)  # (n, B, A)
        dUh = dpre.sum(axis=0).transpose(1, 0, 2)  # (S, B, A)
        grads["W_a"] = np.einsum("nba,nbh->ah", dWs, s)
        grads["U_a"] = np.einsum("sba,sbh->ah", dUh, h)
        ds = dWs @ params.W_a
        dh = dh + dUh @ params.U_a
    else:
        ds = np.einsum("nbs,sbh->nbh", de, h)
        dh = dh + np.einsum("nbs,nbh->sbh", de, s)
    return ds, dh


# ---------------------------------------------------------------------------------------------
# The whole model, teacher-forced: forward, loss and exact gradients


@dataclass
class S2SPass:
    """One teacher-forced pass over B pairs: the encoder's and the decoder's cell passes, the
    attention (``weights`` (n, B, S), ``context`` (n, B, H)), probabilities (n, B, O), the
    per-step losses (n, B), the loss, and after the backward pass the gradients and the
    encoder's and decoder's full dL/dh (``enc_dh`` (S, B, H), ``dec_dh`` (n, B, H)) and the
    part of the encoder's that came straight through the attention (``enc_dh_att``)."""

    enc: object
    dec: object
    h: np.ndarray
    s: np.ndarray
    weights: np.ndarray | None
    context: np.ndarray | None
    out: np.ndarray
    losses: np.ndarray
    loss: float
    u: np.ndarray | None = None
    grads: S2SParams | None = None
    enc_dh: np.ndarray | None = None
    enc_dh_att: np.ndarray | None = None
    dec_dh: np.ndarray | None = None
    dlogits: np.ndarray | None = None


def split(X: np.ndarray, S: int):
    """The encoder's inputs and the decoder's of a stacked time line (T, B, I)."""
    return X[:S], X[S:]


def forward(params: S2SParams, X: np.ndarray, Y: np.ndarray, S: int) -> S2SPass:
    """The teacher-forced forward pass for inputs X (T, B, V) and targets Y (T, B, V) whose
    first S steps are the source."""
    Xe, Xd = split(X, S)
    enc = cell_forward(params.enc, Xe)
    h = enc.h
    dec = cell_forward(params.dec, Xd, final_state(params.enc, enc))
    s = dec.h
    if params.attention == "none":
        a = ctx = u = None
        z = s
    else:
        a, ctx, u = attend(params, s, h)
        z = np.concatenate([s, ctx], axis=-1)
    with np.errstate(all="ignore"):
        logits = z @ params.W_o.T + params.b_o
        out = softmax(logits)
        Yd = Y[S:]
        losses = -np.log(np.maximum(np.sum(out * Yd, axis=-1), 1e-300))
    return S2SPass(enc=enc, dec=dec, h=h, s=s, weights=a, context=ctx, out=out,
                   losses=losses, loss=float(losses.mean()), u=u)


def backward(params: S2SParams, p: S2SPass, X: np.ndarray, Y: np.ndarray, S: int,
             dlogits: np.ndarray | None = None) -> S2SPass:
    """Exact gradients of the mean loss (or of whatever ``dlogits``, dL/dlogits (n, B, O),
    says), filled into ``p``."""
    Xe, Xd = split(X, S)
    n, B, _ = p.out.shape
    if dlogits is None:
        dlogits = (p.out - Y[S:]) / (n * B)
    H = params.hidden_size
    z = p.s if params.attention == "none" else np.concatenate([p.s, p.context], axis=-1)
    dW_o = np.einsum("nbo,nbz->oz", dlogits, z)
    db_o = dlogits.sum(axis=(0, 1))
    dz = dlogits @ params.W_o
    ds = dz[..., :H].copy()
    own: dict = {}
    dh_att = np.zeros_like(p.h)
    if params.attention != "none":
        ds_att, dh_att = attend_backward(params, p.s, p.h, p.weights, p.u, dz[..., H:], own)
        ds += ds_att
    dec_grads, ds0 = cell_backward(params.dec, p.dec, Xd, ds)
    enc_grads, _ = cell_backward(params.enc, p.enc, Xe, dh_att, ds0)
    g = params.copy()
    for mine, theirs in ((g.enc, enc_grads), (g.dec, dec_grads)):
        for a, b in zip(_cell_arrays(mine), _cell_arrays(theirs)):
            a[...] = b
    g.W_o, g.b_o = dW_o, db_o
    if params.attention == "additive":
        g.W_a, g.U_a, g.v = own["W_a"], own["U_a"], own["v"]
    p.grads, p.enc_dh, p.enc_dh_att, p.dec_dh, p.dlogits = (g, p.enc.dh, dh_att, p.dec.dh,
                                                            dlogits)
    return p


def run(params: S2SParams, X, Y, S: int, *, backward_pass: bool = True) -> S2SPass:
    """Forward (and backward) for one pair (X (T, V)) or a batch (T, B, V)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.ndim == 2:
        X, Y = X[:, None, :], Y[:, None, :]
    p = forward(params, X, Y, S)
    return backward(params, p, X, Y, S) if backward_pass else p


# ---------------------------------------------------------------------------------------------
# Greedy decoding


@dataclass
class Decoded:
    """What greedy decoding wrote: the tokens (without </s>), the attention row of each
    (len(tokens) + 1 rows when it stopped at </s>), and whether it stopped there."""

    tokens: list[str]
    weights: np.ndarray | None
    ended: bool


def greedy(params: S2SParams, source: np.ndarray, vocab: list[str], max_len: int) -> Decoded:
    """Decode ``source`` (S, V) one step at a time, feeding back the most likely token,
    until </s> or ``max_len`` tokens."""
    X = np.asarray(source, dtype=np.float64)[:, None, :]
    enc = cell_forward(params.enc, X)
    h = enc.h
    index = {t: i for i, t in enumerate(vocab)}
    tok = start = index[START]
    state = final_state(params.enc, enc)
    out, rows, ended = [], [], False
    for _ in range(max_len + 1):
        x = np.zeros((1, 1, len(vocab)))
        x[0, 0, tok] = 1.0
        step = cell_forward(params.dec, x, state)
        state = final_state(params.dec, step)
        s = step.h
        if params.attention == "none":
            z = s
        else:
            a, ctx, _ = attend(params, s, h)
            rows.append(a[0, 0])
            z = np.concatenate([s, ctx], axis=-1)
        logits = z[0, 0] @ params.W_o.T + params.b_o
        logits[start] = -np.inf  # <s> is never a target: not a word to write
        tok = int(np.argmax(logits))
        if vocab[tok] == END:
            ended = True
            break
        if len(out) == max_len:
            break
        out.append(vocab[tok])
    return Decoded(out, np.array(rows) if rows else None, ended)


# ---------------------------------------------------------------------------------------------
# Batches and accuracy


def batches(pairs: list[Pair], size: int):
    """(X, Y, S) stacks of pairs with the same source and target lengths, up to ``size``."""
    groups: dict[tuple[int, int], list[Pair]] = {}
    for q in pairs:
        groups.setdefault((q.source_len, len(q)), []).append(q)
    out = []
    for (S, _), group in groups.items():
        for i in range(0, len(group), max(size, 1)):
            part = group[i:i + size]
            out.append((np.stack([q.inputs for q in part], axis=1),
                        np.stack([q.targets for q in part], axis=1), S))
    return out


def dataset_loss(params: S2SParams, pairs: list[Pair]) -> float:
    """The mean over pairs of each pair's loss (teacher-forced, forward only)."""
    total, count = 0.0, 0
    for X, Y, S in batches(pairs, 256):
        p = forward(params, X, Y, S)
        total += float(p.losses.mean(axis=0).sum())
        count += X.shape[1]
    return total / max(count, 1)


def sequence_accuracy(params: S2SParams, pairs: list[Pair], vocab: list[str]) -> float:
    """The share of pairs whose greedy decode is exactly the target."""
    if not pairs:
        return float("nan")
    right = 0
    for q in pairs:
        d = greedy(params, q.inputs[:q.source_len], vocab, max_len=2 * len(q.target) + 2)
        right += d.tokens == q.target
    return right / len(pairs)


# ---------------------------------------------------------------------------------------------
# Training a scenario of pairs


def initial(scenario) -> S2SParams:
    """The scenario's seeded starting weights."""
    m = scenario.model
    return init_params(m.cell, m.hidden_size, scenario.output_size,
                       attention=m.attention or "additive", seed=m.seed,
                       forget_bias=m.forget_bias)


# ---------------------------------------------------------------------------------------------
# The trace: one pair, every number the panes show


@dataclass
class S2STrace:
    """One pair run teacher-forced forward and back, and greedily decoded.

    ``S`` source steps then ``n`` = len(target) + 1 decoder steps: the cursor's time line
    (``len(trace)`` = S + n). ``h`` (S, H) the encoder's states, ``s`` (n, H) the decoder's,
    ``weights`` (n, S) and ``context`` (n, H) the attention (None without), ``out`` (n, O)
    the probabilities, ``step_loss`` (n,), ``loss`` their mean. ``enc_grad`` (S,) is
    ||dL/dh_j||, ``dec_grad`` (n,) ||dL/ds_i||. ``loss_grad[i, j]`` is ||dL_i/dh_j||, the loss of
    output i alone followed back to encoder state j by every path, and ``loss_grad_att[i, j]``
    the part of it that came straight through the attention (zero without). ``decoded`` is
    the greedy decode of the source."""

    params: S2SParams
    sequence: Pair
    vocab: list[str]
    S: int
    h: np.ndarray
    s: np.ndarray
    weights: np.ndarray | None
    context: np.ndarray | None
    out: np.ndarray
    step_loss: np.ndarray
    loss: float
    enc_grad: np.ndarray
    dec_grad: np.ndarray
    loss_grad: np.ndarray
    loss_grad_att: np.ndarray
    decoded: Decoded
    #: the encoder's whole final state, the decoder's start (h, and the LSTM's c): (state size,)
    bottleneck: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: what the panes ask to tell this trace from a cell's (engine.trace.Trace)
    seq2seq: bool = True
    backward_done: bool = True
    jacobians_done: bool = True

    def __len__(self) -> int:
        return self.S + len(self.s)

    @property
    def cell(self) -> str:
        return self.params.cell

    @property
    def attention(self) -> str:
        return self.params.attention

    @property
    def n(self) -> int:
        return len(self.s)

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.loss) and np.isfinite(self.h).all()
                    and np.isfinite(self.s).all())

    def output_tokens(self) -> list[str]:
        """The most probable token at each decoder step (teacher-forced)."""
        return [self.vocab[int(i)] for i in np.argmax(self.out, axis=-1)]

    def departs(self) -> int | None:
        """The first output position where the greedy decode is not the target (its length
        when it is shorter or longer), or None where it is the target exactly."""
        got, want = self.decoded.tokens, self.sequence.target
        for i, (a, b) in enumerate(zip(got, want)):
            if a != b:
                return i
        return None if len(got) == len(want) else min(len(got), len(want))

    def attention_rows(self) -> np.ndarray | None:
        """The weights of each target token (the end token's row left out): (len(target), S),
        each row summing to 1."""
        return None if self.weights is None else self.weights[:len(self.sequence.target)]


def trace(params: S2SParams, pair: Pair, vocab: list[str]) -> S2STrace:
    """Everything the panes show for ``pair`` under ``params``."""
    S = pair.source_len
    X, Y = pair.inputs[:, None, :], pair.targets[:, None, :]
    p = run(params, X, Y, S)
    n = p.out.shape[0]
    per_loss = np.zeros((n, S))
    per_att = np.zeros((n, S))
    for i in range(n):  # one output's loss alone, followed back
        dl = np.zeros_like(p.out)
        dl[i] = p.out[i] - Y[S + i]
        q = backward(params, forward(params, X, Y, S), X, Y, S, dlogits=dl)
        per_loss[i] = np.linalg.norm(q.enc_dh[:, 0], axis=-1)
        per_att[i] = np.linalg.norm(q.enc_dh_att[:, 0], axis=-1)
    decoded = greedy(params, pair.inputs[:S], vocab, max_len=2 * len(pair.target) + 2)
    return S2STrace(
        params=params, sequence=pair, vocab=list(vocab), S=S, h=p.h[:, 0], s=p.s[:, 0],
        weights=None if p.weights is None else p.weights[:, 0],
        context=None if p.context is None else p.context[:, 0], out=p.out[:, 0],
        step_loss=p.losses[:, 0], loss=p.loss, enc_grad=np.linalg.norm(p.enc_dh[:, 0], axis=-1),
        dec_grad=np.linalg.norm(p.dec_dh[:, 0], axis=-1), loss_grad=per_loss,
        loss_grad_att=per_att, decoded=decoded,
        bottleneck=final_state(params.enc, p.enc)[0])


def with_attention(scenario, attention: str):
    """``scenario`` with its encoder-decoder's attention set to ``attention``; ScenarioError
    for a scenario that has no encoder-decoder or an unknown attention."""
    import dataclasses
    if not is_seq2seq(scenario):
        raise ScenarioError(f"attention applies to an encoder-decoder; the scenario "
                            f"{scenario.name!r} is of kind {scenario.kind!r}")
    if attention not in ATTENTIONS:
        raise ScenarioError(f"unknown attention {attention!r}; choose one of "
                            f"{', '.join(ATTENTIONS)}")
    m = scenario.model
    base = m.origin or m  # the file's own model: a position names the attention when it differs
    if attention == base.attention and m.cell == base.cell:
        return dataclasses.replace(scenario, model=base)
    return dataclasses.replace(scenario, model=dataclasses.replace(m, attention=attention,
                                                                   origin=base))
