"""Scenario files: read a TOML file (or a built-in by name), check every key, build a Scenario.

A scenario file is data only: it is parsed with :mod:`tomllib` and never evaluated. Every
problem in it becomes one :class:`~engine.types.ScenarioError` whose text names the file, the
line where it can be found, and the key, e.g.::

    scenarios/bad.toml:7: [model].hidden_size: must be an integer from 1 to 1024, got 0

Loading only reads and checks; it never trains. The keys are described in docs/scenarios.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import dataclasses
import functools
import importlib.resources
import os
import re
import stat
import tomllib
from pathlib import Path

import numpy as np

from . import _scenario_data as _data
from . import _toml_fast, budget
from ._scenario_checks import (LIMITS, MISSING, VALUE_BOUND, Checker, describe, quote, show,
                              suggest)
from ._scenario_data import display_token, tokenize
from .cells import CELLS, DEFAULT, cells_where, get_cell, weight_shapes
from .files import FileReadError, read_regular
from .kinds import KINDS, check_data_keys, data_keys, get_kind, typing_kinds
from .types import (ACTIVATIONS, ATTENTIONS, INITS, OPTIMIZERS, OUTPUTS, ModelConfig, Scenario,
                    ScenarioError, Sequence, TrainConfig)

__all__ = ["DEFAULT_SCENARIO", "LIMITS", "builtin_descriptions", "builtin_names",
           "display_token", "encode_text", "load", "loads", "tokenize"]

DEFAULT_SCENARIO = "king"

#: The keys of each section but [data] (see :func:`sections`).
_KEYS = {
    "scenario": ("name", "kind", "description"),
    "model": ("hidden_size", "activation", "output", "init", "init_scale", "seed", "weights",
              "cell", "forget_bias", "attention",
              "bidirectional"),
    "train": ("epochs", "learning_rate", "optimizer", "clip", "batch_size", "pad", "mask", "sort",
              "fresh"),
    "analysis": ("retention_steps",),
}
#: The sections of a scenario file, in order.
SECTION_NAMES = (*_KEYS, "data")


@functools.cache
def sections() -> dict[str, tuple[str, ...]]:
    """Each section's keys, [data]'s being every data kind's. Only a file with a key out of
    place needs them all: that loads every kind's module (engine.kinds), which reading a
    good file does not (its own kind's is enough)."""
    return {**_KEYS, "data": data_keys()}


@functools.cache
def _owners() -> dict[str, str]:
    """key -> the section it belongs to (the first that has it)."""
    return {key: section for section, keys in reversed(sections().items()) for key in keys}


def __getattr__(name: str):
    if name == "SECTIONS":  # (the old name: every section's keys)
        return sections()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


INIT_SCALE_MAX = 100.0
LEARNING_RATE_MAX = 10.0
_UTF8_BOM = b"\xef\xbb\xbf"
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


# ---------------------------------------------------------------------------------------------
# public API


def load(name_or_path: str | os.PathLike) -> Scenario:
    """A built-in scenario by name (``"king"``), or the scenario in a ``.toml`` file."""
    if isinstance(name_or_path, str) and not name_or_path.strip():
        raise ScenarioError(f"no scenario given (built-ins: {', '.join(builtin_names())})")
    if isinstance(name_or_path, str) and name_or_path in builtin_names():
        return _load_builtin(name_or_path)
    try:
        path = Path(name_or_path)
    except TypeError:
        raise ScenarioError(f"expected a scenario name or a file path, got "
                            f"{type(name_or_path).__name__}") from None
    if isinstance(name_or_path, str) and _looks_like_name(name_or_path) and not _exists(path):
        names = builtin_names()
        raise ScenarioError(f"no built-in scenario or file named '{name_or_path}'"
                            f"{suggest(name_or_path, names)} (built-ins: {', '.join(names)})")
    return _load_file(path)


def loads(text: str, source: str = "<string>", *,
          files: bool | Mapping[str, bytes] = True) -> Scenario:
    """The scenario written in ``text``; ``source`` names it in error messages. With
    ``files=False`` (a scenario from the network) data read from a file (``[data] file`` or
    ``csv``) is refused before any path is made: such a text never reads this machine's files.
    ``files`` a mapping (a recording's, which carries the bytes of its data files): the
    ``[data]`` file is the bytes given for its name as written, and no path is made either."""
    if not isinstance(text, str):
        raise ScenarioError(f"expected the text of a scenario, got {type(text).__name__}",
                            path=source)
    return _parse(text.removeprefix("\ufeff"), source, files)


def builtin_names() -> list[str]:
    """The built-in scenarios, :data:`DEFAULT_SCENARIO` first, then alphabetical."""
    names = sorted(n for n, _ in _builtin_files())
    if DEFAULT_SCENARIO in names:
        names.remove(DEFAULT_SCENARIO)
        names.insert(0, DEFAULT_SCENARIO)
    return names


def builtin_descriptions(full: bool = False) -> list[tuple[str, str]]:
    """(name, first line of its description) for every built-in, in :func:`builtin_names` order;
    with ``full``, the whole description."""
    files = dict(_builtin_files())
    out = []
    for name in builtin_names():
        try:
            doc = tomllib.loads(files[name].read_bytes().decode("utf-8-sig"))
            text = doc.get("scenario", {}).get("description", "")
            first = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
            if full:
                first = str(text).strip()
        except (OSError, ValueError, AttributeError):
            first = ""
        out.append((name, first))
    return out


def encode_text(scenario: Scenario, text: str) -> Sequence:
    """Tokenise ``text`` like the scenario's data and make it a Sequence to step through.

    Targets are the next token; the last step has none. A single token is allowed (it then has
    no targets at all). Unknown tokens and empty text raise ScenarioError. An encoder-decoder's
    kind makes the typed source's pair (its target by the kind's rule).
    """
    kind = get_kind(scenario.kind)
    if kind.seq2seq:
        return kind.encode(scenario, text if isinstance(text, str) else "")
    if not kind.takes_text or scenario.vocab is None:
        raise ScenarioError(f"only {typing_kinds()} scenarios take typed text; '{scenario.name}' is a "
                            f"{scenario.kind} scenario")
    unit = scenario.unit or "word"
    word = "character" if unit == "char" else "word"
    tokens = tokenize(text if isinstance(text, str) else "", unit)
    if not tokens:
        raise ScenarioError(f"type at least one {word}")
    most = min(LIMITS["sequence_length"],
               LIMITS["data_cells"] // (scenario.input_size + scenario.output_size))
    if len(tokens) > most:
        raise ScenarioError(f"that is {len(tokens)} {word}s; the most this scenario takes "
                            f"at once is {most}")
    typed = get_kind(scenario.kind).typed_sequence(scenario, tokens)
    if typed is not None:
        return typed
    index = {t: i for i, t in enumerate(scenario.vocab)}
    unknown = scenario.data.get("unknown") if isinstance(scenario.data, dict) else None
    if unknown is not None:  # a text file's capped vocabulary (engine/corpus.py)
        tokens = [t if t in index else unknown for t in tokens]
    vectors = scenario.token_vectors
    given = vectors is not None and not isinstance(vectors, _data.OneHotVectors)
    for t in tokens:
        if t not in index or (given and t not in vectors):
            shown = [repr(display_token(k)) if unit == "char" else k
                     for k in (list(vectors) if given else scenario.vocab)]
            more = f", ... ({len(shown)} in all)" if len(shown) > 20 else ""
            raise ScenarioError(f"unknown {word} {quote(display_token(t))}; known {word}s: "
                                f"{', '.join(shown[:20])}{more}{suggest(t, scenario.vocab)}")
    if given:
        rows = {t: i for i, t in enumerate(vectors)}
        table = np.stack([vectors[t] for t in rows])
        return _data.text_sequence(tokens, index, (table, rows))
    return _data.text_sequence(tokens, index)


# ---------------------------------------------------------------------------------------------
# finding and reading files


def _builtin_root():
    try:
        root = importlib.resources.files("engine.scenarios")
        if root.is_dir():
            return root
    except (ImportError, TypeError, ValueError, OSError):
        pass
    return Path(__file__).resolve().parent.parent / "scenarios"


def _builtin_files() -> list[tuple[str, object]]:
    root = _builtin_root()
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    return [(e.name[:-5], e) for e in entries if e.name.endswith(".toml") and e.is_file()]


def _load_builtin(name: str) -> Scenario:
    entry = dict(_builtin_files())[name]
    source = str(entry)
    try:
        data = entry.read_bytes()
    except OSError as e:
        raise ScenarioError(f"cannot read the built-in scenario: {e.strerror or e}",
                            path=source) from None
    return _load_bytes(data, source)


def _looks_like_name(text: str) -> bool:
    return "/" not in text and os.sep not in text and not text.lower().endswith(".toml")


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _load_file(path: Path) -> Scenario:
    source = str(path)
    limit = LIMITS["file_bytes"]
    problem = None
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            problem = "is a directory, not a scenario file (give a .toml file)"
        elif not stat.S_ISREG(st.st_mode):
            problem = "is not a regular file"
        elif st.st_size > limit:
            problem = _too_big(st.st_size)
        else:  # read_regular checks the opened file again: one swapped in meanwhile is refused
            data = read_regular(path, limit)
    except FileReadError as e:
        problem = str(e)
    except FileNotFoundError:
        problem = f"no such file (built-in scenarios: {', '.join(builtin_names())})"
    except PermissionError:
        problem = "cannot read this file: permission denied"
    except IsADirectoryError:
        problem = "is a directory, not a scenario file (give a .toml file)"
    except OSError as e:
        problem = f"cannot read this file: {e.strerror or e}"
    except ValueError as e:  # e.g. a NUL byte in the name
        problem = f"not a usable file name ({e})"
    if problem is not None:
        raise ScenarioError(problem, path=source)
    return _load_bytes(data, source)


def _too_big(size: int) -> str:
    limit = LIMITS["file_bytes"]
    return (f"the file is {size} bytes; a scenario file may be at most {limit} bytes "
            f"({limit // (1024 * 1024)} MiB)")


def _load_bytes(data: bytes, source: str) -> Scenario:
    """Check, decode and parse the bytes of a scenario file (the path every file takes)."""
    if len(data) > LIMITS["file_bytes"]:
        raise ScenarioError(_too_big(len(data)), path=source)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError("the file is UTF-16 text; save it as UTF-8", path=source)
    data = data.removeprefix(_UTF8_BOM)
    zero = data.find(b"\x00")
    if zero >= 0:
        raise ScenarioError("the file contains a zero byte, so it is not UTF-8 text (UTF-16 or "
                            "a binary file?); save it as UTF-8", path=source,
                            line=data.count(b"\n", 0, zero) + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ScenarioError(f"the file is not UTF-8 text (byte 0x{data[e.start]:02x} cannot be "
                            f"read); save it as UTF-8", path=source, line=line) from None
    return _parse(text, source)


# ---------------------------------------------------------------------------------------------
# parsing and checking


#: The [data] keys that name a file.
FILE_KEYS = ("file", "csv")


def parse_toml(text: str, source: str) -> dict:
    """The TOML document in ``text``; a syntax error is one ScenarioError naming ``source``,
    the line and the column (scenario and lab files alike)."""
    try:
        return _toml_fast.loads(text)  # tomllib's answer, big number arrays read faster
    except ValueError as e:  # TOMLDecodeError, and bad dates tomllib lets through
        msg, line = str(e), None
        m = _TOML_AT.search(msg)
        if m:
            line = int(m.group(1))
            msg = f"{msg[:m.start()]} (column {m.group(2)})"
        elif "end of document" in msg:
            line = text.count("\n") + 1
        raise ScenarioError(f"TOML syntax error: {msg}", path=source, line=line) from None
    except RecursionError:
        raise ScenarioError("TOML syntax error: arrays or tables nested too deeply",
                            path=source) from None


def _parse(text: str, source: str, files: bool | Mapping[str, bytes] = True) -> Scenario:
    if not text.strip():
        raise ScenarioError("the file is empty; a scenario needs at least [scenario] with "
                            "name and kind", path=source)
    doc = parse_toml(text, source)
    ck = Checker(source, text)
    if isinstance(files, Mapping):
        ck.carried = dict(files)
    _check_sections(ck, doc)
    head = ck.table(doc, ("scenario",), required=True)
    ck.known_keys(head, ("scenario",), _KEYS["scenario"], elsewhere=_misplaced("scenario"))
    name = ck.string(head, ("scenario", "name"), max_len=80, allow_empty=False)
    if not name.isprintable():
        ck.fail(("scenario", "name"), "must be one line of printable text")
    kind = ck.choice(head, ("scenario", "kind"), KINDS)
    description = ck.string(head, ("scenario", "description"), "", max_len=20_000)

    model_t = ck.table(doc, ("model",))
    ck.known_keys(model_t, ("model",), _KEYS["model"], elsewhere=_misplaced("model"))
    model = _model(ck, model_t, kind)
    train = _train(ck, ck.table(doc, ("train",)))
    if train.fresh and not get_kind(kind).draws():
        drawing = ", ".join(k for k in KINDS if get_kind(k).draws())
        ck.fail(("train", "fresh"), f"a {kind} scenario has no generator to draw fresh "
                                    f"sequences from (the kinds that have one: {drawing})")
    analysis_t = ck.table(doc, ("analysis",))
    ck.known_keys(analysis_t, ("analysis",), _KEYS["analysis"],
                  elsewhere=_misplaced("analysis"))
    retention = ck.integer(analysis_t, ("analysis", "retention_steps"), 15, lo=1,
                           hi=LIMITS["retention_steps"])

    data_t = ck.table(doc, ("data",), required=(kind == "text"))
    check_data_keys(ck, data_t, kind, _misplaced("data"))
    for key in () if files is not False else FILE_KEYS:
        if key in data_t:
            ck.fail(("data", key), "names a file; a scenario sent over the network carries "
                                   "its data in its own text, and no file of this machine is "
                                   "read for it")

    def precheck(inputs: int, outputs: int, steps: int, lengths: dict,
                 data_source: str = "") -> None:
        # the budgets, from the sizes alone, before any sequence is built (``data_source``:
        # "file" or "csv" when the data is read from a file, for the advice of a refusal)
        budget.check(budget.Sizes(kind, model.hidden_size, inputs, outputs, steps, lengths,
                                  train.epochs, train.batch_size,
                                  model.cell, data_source,
                                  2 if model.bidirectional else 1), path=source)

    try:
        built = get_kind(kind).build(ck, data_t, precheck)
    except ScenarioError as err:
        # a data file's own error (bad.csv:3: ...) says which scenario file read it, so that
        # `rnntui check a.toml b.toml` names the file to open
        if err.path is not None and err.path != source and "[data]" not in err.message:
            key = next((k for k in ("csv", "file") if k in data_t), None)
            if key is not None:
                err.message += f" (the [data].{key} of {source})"
                err.args = (str(err),)
        raise

    if model.output == "softmax" and built["output_size"] < 2:
        if kind == "text":
            ck.fail(("data", "text"), "the text uses only one word; predicting the next word "
                                      "needs at least two different ones")
        ck.fail(("model", "output"), f'"softmax" needs at least 2 outputs and a {kind} '
                                     f'scenario has 1; use "{get_kind(kind).default_output}"')
    if "weights" in model_t:
        if model.bidirectional:
            ck.fail(("model", "weights"), "cannot be given for a bidirectional model (each "
                                          "direction starts from seeded weights)")
        model.weights = _weights(ck, model_t["weights"], model.hidden_size,
                                 built["input_size"], built["output_size"], model.cell)

    scenario = Scenario(name=name, kind=kind, description=description, source=source,
                        model=model, train=train, retention_steps=retention,
                        input_size=built["input_size"], output_size=built["output_size"],
                        train_sequences=built["train_sequences"], sequence=built["sequence"],
                        test_sequences=built.get("test_sequences", []),
                        vocab=built.get("vocab"), token_vectors=built.get("token_vectors"),
                        unit=built.get("unit"), data=built["data"])
    return scenario


def _check_sections(ck: Checker, doc: dict) -> None:
    for key, value in doc.items():
        if key in SECTION_NAMES:
            continue
        if not isinstance(value, dict):
            owner = next((s for s, keys in sections().items() if key in keys), None)
            hint = f"; it belongs under [{owner}]" if owner else ""
            raise ScenarioError(f"'{show(key)}' is written before any [section] header{hint}",
                                path=ck.source, line=ck.line((key,)))
        raise ScenarioError(f"unknown section [{show(key)}]{suggest(key, SECTION_NAMES)} "
                            f"(sections: {', '.join(f'[{s}]' for s in SECTION_NAMES)})",
                            path=ck.source, line=ck.line((key,)))


def _misplaced(section: str):
    """What says where a key of another section belongs: called (by Checker.known_keys) only
    for a key that is not ``section``'s, it maps key -> "it belongs under [other]"."""
    return lambda: {key: f"'{key}' belongs under [{owner}]" for key, owner in _owners().items()
                    if owner != section}


def _model(ck: Checker, t: dict, kind: str) -> ModelConfig:
    m = ("model",)
    cell = ck.choice(t, m + ("cell",), CELLS, DEFAULT)
    the = get_cell(cell)
    if not the.takes_activation and "activation" in t:
        takes = " or ".join(f'cell = "{c}"' for c in cells_where(lambda c: c.takes_activation))
        why = (f" is always {the.activation}" if the.activation
               else "'s gates use sigmoid and tanh by definition")
        ck.fail(m + ("activation",), f"applies to the vanilla cell only; the {cell} cell{why} "
                                     f"(remove this line, or set {takes})")
    if not the.has_forget_bias and "forget_bias" in t:
        which = " and ".join(cells_where(lambda c: c.has_forget_bias))
        ck.fail(m + ("forget_bias",), f'only the {which} cell has a forget gate (cell is '
                                      f'"{cell}")')
    attention = ""
    if get_kind(kind).seq2seq:
        attention = ck.choice(t, m + ("attention",), ATTENTIONS, "additive")
        if "activation" in t:
            ck.fail(m + ("activation",), "an encoder-decoder's vanilla cells use tanh (remove "
                                         "this line)")
        if ck.choice(t, m + ("output",), OUTPUTS, "softmax") != "softmax":
            ck.fail(m + ("output",), 'an encoder-decoder writes tokens: its output is '
                                     '"softmax"')
    elif "attention" in t:
        pairs = ", ".join(k for k in KINDS if get_kind(k).seq2seq)
        ck.fail(m + ("attention",), f"applies to an encoder-decoder only (kind {pairs}); "
                                    f"this scenario's kind is \"{kind}\"")
    cfg = ModelConfig(
        cell=cell,
        attention=attention,
        forget_bias=ck.number(t, m + ("forget_bias",), 1.0, lo=-VALUE_BOUND, hi=VALUE_BOUND),
        hidden_size=ck.integer(t, m + ("hidden_size",), 16, lo=1, hi=LIMITS["hidden_size"]),
        activation=the.activation_for(ck.choice(t, m + ("activation",), ACTIVATIONS, "tanh")),
        output=ck.choice(t, m + ("output",), OUTPUTS, get_kind(kind).default_output),
        init=ck.choice(t, m + ("init",), INITS, "xavier"),
        seed=ck.integer(t, m + ("seed",), 0, lo=0, hi=None),
    )
    both = t.get("bidirectional", False)
    if not isinstance(both, bool):
        ck.fail(m + ("bidirectional",), f"must be true or false, got {describe(both)}")
    if both and not get_kind(kind).reads_both_ways:
        can = " and ".join(k for k in KINDS if get_kind(k).reads_both_ways)
        why = get_kind(kind).one_way_because or f"only {can} scenarios can"
        ck.fail(m + ("bidirectional",), f"a {kind} scenario cannot be bidirectional: {why}")
    cfg.bidirectional = both
    names = get_cell(cell).scale_names  # MATRICES for the vanilla cell; the GRU adds b_hn
    scales: dict[str, float | None] = {name: None for name in names}
    raw = t.get("init_scale", MISSING)
    path = m + ("init_scale",)
    if isinstance(raw, dict):
        ck.known_keys(raw, path, names, what="matrix", whats="matrices")
        for name in raw:
            scales[name] = ck.number(raw, path + (name,), lo=0, hi=INIT_SCALE_MAX)
    elif raw is not MISSING:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            ck.fail(path, f"must be a number, or a table such as {{W_h = 0.3, W_x = 0.5}}, "
                          f"got {describe(raw)}")
        value = ck.number(t, path, lo=0, hi=INIT_SCALE_MAX)
        scales = {name: value for name in names}
    cfg.init_scale = scales
    return cfg


def _train(ck: Checker, t: dict) -> TrainConfig:
    s = ("train",)
    ck.known_keys(t, s, _KEYS["train"], elsewhere=_misplaced("train"))
    clip = ck.number(t, s + ("clip",), 5.0, lo=0, hi=VALUE_BOUND)
    if not t.get("pad", False):
        for key in ("mask", "sort"):
            if key in t:
                ck.fail(s + (key,), "applies to padded batches only; add pad = true to [train] "
                                    "(without it a batch holds sequences of one length)")
    return TrainConfig(
        epochs=ck.integer(t, s + ("epochs",), 0, lo=0, hi=LIMITS["epochs"]),
        learning_rate=ck.number(t, s + ("learning_rate",), 0.1, lo=0, hi=LEARNING_RATE_MAX,
                                lo_open=True),
        optimizer=ck.choice(t, s + ("optimizer",), OPTIMIZERS, "sgd"),
        clip=None if clip == 0 else clip,
        batch_size=ck.integer(t, s + ("batch_size",), 1, lo=1, hi=LIMITS["batch_size"]),
        pad=ck.boolean(t, s + ("pad",), False),
        mask=ck.boolean(t, s + ("mask",), True),
        sort=ck.boolean(t, s + ("sort",), False),
        fresh=ck.boolean(t, s + ("fresh",), False),
    )


def _weights(ck: Checker, raw, hidden: int, inputs: int, outputs: int,
             cell: str = DEFAULT) -> dict:
    path = ("model", "weights")
    if not isinstance(raw, dict):
        ck.fail(path, f"must be a table ([model.weights]), got {describe(raw)}")
    # name -> (rows, cols or None, meaning): W_x, W_h, b, W_y, b_y for the vanilla cell, one
    # block per gate (W_xi, W_hf, b_o, ...) for the gated ones
    shapes = weight_shapes(cell, hidden, inputs, outputs)
    ck.known_keys(raw, path, list(shapes), what="matrix", whats="matrices")
    out = {}
    for name, value in raw.items():
        rows, cols, meaning = shapes[name]
        p = path + (name,)
        if cols is None:
            if not isinstance(value, list) or len(value) != rows:
                ck.fail(p, f"must be a list of {rows} numbers ({meaning}), got {describe(value)}")
            out[name] = np.asarray(ck.number_list(value, p, bound=VALUE_BOUND), dtype=np.float64)
            continue
        if not isinstance(value, list) or len(value) != rows:
            ck.fail(p, f"must be {rows} rows of {cols} numbers ({meaning}), got {describe(value)}")
        matrix = []
        for i, row in enumerate(value):
            if not isinstance(row, list) or len(row) != cols:
                ck.fail(p + (i,), f"row {i} must be a list of {cols} numbers ({meaning}), "
                                  f"got {describe(row)}")
            matrix.append(ck.number_list(row, p + (i,), bound=VALUE_BOUND))
        out[name] = np.asarray(matrix, dtype=np.float64).reshape(rows, cols)
    return out


def with_cell(scenario: Scenario, cell: str) -> Scenario:
    """The same scenario (data, sizes, training) with another cell.

    The file's hand-chosen weights (``[model.weights]``, or the ``sine`` pattern with its
    scales) were made for the file's cell: another cell starts from seeded xavier weights
    instead, and ``model.weights_seeded`` says so. Switching back gives the file's model
    exactly (``model.origin`` keeps it). A cell that always uses one activation (the IRNN's
    relu) gets it. Raises ScenarioError when the scenario with that cell would go over a
    budget (engine.budget).
    """
    new = get_cell(cell)
    base = scenario.model.origin or scenario.model
    attention = scenario.model.attention  # (an encoder-decoder's switch is kept across cells)
    if cell == base.cell:
        return dataclasses.replace(scenario, model=base if attention == base.attention else
                                   dataclasses.replace(base, attention=attention, origin=base))
    hand_made = bool(base.weights) or base.init == "sine"
    model = dataclasses.replace(
        base, cell=cell, origin=base, weights_seeded=hand_made, attention=attention,
        weights=None if hand_made else base.weights,
        init="xavier" if hand_made else base.init,
        init_scale={k: None for k in base.init_scale} if hand_made else dict(base.init_scale),
        activation=new.activation_for(base.activation))
    out = dataclasses.replace(scenario, model=model)
    budget.check(out)  # a gated cell does several times the work: ScenarioError when too much
    return out


def with_batching(scenario: Scenario, *, mask: bool | None = None,
                  sort: bool | None = None) -> Scenario:
    """The same scenario with its padded batches' mask and sorting switched (None: as they
    are); ``train.origin`` keeps the file's own [train], so a position names only what differs
    from the file. Raises ScenarioError for a scenario without padded batches (pad = false),
    where neither means anything."""
    train = scenario.train
    change = {k: v for k, v in (("mask", mask), ("sort", sort)) if v is not None}
    if not change or all(getattr(train, k) == v for k, v in change.items()):
        return scenario
    if not train.pad:
        named = " and ".join(f"{k}=" for k in change)
        raise ScenarioError(f"{scenario.name}: {named} {'is' if len(change) == 1 else 'are'} "
                            f"for padded batches, and this scenario has none (pad = true under "
                            f"[train] makes them)")
    base = train.origin or train
    new = dataclasses.replace(train, **change)
    same = all(getattr(new, k) == getattr(base, k) for k in ("mask", "sort"))
    return dataclasses.replace(scenario, train=base if same else
                               dataclasses.replace(new, origin=base))


def weights_note(scenario: Scenario) -> str | None:
    """One line for the screen when the weights are not the file's own, else None."""
    m = scenario.model
    if not m.weights_seeded:
        return None
    origin = m.origin.cell if m.origin is not None else DEFAULT
    return (f"the file's weights are for the {origin} cell; the {m.cell} starts from seeded "
            f"xavier weights (seed {m.seed})")
