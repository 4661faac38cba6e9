"""trace --json and the table over every kind x output x activation; JSON values are exact data."""

import itertools
import json
import math

import numpy as np
import pytest

from engine import History, initial_params, loads, trace_for
from engine.predict import knob_scale, predicted_value, prediction
from engine.kinds import KINDS, get_kind
from engine.types import ACTIVATIONS, OUTPUTS, ScenarioError
from rnntui.cli import main
from rnntui.tracejson import trace_to_json
from rnntui.tracetable import format_trace

DATA = {
    "text": '[data]\nunit = "char"\ntext = ["ab ba", "a b"]\nprompt = "ab a"\n',
    "series": "[data]\npoints = 30\nwindow = 9\nstep = 0.37\nnoise = 0.05\n",
    "echo": "[data]\ndelay = 2\nlength = 7\nsequences = 5\n",
    "adding": "[data]\nlength = 6\nsequences = 4\n",
    "copy": "[data]\nsymbols = 2\ngap = 3\nsequences = 4\n",
    "agreement": "[data]\ngap = 3\nsequences = 4\n",
    "majority": "[data]\nshortest = 2\nlongest = 6\nsequences = 4\n",
    "tagging": '[data]\ntext = ["b/x a", "a/y b/x"]\n',
}
#: The kinds whose steps are tokens of a vocabulary (tagging: words in, tags in the vocabulary).
TOKENS = ("text", "copy", "agreement", "tagging")


def scenario_text(kind, output, activation, epochs=0):
    return (f'[scenario]\nname = "g"\nkind = "{kind}"\n[model]\nhidden_size = 3\n'
            f'activation = "{activation}"\noutput = "{output}"\ninit = "normal"\n'
            f'init_scale = 0.8\nseed = 3\n[train]\nepochs = {epochs}\n' + DATA.get(kind, ""))


GRID = list(itertools.product(KINDS, OUTPUTS, ACTIVATIONS))


def engine_objects(sc):
    p0 = initial_params(sc)
    history = History(losses=[0.0], epochs=[0], weights=[p0])
    return sc, trace_for(sc, p0), history, 0, 0


def loss_from_json(doc):
    """The sequence loss recomputed from the JSON's own inputs, targets and outputs."""
    out_kind, vocab = doc["model"]["output"], doc["vocab"]
    losses = []
    for step in doc["steps"]:
        target = step["target"]
        if target is None:
            continue
        if vocab is not None:
            onehot = np.zeros(len(vocab))
            onehot[vocab.index(target)] = 1.0
            t_vec = onehot
        else:
            t_vec = np.array([float(target)])
        if out_kind == "softmax":
            losses.append(-math.log(step["probs"][vocab.index(target)]))
        elif out_kind == "identity":
            losses.append(float(np.sum((np.array(step["out"]) - t_vec) ** 2)))
        else:
            q = np.array(step["out"])
            losses.append(float(np.sum(-t_vec * np.log(q) - (1 - t_vec) * np.log1p(-q))))
    return sum(losses) / len(losses)


@pytest.mark.parametrize("kind,output,activation", GRID)
def test_every_kind_output_activation_gives_a_table_and_exact_json(kind, output, activation):
    text = scenario_text(kind, output, activation)
    if get_kind(kind).seq2seq:  # (its cells are tanh and its output softmax: tests/unit/test_seq2seq.py)
        with pytest.raises(ScenarioError, match="encoder-decoder"):
            loads(text)
        return
    if output == "softmax" and kind not in TOKENS:
        with pytest.raises(ScenarioError, match="softmax"):
            loads(text)
        return
    sc = loads(text)
    objs = engine_objects(sc)
    tr = objs[1]
    table = format_trace(*objs)
    assert len([ln for ln in table.splitlines() if ln[:1].isdigit() or ln.strip()[:1].isdigit()])
    doc = json.loads(json.dumps(trace_to_json(*objs), allow_nan=False))
    seq = sc.sequence
    assert doc["loss"] == pytest.approx(tr.loss, rel=1e-12)
    assert loss_from_json(doc) == pytest.approx(tr.loss, rel=1e-9, abs=1e-12)
    for t, step in enumerate(doc["steps"]):
        if kind in TOKENS:
            assert step["input"] == seq.tokens[t]
            assert step["input"] in (sc.token_vectors if kind == "tagging" else sc.vocab)
            assert step["prediction"] in sc.vocab
        elif kind == "adding":  # a value and a marker a step
            assert step["input"] == [float(x) for x in seq.inputs[t]]
            assert step["prediction"] == float(tr.out[t][0])
        elif kind == "series":
            assert step["input"] == float(seq.inputs[t][0])  # unrounded, bit for bit
            assert step["prediction"] == float(tr.out[t][0])
        else:
            assert step["input"] in (0, 1) and isinstance(step["input"], int)
            if output == "sigmoid":
                assert step["prediction"] in (0, 1)
                p1 = tr.out[t][0]
                assert step["prediction_p"] == pytest.approx(max(p1, 1 - p1), rel=1e-15)
            else:
                assert step["prediction"] == float(tr.out[t][0])
        if seq.mask[t]:
            want = seq.targets[t]
            if kind in TOKENS:
                assert step["target"] == sc.vocab[int(np.argmax(want))]
            else:
                assert float(step["target"]) == float(want[0])


def test_identity_echo_json_from_the_cli(tmp_path, capsys):
    path = tmp_path / "echo-id.toml"
    path.write_text(scenario_text("echo", "identity", "tanh"))
    assert main(["trace", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert all(isinstance(s["prediction"], float) for s in doc["steps"])


def test_space_token_is_a_space_in_json_and_a_glyph_in_the_table():
    sc = loads(scenario_text("text", "softmax", "tanh"))
    objs = engine_objects(sc)
    doc = trace_to_json(*objs)
    assert [s["input"] for s in doc["steps"]] == ["a", "b", " ", "a"]
    assert " " in doc["vocab"] and "␣" not in json.dumps(doc)
    assert "␣" in format_trace(*objs)


def test_series_values_are_not_rounded():
    sc = loads(scenario_text("series", "identity", "tanh"))
    doc = trace_to_json(*engine_objects(sc))
    xs = [s["input"] for s in doc["steps"]]
    assert xs == sc.sequence.inputs[:, 0].tolist()
    assert any(abs(x - round(x, 3)) > 1e-6 for x in xs)  # values with more than 3 decimals
    ts = [s["target"] for s in doc["steps"]]
    assert ts == sc.sequence.targets[:, 0].tolist()


def test_knob_and_epoch_are_what_was_passed():
    sc = loads(scenario_text("echo", "sigmoid", "tanh"))
    p0 = initial_params(sc)
    tr = trace_for(sc, p0.with_wh_scale(knob_scale(3)))
    doc = trace_to_json(sc, tr, None, 0, 3)
    assert doc["wh_scale"] == 2 ** 0.75 and doc["epoch"] == 0 and doc["loss_history"] == []
    assert np.array_equal(np.array(doc["params"]["W_h"]), p0.W_h * 2 ** 0.75)
    assert "W_h x1.682" in format_trace(sc, tr, None, 0, 3)


def test_prediction_for_text_with_sigmoid_output_is_the_largest_output():
    sc = loads(scenario_text("text", "sigmoid", "relu"))
    tr = trace_for(sc, initial_params(sc))
    for t in range(len(tr)):
        token, p = prediction(tr, sc, t)
        i = int(np.argmax(tr.out[t]))
        assert token == sc.vocab[i] and p == tr.out[t][i]
        assert predicted_value(tr, sc, t) == token


def test_knob_scale_doubles_every_four_clicks():
    assert knob_scale(0) == 1.0 and knob_scale(4) == 2.0 and knob_scale(-8) == 0.25
    assert knob_scale(1) * knob_scale(-1) == pytest.approx(1.0, rel=1e-15)


def _csv_scenario(tmp_path, method):
    """A CSV series scenario on a small file written here (values with a plain decimal text)."""
    rng = np.random.default_rng(5)
    values = np.round(15 + 8 * np.sin(np.arange(40) / 4) + rng.normal(0, 1, 40), 2)
    (tmp_path / "t.csv").write_text("day,temp\n" + "".join(
        f"{i},{v:.2f}\n" for i, v in enumerate(values)), encoding="utf-8")
    (tmp_path / "s.toml").write_text(
        '[scenario]\nname = "csv"\nkind = "series"\n[model]\nhidden_size = 5\n'
        'output = "identity"\nseed = 1\n[train]\nepochs = 0\n'
        f'[data]\ncsv = "t.csv"\ncolumn = "temp"\nnormalize = "{method}"\nwindow = 8\n',
        encoding="utf-8")
    from engine import load
    return load(str(tmp_path / "s.toml"))


@pytest.mark.parametrize("method", ["zscore", "minmax", "none"])
def test_a_csv_series_json_records_its_normalisation_and_the_file_units_come_back(
        tmp_path, method):
    import csv
    sc = _csv_scenario(tmp_path, method)
    objs = engine_objects(sc)
    doc = json.loads(json.dumps(trace_to_json(*objs), allow_nan=False))
    norm = doc["normalization"]
    assert (norm["method"], norm["column"], norm["column_index"], norm["units"]) == \
        (method, "temp", 1, "temp")
    assert norm["formula"] == "x = (v - shift) / scale" and norm["file"].endswith("t.csv")
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as f:
        column = [float(row["temp"]) for row in csv.DictReader(f)]
    # the shift and scale are the method's own, recomputed from the file here
    v = np.array(column)
    want = {"zscore": (v.mean(), v.std()), "minmax": (v.min(), v.max() - v.min()),
            "none": (0.0, 1.0)}[method]
    assert (norm["shift"], norm["scale"]) == pytest.approx(want, rel=1e-12)
    # the JSON's inputs and targets in the file's units are the file's numbers
    back_in = [norm["shift"] + norm["scale"] * s["input"] for s in doc["steps"]]
    back_target = [norm["shift"] + norm["scale"] * s["target"] for s in doc["steps"]]
    assert back_in == pytest.approx(column[:-1], abs=1e-9)
    assert back_target == pytest.approx(column[1:], abs=1e-9)
    # and the loss recomputed from the JSON alone (model units) is the engine's
    assert loss_from_json(doc) == pytest.approx(objs[1].loss, rel=1e-12)
    assert doc["loss"] == objs[1].loss


def test_other_scenarios_record_no_normalisation_and_a_zero_start():
    sc = loads(scenario_text("series", "identity", "tanh"))
    doc = trace_to_json(*engine_objects(sc))
    assert doc["normalization"] is None and doc["window"] is None
    assert doc["h0"] == [0.0] * 3


def test_a_text_window_json_gives_the_carried_state_its_first_step_starts_from():
    """From the JSON alone: h_0 = tanh(W_x x_0 + W_h h0 + b) with the recorded h0, which is
    not zero for a window after the first of its part."""
    from engine import load
    sc = load("rhymes")
    p0 = initial_params(sc)
    window = sc.test_sequences[3]
    tr = trace_for(sc, p0, window)
    doc = json.loads(json.dumps(trace_to_json(sc, tr, None, 0, 0), allow_nan=False))
    assert doc["window"] == {"part": "validation", "number": 4, "of": len(sc.test_sequences),
                             "tokens_before": 3 * 32, "h0": "carried"}
    P = {k: np.array(v) for k, v in doc["params"].items()}
    h0 = np.array(doc["h0"])
    assert np.abs(h0).max() > 0.05
    x0 = np.array(doc["steps"][0]["x"])
    h = np.tanh(P["W_x"] @ x0 + P["W_h"] @ h0 + P["b"])
    assert np.allclose(h, doc["steps"][0]["h"], rtol=0, atol=1e-12)
    assert loss_from_json(doc) == pytest.approx(tr.loss, rel=1e-12)


PADDED = """
[scenario]
name = "p"
kind = "majority"
[model]
hidden_size = 3
init = "normal"
init_scale = 0.8
seed = 3
[train]
batch_size = 3
pad = true
mask = {mask}
[data]
shortest = 2
longest = 7
sequences = 5
"""


@pytest.mark.parametrize("mask", ["true", "false"])
def test_a_padded_batch_json_lets_an_outside_script_recompute_it(mask):
    """From the JSON alone (params, x, mask, targets, counted): every state at a step the
    network takes, each row's final state, every counted loss and the batch loss."""
    sc = loads(PADDED.format(mask=mask))
    _, tr, hist, _, _ = engine_objects(sc)
    data = json.loads(json.dumps(trace_to_json(sc, tr, hist, 0, 0)))
    b = data["batch"]
    P = {k: np.array(v) for k, v in data["params"].items()}
    assert data["model"]["activation"] == "tanh" and data["model"]["output"] == "sigmoid"
    assert b["masked"] is (mask == "true")
    losses = []
    for r, n in enumerate(b["lengths"]):
        h = np.zeros(len(P["b"]))
        taken = b["mask"][r]
        assert taken == [t < n or mask == "false" for t in range(b["T"])]
        for t in range(b["T"]):
            if taken[t]:
                h = np.tanh(P["W_x"] @ np.array(b["x"][r][t]) + P["W_h"] @ h + P["b"])
            assert np.abs(np.array(b["h"][r][t]) - h).max() <= 1e-12
            y = P["W_y"] @ h + P["b_y"]
            if b["counted"][r][t]:
                want = float(np.sum(np.logaddexp(0.0, y) - np.array(b["targets"][r][t]) * y))
                assert abs(b["losses"][r][t] - want) <= 1e-12
                losses.append(want)
            else:
                assert b["losses"][r][t] is None
        assert np.abs(np.array(b["final"]["h"][r]) - h).max() <= 1e-12
        assert b["final_step"][r] == (n - 1 if mask == "true" else b["T"] - 1)
    assert abs(b["loss"] - float(np.mean(losses))) <= 1e-12
    assert b["real_steps"] == sum(b["lengths"])
    assert b["padded_steps"] == b["T"] * len(b["lengths"])


def test_an_unpadded_trace_has_no_batch():
    sc = loads(scenario_text("echo", "sigmoid", "tanh"))
    _, tr, hist, _, _ = engine_objects(sc)
    assert "batch" not in trace_to_json(sc, tr, hist, 0, 0)


@pytest.mark.parametrize("mask", [True, False])
def test_a_bidirectional_padded_batch_json_recomputes_both_directions(mask):
    """apple with pad = true: from the JSON alone, the forward direction as above and the
    backward one from `bwd_first_step` (the last real step with the mask, T - 1 without: the
    pads first) down to step 0, where its final state is read."""
    import dataclasses
    from engine import scenario as S
    sc = S.load("apple")
    sc = dataclasses.replace(sc, train=dataclasses.replace(sc.train, pad=True, mask=mask))
    _, tr, hist, _, _ = engine_objects(sc)
    data = json.loads(json.dumps(trace_to_json(sc, tr, hist, 0, 0)))
    b = data["batch"]
    P = {k: np.array(v) for k, v in data["params"].items()}
    assert b["bidirectional"] is True and data["model"]["activation"] == "tanh"
    T, H = b["T"], len(P["fwd.b"])
    for r, n in enumerate(b["lengths"]):
        x = np.array(b["x"][r])
        first = n - 1 if mask else T - 1
        assert b["bwd_first_step"][r] == first
        hf, hb = np.zeros(H), np.zeros(H)
        for t in range(first + 1):
            hf = np.tanh(P["fwd.W_x"] @ x[t] + P["fwd.W_h"] @ hf + P["fwd.b"])
            assert np.abs(np.array(b["h_fwd"][r][t]) - hf).max() <= 1e-12
        assert np.abs(np.array(b["final"]["h"][r]) - hf).max() <= 1e-12
        for t in range(first, -1, -1):
            hb = np.tanh(P["bwd.W_x"] @ x[t] + P["bwd.W_h"] @ hb + P["bwd.b"])
            assert np.abs(np.array(b["h_bwd"][r][t]) - hb).max() <= 1e-12
            assert np.abs(np.array(b["h"][r][t]) - np.concatenate(
                [b["h_fwd"][r][t], b["h_bwd"][r][t]])).max() == 0
        assert np.abs(np.array(b["final"]["h_bwd"][r]) - hb).max() <= 1e-12
    assert set(b["grads"]) == set(data["params"])
