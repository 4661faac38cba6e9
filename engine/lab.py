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
             "forget_bias"),
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

    def jobs(self) -> list[dict]:
        """One job a run, by value, then cell, then seed."""
        return [self.job(v, c, s) for v in self.values for c in self.cells for s in self.seeds]

    def job(self, value: int, cell: str, seed: int) -> dict:
        """The job of one run: everything it depends on, as JSON values."""
        return {"task": self.task, "parameter": self.parameter, "value": value,
                "data": dict(self.fixed), "cell": cell, "seed": seed, "metric": self.metric,
                "train": dict(self.train), "lab": self.name}


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
    if metric == "error" and kind.chance({**fixed, parameter: values[0]}) is None:
        ck.fail(("lab", "metric"), f'a {task} task has no accuracy (a regression); use '
                                   f'"loss" or "share"')
    n = len(values) * len(cells) * len(seeds)
    if n > MAX_RUNS:
        ck.fail(("sweep", "values"), f"values x cells x seeds = {n} runs; the most is "
                                     f"{MAX_RUNS}")
    lab = Lab(name, description, task, metric, dict(fixed), parameter, tuple(values),
              tuple(cells), tuple(seeds), train, source)
    for value in values if check_runs else ():  # every run's scenario is valid, in budget
        try:
            from .scenario import loads
            loads(scenario_text(lab.job(value, cells[0], seeds[0])), f"{source} at "
                  f"{parameter} = {value}", files=False)
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
    lines = ["[scenario]", f'name = "{job["lab"]} {job["parameter"]}={job["value"]} '
                           f'cell={job["cell"]} seed={job["seed"]}"',
             f'kind = "{job["task"]}"', "", "[model]", f'cell = "{job["cell"]}"',
             f'hidden_size = {t["hidden_size"]}', f'seed = {job["seed"]}']
    if cell.has_forget_bias:
        lines.append(f'forget_bias = {float(t["forget_bias"])!r}')
    lines += ["", "[train]", f'epochs = {t["epochs"]}', 'optimizer = "adam"',
              f'learning_rate = {float(t["learning_rate"])!r}', f'clip = {float(t["clip"])!r}',
              f'batch_size = {t["batch_size"]}', "", "[data]"]
    lines += [f"{k} = {v}" for k, v in data.items()]
    return "\n".join(lines) + "\n"


def position(job: dict) -> str:
    """The string that names a run: the lab, the swept value, the cell and the seed."""
    return f'lab={job["lab"]} {job["parameter"]}={job["value"]} cell={job["cell"]} ' \
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
    data = sc.data if isinstance(sc.data, dict) else {}
    base_loss = kind.baseline(data)
    chance = kind.chance(data)
    accuracy = right / scored if scored else None
    metric = job["metric"]
    if metric == "loss":
        value, baseline = loss, base_loss
    elif metric == "share":
        value, baseline = loss / base_loss, 1.0
    else:
        value, baseline = 1.0 - accuracy, 1.0 - chance
    return {"task": job["task"], "parameter": job["parameter"], "value": job["value"],
            "cell": job["cell"], "seed": job["seed"], "metric": _finite(value),
            "baseline": baseline, "loss": _finite(loss), "accuracy": accuracy,
            "epochs": history.trained_epochs, "stopped": history.stopped,
            "seconds": round(time.perf_counter() - start, 3), "position": position(job)}


def _finite(x: float) -> float | None:
    """``x``, or None (JSON null) when training diverged and it is not a number."""
    return float(x) if np.isfinite(x) else None
