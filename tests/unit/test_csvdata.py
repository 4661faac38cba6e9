"""engine/csvdata.py: a series from a CSV column, its errors (file, line, column), normalisation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from engine import csvdata
from engine.scenario import _builtin_root, load, loads
from engine.types import ScenarioError

SCENARIO = """
[scenario]
name = "mine"
kind = "series"
[data]
csv = "{csv}"
{extra}
"""


def scenario_in(tmp_path: Path, csv_text: str | bytes, extra: str = 'column = "v"\nwindow = 3',
                name: str = "d.csv"):
    target = tmp_path / name
    if isinstance(csv_text, bytes):
        target.write_bytes(csv_text)
    else:
        target.write_text(csv_text, encoding="utf-8")
    toml = tmp_path / "s.toml"
    toml.write_text(SCENARIO.format(csv=name, extra=extra), encoding="utf-8")
    return toml


def error_of(tmp_path, csv_text, extra='column = "v"\nwindow = 3') -> ScenarioError:
    with pytest.raises(ScenarioError) as e:
        load(scenario_in(tmp_path, csv_text, extra))
    return e.value


def weather_csv() -> str:
    """The recipe of scenarios/weather.csv (the test below checks the shipped file is it):
    a yearly cycle plus AR(1) noise, seeded, rounded to 0.1 degrees."""
    rng = np.random.default_rng(2024)
    days = 3 * 365
    noise = np.zeros(days)
    for d in range(1, days):
        noise[d] = 0.7 * noise[d - 1] + rng.normal(0.0, 1.5)
    d = np.arange(days)
    temp = 11.0 + 9.0 * np.sin(2 * np.pi * (d - 105) / 365.25) + noise
    start = dt.date(2021, 1, 1)
    lines = ["date,temp_c"] + [f"{start + dt.timedelta(days=i)},{v:.1f}"
                               for i, v in enumerate(temp)]
    return "\n".join(lines) + "\n"


def test_shipped_weather_csv_is_its_recipe():
    assert (_builtin_root() / "weather.csv").read_text(encoding="utf-8") == weather_csv()


def test_reads_the_named_column_with_a_header(tmp_path):
    sc = load(scenario_in(tmp_path, "day,v\n1,10\n2,12\n3,11\n4,15\n5,13\n"))
    d = sc.data
    assert d["column"] == "v" and d["column_index"] == 1 and d["header"]
    assert d["original"].tolist() == [10, 12, 11, 15, 13]
    z = np.array([10, 12, 11, 15, 13], float)
    expect = (z - z.mean()) / z.std()
    assert np.allclose(sc.sequence.inputs[:, 0], expect[:-1], rtol=0, atol=1e-15)
    assert np.allclose(sc.sequence.targets[:, 0], expect[1:], rtol=0, atol=1e-15)
    # windows of 3 inputs, each with the value after it as the last target
    assert len(sc.train_sequences) == 1
    assert np.array_equal(sc.train_sequences[0].inputs[:, 0], sc.sequence.inputs[:3, 0])
    # the labels are the file's own units
    assert sc.sequence.labels == ["10", "12", "11", "15"]


def test_column_by_index_and_no_header(tmp_path):
    sc = load(scenario_in(tmp_path, "1,5\n2,6\n3,8\n4,9\n", "column = 1\nnormalize = \"none\"\n"
                                                                "window = 2"))
    assert not sc.data["header"] and sc.data["column"] == "column 1"
    assert sc.sequence.inputs[:, 0].tolist() == [5, 6, 8]


@pytest.mark.parametrize("method", ["zscore", "minmax", "none"])
def test_normalize_round_trip_to_original_units(method):
    v = np.array([3.5, -2.0, 7.25, 0.0, 11.0, 4.0])
    n = csvdata.fit_normalization(method, v)
    z = n.apply(v)
    assert np.allclose(n.invert(z), v, rtol=0, atol=1e-12)
    if method == "zscore":
        assert abs(z.mean()) < 1e-15 and abs(z.std() - 1) < 1e-14
    elif method == "minmax":
        assert z.min() == 0.0 and z.max() == 1.0
    else:
        assert np.array_equal(z, v)


def test_builtin_weather_keeps_the_transform():
    sc = load("weather")
    n = sc.data["normalization"]
    raw = sc.data["original"]
    assert n.method == "zscore" and np.isclose(n.shift, raw.mean()) and np.isclose(n.scale, raw.std())
    # the model's numbers map back to the file's: input t is the file's value t
    back = n.invert(sc.sequence.inputs[:, 0])
    assert np.allclose(back, raw[:-1], atol=1e-9)
    assert float(sc.sequence.labels[10]) == raw[10]
    assert "temp_c" in n.describe("temp_c")


def test_non_number_names_line_and_column(tmp_path):
    rows = ["day,v"] + [f"{i},{i * 1.5}" for i in range(1, 811)] + ["811,abc"] + ["812,3"]
    err = error_of(tmp_path, "\n".join(rows) + "\n")
    text = str(err)
    assert err.line == 812 and err.path.endswith("d.csv")
    assert text.startswith(str(tmp_path / "d.csv") + ":812: ")
    assert "column 'v' (1)" in text and "'abc' is not a number" in text


@pytest.mark.parametrize("cell, words", [("", "an empty cell"), ("NaN", "a missing value"),
                                         ("n/a", "a missing value"),
                                         ("inf", "not a finite number"),
                                         ("1e400", "too large"), ("1,5", None)])
def test_bad_cells(tmp_path, cell, words):
    quoted = f'"{cell}"' if "," in cell else cell
    err = error_of(tmp_path, f"day,v\n1,2\n2,{quoted}\n3,4\n4,5\n")
    assert err.line == 3, str(err)
    assert "column 'v' (1)" in str(err)
    if words:
        assert words in str(err)


def test_missing_column_by_name_and_index(tmp_path):
    err = error_of(tmp_path, "day,value\n1,2\n2,3\n3,4\n4,5\n", 'column = "vlaue"\nwindow = 2')
    assert err.line == 1 and "no column named 'vlaue'" in str(err)
    assert "did you mean 'value'" in str(err)
    err = error_of(tmp_path, "day,v\n1,2\n2,3\n3,4\n", "column = 5\nwindow = 2")
    assert "column 5 is missing" in str(err) and err.line == 1
    err = error_of(tmp_path, "day,v\n1,2\n2\n3,4\n4,5\n", "column = 1\nwindow = 2")
    assert err.line == 3 and "only 1 column" in str(err)
    err = error_of(tmp_path, "1,2\n2,3\n3,4\n4,5\n", 'column = "v"\nwindow = 2')
    assert "no header" in str(err)


def test_too_few_rows_for_the_window(tmp_path):
    err = error_of(tmp_path, "v\n1\n2\n3\n", 'column = "v"\nwindow = 3')
    assert "too few for window = 3" in str(err) and "at least 4 rows" in str(err)


def test_constant_column_cannot_be_zscored(tmp_path):
    err = error_of(tmp_path, "v\n1\n1\n1\n1\n1\n")
    assert "[data].normalize" in str(err) and 'normalize = "none"' in str(err)


def test_file_problems(tmp_path, monkeypatch):
    err = error_of(tmp_path, b"v\n1\n\xff\n2\n")
    assert "not UTF-8" in str(err) and err.line == 3
    err = error_of(tmp_path, b"v\n1\x002\n")
    assert "zero byte" in str(err)
    with pytest.raises(ScenarioError, match="no such file"):
        loads(SCENARIO.format(csv="nowhere.csv", extra=""), source=str(tmp_path / "s.toml"))
    monkeypatch.setattr(csvdata, "MAX_BYTES", 20)
    err = error_of(tmp_path, "v\n" + "1\n" * 30)
    assert "at most 20 bytes" in str(err)
    monkeypatch.setattr(csvdata, "MAX_BYTES", 1 << 20)
    monkeypatch.setattr(csvdata, "MAX_ROWS", 10)
    err = error_of(tmp_path, "v\n" + "1\n" * 30)
    assert "more than 10 rows" in str(err)


def test_keys_that_do_not_apply(tmp_path):
    err = error_of(tmp_path, "v\n1\n2\n3\n4\n5\n", 'column = "v"\npoints = 40')
    assert "[data].points" in str(err) and "does not apply" in str(err)
    with pytest.raises(ScenarioError, match=r"\[data\].normalize: applies to a series read"):
        loads('[scenario]\nname="x"\nkind="series"\n[data]\nnormalize="none"\n')


def test_blank_lines_and_bom_are_fine(tmp_path):
    sc = load(scenario_in(tmp_path, "\ufeffv\n1\n\n2\n3\n\n4\n5\n"))
    assert sc.data["original"].tolist() == [1, 2, 3, 4, 5]
    assert sc.data["header"]


def test_quoted_line_breaks_keep_the_line_numbers(tmp_path):
    err = error_of(tmp_path, 'note,v\n"two\nlines",1\nx,2\ny,zz\nw,4\n')
    assert err.line == 5 and "'zz' is not a number" in str(err)


def test_unicode_digits_and_underscores_are_not_numbers(tmp_path):
    for cell in ("1_000", "١٢", "0x10", "1e", "--1", "."):
        err = error_of(tmp_path, f"v\n1\n2\n{cell}\n4\n5\n")
        assert err.line == 4 and "is not a number" in str(err), cell


def test_the_budgets_check_a_csv_series_before_it_is_built(tmp_path):
    rows = "v\n" + "".join(f"{i % 7}\n" for i in range(3000))
    (tmp_path / "d.csv").write_text(rows, encoding="utf-8")
    toml = tmp_path / "s.toml"
    toml.write_text('[scenario]\nname = "big"\nkind = "series"\n[model]\nhidden_size = 1024\n'
                    '[data]\ncsv = "d.csv"\ncolumn = "v"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="budget"):
        load(toml)


def test_check_command_exits_2_naming_the_line(tmp_path, capsys):
    from rnntui.cli import main
    toml = scenario_in(tmp_path, "v\n1\n2\nx\n4\n5\n")
    assert main(["check", str(toml)]) == 2
    err = capsys.readouterr().err
    # (and which scenario file read it: `check a.toml b.toml` said only d.csv)
    assert err.strip() == (f"{tmp_path / 'd.csv'}:4: column 'v' (0): 'x' is not a number "
                           f"(the [data].csv of {toml})")


def test_a_header_may_end_in_empty_cells(tmp_path):
    sc = load(scenario_in(tmp_path, "day,v,,\n1,5,,\n2,6,,\n3,8,,\n4,9,,\n5,7,,\n"))
    assert sc.data["header"] and sc.data["original"].tolist() == [5, 6, 8, 9, 7]
