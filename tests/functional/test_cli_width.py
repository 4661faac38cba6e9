"""Command-line output fits 80 columns: listings wrap their text under themselves, `learn`
keeps one line per lesson, and a trace table too wide for the terminal comes in parts of whole
columns that together hold every column, with a line saying how to print it in one."""

from __future__ import annotations

import re

import pytest

from engine import fit, initial_params, trace_for
from engine.scenario import builtin_descriptions, builtin_names, load
from rnntui.cli import _command_parser, main
from rnntui.lessons import builtin_lessons
from rnntui.tracetable import format_trace

WIDTH = 80


@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", str(WIDTH))


def run(capsys, *args) -> list[str]:
    code = main(list(args))
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = out.out.splitlines()
    wide = [ln for ln in lines if len(ln) > WIDTH]
    assert not wide, f"rnntui {' '.join(args)}: {len(wide)} lines over {WIDTH}: {wide[:3]}"
    return lines


def cells() -> list[str]:
    """The cells the CLI offers (trace --cell's choices)."""
    action = next(a for a in _command_parser("trace")._actions if "--cell" in a.option_strings)
    return list(action.choices)


def test_list_wraps_each_description_under_itself(capsys):
    lines = run(capsys, "list")
    starts = [ln for ln in lines if not ln.startswith(" ")]
    assert sorted(ln.split()[0] for ln in starts) == sorted(builtin_names())
    # every word of every description is there, in order, none cut
    text = " ".join(" ".join(lines).split())
    for name, desc in builtin_descriptions():
        assert f"{name} {' '.join(desc.split())}" in text


def test_learn_keeps_one_line_per_lesson_and_says_how_to_see_the_summaries(capsys, tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    lessons = builtin_lessons()
    lines = run(capsys, "learn")
    rows = [ln for ln in lines if re.match(r"\s*\S+\s+\d+\s+\S", ln)]
    assert len(rows) == len(lessons)
    for row, lesson in zip(rows, lessons):
        mark, number, name = row.split()[:3]
        assert (mark, int(number), name) == ("·", lesson.number, lesson.name)
        assert lesson.title.split()[0] in row and row.endswith(f"{len(lesson)} steps)")
    hint = next(ln for ln in lines if "COLUMNS=" in ln)
    wide = int(re.search(r"COLUMNS=(\d+)", hint).group(1))
    assert wide > WIDTH
    monkeypatch.setenv("COLUMNS", str(wide))
    assert main(["learn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [ln for ln in lines if re.match(r"\s*\S+\s+\d+\s+\S", ln)]
    assert len(rows) == len(lessons) and max(len(r) for r in rows) == wide
    for row, lesson in zip(rows, lessons):
        assert f"{lesson.title}: {lesson.summary}" in row
    assert not [ln for ln in lines if "COLUMNS=" in ln]


def test_help_fits(capsys):
    lines = run(capsys, "--help")
    assert any("rnntui check" in ln for ln in lines)


@pytest.mark.parametrize("name", builtin_names())
def test_trace_of_every_builtin_with_every_cell_fits(capsys, name):
    for cell in cells():
        lines = run(capsys, "trace", name, "--epochs", "1", "--cell", cell, "--no-cache")
        assert any(re.match(r" *0  ", ln) for ln in lines)


def _parts(text: str) -> list[list[str]]:
    """The parts of a trace table: each its header line, its rule, then its rows."""
    lines = text.splitlines()
    parts = []
    for i, line in enumerate(lines):
        if re.match(r" *t  input ", line):
            rows = []
            for row in lines[i + 2:]:
                if not re.match(r" *\d+  ", row):
                    break
                rows.append(row)
            parts.append([line, lines[i + 1], *rows])
    return parts


def _columns(header: str) -> list[str]:
    return re.split(r"\s{2,}", header.strip())


def test_a_split_table_holds_every_column_of_the_whole_one():
    sc = load("king")
    tr = trace_for(sc, fit(sc, 5).params_at(5))
    whole = format_trace(sc, tr, None, 5, 0)
    split = format_trace(sc, tr, None, 5, 0, width=WIDTH)
    (one,) = _parts(whole)
    parts = _parts(split)
    assert len(parts) >= 2 and all(len(ln) <= WIDTH for ln in split.splitlines())
    assert f"in {len(parts)} parts to fit {WIDTH} columns; COLUMNS={len(one[1])} " in split
    # each part leads with t and input; together they hold every column, and the same rows
    for part in parts:
        assert _columns(part[0])[:2] == ["t", "input"] and len(part) == len(one)
    assert {c for p in parts for c in _columns(p[0])} == set(_columns(one[0]))
    for k in range(2, len(one)):
        assert {c for p in parts for c in p[k].split()} == set(one[k].split())


def test_an_untrained_trace_without_width_is_one_table():
    sc = load("echo")
    tr = trace_for(sc, initial_params(sc))
    assert len(_parts(format_trace(sc, tr))) == 1


@pytest.mark.parametrize("name", ["translate", "reverse"])
def test_an_encoder_decoder_trace_loses_nothing_to_the_width(name):
    """Its lines were cut at the width: at 80 columns the heading lost its loss ("trained 10
    epoch"), and a longer source's attention columns would have lost numbers. Now the text
    wraps and the table comes in parts, each led by the step and its input."""
    from engine import initial_params
    from rnntui.s2s_trace import table
    sc = load(name)
    tr = trace_for(sc, initial_params(sc))
    whole = table(sc, tr, 0)
    for width in (80, 40):
        narrow = table(sc, tr, 0, width)
        assert max(map(len, narrow.splitlines())) <= width
        words = narrow.split()
        if "parts to fit" in narrow:  # (and the note saying so)
            words = narrow.split("\n(in ")[0].split()
        assert set(words) == set(whole.split()), width
        assert f"L = {tr.loss:.4f}" in " ".join(narrow.split())
