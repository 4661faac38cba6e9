"""The scenario loader: built-ins, data shapes, every validation rule and its message."""

from __future__ import annotations

import importlib.resources
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine import scenario as S
from engine.scenario import LIMITS, ScenarioError, encode_text, load, loads
from engine.types import MATRICES, Scenario

ROOT = Path(__file__).resolve().parents[2]  # (tests/unit/ -> the repository)
SRC = "t.toml"

TEXT = """\
[scenario]
name = "t"
kind = "text"

[model]
hidden_size = 4

[train]
epochs = 0

[analysis]
retention_steps = 5

[data]
text = ["The cat sat.", "a dog ran!"]
"""

SERIES = """\
[scenario]
name = "s"
kind = "series"

[model]
hidden_size = 4

[train]
epochs = 0

[analysis]
retention_steps = 5

[data]
points = 50
window = 10
"""

ECHO = """\
[scenario]
name = "e"
kind = "echo"

[model]
hidden_size = 4

[train]
epochs = 0

[analysis]
retention_steps = 5

[data]
length = 10
sequences = 5
"""

BASES = {"text": TEXT, "series": SERIES, "echo": ECHO}


def put(base: str, section: str, text: str) -> str:
    """Insert ``text`` right after the ``[section]`` header (adding the section if absent)."""
    header = f"[{section}]\n"
    if header in base:
        return base.replace(header, header + text + "\n", 1)
    return base + "\n" + header + text + "\n"


def line_no(doc: str, needle: str) -> int:
    for i, line in enumerate(doc.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in document")


def error(doc: str, source: str = SRC) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        loads(doc, source)
    return info.value


def check(doc: str, key: str | None, fragment: str, line_of: str | None = None) -> ScenarioError:
    """Loading fails with one error naming the file, ``key``, the line of ``line_of``, and
    containing ``fragment``."""
    err = error(doc)
    text = str(err)
    assert text.startswith(SRC + ":"), text
    assert err.path == SRC
    if key is not None:
        assert err.key == key, text
        assert f" {key}: " in text, text
    assert fragment in text, text
    if line_of is not None:
        want = line_no(doc, line_of)
        assert err.line == want, text
        assert text.startswith(f"{SRC}:{want}: "), text
    return err


# ---------------------------------------------------------------------------------------------
# built-ins


def test_builtin_names_and_descriptions():
    names = S.builtin_names()
    assert set(names) == {"king", "cat", "count", "hello", "sine", "echo", "long", "pads", "rhymes",
                          "weather", "reverse", "translate", "apple"}
    assert names[0] == S.DEFAULT_SCENARIO == "king"
    assert names[1:] == sorted(names[1:])
    desc = dict(S.builtin_descriptions())
    assert list(desc) == names
    for name, first in desc.items():
        assert first and "\n" not in first, name
    assert "throne" in desc["king"]


@pytest.mark.parametrize("name", ["king", "cat", "hello", "sine", "echo", "long"])
def test_every_builtin_loads_fast_and_consistently(name):
    t0 = time.perf_counter()
    sc = load(name)
    assert time.perf_counter() - t0 < 0.5  # loading never trains
    assert isinstance(sc, Scenario) and sc.name == name
    assert sc.source.endswith(f"{name}.toml")
    assert 2 <= len(sc.description.split(".")), "a description a learner can read"
    for seq in sc.train_sequences + [sc.sequence] + sc.test_sequences:
        n = len(seq)
        assert seq.inputs.shape == (n, sc.input_size) and seq.inputs.dtype == np.float64
        assert seq.targets.shape == (n, sc.output_size) and seq.targets.dtype == np.float64
        assert seq.mask.shape == (n,) and seq.mask.dtype == bool
        assert len(seq.labels) == len(seq.target_labels) == n
        assert not seq.targets[~seq.mask].any()
        assert all((lab is None) == (not m) for lab, m in zip(seq.target_labels, seq.mask))
    assert set(sc.model.init_scale) == set(MATRICES)


def test_builtin_source_text_is_a_file_path():
    assert Path(load("king").source).is_file()


def test_king_vocab_one_hot_and_masks():
    sc = load("king")
    assert sc.kind == "text" and sc.unit == "word" and sc.model.output == "softmax"
    assert sc.train.epochs > 0
    assert sc.vocab[:5] == ["the", "king", "sits", "on", "throne"]
    assert sc.input_size == sc.output_size == len(sc.vocab)
    seq = sc.sequence
    assert seq.labels == ["the", "king", "sits", "on", "throne"]
    assert seq.target_labels == ["king", "sits", "on", "throne", None]
    assert np.array_equal(seq.inputs, np.eye(len(sc.vocab))[[0, 1, 2, 3, 4]])
    assert np.array_equal(seq.targets[:4], np.eye(len(sc.vocab))[[1, 2, 3, 4]])
    assert seq.mask.tolist() == [True, True, True, True, False]
    assert not seq.targets[4].any()
    assert np.array_equal(sc.token_vectors["on"], np.eye(len(sc.vocab))[3])
    assert len(sc.train_sequences) == len(sc.data["sentences"])


def test_cat_uses_given_vectors_and_scales():
    sc = load("cat")
    assert sc.model.hidden_size == 3 and sc.model.init == "sine" and sc.train.epochs == 0
    assert sc.model.init_scale == {"W_x": 0.5, "W_h": 0.3, "b": None, "W_y": 0.5, "b_y": None}
    assert sc.retention_steps == 15
    assert sc.vocab == ["the", "cat", "sat", "on", "mat"]
    assert sc.input_size == 4 and sc.output_size == 5
    x = sc.sequence.inputs
    assert x.tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0],
                          [0, 0, 1, 1]]
    assert np.array_equal(sc.token_vectors["mat"], [0, 0, 1, 1])
    assert sc.sequence.targets[3].tolist() == [1, 0, 0, 0, 0]  # "on" -> "the"
    assert '"the"' in sc.description


def test_hello_is_character_level_with_space_token():
    sc = load("hello")
    assert sc.unit == "char"
    assert sc.vocab == ["h", "e", "l", "o", " ", "w", "r", "d"]
    assert sc.sequence.labels[5] == "␣"  # shown as a visible space ...
    assert sc.sequence.inputs[5, sc.vocab.index(" ")] == 1.0  # ... but the token is " "
    assert sc.sequence.target_labels[3] == "o"  # after "hell"


def test_sine_targets_are_next_values_and_windows():
    sc = load("sine")
    d = sc.data
    assert (sc.input_size, sc.output_size, sc.model.output) == (1, 1, "identity")
    values = np.sin(d["frequency"] * np.arange(d["points"]) * d["step"]) * d["amplitude"]
    seq = sc.sequence
    assert len(seq) == d["points"] - 1 and seq.mask.all()
    assert np.allclose(seq.inputs[:, 0], values[:-1]) and np.allclose(seq.targets[:, 0], values[1:])
    assert seq.labels[1] == "+0.100" and seq.target_labels[0] == "+0.100"
    w = d["window"]
    assert len(sc.train_sequences) == (d["points"] - 1) // w
    for k, s in enumerate(sc.train_sequences):
        assert len(s) == w
        assert np.allclose(s.inputs[:, 0], values[k * w:(k + 1) * w])
        assert np.allclose(s.targets[:, 0], values[k * w + 1:(k + 1) * w + 1])


def test_echo_targets_are_inputs_shifted_by_delay():
    sc = load("echo")
    delay = sc.data["delay"]
    assert delay == 2 and sc.model.output == "sigmoid"
    assert len(sc.train_sequences) == sc.data["sequences"]
    assert len(sc.test_sequences) == 100
    for seq in sc.train_sequences[:20] + sc.test_sequences[:20] + [sc.sequence]:
        x, y = seq.inputs[:, 0], seq.targets[:, 0]
        assert set(np.unique(x)) <= {0.0, 1.0}
        assert np.array_equal(y[delay:], x[:-delay])
        assert seq.mask.tolist() == [False] * delay + [True] * (len(seq) - delay)
        assert seq.target_labels[delay] == seq.labels[0]
    train = {tuple(s.inputs[:, 0]) for s in sc.train_sequences}
    test = [tuple(s.inputs[:, 0]) for s in sc.test_sequences]
    assert sum(t in train for t in test) < 5  # held out: fresh draws


def test_long_has_agreement_across_a_gap():
    sc = load("long")
    words = sc.sequence.labels
    assert len(words) >= 10
    assert {"cat", "cats", "run", "runs"} <= set(sc.vocab)
    assert "gradient" in sc.description


# ---------------------------------------------------------------------------------------------
# data: text


def test_text_tokenising_vocab_order_and_prompt_default():
    sc = loads(TEXT, SRC)
    assert sc.vocab == ["the", "cat", "sat", "a", "dog", "ran"]
    assert sc.sequence.labels == ["the", "cat", "sat"]
    assert sc.data["prompt"] == "The cat sat."
    assert S.tokenize("Hello,  World!? ok;: x.y", "word") == ["hello", "world", "ok", "x.y"]
    assert S.tokenize("Hi Yo", "char") == ["h", "i", " ", "y", "o"]
    assert S.tokenize("... !", "word") == []


def test_text_given_vocab_order_and_prompt():
    doc = put(TEXT, "data", 'vocab = ["ran", "dog", "a", "sat", "cat", "the", "extra"]\n'
                            'prompt = "a cat ran"')
    sc = loads(doc, SRC)
    assert sc.vocab[0] == "ran" and sc.output_size == 7
    assert sc.sequence.inputs.argmax(axis=1).tolist() == [2, 4, 0]
    assert sc.sequence.targets[0].argmax() == 4


def test_text_sigmoid_output_allowed_and_one_token_prompt():
    sc = loads(put(put(TEXT, "model", 'output = "sigmoid"'), "data", 'prompt = "dog"'), SRC)
    assert sc.model.output == "sigmoid"
    assert len(sc.sequence) == 1 and not sc.sequence.mask.any()


def test_text_token_vectors_mapping_is_one_hot_by_vocab():
    sc = loads(TEXT, SRC)
    assert list(sc.token_vectors) == sc.vocab and len(sc.token_vectors) == 6
    assert sc.token_vectors["dog"].tolist() == [0, 0, 0, 0, 1, 0]


def test_char_unit_keeps_spaces_and_lowercases():
    sc = loads(put(TEXT, "data", 'unit = "char"'), SRC)
    assert sc.vocab[:4] == ["t", "h", "e", " "]
    assert "T" not in sc.vocab and "." in sc.vocab


# ---------------------------------------------------------------------------------------------
# data: series and echo


@pytest.mark.parametrize("function,expect", [
    ("sin", lambda t: np.sin(t)),
    ("cos", lambda t: np.cos(t)),
    ("sawtooth", lambda t: 2 * (t / (2 * np.pi) - np.floor(t / (2 * np.pi) + 0.5))),
    ("square", lambda t: np.where(np.mod(t, 2 * np.pi) < np.pi, 1.0, -1.0)),
])
def test_series_functions(function, expect):
    doc = put(SERIES, "data", f'function = "{function}"\namplitude = 2.0\nfrequency = 3.0\n'
                              f'step = 0.05')
    sc = loads(doc, SRC)
    values = sc.data["values"]
    theta = 3.0 * np.arange(50) * 0.05
    assert np.allclose(values, 2.0 * expect(theta))
    assert np.abs(values).max() <= 2.0 + 1e-12


def test_series_noise_is_seeded():
    a = loads(put(SERIES, "data", "noise = 0.5\nseed = 3"), SRC).data["values"]
    b = loads(put(SERIES, "data", "noise = 0.5\nseed = 3"), SRC).data["values"]
    c = loads(put(SERIES, "data", "noise = 0.5\nseed = 4"), SRC).data["values"]
    clean = np.sin(np.arange(50) * 0.1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 0.2 < np.std(a - clean) < 0.9


def test_series_default_window_needs_enough_points():
    check(SERIES.replace("points = 50\nwindow = 10\n", "points = 10\n"), "[data].points",
          "at least 21 with the default window = 20", "points = 10")


def test_echo_given_bits_and_determinism():
    sc = loads(put(ECHO, "data", "bits = [1, 0, 0, 1, 1]\ndelay = 3"), SRC)
    assert sc.sequence.inputs[:, 0].tolist() == [1, 0, 0, 1, 1]
    assert sc.sequence.targets[:, 0].tolist() == [0, 0, 0, 1, 0]
    assert sc.sequence.mask.tolist() == [False, False, False, True, True]
    a, b = loads(ECHO, SRC), loads(ECHO, SRC)
    assert np.array_equal(a.train_sequences[0].inputs, b.train_sequences[0].inputs)
    c = loads(put(ECHO, "data", "seed = 9"), SRC)
    assert not all(np.array_equal(x.inputs, y.inputs)
                   for x, y in zip(a.train_sequences, c.train_sequences))


# ---------------------------------------------------------------------------------------------
# settings


def test_defaults():
    sc = loads('[scenario]\nname = "d"\nkind = "echo"\n', SRC)
    m, t = sc.model, sc.train
    assert (m.hidden_size, m.activation, m.output, m.init, m.seed) == (16, "tanh", "sigmoid",
                                                                      "xavier", 0)
    assert m.init_scale == {k: None for k in MATRICES} and m.weights is None
    assert (t.epochs, t.learning_rate, t.optimizer, t.clip, t.batch_size) == (0, 0.1, "sgd",
                                                                              5.0, 1)
    assert sc.retention_steps == 15 and sc.description == ""
    assert sc.data["delay"] == 2 and sc.data["length"] == 20 and sc.data["sequences"] == 200
    s = loads('[scenario]\nname = "d"\nkind = "series"\n', SRC)
    assert s.model.output == "identity" and s.data["points"] == 200 and s.data["window"] == 20
    assert loads(TEXT, SRC).model.output == "softmax"


def test_settings_are_read():
    doc = put(put(TEXT, "model", 'activation = "relu"\ninit = "normal"\ninit_scale = 0.2\n'
                                 'seed = 7'),
              "train", 'learning_rate = 0.5\noptimizer = "adam"\nclip = 0\nbatch_size = 4')
    sc = loads(doc.replace("epochs = 0", "epochs = 12"), SRC)
    assert sc.model.activation == "relu" and sc.model.init == "normal" and sc.model.seed == 7
    assert sc.model.init_scale == {k: 0.2 for k in MATRICES}
    assert sc.train.epochs == 12 and sc.train.learning_rate == 0.5
    assert sc.train.optimizer == "adam" and sc.train.clip is None and sc.train.batch_size == 4


def test_integer_accepted_where_a_float_is_expected():
    sc = loads(put(TEXT, "train", "learning_rate = 1"), SRC)
    assert sc.train.learning_rate == 1.0 and isinstance(sc.train.learning_rate, float)


def test_model_weights_are_float_arrays_of_the_right_shape():
    doc = put(TEXT, "model", "").replace("hidden_size = 4", "hidden_size = 2")
    doc += ("\n[model.weights]\nW_h = [[1, 0], [0.5, 2]]\nb = [0, 1]\n"
            "W_x = [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]]\n"
            "W_y = [[1, 0], [0, 1], [1, 1], [0, 0], [2, 2], [3, 3]]\nb_y = [0, 0, 0, 0, 0, 1]\n")
    sc = loads(doc, SRC)
    w = sc.model.weights
    assert w["W_h"].dtype == np.float64 and w["W_h"].tolist() == [[1, 0], [0.5, 2]]
    assert w["W_x"].shape == (2, 6) and w["W_y"].shape == (6, 2)
    assert w["b"].shape == (2,) and w["b_y"].shape == (6,)


def test_bom_and_crlf_are_fine():
    data = b"\xef\xbb\xbf" + TEXT.replace("\n", "\r\n").encode()
    assert S._load_bytes(data, SRC).vocab[0] == "the"
    assert loads("\ufeff" + TEXT, SRC).name == "t"


# ---------------------------------------------------------------------------------------------
# every validation rule: file, line and key in one message


def test_message_format_exactly():
    doc = TEXT.replace("hidden_size = 4", "hidden_size = 0")
    assert str(error(doc, "scenarios/bad.toml")) == (
        "scenarios/bad.toml:6: [model].hidden_size: must be an integer from 1 to 1024, got 0")


MODEL_CASES = [
    ("hidden_size = 2000", "[model].hidden_size", "from 1 to 1024, got 2000"),
    ("hidden_size = 16.0", "[model].hidden_size", "write 16 without the decimal point"),
    ("hidden_size = true", "[model].hidden_size", "got true (a boolean)"),
    ('hidden_size = "16"', "[model].hidden_size", '"16" (a string)'),
    ("hidden_size = -3", "[model].hidden_size", "got -3"),
    ("hidden_size = 99999999999999999999999999999999999", "[model].hidden_size", "digits"),
    ('activation = "Tanh"', "[model].activation", "did you mean 'tanh'?"),
    ("activation = 3", "[model].activation", 'must be one of "tanh", "sigmoid", "relu"'),
    ('output = "softmaxx"', "[model].output", "did you mean 'softmax'?"),
    ('init = "uniform"', "[model].init", '"xavier", "normal", "zeros", "sine"'),
    ("init_scale = -1", "[model].init_scale", "from 0 to 100, got -1"),
    ('init_scale = "big"', "[model].init_scale", "or a table such as"),
    ("init_scale = [1, 2]", "[model].init_scale", "a list of 2 items"),
    ("init_scale = {Wh = 1.0}", "[model].init_scale.Wh", "did you mean 'W_h'? (known matrices: W_x, W_h, b, W_y, b_y)"),
    ("init_scale = {W_h = nan}", "[model].init_scale.W_h",
     "must be a finite number from 0 to 100, got nan"),
    ("init_scale = {W_h = true}", "[model].init_scale.W_h", "(a boolean)"),
    ("seed = -1", "[model].seed", "must be an integer of at least 0, got -1"),
    ("seed = 1.5", "[model].seed", "got 1.5"),
    ("hidden_sise = 8", "[model].hidden_sise", "did you mean 'hidden_size'?"),
    ("weights = 3", "[model.weights]", "must be a table"),
]


@pytest.mark.parametrize("line,key,fragment", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_model_rules(line, key, fragment):
    doc = put(TEXT.replace("hidden_size = 4\n", ""), "model", line)
    check(doc, key, fragment, line)


TRAIN_CASES = [
    ("epochs = -1", "[train].epochs", "from 0 to 100000, got -1"),
    ("epochs = 100001", "[train].epochs", "from 0 to 100000"),
    ("epochs = 1e3", "[train].epochs", "write 1000 without the decimal point"),
    ("learning_rate = 0", "[train].learning_rate", "greater than 0"),
    ("learning_rate = -0.1", "[train].learning_rate", "got -0.1"),
    ("learning_rate = nan", "[train].learning_rate", "a finite number greater than 0 and at most 10, got nan"),
    ("learning_rate = inf", "[train].learning_rate", "got inf"),
    ("learning_rate = -inf", "[train].learning_rate", "got -inf"),
    ("learning_rate = 11", "[train].learning_rate", "at most 10"),
    ('learning_rate = "fast"', "[train].learning_rate", "(a string)"),
    ('optimizer = "adamw"', "[train].optimizer", "did you mean 'adam'?"),
    ("clip = -1", "[train].clip", "from 0 to 1000000, got -1"),
    ("clip = nan", "[train].clip", "finite"),
    ("batch_size = 0", "[train].batch_size", "from 1 to 10000"),
    ("batch_size = false", "[train].batch_size", "(a boolean)"),
    ("epoks = 3", "[train].epoks", "did you mean 'epochs'?"),
]


@pytest.mark.parametrize("line,key,fragment", TRAIN_CASES, ids=[c[0] for c in TRAIN_CASES])
def test_train_rules(line, key, fragment):
    check(put(TEXT.replace("epochs = 0\n", ""), "train", line), key, fragment, line)


@pytest.mark.parametrize("line,fragment", [
    ("retention_steps = 0", "from 1 to 1000, got 0"),
    ("retention_steps = 1001", "from 1 to 1000, got 1001"),
    ('retention_steps = "x"', "(a string)"),
])
def test_analysis_rules(line, fragment):
    doc = put(TEXT.replace("retention_steps = 5\n", ""), "analysis", line)
    check(doc, "[analysis].retention_steps", fragment, line)


@pytest.mark.parametrize("section,line,owner", [
    ("model", "epochs = 3", "train"), ("train", "hidden_size = 3", "model"),
    ("scenario", "retention_steps = 3", "analysis"), ("data", "learning_rate = 1", "train"),
    ("analysis", "delay = 2", "data"), ("model", "text = []", "data"),
])
def test_key_in_the_wrong_section_says_where_it_belongs(section, line, owner):
    key = line.split()[0]
    check(put(TEXT, section, line), f"[{section}].{key}",
          f"not a key here; '{key}' belongs under [{owner}]", line)


def test_analysis_unknown_key():
    check(put(TEXT, "analysis", "retension_steps = 4"), "[analysis].retension_steps",
          "did you mean 'retention_steps'?", "retension_steps")


SCENARIO_CASES = [
    ('name = ""', "[scenario].name", "must not be empty", 'name = ""'),
    ("name = 3", "[scenario].name", "must be a string, got 3", "name = 3"),
    ('name = "' + "x" * 81 + '"', "[scenario].name", "at most 80 characters", "name ="),
    ('name = "a\\tb"', "[scenario].name", "one line of printable text", "name ="),
    ('kind = "txt"', "[scenario].kind", "did you mean 'text'?", "kind ="),
    ("kind = 1", "[scenario].kind", '"text", "series", "echo"', "kind ="),
    ("description = 5", "[scenario].description", "must be a string", "description"),
    ('nmae = "x"', "[scenario].nmae", "did you mean 'name'?", "nmae"),
]


@pytest.mark.parametrize("line,key,fragment,where", SCENARIO_CASES,
                         ids=[c[0][:20] for c in SCENARIO_CASES])
def test_scenario_rules(line, key, fragment, where):
    field = line.split("=")[0].strip()
    base = TEXT
    if field in ("name", "kind"):
        base = re.sub(rf"^{field} = .*\n", "", base, flags=re.M)
    check(put(base, "scenario", line), key, fragment, where)


def test_missing_required_keys_point_at_their_section():
    check(TEXT.replace('name = "t"\n', ""), "[scenario].name", "missing (this key is required)",
          "[scenario]")
    check(TEXT.replace('kind = "text"\n', ""), "[scenario].kind", "missing", "[scenario]")
    err = error(TEXT.replace("[scenario]", "[info]"))
    assert "unknown section [info]" in str(err) and err.line == 1
    no_head = TEXT.split("[model]")[1]
    check("[model]" + no_head, "[scenario]", "this section is missing")


def test_unknown_section_did_you_mean():
    doc = TEXT.replace("[model]", "[modle]")
    err = error(doc)
    assert str(err).startswith(f"{SRC}:5: unknown section [modle]; did you mean 'model'?")


def test_section_that_is_not_a_table():
    check('model = 3\n' + TEXT.replace("[model]\nhidden_size = 4\n", ""), "[model]",
          "must be a table", "model = 3")


def test_key_before_any_section():
    err = error('hidden_size = 3\n' + TEXT.replace("hidden_size = 4\n", ""))
    assert str(err) == (f"{SRC}:1: 'hidden_size' is written before any [section] header; "
                        f"it belongs under [model]")


def test_dotted_keys_get_their_line():
    doc = TEXT.replace("[model]\nhidden_size = 4\n", "model.hidden_size = 0\n")
    doc = doc.replace("[scenario]", "model.hidden_size = 0\n[scenario]").replace(
        "\nmodel.hidden_size = 0\n\n[train]", "\n\n[train]")
    check(doc, "[model].hidden_size", "got 0", "model.hidden_size")


def test_weights_rules():
    base = TEXT.replace("hidden_size = 4", "hidden_size = 2") + "\n[model.weights]\n"
    check(base + "W_h = [[1, 2, 3], [3, 4, 5]]\n", "[model.weights].W_h[0]",
          "row 0 must be a list of 2 numbers (hidden_size x hidden_size)", "W_h")
    check(base + "W_h = [[1, 2]]\n", "[model.weights].W_h",
          "must be 2 rows of 2 numbers (hidden_size x hidden_size), got a list of 1 item", "W_h")
    check(base + "W_x = [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]]\n", "[model.weights].W_x[0]",
          "6 numbers (hidden_size x input size)", "W_x")
    check(base + "W_y = [[1, 0]]\n", "[model.weights].W_y", "6 rows of 2 numbers", "W_y")
    check(base + "b = [1, 2, 3]\n", "[model.weights].b", "list of 2 numbers", "b =")
    check(base + "b_y = 1\n", "[model.weights].b_y", "list of 6 numbers", "b_y")
    check(base + 'W_h = [[1, "2"], [3, 4]]\n', "[model.weights].W_h[0][1]", "(a string)",
          "W_h")
    check(base + "W_h = [[1, 2], [3, inf]]\n", "[model.weights].W_h[1][1]", "got inf", "W_h")
    check(base + "W_h = [[1, 2], [3, 1e9]]\n", "[model.weights].W_h[1][1]",
          "from -1000000 to 1000000, got 1000000000.0",
          "W_h")
    check(base + "Wx = [[1]]\n", "[model.weights].Wx", "did you mean 'W_x'?", "Wx")


def test_weights_multiline_row_points_at_its_line():
    base = TEXT.replace("hidden_size = 4", "hidden_size = 2") + "\n[model.weights]\n"
    doc = base + "W_h = [\n  [1, 2],\n  [3, true],\n]\n"
    check(doc, "[model.weights].W_h[1][1]", "(a boolean)", "[3, true]")


TEXT_CASES = [
    ('text = "the cat"', "[data].text", "must be a list of sentences", "text ="),
    ("text = []", "[data].text", "at least one sentence", "text ="),
    ('text = ["the cat", 3]', "[data].text[1]", "must be a string (one sentence), got 3",
     "text ="),
    ('text = ["the cat", "... !"]', "[data].text[1]", "has no words once punctuation", "text ="),
    ('text = ["the cat", ""]', "[data].text[1]", "has no words", "text ="),
    ('text = ["hello"]', "[data].text[0]", "only one word ('hello')", "text ="),
    ('text = ["a a"]', "[data].text", "only one word; predicting", "text ="),
    ('text = ["the cat"]\nunit = "letter"', "[data].unit", 'must be one of "word", "char"',
     "unit ="),
    ('text = ["the cat"]\nvocab = ["the", "cat", "the"]', "[data].vocab[2]", "listed twice",
     "vocab ="),
    ('text = ["the cat sat"]\nvocab = ["the", "cat"]', "[data].text[0]",
     "word 'sat' is not in [data].vocab", "text ="),
    ('text = ["the cat"]\nvocab = ["The", "cat"]', "[data].vocab[0]", "one lowercase word",
     "vocab ="),
    ('text = ["the cat"]\nvocab = "the cat"', "[data].vocab", "must be a list of words",
     "vocab ="),
    ('text = ["the cat"]\nvocab = []', "[data].vocab", "must not be empty", "vocab ="),
    ('text = ["the cat"]\nvocab = ["the", 1]', "[data].vocab[1]", "must be a string", "vocab ="),
    ('text = ["ab"]\nunit = "char"\nvocab = ["a", "bc"]', "[data].vocab[1]",
     "single lowercase character", "vocab ="),
    ('text = ["the cat"]\nprompt = "the cta"', "[data].prompt",
     "word 'cta' is not in any sentence of [data].text; did you mean 'cat'?", "prompt ="),
    ('text = ["the cat"]\nprompt = "?!"', "[data].prompt", "has no words", "prompt ="),
    ('text = ["the cat"]\nprompt = 5', "[data].prompt", "must be a string", "prompt ="),
    ('text = ["the cat"]\nvectors = 3', "[data.vectors]", "must be a table", "vectors ="),
    ('text = ["the cat"]\ndelay = 3', "[data].delay", 'is a key for kind = "echo"', "delay"),
    ('text = ["the cat"]\npoints = 3', "[data].points", 'is a key for kind = "series"',
     "points"),
    ('text = ["the cat"]\ntexts = 3', "[data].texts", "did you mean 'text'?", "texts"),
]


@pytest.mark.parametrize("lines,key,fragment,where", TEXT_CASES,
                         ids=[c[0][:30] for c in TEXT_CASES])
def test_text_rules(lines, key, fragment, where):
    doc = TEXT.replace('text = ["The cat sat.", "a dog ran!"]\n', lines + "\n")
    check(doc, key, fragment, where)


def test_text_missing_data_and_text():
    check(TEXT.split("[data]")[0], "[data]", "this section is missing")
    check(TEXT.replace('text = ["The cat sat.", "a dog ran!"]\n', 'unit = "word"\n'),
          "[data].text", "missing", "[data]")


VEC = 'text = ["the cat", "cat the"]\n\n[data.vectors]\n'
VECTOR_CASES = [
    ("the = [1, 0]\ncat = [0, 1, 1]", "[data.vectors].cat", "has 3 numbers but the vector for "
     "'the' has 2", "cat ="),
    ("the = [1, 0]", "[data.vectors]", "no vector for 'cat'", "[data.vectors]"),
    ("the = [1, 0]\ncat = [0, 1]\ncta = [1, 1]", "[data.vectors].cta",
     "did you mean 'cat'?", "cta ="),
    ("the = [1, 0]\ncat = [0, nan]", "[data.vectors].cat[1]", "got nan", "cat ="),
    ("the = [1, 0]\ncat = []", "[data.vectors].cat", "must be a list of numbers, got an empty list",
     "cat ="),
    ("the = [1, 0]\ncat = 1", "[data.vectors].cat", "must be a list of numbers", "cat ="),
    ("the = [1, 0]\ncat = [true, 0]", "[data.vectors].cat[0]", "(a boolean)", "cat ="),
]


@pytest.mark.parametrize("lines,key,fragment,where", VECTOR_CASES,
                         ids=[c[0][:30] for c in VECTOR_CASES])
def test_vector_rules(lines, key, fragment, where):
    doc = TEXT.replace('text = ["The cat sat.", "a dog ran!"]\n', VEC + lines + "\n")
    check(doc, key, fragment, where)


def test_vectors_give_inputs():
    doc = TEXT.replace('text = ["The cat sat.", "a dog ran!"]\n',
                       VEC + "the = [1, 0.5]\ncat = [0, -1]\n")
    sc = loads(doc, SRC)
    assert sc.input_size == 2 and sc.output_size == 2
    assert sc.sequence.inputs.tolist() == [[1, 0.5], [0, -1]]


SERIES_CASES = [
    ("points = 2", "[data].points", "from 3 to 200000, got 2"),
    ("points = 200001", "[data].points", "from 3 to 200000"),
    ("step = 0", "[data].step", "greater than 0"),
    ("step = -1", "[data].step", "got -1"),
    ("frequency = 0", "[data].frequency", "greater than 0"),
    ("noise = -1", "[data].noise", "from 0 to 1000000, got -1"),
    ("noise = inf", "[data].noise", "finite"),
    ("amplitude = nan", "[data].amplitude", "finite"),
    ("amplitude = 1e300", "[data].amplitude", "from -1000000 to 1000000, got 1e+300"),
    ("window = 1", "[data].window", "from 2 to 200000, got 1"),
    ("window = 50", "[data].window", "must be less than points (50)"),
    ('function = "tan"', "[data].function", "did you mean 'tanh'?"),
    ('function = "sine"', "[data].function", "did you mean 'sin'?"),
    ("seed = -3", "[data].seed", "at least 0"),
    ('text = ["a b"]', "[data].text", 'is a key for kind = "text"'),
]


@pytest.mark.parametrize("line,key,fragment", SERIES_CASES, ids=[c[0] for c in SERIES_CASES])
def test_series_rules(line, key, fragment):
    if key == "[data].function" and "tanh" in fragment:
        fragment = 'must be one of "sin", "cos", "sawtooth", "square"'
    name = line.split("=")[0].strip()
    base = re.sub(rf"^{name} = .*\n", "", SERIES, flags=re.M)
    check(put(base, "data", line), key, fragment, line)


def test_series_softmax_is_impossible():
    check(put(SERIES, "model", 'output = "softmax"'), "[model].output",
          '"softmax" needs at least 2 outputs and a series scenario has 1', 'output =')


ECHO_CASES = [
    ("delay = 0", "[data].delay", "at least" if False else "from 1 to 10000, got 0"),
    ("length = 1", "[data].length", "from 2 to 10000, got 1"),
    ("length = 10001", "[data].length", "from 2 to 10000"),
    ("sequences = 0", "[data].sequences", "from 1 to 10000, got 0"),
    ("delay = 10", "[data].delay", "delay (10) must be less than length (10)"),
    ("delay = 2.5", "[data].delay", "got 2.5"),
    ("bits = [0, 2, 1]", "[data].bits[1]", "must be 0 or 1, got 2"),
    ("bits = [true, false]", "[data].bits[0]", "must be 0 or 1, got true (a boolean)"),
    ("bits = [1.0, 0]", "[data].bits[0]", "must be 0 or 1, got 1.0"),
    ("bits = [1]", "[data].bits", "from 2 to 10000 bits, got 1"),
    ('bits = "0101"', "[data].bits", "must be a list of 0s and 1s"),
    ("bits = [0, 1, 1]\ndelay = 3", "[data].delay", "must be less than the number of bits (3)"),
    ("dealy = 3", "[data].dealy", "did you mean 'delay'?"),
]


@pytest.mark.parametrize("line,key,fragment", ECHO_CASES, ids=[c[0] for c in ECHO_CASES])
def test_echo_rules(line, key, fragment):
    name = line.split("=")[0].strip()
    base = re.sub(rf"^{name} = .*\n", "", ECHO, flags=re.M)
    where = "delay = 3" if "delay = 3" in line else line.splitlines()[0]
    check(put(base, "data", line), key, fragment, where)


def test_echo_default_delay_blames_length():
    check(ECHO.replace("length = 10", "length = 2"), "[data].length",
          "delay (2) must be less than length (2)", "length = 2")


def test_echo_too_many_bits_fails_before_allocating():
    doc = ECHO.replace("length = 10\nsequences = 5", "length = 10000\nsequences = 10000")
    t0 = time.perf_counter()
    check(doc, "[data].sequences", "10000 * 10000 is over 2000000 bits", "sequences =")
    assert time.perf_counter() - t0 < 0.5


def test_text_over_vocab_limit_fails():
    words = " ".join(f"w{i}" for i in range(LIMITS["vocab"] + 1))
    doc = TEXT.replace('["The cat sat.", "a dog ran!"]', f'["{words}"]')
    check(doc, "[data].text", "5001 different words; the most is 5000", "text =")


def test_text_over_data_cells_fails_before_allocating():
    # 2000 distinct words, repeated: within the vocab limit but one-hot data would be huge
    words = " ".join(f"w{i}" for i in range(2000))
    doc = TEXT.replace('["The cat sat.", "a dog ran!"]', "[" + f'"{words}", ' * 5 + "]")
    t0 = time.perf_counter()
    check(doc, "[data].text", "too much data", "text =")
    assert time.perf_counter() - t0 < 1.0


def test_sentence_count_limit():
    doc = TEXT.replace('["The cat sat.", "a dog ran!"]', "[" + '"a b", ' * 10_001 + "]")
    check(doc, "[data].text", "at most 10000 sentences, got 10001", "text =")


def test_limits_documented_values():
    assert LIMITS["hidden_size"] == 1024 and LIMITS["vocab"] == 5000
    assert LIMITS["sequence_length"] == LIMITS["points"] == 200_000
    assert LIMITS["epochs"] == 100_000 and LIMITS["sentences"] == 10_000
    assert LIMITS["echo_sequences"] == LIMITS["echo_length"] == 10_000
    assert LIMITS["retention_steps"] == 1000 and LIMITS["file_bytes"] == 2 * 1024 * 1024
    docs = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    for key in LIMITS:
        assert f"`{key}`" in docs, key


def test_every_key_is_documented():
    docs = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    for section, keys in S.SECTIONS.items():
        assert f"[{section}]" in docs
        for key in keys:
            assert f"`{key}`" in docs, (section, key)


# ---------------------------------------------------------------------------------------------
# files, encodings and syntax


def test_toml_syntax_error_names_the_line():
    doc = TEXT.replace("hidden_size = 4", "hidden_size = = 4")
    err = error(doc, "scenarios/bad.toml")
    assert str(err).startswith("scenarios/bad.toml:6: TOML syntax error: ")
    assert "(column" in str(err) and "at line" not in str(err)


def test_toml_syntax_error_unclosed_array():
    err = error(TEXT.replace('"a dog ran!"]', '"a dog ran!"'))
    assert str(err).startswith(f"{SRC}:") and "TOML syntax error" in str(err)
    assert err.line is not None


def test_duplicate_key_is_a_syntax_error():
    err = error(put(TEXT, "model", "hidden_size = 5"))
    assert str(err).startswith(f"{SRC}:7: TOML syntax error")


def test_non_utf8_bytes():
    data = TEXT.replace("The cat", "Th\xe9 cat").encode("latin-1")
    with pytest.raises(ScenarioError) as info:
        S._load_bytes(data, SRC)
    assert str(info.value).startswith(f"{SRC}:15: the file is not UTF-8 text (byte 0xe9")


def test_utf16_file():
    with pytest.raises(ScenarioError, match=r"^t\.toml: the file is UTF-16 text; save it as"):
        S._load_bytes(TEXT.encode("utf-16"), SRC)


def test_utf16_without_bom_and_binary_files():
    for data in (TEXT.encode("utf-16-le"), TEXT.encode("utf-16-be")):
        with pytest.raises(ScenarioError, match=r"^t\.toml:1: the file contains a zero byte"):
            S._load_bytes(data, SRC)
    with pytest.raises(ScenarioError, match=r"^t\.toml:16: the file contains a zero byte"):
        S._load_bytes(TEXT.encode() + b"\x00\x01", SRC)


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_empty_file(data, tmp_path):
    path = tmp_path / "empty.toml"
    path.write_bytes(data)
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: the file is empty")


def test_comment_only_file_says_what_is_missing():
    check("# nothing here\n", "[scenario]", "this section is missing")


def test_directory(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a directory, not a scenario file (give a .toml file)"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load(str(path))
    assert str(info.value).startswith(f"{path}: no such file (built-in scenarios: king, ")


def test_unknown_name_lists_builtins():
    with pytest.raises(ScenarioError) as info:
        load("kign")
    text = str(info.value)
    assert "'kign'" in text and "did you mean 'king'?" in text
    for name in S.builtin_names():
        assert name in text


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text(TEXT)
    path.chmod(0)
    try:
        with pytest.raises(ScenarioError, match="permission denied"):
            load(path)
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize("exc,fragment", [
    (PermissionError(13, "Permission denied"), "cannot read this file: permission denied"),
    (OSError(5, "Input/output error"), "cannot read this file: Input/output error"),
])
def test_read_failures_become_scenario_errors(tmp_path, monkeypatch, exc, fragment):
    path = tmp_path / "x.toml"
    path.write_text(TEXT)

    def failing_open(*args, **kwargs):
        raise exc

    # the file is read by engine.files.read_regular, which opens it with os.open
    with monkeypatch.context() as m, pytest.raises(ScenarioError) as info:
        m.setattr(os, "open", failing_open)
        load(path)
    assert str(info.value) == f"{path}: {fragment}"


def test_not_a_regular_file():
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    with pytest.raises(ScenarioError, match=r"^/dev/null: is not a regular file"):
        load("/dev/null")


def test_oversize_file(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(TEXT.encode() + b"#" * LIMITS["file_bytes"])
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: the file is {path.stat().st_size} bytes; a "
                                      f"scenario file may be at most 2097152 bytes (2 MiB)")
    with pytest.raises(ScenarioError, match="at most 2097152 bytes"):
        S._load_bytes(b"#" * (LIMITS["file_bytes"] + 1), SRC)


def test_file_and_string_load_the_same(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(TEXT, encoding="utf-8")
    a, b = load(path), loads(TEXT, str(path))
    assert a.source == str(path) == b.source
    assert a.vocab == b.vocab and np.array_equal(a.sequence.inputs, b.sequence.inputs)
    assert load(str(path)).name == "t"


def test_a_path_without_suffix_is_still_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("myscenario").write_text(TEXT)
    assert load("myscenario").name == "t"


def test_builtins_found_through_package_resources(tmp_path, monkeypatch):
    (tmp_path / "only.toml").write_text(TEXT)
    real = importlib.resources.files

    def fake(package):
        return tmp_path if package == "engine.scenarios" else real(package)

    monkeypatch.setattr(importlib.resources, "files", fake)
    assert S.builtin_names() == ["only"]
    assert load("only").name == "t"


def test_builtins_fall_back_to_source_tree(monkeypatch):
    def broken(package):
        raise ModuleNotFoundError(package)

    monkeypatch.setattr(importlib.resources, "files", broken)
    assert "king" in S.builtin_names()
    assert load("king").name == "king"


# ---------------------------------------------------------------------------------------------
# encode_text


def test_encode_text_known_words():
    sc = load("king")
    seq = encode_text(sc, "The king, sits on!")
    assert seq.labels == ["the", "king", "sits", "on"]
    assert seq.target_labels == ["king", "sits", "on", None]
    assert np.array_equal(seq.inputs, sc.sequence.inputs[:4])
    assert np.array_equal(seq.targets[:3], sc.sequence.targets[:3])
    assert seq.mask.tolist() == [True, True, True, False] and not seq.targets[3].any()


def test_encode_text_unknown_word():
    with pytest.raises(ScenarioError) as info:
        encode_text(load("king"), "the kinq sits")
    text = str(info.value)
    assert text.startswith("unknown word 'kinq'; known words: the, king, sits, on, throne")
    assert text.endswith("; did you mean 'king'?")


def test_encode_text_unknown_lists_at_most_20():
    words = " ".join(f"w{i}" for i in range(30))
    sc = loads(TEXT.replace('["The cat sat.", "a dog ran!"]', f'["{words}"]'), SRC)
    with pytest.raises(ScenarioError) as info:
        encode_text(sc, "zzz")
    text = str(info.value)
    assert "w19" in text and "w20," not in text and "(30 in all)" in text


@pytest.mark.parametrize("typed", ["", "   ", "?!."])
def test_encode_text_empty(typed):
    with pytest.raises(ScenarioError, match="type at least one word"):
        encode_text(load("king"), typed)


def test_encode_text_chars_and_vectors():
    seq = encode_text(load("hello"), "Hel lo")
    assert seq.labels == ["h", "e", "l", "␣", "l", "o"]
    with pytest.raises(ScenarioError, match=r"^unknown character 'z'"):
        encode_text(load("hello"), "hez")
    cat = load("cat")
    seq = encode_text(cat, "the mat")
    assert seq.inputs.tolist() == [[1, 0, 0, 0], [0, 0, 1, 1]]
    assert seq.targets[0].tolist() == [0, 0, 0, 0, 1]


def test_encode_text_length_limit_keeps_memory_bounded():
    words = " ".join(f"w{i}" for i in range(1000))
    sc = loads(TEXT.replace('["The cat sat.", "a dog ran!"]', f'["{words}"]'), SRC)
    most = LIMITS["data_cells"] // (sc.input_size + sc.output_size)
    assert most < LIMITS["sequence_length"]
    encode_text(sc, "w1 " * most)
    with pytest.raises(ScenarioError, match=f"the most this scenario takes at once is {most}"):
        encode_text(sc, "the " * (most + 1))


def test_load_empty_name():
    with pytest.raises(ScenarioError, match=r"^no scenario given \(built-ins: king, "):
        load("")


def test_encode_text_rejects_other_kinds():
    with pytest.raises(ScenarioError, match="only text and tagging scenarios take typed text"):
        encode_text(load("sine"), "1 2 3")


# ---------------------------------------------------------------------------------------------
# the engine stays free of UI libraries

UI_MODULES = ("textual", "rich", "plotext")


def test_engine_imports_no_ui_module_at_runtime():
    modules = sorted(p.stem for p in (ROOT / "engine").glob("*.py") if p.stem != "__init__")
    assert "scenario" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module('engine.' + m)\n"
        "import engine\n"
        "engine.load('king')\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {UI_MODULES!r})\n"
        "print('UI:', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "UI: []" in out.stdout, out.stdout


def test_engine_source_has_no_ui_imports():
    pattern = re.compile(r"^\s*(?:from|import)\s+(?:textual|rich|plotext)\b|"
                         r"import_module\(\s*['\"](?:textual|rich|plotext)", re.M)
    files = sorted((ROOT / "engine").glob("*.py"))
    assert len(files) >= 5
    for path in files:
        hits = pattern.findall(path.read_text(encoding="utf-8"))
        assert not hits, f"{path.name} imports a UI module: {hits}"


def test_scenario_files_are_never_executed(tmp_path):
    # A file full of Python is just a TOML syntax error: nothing runs.
    marker = tmp_path / "ran"
    doc = f"import os\nos.mknod({str(marker)!r})\n"
    err = error(doc)
    assert "TOML syntax error" in str(err) and not marker.exists()


# ---------------------------------------------------------------------------------------------
# the line scanner behind FILE:LINE


def test_key_lines_are_not_fooled_by_strings_and_comments():
    from engine._toml_lines import key_lines, line_of

    doc = (
        '# hidden_size = 1 in a comment\n'                  # 1
        '[scenario]  # [model]\n'                           # 2
        'name = "a = b # c"\n'                              # 3
        'description = """\n'                               # 4
        'hidden_size = 3\n'                                 # 5
        '[model]\n'                                         # 6
        'still \\""" text """"\n'                           # 7
        "kind = '''x\n"                                     # 8
        "epochs = 1'''\n"                                   # 9
        '[model]\n'                                         # 10
        'init_scale = { W_h = 0.3, "W_x" = 0.5 }\n'         # 11
        '"quoted key" = 1\n'                                # 12
        'a.b = 2\n'                                         # 13
        '[data]\n'                                          # 14
        'text = [ # the list\n'                             # 15
        '  "one, ] two",\n'                                 # 16
        "  'three',\n"                                      # 17
        ']\n'                                               # 18
        '[data.vectors]\n'                                  # 19
        '" " = [1,\n'                                       # 20
        '  2]\n'                                            # 21
    )
    import tomllib
    tomllib.loads(doc)  # the scanner only ever sees valid TOML
    lines = key_lines(doc)
    assert lines[("scenario",)] == 2 and lines[("scenario", "name")] == 3
    assert lines[("scenario", "description")] == 4 and lines[("scenario", "kind")] == 8
    assert ("scenario", "hidden_size") not in lines and ("scenario", "epochs") not in lines
    assert lines[("model",)] == 10
    assert lines[("model", "init_scale", "W_h")] == 11
    assert lines[("model", "init_scale", "W_x")] == 11
    assert lines[("model", "quoted key")] == 12 and lines[("model", "a", "b")] == 13
    assert lines[("data", "text")] == 15
    assert lines[("data", "text", 0)] == 16 and lines[("data", "text", 1)] == 17
    assert lines[("data", "vectors", " ")] == 20 and lines[("data", "vectors", " ", 1)] == 21
    assert line_of(lines, ("data", "text", 7)) == 15  # falls back to the enclosing key
    assert line_of(lines, ("nowhere",)) is None


def test_key_lines_on_a_big_file_is_quick():
    from engine._toml_lines import key_lines

    doc = '[scenario]\ndescription = """\n' + "ab = cd [e]\n" * 150_000 + '"""\nname = "x"\n'
    t0 = time.perf_counter()
    lines = key_lines(doc)
    assert time.perf_counter() - t0 < 0.5
    assert lines[("scenario", "name")] == 150_004 and ("scenario", "ab") not in lines


# -- big files of numbers: the fast path gives tomllib's answer, exactly ----------------------

_BIG = "[" + ", ".join(["1.5", "-2", "+3", "1e5", "0", "-0.0", "7E-3", "123456789012"] * 400) + "]"


@pytest.mark.parametrize("text", [
    f"a = {_BIG}\n", f'a = """x = {_BIG}"""\n', f"# a = {_BIG}\nb = 1\n",
    f"a = {{x = {_BIG}}}\n", f'a = [{_BIG}, "s"]\n', f"a = {_BIG[:-1]}, 00]\n",
    f"a = [{_BIG},\n {_BIG},]\n", f"a = {_BIG} # c\nb = 2\n", f"a = '{_BIG}'\n",
    f'"a = {_BIG}" = 1\n', f"a = {_BIG}\na = 1\n", f"a = {_BIG[:-1]}, inf, nan]\n",
    f"a = {_BIG[:-1]}, 1_000]\n", f"[t]\nx = [\n{_BIG}\n]\n[t]\n",
])
def test_fast_toml_path_is_exactly_tomllib(text):
    import tomllib

    from engine._toml_fast import loads as fast_loads
    try:
        want = ("ok", tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        want = ("error", str(e))
    try:
        got = ("ok", fast_loads(text))
    except tomllib.TOMLDecodeError as e:
        got = ("error", str(e))
    assert repr(got) == repr(want)  # same values, same int/float types, same error text


def test_a_2_mib_file_of_weights_loads_with_every_number_exact(tmp_path):
    rng = np.random.default_rng(1)
    H = 300  # 21 characters a number: 1.9 MB
    W_h = rng.normal(0, 0.1, (H, H))
    rows = ",\n".join("[" + ", ".join(repr(float(v)) for v in row) + "]" for row in W_h)
    path = tmp_path / "weights.toml"
    path.write_text(f'[scenario]\nname = "w"\nkind = "series"\n[model]\nhidden_size = {H}\n'
                    f"[model.weights]\nW_h = [{rows}]\n")
    assert 1.5 * 2**20 < path.stat().st_size <= LIMITS["file_bytes"]
    sc = load(str(path))
    assert np.array_equal(sc.model.weights["W_h"], W_h)
