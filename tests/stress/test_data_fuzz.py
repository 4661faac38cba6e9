"""Mangled CSV and text files load cleanly or fail with one ScenarioError on one line.

The CSV starts from the real weather.csv (and the text from rhymes.txt) and is damaged the way
files get damaged: cells retyped, lines dropped or repeated, stray quotes, delimiters and bytes,
other encodings, truncation; the [data] keys get odd values too. Whatever comes out, loading
never raises anything but ScenarioError, and its message is one line naming a file.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.scenario import _builtin_root, load
from engine.types import Scenario, ScenarioError

ROOT = _builtin_root()
CSV_LINES = (ROOT / "weather.csv").read_text(encoding="utf-8").splitlines(keepends=True)[:80]
TEXT = (ROOT / "rhymes.txt").read_text(encoding="utf-8")[:1500]

CELLS = st.one_of(
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "1e400", "1e-400", "1,5", '"', '""',
                     '"1\n2"', "0x10", "1_0", "١٢", "--1", ".", "+", "1e", "\x00", "\ufeff",
                     "9" * 400, "-0", "+.5", "1.", "abc", "\t3", "3\r", ";", "1;2"]),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
BYTES = st.sampled_from([b"\xff", b"\xfe\xff", b"\x00", b"\xef\xbb\xbf", b"\r", b"\r\n", b'"',
                         b",", b"\n\n\n", b"\xc3", b"\xe2\x82"])
# mostly good keys, so that the damage to the file is what gets read
KEY_VALUES = st.one_of(
    st.sampled_from(['"temp_c"', '1']),
    st.sampled_from(['0', '2', '-1', '99999999999999999999', '"date"', '"nope"', '""', 'true',
                     '1.5', '[1]', '"TEMP_C"']))
SMALL = st.one_of(
    st.sampled_from(['5', '20']),
    st.sampled_from(['1', '2', '3', '30', '79', '80', '0', '-3', '1.5', '"5"', '200001',
                     '1000', 'true']))


@st.composite
def mangled_csv(draw) -> bytes:
    lines = list(CSV_LINES)
    for _ in range(draw(st.integers(0, 5))):
        if not lines:
            lines = ["\n"]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["cell", "cell", "delete", "dup", "join", "bytes", "cut"]))
        if op == "cell":
            parts = lines[i].rstrip("\n").split(",")
            j = draw(st.integers(0, len(parts)))
            cell = draw(CELLS)
            parts[min(j, len(parts) - 1)] = cell
            lines[i] = ",".join(parts) + "\n"
        elif op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "join":
            lines[i] = lines[i].rstrip("\n")
        elif op == "cut":
            lines = lines[:i]
    data = "".join(lines).encode("utf-8")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(BYTES) + data[at:]
    if draw(st.integers(0, 9)) == 9:
        data = "".join(lines).encode("utf-16")
    return data


def _check(err: ScenarioError, *names) -> None:
    text = str(err)
    assert "\n" not in text and "\r" not in text, text
    assert any(n in text for n in names), text


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mangled_csv(), column=KEY_VALUES, window=SMALL,
       normalize=st.sampled_from(['"zscore"', '"minmax"', '"none"', '"z"', '1']))
def test_mangled_csv_fails_with_one_scenario_error(tmp_path, data, column, window, normalize):
    (tmp_path / "d.csv").write_bytes(data)
    toml = tmp_path / "s.toml"
    toml.write_text(f'[scenario]\nname = "f"\nkind = "series"\n[data]\ncsv = "d.csv"\n'
                    f'column = {column}\nwindow = {window}\nnormalize = {normalize}\n',
                    encoding="utf-8")
    try:
        sc = load(toml)
    except ScenarioError as err:
        _check(err, "d.csv", "s.toml")
        return
    assert isinstance(sc, Scenario) and len(sc.sequence) >= 2


@st.composite
def mangled_text(draw) -> bytes:
    text = TEXT
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "cut", "delete"]))
        if op == "insert":
            text = text[:i] + draw(st.text(max_size=20)) + text[i:]
        elif op == "cut":
            text = text[:i]
        else:
            text = text[:i] + text[i + draw(st.integers(0, 400)):]
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(BYTES) + data[at:]
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mangled_text(), window=SMALL, unit=st.sampled_from(['"char"', '"word"', '"byte"']),
       vocab=st.sampled_from(["", "vocab_size = 2", "vocab_size = 10", "vocab_size = 0",
                              "vocab_size = 5001"]),
       validation=st.sampled_from(["", "validation = 0.01", "validation = 0.5",
                                   "validation = 0", "validation = 0.9"]))
def test_mangled_text_fails_with_one_scenario_error(tmp_path, data, window, unit, vocab,
                                                    validation):
    (tmp_path / "c.txt").write_bytes(data)
    toml = tmp_path / "s.toml"
    toml.write_text(f'[scenario]\nname = "f"\nkind = "text"\n[data]\nfile = "c.txt"\n'
                    f'window = {window}\nunit = {unit}\n{vocab}\n{validation}\n',
                    encoding="utf-8")
    try:
        sc = load(toml)
    except ScenarioError as err:
        _check(err, "c.txt", "s.toml")
        return
    assert isinstance(sc, Scenario) and sc.input_size >= 2
