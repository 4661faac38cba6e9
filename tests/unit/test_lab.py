"""The memory lab's first slice: the adding, copy and agreement tasks as data kinds, their
exact baselines, lab files, runs as pure cached jobs, local workers and a Dask cluster."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine import loads
from engine.kinds import get_kind
from engine.kinds.copy import baseline as copy_baseline
from engine.lab import builtin_labs, load_lab, loads_lab, run_job, scenario_text
from engine.types import ScenarioError
from rnntui import lab as runner
from rnntui.cli import main

#: A tiny sweep: 2 values x 2 cells x 1 seed, a few epochs on short sequences.
TINY = """[lab]
name = "tiny"
task = "adding"
metric = "share"

[task]
sequences = 24

[sweep]
parameter = "length"
values = [4, 6]

[runs]
cells = ["rnn", "gru"]
seeds = [3]
hidden_size = 4
epochs = 2
batch_size = 8
"""


def _no_seconds(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_adding_baseline_is_the_variance_of_a_sum_of_two_uniforms():
    """Predicting 1 has the expected squared error 1/6; a large sample of the task agrees
    (standard error of the mean: sqrt(7/180 / 10000) = 0.002)."""
    sc = loads('[scenario]\nname = "a"\nkind = "adding"\n[data]\nlength = 8\n'
               'sequences = 10000\n')
    sums = np.array([s.targets[-1, 0] for s in sc.train_sequences])
    assert get_kind("adding").baseline(sc.data) == 1 / 6
    assert abs(np.mean((sums - 1.0) ** 2) - 1 / 6) < 4 * math.sqrt(7 / 180 / len(sums))
    first = sc.train_sequences[0]
    assert first.inputs.shape == (8, 2) and first.mask.tolist() == [False] * 7 + [True]
    marked = np.flatnonzero(first.inputs[:, 1])
    assert len(marked) == 2 and marked[0] < 4 <= marked[1]
    assert first.targets[-1, 0] == pytest.approx(first.inputs[marked, 0].sum())


def test_copy_baseline_is_k_ln8_over_gap_plus_2k():
    sc = loads('[scenario]\nname = "c"\nkind = "copy"\n[data]\nsymbols = 10\ngap = 100\n'
               'sequences = 2\n')
    seq = sc.train_sequences[0]
    assert len(seq) == 120 and seq.mask.all()
    assert seq.target_labels[-10:] == seq.tokens[:10]
    assert set(seq.target_labels[:-10]) == {"_"} and seq.tokens[109] == ":"
    # the memoryless predictor: a blank is certain, a symbol is one of 8
    symbols = sum(t != "_" for t in seq.target_labels)
    assert copy_baseline(10, 100) == pytest.approx(symbols * math.log(8) / len(seq))
    assert copy_baseline(10, 100) == pytest.approx(0.1733, abs=5e-5)  # the paper's 0.173
    assert get_kind("copy").scored(seq).tolist() == [False] * 110 + [True] * 10


def test_agreement_has_one_target_the_verb():
    sc = loads('[scenario]\nname = "g"\nkind = "agreement"\n[data]\ngap = 5\n'
               'sequences = 4\n')
    for seq in sc.train_sequences:
        assert len(seq) == 7 and np.flatnonzero(seq.mask).tolist() == [5]
        want = "runs" if seq.tokens[0] in ("cat", "dog") else "run"
        assert seq.target_labels[5] == want == seq.tokens[6]


def test_the_built_in_labs_load():
    assert {"adding", "agreement-gap", "copy", "echo-gap", "memory"} <= set(builtin_labs())
    for name in builtin_labs():
        load_lab(name)  # every run's scenario checked against the budgets
    lab = load_lab("adding")
    assert lab.task == "adding" and lab.parameter == "length"
    assert len(lab.jobs()) == len(lab.values) * len(lab.cells) * len(lab.seeds)


@pytest.mark.parametrize("change, where", [
    (('cells = ["rnn", "gru"]', 'cells = ["rnn", "grew"]'),
     "lab.toml:14: [runs].cells[1]: must be one of"),
    (("epochs = 2", "epoch = 2"), "lab.toml:17: [runs].epoch: unknown key 'epoch'"),
    (("sequences = 24", "length = 24"),
     "lab.toml:7: [task].length: not a key here; it is the swept parameter"),
    (('metric = "share"', 'metric = "error"'),
     'lab.toml:4: [lab].metric: a adding task has no accuracy'),
    (("values = [4, 6]", "values = [4, 4]"), "lab.toml:11: [sweep].values: lists a number twice"),
    (("values = [4, 6]", "values = [1]"), "lab.toml:11: [sweep].values: length = 1: "),
    (('task = "adding"', 'task = "text"'), 'lab.toml:3: [lab].task: must be one of'),
])
def test_a_bad_lab_file_is_one_line_naming_file_line_and_key(tmp_path, change, where):
    path = tmp_path / "lab.toml"
    path.write_text(TINY.replace(*change))
    with pytest.raises(ScenarioError) as err:
        load_lab(str(path))
    assert str(err.value).startswith(str(tmp_path / where)), str(err.value)
    assert "\n" not in str(err.value)


def test_a_run_is_a_pure_function_of_its_job():
    job = loads_lab(TINY).job(6, "gru", 3)
    a, b = run_job(job), run_job(json.loads(json.dumps(job)))
    assert _no_seconds([a]) == _no_seconds([b])
    assert set(a) == set(runner.FIELDS)
    assert a["position"] == "lab=tiny length=6 cell=gru seed=3"
    assert a["baseline"] == 1.0 and a["accuracy"] is None and a["epochs"] == 2
    assert a["metric"] == pytest.approx(a["loss"] * 6)  # share = loss / (1/6)


def test_the_run_scenario_opens_the_same_run():
    """--scenario's text, loaded and trained, is the run (its loss on its own test set)."""
    lab = loads_lab(TINY)
    job = lab.job(4, "rnn", 3)
    sc = loads(scenario_text(job))
    assert (sc.kind, sc.model.cell, sc.model.hidden_size, sc.train.epochs) == \
        ("adding", "rnn", 4, 2)
    assert sc.data["length"] == 4 and sc.data["seed"] == 3


def test_local_workers_and_the_cache(tmp_path, monkeypatch):
    """Two spawned workers give the records of this process; a second run is all cache hits
    (the very records, seconds too); --no-cache runs them again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    lab = loads_lab(TINY)
    here = [run_job(j) for j in lab.jobs()]
    seen = []
    first = runner.run_lab(lab, workers=2, done=lambda r, i, n: seen.append((i, n)))
    assert _no_seconds(first) == _no_seconds(here)
    assert sorted(seen) == [(i, 4) for i in range(1, 5)]
    assert len(list((tmp_path / "rnntui" / "lab").glob("*.json"))) == 4
    assert runner.run_lab(lab, workers=2) == first
    monkeypatch.setenv("RNNTUI_NO_CACHE", "1")
    assert runner.cached(lab.jobs()[0]) is None


def test_a_damaged_cache_record_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    job = loads_lab(TINY).job(4, "rnn", 3)
    record = run_job(job)
    runner.keep(job, record)
    assert runner.cached(job) == record
    (path,) = (tmp_path / "rnntui" / "lab").glob("*.json")
    doc = json.loads(path.read_text())
    doc["job"]["seed"] = 4  # a record that is not this job's
    path.write_text(json.dumps(doc))
    assert runner.cached(job) is None
    path.write_text("{not json")
    assert runner.cached(job) is None


def test_the_command_writes_json_and_csv(tmp_path, capsys):
    lab_file = tmp_path / "tiny.toml"
    lab_file.write_text(TINY)
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    assert main(["lab", str(lab_file), "--workers", "1", "--json", str(out_json),
                 "--csv", str(out_csv)]) == 0
    doc = json.loads(out_json.read_text())
    assert doc["parameter"] == "length" and doc["values"] == [4, 6]
    assert [(r["value"], r["cell"]) for r in doc["runs"]] == \
        [(4, "rnn"), (4, "gru"), (6, "rnn"), (6, "gru")]
    rows = out_csv.read_text().splitlines()
    assert rows[0] == ",".join(runner.FIELDS) and len(rows) == 5
    printed = capsys.readouterr()
    assert "median share over seeds [3]" in printed.out and "[4/4]" in printed.err
    assert main(["lab", str(lab_file), "--scenario", "length=6 cell=gru"]) == 0
    assert 'kind = "adding"' in capsys.readouterr().out
    assert main(["lab", str(lab_file), "--workers", "0"]) == 2


def test_a_dask_cluster_gives_the_local_records(tmp_path, monkeypatch):
    """A real LocalCluster of two worker processes on 127.0.0.1: bit-identical records."""
    import distributed  # the test extra installs it: CI runs this, never skips it
    monkeypatch.setenv("RNNTUI_NO_CACHE", "1")
    lab = loads_lab(TINY)
    here = [run_job(j) for j in lab.jobs()]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        there = runner.run_lab(lab, scheduler=cluster.scheduler_address)
    assert _no_seconds(there) == _no_seconds(here)


def test_the_delayed_echo_is_a_lab_task_counting_bits_right():
    """Echo: ln 2 and 1/2 for the memoryless guess; a run's accuracy is the share of target
    bits its sigmoid output puts on the right side of 1/2 (here recounted by hand)."""
    from engine.cells import run
    from engine.train import fit
    lab = loads_lab(TINY.replace('task = "adding"', 'task = "echo"')
                    .replace('metric = "share"', 'metric = "error"')
                    .replace("sequences = 24", "sequences = 40\nlength = 12")
                    .replace('parameter = "length"', 'parameter = "delay"'))
    job = lab.job(4, "rnn", 3)
    record = run_job(job)
    assert record["baseline"] == 0.5 and get_kind("echo").baseline({}) == math.log(2)
    sc = loads(scenario_text(job))
    params = fit(sc).params_at(sc.train.epochs)
    right = total = 0
    for seq in sc.test_sequences:
        p = run(params, seq.inputs[:, None, :], seq.targets[:, None, :], seq.mask[:, None],
                activation=sc.model.activation, output=sc.model.output, backward=False)
        guess = (p.out[:, 0, 0] >= 0.5) == (seq.targets[:, 0] >= 0.5)
        right += int(np.count_nonzero(guess & seq.mask))
        total += int(np.count_nonzero(seq.mask))
    assert record["accuracy"] == right / total and total == 100 * 8
    assert record["metric"] == pytest.approx(1 - right / total)


def test_workers_start_under_the_apps_stand_in_stderr():
    """Inside the app (a lesson opens the lab) sys.stderr is Textual's stand-in, whose file
    descriptor is -1: the resource tracker every spawned worker needs did not start, and the
    lesson's lab said "the lab's runs stopped: bad value(s) in fds_to_keep". In a fresh
    process, as the app is: the tracker starts and a spawned worker answers."""
    import subprocess
    import sys
    code = """if True:
        import io, multiprocessing, sys
        from concurrent.futures import ProcessPoolExecutor

        class StandIn(io.StringIO):  # as Textual's capture of print: no file of its own
            def fileno(self):
                return -1
        sys.stderr = StandIn()
        from rnntui.lab import _start_tracker
        _start_tracker()
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            print(pool.submit(abs, -3).result())
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout == "3\n", done.stderr[-2000:]
