"""Hostile text: control characters, escapes, bidi and zero-width characters shown as visible
escapes on the engine/CLI surfaces; JSON keeps the exact data."""

from __future__ import annotations

import json

import pytest

from engine import History, initial_params, loads, trace_for
from rnntui.safe_text import clip, visible
from rnntui.tracejson import trace_to_json
from rnntui.tracetable import format_trace

#: Characters a terminal acts on or that hide or reorder text.
HOSTILE = (["\x1b", "\x07", "\x00", "\x08", "\r", "\n", "\t", "\x7f", "\x85", "\x9b"]
           + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
           + [chr(c) for c in range(0x200B, 0x2010)] + ["\ufeff", "\u2028", "\u2029", "\u00ad",
                                                        "\u061c", "\u2060", "\ue000", "\udc80"])
PAYLOADS = ["hello \x1b]2;PWNED\x1b\\ world \x1b[5;31mblink", "abc\u202edcba", "a\u200bb",
            "[/bold] [red]x[/]", "two\nlines\tand tab", "\x1b[?1049l\x1b[2J"]
ORDINARY = ["café", "naïve", "日本語", "한국어", "🙂👍🏽", "e\u0301", "a b", "Ωμέγα", "עברית", "x[1]"]


@pytest.mark.parametrize("ch", HOSTILE, ids=[f"U+{ord(c):04X}" for c in HOSTILE])
def test_every_hostile_character_becomes_a_visible_escape(ch):
    out = visible(f"a{ch}b")
    assert out.startswith("a") and out.endswith("b") and len(out) >= 3
    assert ch not in out
    assert all(c.isprintable() and c not in HOSTILE for c in out)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text):
    assert visible(text) == text


def test_the_escapes_read_as_documented():
    assert visible("a\x1b[31m") == "a␛[31m"
    assert visible("x\ny\tz\r") == "x\\ny\\tz\\r"
    assert visible("\u202e") == "U+202E" and visible("\u200b") == "U+200B"
    assert visible("\x07") == "\\x07" and visible("\x9b") == "\\x9b"
    assert clip("k" * 1_500_000) == "k" * 77 + "..."
    assert len(clip("\x1b" * 1000)) == 80


def _text_scenario(sentence: str, name: str = "x"):
    return loads(f'[scenario]\nname = {json.dumps(name)}\nkind = "text"\n[model]\n'
                 f'hidden_size = 3\n[data]\nunit = "char"\ntext = [{json.dumps(sentence)}]\n')


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_trace_table_never_prints_a_control_character(payload):
    sc = _text_scenario(payload.lower() + " z")
    p0 = initial_params(sc)
    tr = trace_for(sc, p0)
    table = format_trace(sc, tr, History(losses=[0.0], epochs=[0], weights=[p0]), 0, 0)
    rows = table.splitlines()
    assert len([r for r in rows if r[:3].strip().isdigit()]) == len(tr)  # no row is split
    assert not any(ch in table for ch in HOSTILE if ch != "\n")
    doc = trace_to_json(sc, tr, None, 0, 0)
    assert "".join(s["input"] for s in doc["steps"]) == "".join(sc.sequence.tokens)
    assert set(doc["vocab"]) >= set(payload.lower())  # JSON keeps the exact characters


def test_a_hostile_scenario_name_is_refused_with_a_visible_message():
    for name in ("evil\x1b]2;PWNED\x07", "bidi\u202eeman", "zero\u200bwidth"):
        with pytest.raises(Exception, match="printable") as e:
            _text_scenario("ab", name=name)
        assert visible(str(e.value)) == str(e.value) or "\x1b" not in visible(str(e.value))
