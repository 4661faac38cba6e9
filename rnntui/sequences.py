"""Where a stepped sequence comes from: a text file's windows in their order, and a generated
sequence made again from its position.

A text scenario read from a file (``[data] file``) is stepped through one window at a time:
the held-out (validation) windows first, its own sequence being the first of them, then the
training windows, and round again (``n`` and ``N``). Each window starts from the state carried
through its part up to it (engine.tbptt.carried_state); a part's first window starts from 0.

What the network wrote or forecast (key ``w``) is recorded as a
:class:`~rnntui.position.Generation`: the same position makes the same sequence again.
"""

from __future__ import annotations

from engine.corpus import corpus_of
from engine.types import ScenarioError

from .position import Generation, WindowRef

__all__ = ["carried_note", "check_position", "current_window", "generated", "has_windows",
           "sequence_title", "step_window", "window_count", "window_title", "with_generated",
           "with_window"]

PART_NAMES = {"val": "validation", "train": "train"}


def has_windows(scenario) -> bool:
    """True for a text scenario read from a file: its sequences are windows of it."""
    return corpus_of(scenario) is not None


def window_count(scenario, part: str) -> int:
    seqs = scenario.test_sequences if part == "val" else scenario.train_sequences
    return len(seqs)


def current_window(view) -> WindowRef | None:
    """The window ``view`` steps through (its own sequence is validation window 1), or None
    when it is not a window (typed or generated text, or not a text file)."""
    if not has_windows(view.scenario):
        return None
    if isinstance(view.origin, WindowRef):
        return view.origin
    if view.origin is None and view.typed is None and view.example is None:
        return WindowRef("val", 1)
    return None


def with_window(view, ref: WindowRef):
    """``view`` stepping through window ``ref`` from t = 0 (ScenarioError when the scenario has
    no such window). Validation window 1 is the scenario's own sequence."""
    sc = view.scenario
    if not has_windows(sc):
        raise ScenarioError(f"window={ref}: '{sc.name}' is not a text read from a file "
                            f"([data].file), so it has no windows")
    n = window_count(sc, ref.part)
    if not 1 <= ref.number <= n:
        raise ScenarioError(f"window={ref}: {sc.name} has {n} {PART_NAMES[ref.part]} windows "
                            f"(1–{n})")
    if ref == WindowRef("val", 1):
        return view.with_example(None)
    seqs = sc.test_sequences if ref.part == "val" else sc.train_sequences
    return view.with_sequence(seqs[ref.number - 1], None, ref)


def step_window(view, direction: int):
    """The next (or previous) window: validation 1..V, then train 1..N, then round again. From
    a sequence that is no window, the first validation window (the scenario's own)."""
    sc = view.scenario
    here = current_window(view)
    order = [WindowRef("val", k) for k in range(1, window_count(sc, "val") + 1)]
    order += [WindowRef("train", k) for k in range(1, window_count(sc, "train") + 1)]
    if here is None:
        return with_window(view, order[0])
    i = order.index(here)
    return with_window(view, order[(i + direction) % len(order)])


def window_title(view, short: bool = False) -> str | None:
    """"validation window 2/14" (short: "val 2/14"), or None when ``view`` is not a window."""
    ref = current_window(view)
    if ref is None:
        return None
    n = window_count(view.scenario, ref.part)
    name = "val" if short and ref.part == "val" else PART_NAMES[ref.part]
    return f"{name} {ref.number}/{n}" if short else f"{name} window {ref.number}/{n}"


def sequence_title(view, short: bool = False) -> str | None:
    """What the sequence stepped through is, when it is not the scenario's own: a window
    (see window_title), or what the network wrote ("written at temperature 0.5, seed 3";
    short: "written") or forecast ("forecast from t=8"; short: "forecast")."""
    gen = view.origin if isinstance(view.origin, Generation) else None
    if gen is None:
        return window_title(view, short)
    if not gen.is_text:
        return "forecast" if short else f"forecast free-running from t={gen.start or 0}"
    if short:
        return "written"
    temp = gen.temperature or 0.0
    return "written greedily" if temp == 0 else \
        f"written at temperature {temp:g}, seed {gen.seed}"


def carried_note(view) -> str | None:
    """What the window's first step starts from, in words: the state carried through the
    tokens before it in its part, or 0 at a part's start. None when not a window."""
    ref = current_window(view)
    if ref is None:
        return None
    seq = view.sequence
    before = int(getattr(seq, "offset", 0) or 0)
    corpus = corpus_of(view.scenario)
    word = "character" if corpus is not None and corpus.unit == "char" else "word"
    part = "held-out text" if ref.part == "val" else "training text"
    if before == 0:
        return f"starts from h = 0 (the {part} starts here)"
    return f"starts from h carried through the {before} {word}s of {part} before it"


# -- generated sequences ---------------------------------------------------------------------
def generation_params(view, gen: Generation):
    """The weights ``gen`` was made with: its own epoch and knob where it names them, else
    the view's."""
    epoch = view.epoch if gen.epoch is None else gen.epoch
    knob = view.knob if gen.knob is None else gen.knob
    if epoch > view.trained_epochs:
        raise ScenarioError(f"genepoch={epoch}: only {view.trained_epochs} epochs are "
                            f"trained")
    p = view.history.params_at(view.history.nearest_epoch(epoch))
    from engine import knob_scale
    return p if knob == 0 else p.with_wh_scale(knob_scale(knob))


def can_generate(scenario, gen: Generation) -> None:
    """ScenarioError (one line) when ``scenario``'s kind cannot make what ``gen`` asks for:
    text (``prime=``) or a forecast (``from=``); the kind says what it makes
    (engine.kinds.generation)."""
    from engine.kinds import generation
    makes = generation(scenario)
    if gen.is_text and makes != "text":
        raise ScenarioError(f"gen= with prime=: '{scenario.name}' is a {scenario.kind} "
                            f"scenario; text is written by text scenarios")
    if not gen.is_text and makes != "forecast":
        raise ScenarioError(f"gen= with from=: '{scenario.name}' is a {scenario.kind} "
                            f"scenario; a forecast needs a series of one value a step")


#: At most this many characters of written text in the line saying what was written.
SHOWN_CHARS = 160


def generated(view, gen: Generation, should_stop=None):
    """(the sequence, its text or None, the step to put the cursor on, one line saying what
    was done) for ``gen`` made with ``view``'s scenario and weights (see generation_params);
    a forecast starts from ``view``'s sequence up to ``gen.start``. ScenarioError with a
    reason when it cannot be made; engine.analysis.Cancelled when ``should_stop()`` says so."""
    sc = view.scenario
    can_generate(sc, gen)
    params = generation_params(view, gen)
    if gen.is_text:
        from engine.generate import generate_text
        from engine.scenario import encode_text
        g = generate_text(sc, params, gen.prime, gen.length, gen.temperature or 0.0,
                          gen.seed, should_stop=should_stop)
        sequence = encode_text(sc, g.text)
        temp = gen.temperature or 0.0
        how = "greedy" if temp == 0 else f"temperature {temp:g}, seed {gen.seed}"
        sep = "" if (sc.unit or "word") == "char" else " "
        shown = sep.join(g.generated).replace("\n", "⏎")
        if len(shown) > SHOWN_CHARS:  # cut at a space, never inside a word, and said so
            cut = shown.rfind(" ", 0, SHOWN_CHARS - 1)
            shown = shown[:cut if cut > 0 else SHOWN_CHARS - 2].rstrip() + " …"
        return (sequence, g.text, g.prime - 1,
                f"Wrote {gen.length} tokens ({how}): {shown}")
    from engine.csvdata import normalization_of
    from engine.generate import forecast_sequence
    norm = normalization_of(sc)
    label = (lambda z: f"{float(norm.invert(z)):.6g}") if norm is not None else None
    start = gen.start or 0
    if start >= len(view.sequence):
        raise ScenarioError(f"from={start}: the sequence has steps 0–{len(view.sequence) - 1}")
    seq, _ = forecast_sequence(sc, params, view.sequence, start, gen.length, label,
                               should_stop=should_stop)
    known = int(seq.mask[start:].sum())
    return (seq, None, start, f"Forecast {gen.length} steps from t = {start}, free-running; "
                              f"the truth is known for {known} of them.")


def with_generated(view, gen: Generation, should_stop=None):
    """(``view`` stepping through what ``gen`` makes, the line saying what was done). The
    cursor is where the dialog puts it: the prime's last step."""
    sequence, text, t, message = generated(view, gen, should_stop)
    gen = Generation(gen.length, gen.temperature, gen.seed, gen.prime, gen.start,
                     view.epoch if gen.epoch is None else gen.epoch,
                     view.knob if gen.knob is None else gen.knob,
                     view.example if not gen.is_text else None)
    return view.with_sequence(sequence, text, gen).at(t), message


def check_position(scenario, pos) -> None:
    """ScenarioError (one line naming the key) when ``pos`` names a sequence ``scenario``
    cannot have: a window it does not have, typed text with unknown tokens, a generation of
    the wrong kind or from a step past the end. Checked before the app opens (``--at``)."""
    from engine.scenario import encode_text
    if pos.text is not None:
        try:
            encode_text(scenario, pos.text)
        except ScenarioError as err:
            raise ScenarioError(f"text=: {err.message}") from None
    if pos.example is not None and not scenario.train_sequences:
        raise ScenarioError(f"seq={pos.example}: '{scenario.name}' has no training sequences")
    if pos.window is not None:
        if not has_windows(scenario):
            raise ScenarioError(f"window={pos.window}: '{scenario.name}' is not a text read "
                                f"from a file ([data].file), so it has no windows")
        n = window_count(scenario, pos.window.part)
        if pos.window.number > n:
            raise ScenarioError(f"window={pos.window}: {scenario.name} has {n} "
                                f"{PART_NAMES[pos.window.part]} windows (1–{n})")
    gen = pos.gen
    if gen is None:
        return
    can_generate(scenario, gen)
    if gen.is_text:
        from engine.generate import prime_tokens
        try:
            prime_tokens(scenario, gen.prime)
        except ScenarioError as err:
            raise ScenarioError(f"prime=: {err.message}") from None
        return
    base = scenario.sequence
    if pos.example is not None and scenario.train_sequences:
        base = scenario.train_sequences[min(pos.example, len(scenario.train_sequences) - 1)]
    if (gen.start or 0) >= len(base):
        raise ScenarioError(f"from={gen.start}: the sequence has steps 0–{len(base) - 1}")
