"""Scenario files at the products of the documented limits (for tests/test_budget.py)."""

from __future__ import annotations

import itertools

from engine.scenario import LIMITS

H_MAX = LIMITS["hidden_size"]


def _head(kind: str, hidden: int, epochs: int = 0, batch: int = 1, retention: int = 15) -> str:
    return (f'[scenario]\nname = "limits"\nkind = "{kind}"\n[model]\nhidden_size = {hidden}\n'
            f'[train]\nepochs = {epochs}\nbatch_size = {batch}\n'
            f'[analysis]\nretention_steps = {retention}\n')


def text_file(hidden=4, vocab=0, length=3, sentences=1, epochs=0, batch=1, vectors=0,
              retention=15) -> str:
    """``vocab`` listed words (plus the 2 used), sentences of ``length`` characters (unit char)
    or, with a vocab, of two listed words."""
    head = _head("text", hidden, epochs, batch, retention)
    if vocab:
        words = [f"w{i}" for i in range(vocab)]
        body = ("[data]\nvocab = [" + ", ".join(f'"{w}"' for w in words) + "]\n"
                + "text = [" + ", ".join(['"w0 w1 w0"'] * sentences) + "]\n")
        if vectors:
            body += "[data.vectors]\n" + "".join(
                f"{w} = [{', '.join(['0.5'] * vectors)}]\n" for w in words)
        return head + body
    sentence = ("ab" * (length // 2 + 1))[:length]
    return head + ('[data]\nunit = "char"\ntext = ['
                   + ", ".join([f'"{sentence}"'] * sentences) + "]\n")


def series_file(hidden=4, points=200, window=20, epochs=0, batch=1, retention=15) -> str:
    return _head("series", hidden, epochs, batch, retention) + \
        f"[data]\npoints = {points}\nwindow = {window}\n"


def echo_file(hidden=4, length=20, sequences=10, epochs=0, batch=1, retention=15) -> str:
    return _head("echo", hidden, epochs, batch, retention) + \
        f"[data]\ndelay = 1\nlength = {length}\nsequences = {sequences}\n"


#: The maxima each kind can push, as keyword arguments of its file maker.
_MAXIMA = {
    "text": {"hidden": H_MAX, "vocab": LIMITS["vocab"], "length": LIMITS["sequence_length"],
             "sentences": 2000, "epochs": LIMITS["epochs"], "batch": LIMITS["batch_size"],
             "vectors": 600, "retention": LIMITS["retention_steps"]},
    "series": {"hidden": H_MAX, "points": LIMITS["points"], "window": LIMITS["points"] - 1,
               "epochs": LIMITS["epochs"], "batch": LIMITS["batch_size"],
               "retention": LIMITS["retention_steps"]},
    "echo": {"hidden": H_MAX, "length": LIMITS["echo_length"],
             "sequences": LIMITS["echo_total_bits"] // LIMITS["echo_length"],
             "epochs": LIMITS["epochs"], "batch": LIMITS["batch_size"],
             "retention": LIMITS["retention_steps"]},
}
_MAKERS = {"text": text_file, "series": series_file, "echo": echo_file}
#: Pairs of keys that cannot be pushed together within one file's own limits.
_CLASH = {frozenset({"vocab", "length"}), frozenset({"vectors", "length"}),
          frozenset({"length", "sentences"})}


def worst_products() -> list[tuple[str, str]]:
    """(id, file text) for every pair and triple of one kind's maxima (other sizes small)."""
    out = []
    for kind, maxima in _MAXIMA.items():
        keys = list(maxima)
        for r in (2, 3):
            for combo in itertools.combinations(keys, r):
                if any(frozenset(p) in _CLASH for p in itertools.combinations(combo, 2)):
                    continue
                if kind == "text" and "vectors" in combo and "vocab" not in combo:
                    continue
                if kind == "series" and "window" in combo and "points" not in combo:
                    continue
                args = {k: maxima[k] for k in combo}
                if kind == "text" and "vectors" in combo:
                    args["vocab"] = min(args.get("vocab", 600), 600)  # the file stays < 2 MiB
                if kind == "text" and args.get("sentences") and args.get("vocab"):
                    pass
                out.append((f"{kind}-" + "+".join(combo), _MAKERS[kind](**args)))
    # and files whose trace is quick but whose training batches are big
    out += [("echo-memory-64", echo_file(hidden=64, length=10_000, sequences=200, batch=200)),
            ("echo-memory-128", echo_file(hidden=128, length=2_000, sequences=1000, batch=500))]
    return out
