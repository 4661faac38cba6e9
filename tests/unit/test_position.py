"""Positions: a View's place as a string and back, exactly, for every built-in; bad strings are
one-line errors that name the bad part."""

from __future__ import annotations

import dataclasses

import pytest
from helpers import make_view

from engine.scenario import builtin_names, encode_text, load
from rnntui.position import MAX_LENGTH, Generation, Position, PositionError, WindowRef
from rnntui.view import BACKWARD, KNOB_LIMIT

#: Typed text that needs the quoting rule: commas, spaces, '=', quotes and backslashes.
AWKWARD_TEXTS = ['the dog sits', 'the cat, the dog', 'a=b', 'say "hi"', 'back\\slash',
                 ' leading and trailing ', '', 'two\nlines\r\tand a tab', 'not\\na newline']


def views_of(name: str):
    """Several Views of a built-in, made with no App: kept epochs, t, the backward pass, the
    knob both ways, typed text for text scenarios."""
    base = make_view(name, train=True)
    kept = base.history.epochs
    for epoch in sorted({kept[0], kept[len(kept) // 2], kept[-1]}):
        for t in sorted({0, base.T // 2, base.T - 1}):
            yield base.with_epoch(epoch).at(t)
    yield base.at(1).with_phase(BACKWARD)
    yield base.with_knob(4).with_phase(BACKWARD).at(base.T - 1)
    yield base.with_knob(-KNOB_LIMIT)
    yield base.with_knob(KNOB_LIMIT).with_epoch(0)
    if hasattr(base, "with_grads"):
        yield base.with_grads("loss").with_target(base.T - 1).at(0)
    if base.scenario.kind == "text":
        vocab = [w for w in base.scenario.vocab if w.strip()]
        typed = " ".join(vocab[:3])
        yield base.with_sequence(encode_text(base.scenario, typed), typed).at(2)


@pytest.mark.parametrize("name", builtin_names())
def test_every_position_of_every_builtin_round_trips(name):
    seen = set()
    for view in views_of(name):
        pos = view.position
        assert (pos.scenario, pos.t, pos.phase, pos.knob, pos.text) == \
            (name, view.t, view.phase, view.knob, view.typed)
        assert pos.epoch in (None, view.epoch)
        text = str(pos)
        assert "\n" not in text
        back = Position.parse(text)
        assert back == pos, text
        assert Position.parse(text, scenario="other") == pos  # a string that names one wins
        assert str(back) == text
        seen.add(text)
    assert len(seen) >= 8, seen  # the positions really differ


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_awkward_typed_text_round_trips(text):
    pos = Position(scenario="king", epoch=50, t=3, phase=BACKWARD, knob=-4, text=text)
    assert Position.parse(str(pos)) == pos
    assert "\n" not in str(pos)


def test_a_scenario_path_with_odd_characters_round_trips(tmp_path):
    for path in ["scenarios/my file.toml", "a,b=c.toml", 'quote"d.toml', "/tmp/x/y.toml"]:
        pos = Position(scenario=path, t=2)
        assert Position.parse(str(pos)) == pos, str(pos)


def test_every_field_set_round_trips():
    """Whatever fields a Position has, each one set alone to a value that is not its default
    survives the string (fields later issues add are caught by the loop)."""
    samples = {"epoch": 7, "t": 4, "phase": BACKWARD, "knob": 3, "text": "x, y = z",
               "grads": "loss", "target": 2, "example": 1, "cell": "lstm",
               "cells": ("rnn", "lstm"), "window": WindowRef("train", 7), "attention": "none",
               "gen": Generation(50, 0.8, 1, 'the "king", he'), "mask": False, "sort": True}
    for field in dataclasses.fields(Position):
        if field.name == "scenario":
            continue
        assert field.name in samples, f"no sample value for the new field {field.name!r}"
        pos = Position(scenario="king", **{field.name: samples[field.name]})
        assert Position.parse(str(pos)) == pos, str(pos)


def test_the_defaults_are_left_out():
    assert str(Position(scenario="king")) in ("scenario=king,t=0", "scenario=king,epoch=0,t=0")
    assert Position.parse("t=3", scenario="king") == Position(scenario="king", t=3)


@pytest.mark.parametrize("bad, names", [
    ("bogus", "'bogus'"),
    ("colour=red", "'colour'"),
    ("epcoh=3", "did you mean epoch"),
    ("epoch=abc", "epoch='abc'"),
    ("epoch=-1", "epoch=-1"),
    ("t=1.5", "t='1.5'"),
    ("t=-2", "t=-2"),
    ("phase=sideways", "'sideways'"),
    ("wh=+99", "wh=+99"),
    ("wh=twice", "wh='twice'"),
    ("epoch=1,epoch=2", "epoch= is given twice"),
    ('text="no end', "text=: the quoted value has no closing"),
    ('text="ab"cd', "expected a comma"),
    ("t=1,", "ends with a comma"),
    ("scenario=", "scenario= is empty"),
    ("t=" + "9" * 20, "t="),
    ("x" * (MAX_LENGTH + 1), "at most"),
    ("window=val:0", "window='val:0'"),
    ("window=test:2", "val:N or train:N"),
    ("window=val:2,seq=1", "seq= and window= name 2 sequences"),
    ('window=val:2,text="a"', "window= and text= name 2 sequences"),
    ("temp=0.8", "temp= belongs to a generated sequence"),
    ("gen=50", "gen= needs prime="),
    ("gen=0,from=3", "gen=0"),
    ("gen=10001,from=3", "gen=10001"),
    ('gen=5,prime="a"', "needs temp="),
    ('gen=5,prime="a",temp=2.5', "temp='2.5'"),
    ('gen=5,prime="a",temp=0.05', "temp='0.05'"),
    ('gen=5,prime="a",temp=1,seed=-1', "seed='-1'"),
    ('gen=5,prime="a",temp=1,from=2', "do not go together"),
    ("gen=5,from=2,temp=1", "temp= belongs to generated text"),
    ('gen=5,prime="a",temp=0,seq=2', "seq= and gen= name 2 sequences"),
    ("gen=5,from=2,window=val:2", "window= and gen= name 2 sequences"),
    ("gen=5,from=2,genwh=+99", "genwh=+99"),
    ("attention=bahdanau", "attention='bahdanau': attention is none, additive or dot"),
    ('attention="none;rm -rf"', "attention='none;rm -rf'"),
    ("attention=", "attention=''"),
])
def test_bad_strings_are_one_line_errors_naming_the_bad_part(bad, names):
    with pytest.raises(PositionError) as caught:
        Position.parse(bad, scenario="king")
    message = str(caught.value)
    assert names in message, message
    assert "\n" not in message and len(message) < 200, message


def test_a_string_naming_no_scenario_needs_one():
    with pytest.raises(PositionError, match="scenario"):
        Position.parse("t=3")


def test_positions_name_a_builtin_that_loads():
    for name in builtin_names():
        assert load(Position.parse(f"scenario={name}").scenario).name


@pytest.mark.parametrize("gen", [
    Generation(50, 0.8, 1, "the king"),
    Generation(1, 0.0, 0, "a"),
    Generation(10000, 2.0, 10 ** 18 - 1, 'back\\slash, "quoted" = odd\n'),
    Generation(200, 0.123456789, 7, "x", epoch=3, knob=-4),
    Generation(60, start=0),
    Generation(60, start=1093, epoch=12, knob=5),
])
def test_a_generation_round_trips_exactly(gen):
    pos = Position(scenario="rhymes", epoch=15, t=4, gen=gen)
    back = Position.parse(str(pos))
    assert back == pos, str(pos)
    assert back.gen.temperature == gen.temperature  # the very float, not a rounded one
    assert "\n" not in str(pos)  # one line, whatever the prime holds


def test_a_forecast_may_name_the_training_sequence_it_started_from():
    pos = Position.parse("scenario=weather,seq=3,t=20,gen=60,from=10")
    assert pos.example == 3 and pos.gen == Generation(60, start=10)
    assert str(pos) == "scenario=weather,t=20,seq=3,gen=60,from=10"


def test_a_generation_names_its_own_weights_only_where_they_differ():
    g = Generation(50, 0.8, 1, "ab", epoch=15, knob=0, example=None)
    assert g.relative_to(15, 0) == Generation(50, 0.8, 1, "ab")
    assert g.relative_to(10, 4) == Generation(50, 0.8, 1, "ab", epoch=15, knob=0)
    assert "genepoch=15,genwh=+0" in str(Position(scenario="r", gen=g.relative_to(10, 4)))


# ---------------------------------------------------------------------------------------------
# an epoch past what the scenario may train to is refused (issue 25, finding 5)


def test_finding5_an_epoch_past_the_limit_or_the_train_budget_is_refused(monkeypatch):
    from rnntui.position import check_epoch
    king = load("king")
    check_epoch(Position.parse(f"scenario=king,epoch={king.train.epochs}"), king)
    check_epoch(Position.parse("scenario=king,epoch=999999999,cells=\"rnn,lstm\""), king)
    for text, says in (("epoch=999999999", "epoch=999999999: past the limit of 100000"),
                       ("t=1,gen=5,temp=0,prime=\"the\",genepoch=999999999",
                        "genepoch=999999999: past the limit")):
        with pytest.raises(PositionError) as err:
            check_epoch(Position.parse("scenario=king," + text), king)
        assert str(err.value).startswith(says) and "\n" not in str(err.value)
    monkeypatch.setenv("RNNTUI_TRAIN_BUDGET", "1e6")
    with pytest.raises(PositionError, match=r"^epoch=50000: training 50000 epochs needs about"):
        check_epoch(Position.parse("scenario=king,epoch=50000"), king)


def test_the_attention_switch_is_in_the_position_and_opens_again():
    """A View whose encoder-decoder has its attention switched (A, --attention) writes
    attention=; the string opens the same model again; the file's own attention is left out."""
    from engine.seq2seq import with_attention
    from rnntui.position import scenario_at
    sc = load("reverse")
    assert sc.model.attention == "additive"
    assert make_view(sc).position.attention is None
    off = with_attention(sc, "none")
    pos = make_view(off, t=2).position
    assert "attention=none" in str(pos)
    again = scenario_at(load(pos.scenario), Position.parse(str(pos)))
    assert again.model.attention == "none" and again.model.cell == sc.model.cell
    # switching back gives the file's model; switching the cell keeps the attention
    assert make_view(with_attention(off, "additive")).position.attention is None
    from engine.scenario import with_cell
    lstm = with_cell(off, "lstm")
    assert lstm.model.attention == "none"
    assert make_view(lstm).position == dataclasses.replace(pos, cell="lstm", t=0)
    assert with_cell(lstm, sc.model.cell).model.attention == "none"


def test_attention_on_a_scenario_without_an_encoder_decoder_is_one_line():
    from engine.types import ScenarioError
    from rnntui.position import scenario_at
    with pytest.raises(ScenarioError) as caught:
        scenario_at(load("king"), Position.parse("attention=none", scenario="king"))
    assert "attention applies to an encoder-decoder" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_app_opened_at_attention_none_shows_the_model_without_it():
    """--at, exports, recordings and lessons open through make_app: the position's attention
    is the model's, and the first view writes it back."""
    from rnntui.app import make_app
    app = make_app("reverse", at="attention=none,t=2", train=False)
    view = app._main.view
    assert view.scenario.model.attention == "none"
    assert view.position.attention == "none" and "attention=none" in str(view.position)
