"""An encoder-decoder's trace as JSON and as a table (``rnntui trace`` on a scenario of
source -> target pairs; docs/trace-json.md, "Encoder-decoder")."""

from __future__ import annotations

import numpy as np

from engine.seq2seq import GREEDY, TEACHER_FORCING

from .safe_text import visible


def _arr(a):
    from .tracejson import _arr as arr
    return arr(a)


def _num(x):
    from .tracejson import _num as num
    return num(x)


def to_json(sc, tr, history=None, epoch: int = 0) -> dict:
    """The trace JSON of an encoder-decoder: its source, target, greedy decode, states,
    attention and gradients."""
    from engine.cells import get_cell
    from .tracejson import SCHEMA
    p = tr.params
    target = tr.sequence.target
    rows = tr.attention_rows()
    ctx = None if tr.context is None else tr.context[:len(target)]
    steps = []
    for t in range(len(tr)):
        enc = t < tr.S
        i = t - tr.S
        step = {"t": t, "part": "encoder" if enc else "decoder",
                "input": tr.sequence.labels[t]}
        if enc:
            step["h"] = _arr(tr.h[t])
            step["grad_h"] = _num(tr.enc_grad[t])
        else:
            step.update({
                "s": _arr(tr.s[i]), "target": tr.sequence.target_labels[t],
                "prediction": tr.vocab[int(np.argmax(tr.out[i]))],
                "prediction_p": _num(np.max(tr.out[i])), "probs": _arr(tr.out[i]),
                "loss": _num(tr.step_loss[i]), "grad_s": _num(tr.dec_grad[i]),
                "loss_grad_encoder": _arr(tr.loss_grad[i]),
                "loss_grad_encoder_attention": _arr(tr.loss_grad_att[i]),
            })
        steps.append(step)
    losses = list(history.losses) if history is not None else []
    return {
        "schema": SCHEMA,
        "scenario": {"name": sc.name, "kind": sc.kind, "source": sc.source},
        "cell": tr.cell,
        "model": {"seq2seq": True, "attention": tr.attention, "hidden_size": p.hidden_size,
                  "encoder_cell": get_cell(tr.cell).title, "decoder_cell": get_cell(tr.cell).title,
                  "output_size": p.output_size, "parameters": p.size,
                  "training": TEACHER_FORCING, "decoded": GREEDY},
        "epoch": int(epoch),
        "epochs_trained": history.trained_epochs if history is not None else int(epoch),
        "loss_history": [_num(v) for v in losses],
        "vocab": list(sc.vocab),
        "source_tokens": list(tr.sequence.source),
        "target_tokens": list(target),
        "decoded_tokens": list(tr.decoded.tokens),
        "decoded_ended": tr.decoded.ended,
        "departs_at": tr.departs(),
        "align": tr.sequence.align,
        "attention": None if rows is None else _arr(rows),
        "context": None if ctx is None else _arr(ctx),
        "bottleneck": _arr(tr.h[-1]),
        "steps": steps,
        "loss": _num(tr.loss),
        "params": {**{f"encoder.{k}": _arr(v) for k, v in _named(p.enc).items()},
                   **{f"decoder.{k}": _arr(v) for k, v in _named(p.dec).items()},
                   **{k: _arr(getattr(p, k)) for k in _own(p)}},
    }


def _named(cell_params) -> dict:
    return {k: v for k, v in cell_params.as_dict().items() if k not in ("W_y", "b_y")}


def _own(p) -> tuple[str, ...]:
    return ("W_o", "b_o") + (("W_a", "U_a", "v") if p.attention == "additive" else ())


def table(sc, tr, epoch: int = 0, width: int | None = None) -> str:
    """The encoder-decoder's trace as lines of text: source, target, decode, then one row
    per decoder step with its attention."""
    from engine.cells import get_cell
    the = get_cell(tr.cell)
    att = tr.attention
    trained = f"trained {epoch} epochs" if epoch else "untrained"
    lines = [f"{visible(sc.name)}: encoder-decoder, {the.title}, hidden "
             f"{tr.params.hidden_size}, attention {att}; {trained}; L = {tr.loss:.4f}",
             f"the rows: {TEACHER_FORCING}",
             f"decoded: {GREEDY}",
             "source:  " + " ".join(visible(x) for x in tr.sequence.source),
             "target:  " + " ".join(visible(x) for x in tr.sequence.target),
             "decoded: " + " ".join(visible(x) for x in tr.decoded.tokens)
             + ("" if tr.departs() is None else f"   (departs at output {tr.departs()})"),
             ""]
    head = f"{'i':>3} {'input':>7} {'target':>7} {'guess':>7} {'p':>5} {'loss':>6}"
    if tr.weights is not None:
        head += " │" + "".join(f"{visible(x)[:4]:>5}" for x in tr.sequence.source)
    if tr.weights is not None:
        lines.append(" " * 39 + "│ attention over the source")
    lines.append(head)
    for i in range(tr.n):
        t = tr.S + i
        guess = int(np.argmax(tr.out[i]))
        row = (f"{i:>3} {visible(tr.sequence.labels[t])[:7]:>7} "
               f"{visible(tr.sequence.target_labels[t])[:7]:>7} "
               f"{visible(tr.vocab[guess])[:7]:>7} {tr.out[i][guess]:>5.3f} "
               f"{tr.step_loss[i]:>6.4f}")
        if tr.weights is not None:
            row += " │" + "".join(f"{w:>5.2f}" for w in tr.weights[i])
        lines.append(row)
    if width:
        lines = [line[:width] for line in lines]
    return "\n".join(lines)
