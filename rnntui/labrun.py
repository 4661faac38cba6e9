"""A lab run as a scenario: ``lab=adding length=50 cell=gru seed=1`` names one run of a lab.

The name stands wherever a scenario's name does (``rnntui NAME``, ``--at 'scenario="..."'``,
an export's position, a recording, a presenter's state, a lesson step), so every pane, the
per-loss gradient view and compare mode work on a lab run. It is read strictly: the lab (a
built-in's name or a lab file's path, in double quotes when it holds a space), the swept
parameter with one of the lab's values, one of the lab's cells and one of its seeds, each once
and nothing else; anything else is refused in one line naming the bad part. The scenario it
opens is :func:`engine.lab.scenario_text` of the run's job: the same data, initial weights and
training as the lab's run, so the same weights (from the training cache when the lab's
workers kept them).
"""

from __future__ import annotations

import re

from engine.types import Scenario, ScenarioError

__all__ = ["PREFIX", "is_run", "lab_ref", "load", "load_any", "parse", "run_name", "run_text"]

#: A scenario name that starts so names a lab run.
PREFIX = "lab="
#: The longest run name read (a lab file's path included).
MAX_LENGTH = 1024
_BARE = re.compile(r"[A-Za-z0-9_.+\-/~:]+")


def is_run(name: object) -> bool:
    """Whether ``name`` (a scenario name or path) names a lab run."""
    return isinstance(name, str) and name.startswith(PREFIX)


def lab_ref(lab) -> str:
    """How a run name names ``lab``: a built-in's name when it is that built-in, else its
    file's path."""
    from engine.lab import _builtin_files
    builtin = _builtin_files().get(lab.name)
    if builtin is not None and str(builtin) == lab.source:
        return lab.name
    return lab.source


def _quote(value: str) -> str:
    if _BARE.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_name(lab, job: dict) -> str:
    """The name of the run ``job`` of ``lab``: ``lab=REF PARAMETER=VALUE cell=CELL seed=SEED``
    (an encoder-decoder lab's with ``attention=ATTENTION`` after the cell)."""
    att = f" attention={job['attention']}" if job.get("attention") else ""
    return (f"{PREFIX}{_quote(lab_ref(lab))} {job['parameter']}={job['value']} "
            f"cell={job['cell']}{att} seed={job['seed']}")


def _fail(name: str, problem: str) -> ScenarioError:
    shown = name if len(name) <= 80 else name[:80] + "…"
    return ScenarioError(f"lab run {shown!r}: {problem}")


def _tokens(name: str) -> list[tuple[str, str]]:
    """``key=value`` parts separated by spaces; a value in double quotes may hold anything."""
    out, i, n = [], 0, len(name)
    while i < n:
        if name[i] == " ":
            i += 1
            continue
        eq = name.find("=", i)
        space = name.find(" ", i)
        if eq < 0 or 0 <= space < eq:
            part = name[i: space if space >= 0 else n]
            raise _fail(name, f"{part!r} is not key=value")
        key, i = name[i:eq], eq + 1
        if i < n and name[i] == '"':
            chars, i = [], i + 1
            while i < n and name[i] != '"':
                if name[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(name[i])
                i += 1
            if i >= n:
                raise _fail(name, f'{key}=: the quoted value has no closing "')
            value, i = "".join(chars), i + 1
        else:
            end = name.find(" ", i)
            end = n if end < 0 else end
            value, i = name[i:end], end
        out.append((key, value))
    return out


def parse(name: str):
    """(the Lab, the run's job) that ``name`` names; ScenarioError (one line) when it names
    none: an unknown lab, a value, cell or seed the lab does not run, a missing or extra part."""
    from engine.lab import load_lab
    if len(name) > MAX_LENGTH:
        raise _fail(name, f"is {len(name)} characters long; at most {MAX_LENGTH} are read")
    if not name.isprintable():
        raise _fail(name, "must be one line of printable text")
    parts = _tokens(name)
    keys = [k for k, _ in parts]
    if not parts or keys[0] != "lab":
        raise _fail(name, "starts with lab=NAME")
    for key in keys:
        if keys.count(key) > 1:
            raise _fail(name, f"{key}= is given twice")
    values = dict(parts)
    ref = values.pop("lab")
    if not ref:
        raise _fail(name, "lab= is empty")
    try:
        lab = load_lab(ref, check_runs=False)
    except ScenarioError as err:
        raise _fail(name, str(err)) from None
    want = (lab.parameter, "cell") + ("attention",) * bool(lab.attentions) + ("seed",)
    has = ", ".join(f"{k}=" for k in want)
    missing = [k for k in want if k not in values]
    extra = [k for k in values if k not in want]
    if extra:
        raise _fail(name, f"{extra[0]}= is not part of a run of lab {lab.name!r} "
                          f"(it has {has})")
    if missing:
        raise _fail(name, f"names no {missing[0]}= (a run has {has})")
    got = {}
    for key, allowed in ((lab.parameter, lab.values), ("seed", lab.seeds)):
        raw = values[key]
        if not re.fullmatch(r"[0-9]{1,10}", raw) or int(raw) not in allowed:
            raise _fail(name, f"{key}={raw[:20]!r} is not one of the lab's {key}s "
                              f"({', '.join(str(v) for v in allowed)})")
        got[key] = int(raw)
    if values["cell"] not in lab.cells:
        raise _fail(name, f"cell={values['cell'][:20]!r} is not one of the lab's cells "
                          f"({', '.join(lab.cells)})")
    attention = values.get("attention")
    if lab.attentions and attention not in lab.attentions:
        raise _fail(name, f"attention={attention[:20]!r} is not one of the lab's attentions "
                          f"({', '.join(lab.attentions)})")
    return lab, lab.job(got[lab.parameter], values["cell"], got["seed"], attention)


def run_text(name: str) -> str:
    """The scenario file's text of the run ``name`` (ScenarioError when it names none)."""
    from engine.lab import scenario_text
    return scenario_text(parse(name)[1])


def load(name: str) -> Scenario:
    """The scenario of the run ``name``; its ``source`` is the name itself."""
    from engine.scenario import loads
    return loads(run_text(name), name, files=False)


def load_any(name) -> Scenario:
    """A lab run by its name, else a built-in scenario or a scenario file."""
    if is_run(name):
        return load(name)
    from engine.scenario import load as load_scenario
    return load_scenario(name)
