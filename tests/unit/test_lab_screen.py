"""The lab screen and lab runs as scenarios: run names (read strictly, hostile ones refused in
one line), the chart's glyphs, the lab cache's own cap, and one app run of the smallest lab
(records landing, a run opened on the main screen and Esc back, export never overwriting)."""

from __future__ import annotations

import json
import os
import time

import pytest
from helpers import TEST_THEME, settle, wait_until

from engine.lab import load_lab, run_job
from engine.types import ScenarioError
from rnntui import lab as runner
from rnntui import labplot, labrun
from test_lab import TINY as ONE_SEED

TINY = ONE_SEED.replace("seeds = [3]", "seeds = [3, 4]")  # 2 values x 2 cells x 2 seeds


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny lab.toml"  # (a space: the run name quotes the path)
    path.write_text(TINY)
    return load_lab(str(path))


def _record(lab, value, cell, seed, metric):
    job = lab.job(value, cell, seed)
    return {"task": lab.task, "parameter": lab.parameter, "value": value, "cell": cell,
            "seed": seed, "metric": metric, "baseline": 1.0, "loss": metric / 6,
            "accuracy": None, "epochs": 2, "stopped": None, "seconds": 0.1,
            "position": f"lab={job['lab']} {lab.parameter}={value} cell={cell} seed={seed}"}


def test_a_run_name_opens_that_run_and_reads_back(tiny):
    job = tiny.job(6, tiny.cells[1], 4)
    name = labrun.run_name(tiny, job)
    assert name == f'lab="{tiny.source}" length=6 cell={tiny.cells[1]} seed=4'
    lab, again = labrun.parse(name)
    assert again == job and lab.source == tiny.source
    sc = labrun.load_any(name)
    assert sc.source == name and sc.data["length"] == 6 and sc.data["seed"] == 4
    assert sc.model.cell == tiny.cells[1] and sc.train.epochs == 2
    built = load_lab("adding")
    assert labrun.run_name(built, built.jobs()[0]).startswith("lab=adding length=")


@pytest.mark.parametrize("name, says", [
    ("lab=adding length=51 cell=gru seed=1", "length='51' is not one of the lab's lengths"),
    ("lab=adding length=50 cell=gru", "names no seed="),
    ("lab=adding length=50 cell=gru seed=1 t=3", "t= is not part of a run"),
    ("lab=adding length=50 length=25 cell=gru seed=1", "length= is given twice"),
    ("lab=adding length=-5 cell=gru seed=1", "length='-5' is not one of"),
    ("lab=adding length=50 cell=nope seed=0", "cell='nope' is not one of the lab's cells"),
    ("lab=nowhere length=1 cell=rnn seed=0", "no built-in lab or file named 'nowhere'"),
    ("lab=/dev/zero length=1 cell=rnn seed=0", "is not a regular file"),
    ('lab="adding length=50', "has no closing"),
    ("lab=adding length=50\ncell=gru seed=1", "one line of printable text"),
    ("lab=adding " + "x" * 2000, "characters long"),
])
def test_a_hostile_run_name_is_refused_in_one_line(name, says):
    with pytest.raises(ScenarioError) as err:
        labrun.load_any(name)
    assert says in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_at_opens_a_lab_run_and_keeps_the_epoch_limits(tiny):
    from rnntui.app import make_app
    from rnntui.position import Position, PositionError
    name = labrun.run_name(tiny, tiny.job(4, tiny.cells[0], 3))
    pos = Position.parse(str(Position(scenario=name, t=2, epoch=1)))
    assert pos.scenario == name
    app = make_app("king", at=pos, train=False)
    assert app.view.scenario.source == name and app.view.scenario.data["length"] == 4
    with pytest.raises(PositionError, match="epoch=100001: past the limit"):
        make_app("king", at=str(Position(scenario=name, epoch=100001)), train=False)


def test_the_chart_draws_each_glyph_where_the_numbers_say(tiny):
    rnn, gru = tiny.cells
    records = {(4, rnn, 3): _record(tiny, 4, rnn, 3, 1.0),
               (4, rnn, 4): _record(tiny, 4, rnn, 4, 0.6),
               (4, gru, 3): _record(tiny, 4, gru, 3, 0.0),
               (6, rnn, 3): _record(tiny, 6, rnn, 3, 1.0)}
    lines = [line.plain for line in labplot.chart(tiny, records, 40, 13, (6, rnn, 3))]
    rows = 11
    top = 1.15  # the baseline (1) x 1.15: nothing above it

    def row(y):
        return round((1 - y / top) * (rows - 1))

    R, G = labplot.letter(rnn), labplot.letter(gru)
    assert R in lines[row(0.8)] and "│" in lines[row(1.0)] and "│" in lines[row(0.6)]
    assert G in lines[row(0.0)]
    assert labplot.SELECTED in lines[row(1.0)] and lines[row(1.0)].count(labplot.BASELINE) > 5
    assert lines[-1].split()[:2] == ["4", "6"]
    assert labplot.summary(tiny, records)[(4, rnn)] == (0.8, 0.6, 1.0, 2)
    legend = " ".join(t.plain for t in labplot.legend(tiny, 40))
    for glyph in (R, G, labplot.SPREAD, labplot.JOIN, labplot.BASELINE, labplot.SELECTED):
        assert glyph in legend


def test_the_lab_cache_has_its_own_cap(tmp_path, monkeypatch, tiny):
    """Records beyond the cap go, least recently used first; the weight cache's pruning never
    touches them."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    jobs = tiny.jobs()
    for i, job in enumerate(jobs):
        runner.keep(job, _record(tiny, job["value"], job["cell"], job["seed"], 0.5))
        path = runner._folder() / f"{runner._key(job)}.json"
        os.utime(path, (time.time() - 100 + i, time.time() - 100 + i))
    paths = [runner._folder() / f"{runner._key(j)}.json" for j in jobs]
    assert runner.cached(jobs[0]) is not None  # a hit: used last now
    from rnntui.cache import prune as prune_weights
    prune_weights(limit=1)
    assert all(p.exists() for p in paths)
    runner.prune(limit=2 * max(p.stat().st_size for p in paths) + 10)
    assert [p.exists() for p in paths] == [True] + [False] * (len(jobs) - 2) + [True]


class FakeSweep:
    """Lands the given records at once, as a sweep whose runs were all quick."""

    def __init__(self, records):
        self.records, self.stopped = records, False

    def run(self, done):
        for i, r in enumerate(self.records, 1):
            done(r, i, len(self.records), False)
        return self.records

    def stop(self):
        self.stopped = True


async def test_the_lab_screen_opens_a_run_comes_back_and_exports(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from rnntui.app import make_app
    from rnntui.screens.lab import LabScreen
    records = [run_job(j) for j in tiny.jobs()]
    first = labrun.run_name(tiny, tiny.jobs()[0])
    app = make_app(labrun.load_any(first), source=first, train=False, theme=TEST_THEME,
                   cursor_blink=False, export_dir=tmp_path)
    sweep = FakeSweep(records)
    screen = app.lab_at_start = LabScreen(tiny, sweep)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: screen.ended, "the sweep lands")
        assert app.screen is screen and f"{len(records)}/{len(records)} runs" in \
            screen.status_text().plain
        await pilot.press("down", "s", "enter")  # 6, the second cell, the second seed
        await wait_until(pilot, lambda: app.screen is app.main_screen, "the run opens")
        await settle(pilot)
        view = app.view
        assert view.source == labrun.run_name(tiny, tiny.job(6, tiny.cells[1], 4))
        assert view.trained_epochs == 2 and view.scenario.model.cell == tiny.cells[1]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "Esc comes back to the lab")
        await pilot.press("e")
        await pilot.press("e")
        await wait_until(pilot, lambda: len(list(tmp_path.glob("rnntui-lab-tiny*"))) == 6,
                         "two exports")
        doc = json.loads((tmp_path / "rnntui-lab-tiny.json").read_text())
        assert [r["position"] for r in doc["runs"]] == \
            [labrun.run_name(tiny, j) for j in tiny.jobs()]
        assert (tmp_path / "rnntui-lab-tiny-1.csv").read_text().count("\n") == len(records) + 1
        await pilot.press("q")
    assert sweep.stopped


def test_a_presenter_and_a_recording_send_a_lab_runs_scenario(tiny):
    """Followers and recordings get a scenario's file text: a lab run's is its scenario text,
    which opens the same run (the same training data) where the name would not."""
    from engine.scenario import loads
    from rnntui.classroom.session import _scenario_bytes
    name = labrun.run_name(tiny, tiny.job(6, tiny.cells[1], 4))
    sc = labrun.load_any(name)
    text = _scenario_bytes(sc)
    assert text == labrun.run_text(name).encode("utf-8")
    sent = loads(text.decode("utf-8"), "sent", files=False)
    assert [s.inputs.tolist() for s in sent.train_sequences] == \
        [s.inputs.tolist() for s in sc.train_sequences]
