"""An encoder-decoder's trace as a table (``rnntui trace`` on a scenario of source -> target
pairs; its JSON is rnntui/tracejson.py's)."""

from __future__ import annotations

import numpy as np

from engine.seq2seq import GREEDY, TEACHER_FORCING

from .safe_text import visible
from .texttable import table as texttable
from .texttable import wrapped


def table(sc, tr, epoch: int = 0, width: int | None = None) -> str:
    """The encoder-decoder's trace as lines of text: source, target, decode, then one row
    per decoder step with its attention over each source token. Within ``width`` columns the
    text is wrapped at spaces and a wider table printed in parts of whole columns (each led by
    the step and its input): no number or token is cut."""
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
    source = [visible(x) for x in tr.sequence.source] if tr.weights is not None else []
    if source:
        lines.append("the columns after loss: the attention over each source token")
    rows = [("i", "input", "target", "guess", "p", "loss", *source)]
    for i in range(tr.n):
        t = tr.S + i
        guess = int(np.argmax(tr.out[i]))
        rows.append((str(i), visible(tr.sequence.labels[t]),
                     visible(tr.sequence.target_labels[t]), visible(tr.vocab[guess]),
                     f"{tr.out[i][guess]:.3f}", f"{tr.step_loss[i]:.4f}",
                     *(f"{w:.2f}" for w in (tr.weights[i] if source else ()))))
    if width is not None:
        lines = wrapped(lines, width)
    lines += texttable(rows, set(range(len(rows[0]))), width)
    return "\n".join(lines)
