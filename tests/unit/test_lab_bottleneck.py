"""The bottleneck as a lab: an encoder-decoder task swept over the source length, with and
without attention; each run measured by whole-sequence greedy accuracy and the teacher-forced
test loss, named with its attention, cached by it, opened by its name."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.kinds import get_kind
from engine.lab import load_lab, loads_lab, run_job
from engine.types import ScenarioError
from rnntui import lab as runner
from rnntui import labplot, labrun
from rnntui.cli import main

#: 2 lengths x 1 cell x 2 attentions x 1 seed, a few epochs on a few short pairs.
TINY = """[lab]
name = "tiny-bottleneck"
task = "reverse"
metric = "error"

[task]
symbols = 3
sequences = 12

[sweep]
parameter = "length"
values = [2, 3]

[runs]
cells = ["gru"]
attentions = ["none", "additive"]
seeds = [1]
hidden_size = 4
epochs = 1
epochs_per_value = 1.0
batch_size = 6
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return load_lab(str(path))


def test_the_records_carry_the_attention_and_the_accuracy_recomputes_from_the_run(tiny):
    from engine.seq2seq import forward, greedy
    from engine.train import fit
    jobs = tiny.jobs()
    assert [(j["value"], j["attention"], j["train"]["epochs"]) for j in jobs] == \
        [(2, "none", 2), (2, "additive", 2), (3, "none", 3), (3, "additive", 3)]
    job = jobs[-1]
    record = run_job(job)
    assert set(record) == set(runner.FIELDS_ATTENTION)
    assert record["attention"] == "additive" and record["epochs"] == 3
    name = labrun.run_name(tiny, job)
    assert name.endswith("length=3 cell=gru attention=additive seed=1")
    sc = labrun.load(name)  # the run, opened by its name, trained as the lab trained it
    assert sc.model.attention == "additive"
    params = fit(sc).params_at(3)
    right, losses = 0, []
    for q in sc.test_sequences:
        d = greedy(params, q.inputs[:q.source_len], sc.vocab, max_len=20)
        right += d.tokens == q.target
        p = forward(params, q.inputs[:, None], q.targets[:, None], q.source_len)
        losses.append(float(np.mean(p.losses)))
    assert len(sc.test_sequences) == 200
    assert record["accuracy"] == right / 200
    assert record["metric"] == pytest.approx(1 - right / 200)
    assert record["loss"] == pytest.approx(np.mean(losses), rel=1e-9)
    assert record["baseline"] == pytest.approx(1 - 3.0 ** -3)


def test_the_json_reproduces_from_a_fresh_cache(tmp_path, monkeypatch, tiny):
    docs = []
    for name in ("a", "b", "b"):  # b twice: the second run is read from b's cache
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / name))
        out = tmp_path / f"{name}{len(docs)}.json"
        assert main(["lab", tiny.source, "--workers", "1", "--json", str(out)]) == 0
        docs.append(json.loads(out.read_text()))
    assert len(list((tmp_path / "b" / "rnntui" / "lab").glob("*.json"))) == 4
    strip = [[{k: v for k, v in r.items() if k != "seconds"} for r in d["runs"]] for d in docs]
    assert strip[0] == strip[1] == strip[2] and docs[1] == docs[2]
    assert docs[0]["attentions"] == ["none", "additive"]
    assert [(r["value"], r["attention"]) for r in docs[0]["runs"]] == \
        [(2, "none"), (2, "additive"), (3, "none"), (3, "additive")]
    for r in docs[0]["runs"]:  # every position opens its run
        assert labrun.parse(r["position"])[1] == tiny.job(r["value"], "gru", 1, r["attention"])
    rows = runner.csv_text(docs[0]["runs"], tiny).splitlines()
    assert rows[0].startswith("task,parameter,value,cell,attention,seed,")
    assert "gru/none" in runner.table(tiny, docs[0]["runs"])


def test_a_run_name_must_give_one_of_the_labs_attentions(tiny):
    base = f'lab={tiny.source} length=2 cell=gru'
    with pytest.raises(ScenarioError, match="names no attention="):
        labrun.parse(f"{base} seed=1")
    with pytest.raises(ScenarioError, match="attention='dot' is not one of the lab's"):
        labrun.parse(f"{base} attention=dot seed=1")


@pytest.mark.parametrize("change, says", [
    (('attentions = ["none", "additive"]', 'attentions = ["none", "luong"]'),
     "[runs].attentions[1]: must be one of none, additive, dot"),
    (("epochs_per_value = 1.0", "epochs_per_value = 40000.0"),
     "[runs].epochs_per_value: 40000.0 x 3 = 120000 epochs at the largest value"),
])
def test_a_bad_attention_lab_is_one_line(tmp_path, change, says):
    path = tmp_path / "lab.toml"
    path.write_text(TINY.replace(*change))
    with pytest.raises(ScenarioError) as err:
        load_lab(str(path))
    assert says in str(err.value) and "\n" not in str(err.value)


def test_attentions_apply_to_an_encoder_decoder_task_only():
    from test_lab import TINY as ADDING
    with pytest.raises(ScenarioError, match="applies to an encoder-decoder task only"):
        loads_lab(ADDING + 'attentions = ["none"]\n')


def test_the_memoryless_baseline_of_reverse():
    """It knows the step, not the source: ln K at each of the L symbol steps, 0 at </s>."""
    kind = get_kind("reverse")
    assert kind.baseline({"length": 4, "symbols": 8}) == pytest.approx(4 * math.log(8) / 5)
    assert kind.chance({"length": 4, "symbols": 8}) == 8.0 ** -4
    assert get_kind("translate").baseline({}) is None


def test_the_chart_draws_a_line_per_attention(tiny):
    rec = {"metric": 1.0, "baseline": 1.0}
    records = {(2, "gru/none", 1): rec, (2, "gru/additive", 1): {**rec, "metric": 0.0}}
    lines = [t.plain for t in labplot.chart(tiny, records, 40, 13, (2, "gru/none", 1))]
    assert any("A" in line for line in lines[-4:-2])  # additive at 0, the bottom row
    legend = " ".join(t.plain for t in labplot.legend(tiny, 80))
    assert "N GRU, no attention" in legend and "A GRU, additive attention" in legend


def test_the_bottleneck_lab_loads():
    lab = load_lab("bottleneck")
    assert (lab.task, lab.values, lab.attentions) == ("reverse", (4, 8, 12),
                                                     ("none", "additive"))
    assert [lab.epochs_at(v) for v in lab.values] == [10, 20, 30]
