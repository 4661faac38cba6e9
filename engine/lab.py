"""The memory lab's engine side: lab files, the runs they ask for, and one run as a pure job.

A lab file (TOML, docs/lab.md) names a task (a data kind with a baseline: engine/kinds/), its
fixed ``[data]`` values, one swept parameter and its values, the cells, seeds, hidden size,
training budget and metric. :func:`runs` lists its runs; :func:`run_job` trains one and measures
it. A job is a plain dict of JSON values, and ``run_job(job)`` depends on nothing else, so the
same job gives the same record (all but ``seconds``) in this process, another process or on a
Dask worker (rnntui/lab.py runs them and keeps their records).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._scenario_checks import LIMITS, Checker, describe
from .cells import CELLS, get_cell
from .kinds import KINDS, get_kind
from .types import ScenarioError

__all__ = ["METRICS", "Lab", "builtin_labs", "load_lab", "loads_lab", "run_job",
           "scenario_text"]

#: The metrics a lab may report, each lower-is-better.
METRICS = {
    "loss": "the mean test loss a target step",
    "share": "the mean test loss a target step as a share of the baseline's",
    "error": "the share of scored test steps guessed wrong (1 - accuracy)",
}
MAX_VALUES, MAX_SEEDS, MAX_RUNS = 40, 20, 2000
#: Lab keys and the sections they live in.
SECTIONS = {
    "lab": ("name", "description", "task", "metric"),
    "task": None,  # the task kind's [data] keys
    "sweep": ("parameter", "values"),
    "runs": ("cells", "seeds", "hidden_size", "epochs", "learning_rate", "batch_size", "clip",
             "forget_bias", "attentions", "epochs_per_value", "fresh"),
}


@dataclass(frozen=True)
class Lab:
    """A checked lab file."""

    name: str
    description: str
    task: str
    metric: str
    fixed: dict
    parameter: str
    values: tuple[int, ...]
    cells: tuple[str, ...]
    seeds: tuple[int, ...]
    train: dict
    source: str = ""
    #: an encoder-decoder lab's attentions ([runs].attentions); () for a lab of cells
    attentions: tuple[str, ...] = ()
    #: epochs a unit of the swept value ([runs].epochs_per_value): a run at value v trains
    #: max(epochs, round(epochs_per_value * v)) epochs; None: ``epochs`` at every value
    epochs_per_value: float | None = None

    def lines(self) -> list[tuple[str, str | None]]:
        """The chart's lines: (cell, attention) pairs, attention None for a lab of cells."""
        return [(c, a) for c in self.cells for a in (self.attentions or (None,))]

    def line_ids(self) -> list[str]:
        """The chart's lines by name: the cell (``gru``), or in an encoder-decoder lab the
        cell and the attention (``gru/none``, ``gru/additive``)."""
        return [c if a is None else f"{c}/{a}" for c, a in self.lines()]

    def line_of(self, run: dict) -> str:
        """The name of the line a job or a record is on."""
        return run["cell"] if not run.get("attention") else f'{run["cell"]}/{run["attention"]}'

    def split_line(self, line: str) -> tuple[str, str | None]:
        """(cell, attention or None) of a line's name."""
        cell, _, attention = line.partition("/")
        return cell, attention or None

    def key(self, run: dict) -> tuple:
        """A run's place in the lab: (value, its line's name, seed)."""
        return run["value"], self.line_of(run), run["seed"]

    def jobs(self) -> list[dict]:
        """One job a run, by value, then cell, then attention, then seed."""
        return [self.job(v, c, s, a) for v in self.values for c, a in self.lines()
                for s in self.seeds]

    def epochs_at(self, value: int) -> int:
        """The epochs a run at ``value`` trains."""
        if self.epochs_per_value is None:
            return self.train["epochs"]
        return max(self.train["epochs"], round(self.epochs_per_value * value))

    def job(self, value: int, cell: str, seed: int, attention: str | None = None) -> dict:
        """The job of one run: everything it depends on, as JSON values (an encoder-decoder
        lab's also its ``attention``: the lab's first when not given)."""
        job = {"task": self.task, "parameter": self.parameter, "value": value,
               "data": dict(self.fixed), "cell": cell, "seed": seed, "metric": self.metric,
               "train": {**self.train, "epochs": self.epochs_at(value)}, "lab": self.name}
        if self.attentions:
            job["attention"] = attention or self.attentions[0]
        return job


def _builtin_files() -> dict[str, object]:
    """name -> file of the built-in labs: ``labs/NAME.toml`` beside the built-in scenarios."""
    from .scenario import _builtin_root
    try:
        entries = list((_builtin_root() / "labs").iterdir())
    except OSError:
        return {}
    return {e.name[:-5]: e for e in entries if e.name.endswith(".toml") and e.is_file()}


def builtin_labs() -> list[str]:
    """The names of the built-in labs, alphabetical."""
    return sorted(_builtin_files())


def load_lab(name_or_path: str, *, check_runs: bool = True) -> Lab:
    """A built-in lab by name, or the lab in a ``.toml`` file; ScenarioError naming the file,
    line and key of what is wrong. ``check_runs=False`` skips building each value's scenario
    (for one run, whose scenario is checked when it is loaded)."""
    from .files import FileReadError, read_regular
    builtins = _builtin_files()
    path = Path(name_or_path)
    if name_or_path in builtins:
        path = builtins[name_or_path]
        data = path.read_bytes()
    elif not name_or_path.endswith(".toml") and not path.exists():
        raise ScenarioError(f"no built-in lab or file named '{name_or_path}' (built-ins: "
                            f"{', '.join(sorted(builtins))})")
    else:
        try:
            data = read_regular(path, LIMITS["file_bytes"])
        except FileReadError as err:
            raise ScenarioError(str(err), path=str(path)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError("is not UTF-8 text", path=str(path)) from None
    return loads_lab(text, str(path), check_runs=check_runs)


def loads_lab(text: str, source: str = "<lab>", *, check_runs: bool = True) -> Lab:
    """The lab written in ``text`` (see docs/lab.md), checked key by key, and each value's
    scenario against the budgets (unless ``check_runs`` is False)."""
    from .scenario import parse_toml
    doc = parse_toml(text, source)
    ck = Checker(source, text)
    for section in doc:
        if section not in SECTIONS:
            ck.fail((section,), f"unknown section [{section}] (a lab has "
                                f"{', '.join(f'[{s}]' for s in SECTIONS)})")
    head = ck.table(doc, ("lab",), required=True)
    ck.known_keys(head, ("lab",), SECTIONS["lab"])
    name = ck.string(head, ("lab", "name"), max_len=80, allow_empty=False)
    if not name.isprintable():
        ck.fail(("lab", "name"), "must be one line of printable text")
    description = ck.string(head, ("lab", "description"), "", max_len=20_000)
    tasks = tuple(k for k in KINDS if get_kind(k).lab_task)
    task = ck.choice(head, ("lab", "task"), tasks)
    kind = get_kind(task)
    metric = ck.choice(head, ("lab", "metric"), tuple(METRICS), "share")

    sweep = ck.table(doc, ("sweep",), required=True)
    ck.known_keys(sweep, ("sweep",), SECTIONS["sweep"])
    swept = tuple(k for k in kind.keys if k not in ("seed", "sequences"))
    parameter = ck.choice(sweep, ("sweep", "parameter"), swept)
    values = _int_list(ck, sweep, ("sweep", "values"), 1, LIMITS["echo_length"], MAX_VALUES)

    fixed = ck.table(doc, ("task",))
    ck.known_keys(fixed, ("task",), tuple(k for k in kind.keys if k not in (parameter, "seed")),
                  elsewhere={parameter: "it is the swept parameter ([sweep].parameter)",
                             "seed": "each run's data seed is its seed ([runs].seeds)"})
    for key, value in fixed.items():
        if isinstance(value, bool) or not isinstance(value, int):
            ck.fail(("task", key), f"must be a whole number, got {describe(value)}")

    runs = ck.table(doc, ("runs",), required=True)
    ck.known_keys(runs, ("runs",), SECTIONS["runs"])
    cells = _cells(ck, runs)
    seeds = _int_list(ck, runs, ("runs", "seeds"), 0, 2**31 - 1, MAX_SEEDS)
    r = ("runs",)
    train = {
        "hidden_size": ck.integer(runs, r + ("hidden_size",), 32, lo=1, hi=LIMITS["hidden_size"]),
        "epochs": ck.integer(runs, r + ("epochs",), 12, lo=1, hi=LIMITS["epochs"]),
        "learning_rate": ck.number(runs, r + ("learning_rate",), 0.01, lo=0, hi=10.0,
                                   lo_open=True),
        "batch_size": ck.integer(runs, r + ("batch_size",), 16, lo=1, hi=LIMITS["batch_size"]),
        "clip": ck.number(runs, r + ("clip",), 5.0, lo=0, hi=1e6),
        "forget_bias": ck.number(runs, r + ("forget_bias",), 3.0, lo=-1e6, hi=1e6),
    }
    if ck.boolean(runs, r + ("fresh",), False):  # (only when on: a job without it is as before)
        if not kind.draws():
            ck.fail(r + ("fresh",), f"a {task} task has no generator to draw fresh sequences "
                                    f"from")
        train["fresh"] = True
    attentions = _attentions(ck, runs, kind)
    per_value = None
    if "epochs_per_value" in runs:
        per_value = ck.number(runs, r + ("epochs_per_value",), lo=0, hi=LIMITS["epochs"],
                              lo_open=True)
        most = max(train["epochs"], round(per_value * max(values)))
        if most > LIMITS["epochs"]:
            ck.fail(r + ("epochs_per_value",), f"{per_value!r} x {max(values)} = {most} epochs "
                                               f"at the largest value; the most is "
                                               f"{LIMITS['epochs']}")
    if metric == "error" and kind.chance({**fixed, parameter: values[0]}) is None:
        ck.fail(("lab", "metric"), f'a {task} task has no accuracy (a regression); use '
                                   f'"loss" or "share"')
    n = len(values) * len(cells) * len(seeds) * max(1, len(attentions))
    if n > MAX_RUNS:
        ck.fail(("sweep", "values"), f"values x cells x seeds{' x attentions' * bool(attentions)}"
                                     f" = {n} runs; the most is {MAX_RUNS}")
    lab = Lab(name, description, task, metric, dict(fixed), parameter, tuple(values),
              tuple(cells), tuple(seeds), train, source, tuple(attentions), per_value)
    for value in values if check_runs else ():  # every run's scenario is valid, in budget
        try:
            from .scenario import loads
            for attention in attentions or [None]:  # (attention adds weights)
                loads(scenario_text(lab.job(value, cells[0], seeds[0], attention)),
                      f"{source} at {parameter} = {value}", files=False)
        except ScenarioError as err:
            ck.fail(("sweep", "values"), f"{parameter} = {value}: {err.message}")
    return lab


def _int_list(ck: Checker, table: dict, path: tuple, lo: int, hi: int, most: int) -> list[int]:
    raw = table.get(path[-1])
    if raw is None:
        ck.fail(path, "missing (this key is required)", at=path[:-1])
    if not isinstance(raw, list) or not raw:
        ck.fail(path, f"must be a list of whole numbers such as [10, 20], got {describe(raw)}")
    if len(raw) > most:
        ck.fail(path, f"must hold at most {most} numbers, got {len(raw)}")
    out = [ck.integer({}, path + (i,), lo=lo, hi=hi, value=v) for i, v in enumerate(raw)]
    if len(set(out)) != len(out):
        ck.fail(path, "lists a number twice")
    return out


def _attentions(ck: Checker, runs: dict, kind) -> list[str]:
    """[runs].attentions: for an encoder-decoder task, a list of its attentions (default: both
    "none" and "additive"); for any other task, not allowed."""
    from .types import ATTENTIONS
    path = ("runs", "attentions")
    if not kind.seq2seq:
        if "attentions" in runs:
            ck.fail(path, f"applies to an encoder-decoder task only; a {kind.name} task runs "
                          f"cells without attention")
        return []
    raw = runs.get("attentions", ["none", "additive"])
    if not isinstance(raw, list) or not raw:
        ck.fail(path, f'must be a list such as ["none", "additive"], got {describe(raw)}')
    for i, v in enumerate(raw):
        if v not in ATTENTIONS:
            ck.fail(path + (i,), f"must be one of {', '.join(ATTENTIONS)}, got {describe(v)}")
    if len(set(raw)) != len(raw):
        ck.fail(path, "lists an attention twice")
    return list(raw)


def _cells(ck: Checker, runs: dict) -> list[str]:
    path = ("runs", "cells")
    raw = runs.get("cells", list(CELLS))
    if not isinstance(raw, list) or not raw:
        ck.fail(path, f"must be a list of cells such as {json.dumps(list(CELLS[:2]))}, "
                      f"got {describe(raw)}")
    out = [_cell(ck, path + (i,), v) for i, v in enumerate(raw)]
    if len(set(out)) != len(out):
        ck.fail(path, "lists a cell twice")
    return out


def _cell(ck: Checker, path: tuple, value) -> str:
    if value not in CELLS:
        ck.fail(path, f"must be one of {', '.join(CELLS)}, got {describe(value)}")
    return value


def scenario_text(job: dict) -> str:
    """The scenario (TOML) of one run: the task's data with the swept value and the run's seed,
    the cell with the lab's hidden size (and forget bias, for a cell with a forget gate), Adam
    with the lab's budget. ``rnntui FILE`` opens what this text, saved, describes."""
    t = job["train"]
    cell = get_cell(job["cell"])
    data = {**job["data"], job["parameter"]: job["value"], "seed": job["seed"]}
    lines = ["[scenario]", f'name = "{position(job)[4:]}"',
             f'kind = "{job["task"]}"', "", "[model]", f'cell = "{job["cell"]}"',
             f'hidden_size = {t["hidden_size"]}', f'seed = {job["seed"]}']
    if "attention" in job:
        lines.append(f'attention = "{job["attention"]}"')
    if cell.has_forget_bias:
        lines.append(f'forget_bias = {float(t["forget_bias"])!r}')
    lines += ["", "[train]", f'epochs = {t["epochs"]}', 'optimizer = "adam"',
              f'learning_rate = {float(t["learning_rate"])!r}', f'clip = {float(t["clip"])!r}',
              f'batch_size = {t["batch_size"]}']
    if t.get("fresh"):
        lines.append("fresh = true")
    lines += ["", "[data]"]
    lines += [f"{k} = {v}" for k, v in data.items()]
    return "\n".join(lines) + "\n"


def position(job: dict) -> str:
    """The string that names a run: the lab, the swept value, the cell (and attention) and
    the seed."""
    att = f' attention={job["attention"]}' if "attention" in job else ""
    return f'lab={job["lab"]} {job["parameter"]}={job["value"]} cell={job["cell"]}{att} ' \
           f'seed={job["seed"]}'


def run_job(job: dict, trained=None) -> dict:
    """Train the run ``job`` describes and measure it on the task's held-out sequences: its
    record (docs/lab.md). A pure function of ``job``: the same job gives the same record in
    every field but ``seconds``. ``trained(scenario, history)``, when given, is called with
    the run's scenario and its training (to keep the weights) before it is measured."""
    from .cells import run
    from .scenario import loads
    from .train import batches, fit
    start = time.perf_counter()
    sc = loads(scenario_text(job), position(job), files=False)
    kind = get_kind(sc.kind)
    history = fit(sc)
    if trained is not None:
        trained(sc, history)
    params = history.params_at(history.trained_epochs)
    if kind.seq2seq:
        return _record(job, sc, kind, history, start, *_measure_pairs(sc, params))
    loss_sum = 0.0
    targets = right = scored = 0
    with np.errstate(all="ignore"):
        for X, Y, M in batches(sc.test_sequences, 256):
            p = run(params, X, Y, M, activation=sc.model.activation, output=sc.model.output,
                    backward=False)
            loss_sum += float(np.sum(p.losses[M]))
            targets += int(np.count_nonzero(M))
        if sc.model.output == "sigmoid":  # bits: the guess is the likelier one
            for X, Y, M in batches(sc.test_sequences, 256):
                p = run(params, X, Y, M, activation=sc.model.activation,
                        output=sc.model.output, backward=False)
                guess = (p.out[..., 0] >= 0.5) == (Y[..., 0] >= 0.5)
                right += int(np.count_nonzero(guess & M))
                scored += int(np.count_nonzero(M))
        elif sc.model.output == "softmax":
            for seq in sc.test_sequences:
                p = run(params, seq.inputs[:, None, :], seq.targets[:, None, :],
                        seq.mask[:, None], activation=sc.model.activation,
                        output=sc.model.output, backward=False)
                keep = kind.scored(seq)
                guess = np.argmax(p.out[:, 0, :], axis=-1) == np.argmax(seq.targets, axis=-1)
                right += int(np.count_nonzero(guess & keep))
                scored += int(np.count_nonzero(keep))
    loss = loss_sum / targets if targets else float("nan")
    return _record(job, sc, kind, history, start, loss, right / scored if scored else None)


def _measure_pairs(sc, params) -> tuple[float, float]:
    """An encoder-decoder's test loss (the mean decoder-step loss, teacher-forced) and its
    whole-sequence accuracy (the share of test sources whose greedy decode is the target)."""
    from .seq2seq import dataset_loss, sequence_accuracy
    with np.errstate(all="ignore"):
        return (dataset_loss(params, sc.test_sequences),
                sequence_accuracy(params, sc.test_sequences, sc.vocab))


def _record(job, sc, kind, history, start, loss, accuracy) -> dict:
    """The record of a trained, measured run (docs/lab.md)."""
    data = sc.data if isinstance(sc.data, dict) else {}
    base_loss = kind.baseline(data)
    chance = kind.chance(data)
    metric = job["metric"]
    if metric == "loss":
        value, baseline = loss, base_loss
    elif metric == "share":
        value, baseline = loss / base_loss, 1.0
    else:
        value, baseline = 1.0 - accuracy, 1.0 - chance
    record = {"task": job["task"], "parameter": job["parameter"], "value": job["value"],
              "cell": job["cell"], "seed": job["seed"], "metric": _finite(value),
              "baseline": baseline, "loss": _finite(loss), "accuracy": accuracy,
              "epochs": history.trained_epochs, "stopped": history.stopped,
              "seconds": round(time.perf_counter() - start, 3), "position": position(job)}
    if "attention" in job:
        record["attention"] = job["attention"]
    return record


def _finite(x: float) -> float | None:
    """``x``, or None (JSON null) when training diverged and it is not a number."""
    return float(x) if np.isfinite(x) else None
