"""``rnntui generate SCENARIO``: train the scenario, then print what the network writes.

Text scenarios print the prime followed by the sampled text; a series prints its free-running
forecast, one value a line (in the file's own units for a CSV series), with the truth beside
it where the series has it. Every bad option is one line on stderr and exit 2. What is printed
comes from a file and the model: it keeps its line breaks and tabs, and every other control
character is written visibly (rnntui.safe_text.visible), so the terminal only ever shows it.
"""

from __future__ import annotations

import math

from .safe_text import visible


def add_arguments(p) -> None:
    p.description = ("Train the scenario as it says (or --epochs N), then let the network "
                     "write: LENGTH tokens sampled after the prime (text), or a free-running "
                     "forecast of LENGTH steps (series). The same seed gives the same text.")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--prime", default=None, metavar="TEXT",
                   help="text to start from (default: the first token of the scenario's "
                        "sequence); for a series, how many of its values to start from "
                        "(default: all)")
    p.add_argument("--length", default="50", metavar="N",
                   help="how many tokens (or steps) to generate, 1 to 10000 (default 50)")
    p.add_argument("--temperature", default="1", metavar="T",
                   help="0 (greedy: always the most probable token) or 0.1 to 2 "
                        "(default 1; lower is safer, higher is wilder)")
    p.add_argument("--seed", default="0", metavar="S",
                   help="the seed of the draws, a whole number >= 0 (default 0)")
    p.add_argument("--epochs", default=None, metavar="N",
                   help="train N epochs instead of the scenario's number (0: untrained)")


def _int(text: str, name: str, lo: int, hi: int) -> int:
    try:
        v = int(str(text).strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got "
                         f"{str(text)[:40]!r}") from None
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {v}")
    return v


def _parse(args):
    from engine.generate import MAX_LENGTH, TEMPERATURE_RANGE
    from engine.scenario import LIMITS
    length = _int(args.length, "--length", 1, MAX_LENGTH)
    seed = _int(args.seed, "--seed", 0, 2 ** 63 - 1)
    epochs = None if args.epochs is None else _int(args.epochs, "--epochs", 0,
                                                   LIMITS["epochs"])
    lo, hi = TEMPERATURE_RANGE
    try:
        temp = float(str(args.temperature).strip())
    except ValueError:
        temp = math.nan
    if not (temp == 0.0 or lo <= temp <= hi):
        raise ValueError(f"--temperature must be 0 (greedy) or from {lo:g} to {hi:g}, got "
                         f"{str(args.temperature)[:40]!r}")
    return length, temp, seed, epochs


def cmd_generate(args, out, fail, load) -> int:
    """The command; ``out`` is the CLI's Output, ``fail(msg)`` prints one line and returns 2,
    ``load(name)`` returns (scenario, error)."""
    from engine import budget, fit
    from engine.types import ScenarioError
    try:
        length, temp, seed, epochs = _parse(args)
    except ValueError as err:
        return fail(str(err))
    sc, err = load(args.scenario)
    if err:
        return fail(err)
    from engine.kinds import generation
    makes = generation(sc)
    if not makes:
        return fail(f"'{sc.name}' is an {sc.kind} scenario; generate works on text "
                    f"(sampling) and series (forecasting) scenarios")
    try:
        if epochs is not None:
            budget.check(sc, epochs=epochs)
        history = fit(sc, epochs)
        params = history.params_at(history.trained_epochs)
        if makes == "text":
            return _text(sc, params, args.prime, length, temp, seed, out)
        return _series(sc, params, args.prime, length, out, fail)
    except ScenarioError as err:
        return fail(str(err))


def _text(sc, params, prime, length, temp, seed, out) -> int:
    from engine.generate import generate_text
    if prime is None:
        toks = sc.sequence.tokens or []
        prime = toks[:1] if toks else ""
    g = generate_text(sc, params, prime, length, temp, seed)
    out.print(visible(g.text, keep="\n\t"))
    return 0


def _series(sc, params, prime, length, out, fail) -> int:
    from engine.csvdata import normalization_of
    from engine.generate import forecast_sequence
    seq = sc.sequence
    if prime is None:
        steps = len(seq)
    else:
        try:
            steps = _int(prime, "--prime (for a series: a number of values)", 1, len(seq))
        except ValueError as err:
            return fail(str(err))
    norm = normalization_of(sc)
    unit = (lambda z: float(norm.invert(z))) if norm is not None else float
    _, ahead = forecast_sequence(sc, params, seq, steps - 1, length)
    name = visible(sc.data.get("units") or "value")
    out.print(f"step\tforecast {name}\ttruth")
    for k, v in enumerate(ahead):
        t = steps - 1 + k  # the step whose output this is: the value of step t + 1
        truth = f"{unit(seq.targets[t, 0]):.6g}" if t < len(seq) and seq.mask[t] else "-"
        out.print(f"{t + 1}\t{unit(v):.6g}\t{truth}")
    return 0
