"""An encoder-decoder's trace as a table (``rnntui trace`` on a scenario of source -> target
pairs; its JSON is rnntui/tracejson.py's)."""

from __future__ import annotations

import numpy as np

from engine.seq2seq import GREEDY, TEACHER_FORCING

from .safe_text import visible


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
