"""Mangled scenario files load cleanly or fail with one ScenarioError naming the file.

The inputs start from the real built-in files and are damaged the way people and editors
damage files: lines deleted or repeated, values retyped, huge and negative numbers, nan/inf,
truncation, stray bytes, other encodings. Whatever comes out, loading must never raise
anything but ScenarioError (no KeyError, TypeError, OverflowError, MemoryError, ...).
"""

from __future__ import annotations


import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _mangle import mangle, quoted
from engine import scenario as S
from engine.types import Scenario, ScenarioError

SOURCE = "fuzz/scenario.toml"
DATA_DIR = "fuzz/"  # where a scenario's [data] csv or file is looked for
ROOT = S._builtin_root()
BUILTINS = {name: (ROOT / f"{name}.toml").read_text(encoding="utf-8")
            for name in S.builtin_names()}
ALL_KEYS = sorted({k for keys in S.SECTIONS.values() for k in keys}
                  | {"W_x", "W_h", "b", "W_y", "b_y", "the", "cat"})
HEADERS = ["[scenario]", "[model]", "[train]", "[analysis]", "[data]", "[model.weights]",
           "[data.vectors]", "[[data]]", "[modle]", "[]"]

TOML_VALUES = st.one_of(
    st.sampled_from([
        '"x"', '""', '"king"', '"tanh"', '"softmax"', '"char"', '"sin"', "1.5", "0", "-1", "1",
        "2", "true", "false", "[]", "[1, 2]", "[[1, 2], [3, 4]]", '["a", "b"]', '["a"]',
        '["the cat", "cat the"]', "[0, 1, 1, 0]", "{}", "{W_h = 0.3}", "{a = 1}", "nan", "+nan",
        "-nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "0.0", "-0.0",
        "99999999999999999999999999", "-9223372036854775808", "9223372036854775807",
        "10000", "100000", "200000", "1024", "5000", "1979-05-27", "07:32:00",
        "1979-05-27T07:32:00Z", "0x10", "0o7", "0b101", '"""\nmulti\nline"""', "'lit'",
        '["a", 1]', "[true]", "[nan]", "[[1], [2, 3]]",
    ]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: "nan" if f != f else ("inf" if f == float("inf") else
                                         "-inf" if f == float("-inf") else repr(f))),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
    .map(quoted),
)


@st.composite
def mangled_text(draw) -> str:
    name = draw(st.sampled_from(sorted(BUILTINS)))
    return mangle(draw, BUILTINS[name], values=TOML_VALUES, keys=ALL_KEYS, headers=HEADERS,
                  most=6)


@st.composite
def mangled_bytes(draw) -> bytes:
    text = draw(mangled_text())
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16",
                                     "utf-16-le", "latin-1", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["truncate", "insert", "flip"]))
        if not data:
            break
        at = draw(st.integers(0, len(data)))
        if op == "truncate":
            data = data[:at]
        elif op == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        else:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    return data


def check_loaded(sc: Scenario) -> None:
    """A scenario that loads is internally consistent."""
    assert isinstance(sc, Scenario)
    assert 1 <= sc.model.hidden_size <= S.LIMITS["hidden_size"]
    assert sc.train_sequences and len(sc.sequence) >= 1
    for seq in sc.train_sequences[:50] + [sc.sequence] + sc.test_sequences[:5]:
        n = len(seq)
        assert seq.inputs.shape == (n, sc.input_size)
        assert seq.targets.shape == (n, sc.output_size)
        assert seq.mask.shape == (n,) and len(seq.labels) == n == len(seq.target_labels)
        assert np.isfinite(seq.inputs).all() and np.isfinite(seq.targets).all()
    if sc.model.weights:
        for arr in sc.model.weights.values():
            assert arr.dtype == np.float64 and np.isfinite(arr).all()


@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mangled_bytes())
def test_mangled_files_fail_only_with_scenario_error(data):
    try:
        sc = S._load_bytes(data, SOURCE)
    except ScenarioError as err:
        text = str(err)
        # (or the data file the scenario names, [data].csv or file, next to it: docs/data.md)
        assert text.startswith((SOURCE + ":", DATA_DIR)), text
        assert "\n" not in text, text
    else:
        check_loaded(sc)


@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mangled_text())
def test_mangled_text_fails_only_with_scenario_error(text):
    try:
        sc = S.loads(text, SOURCE)
    except ScenarioError as err:
        assert str(err).startswith((SOURCE + ":", DATA_DIR)), str(err)
        assert err.path == SOURCE or err.path.startswith(DATA_DIR)
    else:
        check_loaded(sc)


def test_the_fuzzer_reaches_both_outcomes():
    """Guard against a generator that only ever makes broken (or only valid) files."""
    outcomes = {"ok": 0, "error": 0}

    @settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @given(mangled_text())
    def run(text):
        try:
            S.loads(text, SOURCE)
            outcomes["ok"] += 1
        except ScenarioError:
            outcomes["error"] += 1

    run()
    assert outcomes["ok"] >= 10 and outcomes["error"] >= 10, outcomes
