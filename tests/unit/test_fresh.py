"""``[train] fresh``: a new batch from the kind's generator for every update, seeded by the
data's seed, the epoch and the batch, instead of cycling over the fixed training set."""

from __future__ import annotations

import numpy as np
import pytest

import engine.train as train_mod
from engine import loads
from engine.epochs import _Optimizer, batches, initial_params
from engine.cells import run
from engine.lab import loads_lab, run_job, scenario_text
from engine.kinds import KINDS, get_kind
from engine.types import ScenarioError
from rnntui import lab as runner
from test_lab import TINY

#: A lab task's run, small (test_lab's): 24 sequences in batches of 8 (3 updates an epoch),
#: 2 epochs, at length 6.
LAB = TINY.replace("values = [4, 6]", "values = [6]").replace('cells = ["rnn", "gru"]',
                                                             'cells = ["lstm", "gru"]')
assert "values = [6]" in LAB and '"lstm"' in LAB


def _scenario(fresh: bool):
    lab = loads_lab(LAB + ("fresh = true\n" if fresh else ""))
    return loads(scenario_text(lab.job(6, "lstm", 3)))


def _weights(history):
    return [a.copy() for a in history.weights[-1].arrays()]


def _inputs_of_updates(monkeypatch, sc):
    """The input batch X of every update fit makes on ``sc``."""
    seen = []
    def spy(params, X, *args, **kwargs):
        if kwargs.get("backward", True):
            seen.append(X.copy())
        return run(params, X, *args, **kwargs)

    monkeypatch.setattr(train_mod, "run", spy)
    train_mod.fit(sc)
    return seen


def test_fresh_is_reproducible_bit_for_bit():
    sc = _scenario(True)
    assert sc.train.fresh
    a, b = _weights(train_mod.fit(sc)), _weights(train_mod.fit(_scenario(True)))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    fixed = _weights(train_mod.fit(_scenario(False)))
    assert not all(np.array_equal(x, y) for x, y in zip(a, fixed))


def test_every_update_draws_new_inputs_and_the_default_cycles(monkeypatch):
    fresh = _inputs_of_updates(monkeypatch, _scenario(True))
    assert len(fresh) == 6  # 2 epochs x (24 / 8) updates: an epoch is as many updates
    assert all(not np.array_equal(fresh[i], fresh[j])
               for i in range(6) for j in range(i + 1, 6))
    fixed = _inputs_of_updates(monkeypatch, _scenario(False))
    assert len(fixed) == 6
    assert all(np.array_equal(fixed[i], fixed[i + 3]) for i in range(3))  # the same set again
    assert not any(np.array_equal(f, g) for f in fresh for g in fixed)


def test_the_default_trains_as_before_bit_for_bit():
    """Without fresh a lab run's weights are those of the plain loop over the fixed set."""
    sc = _scenario(False)
    assert not sc.train.fresh and "fresh" not in scenario_text(
        loads_lab(LAB).job(6, "lstm", 3))
    params = initial_params(sc).copy()
    opt = _Optimizer(sc.train, {})
    for _ in range(sc.train.epochs):
        for X, Y, M in batches(sc.train_sequences, sc.train.batch_size):
            opt.step(params, run(params, X, Y, M, activation=sc.model.activation,
                                 output=sc.model.output).grads)
    got = _weights(train_mod.fit(sc))
    assert all(np.array_equal(x, y) for x, y in zip(got, params.arrays()))


def test_a_kind_without_a_generator_refuses_fresh():
    text = ('[scenario]\nname = "t"\nkind = "text"\n\n[train]\nfresh = true\n\n'
            '[data]\ntext = "a b a b a b"\n')
    with pytest.raises(ScenarioError) as err:
        loads(text, "t.toml")
    msg = str(err.value)
    assert msg.startswith("t.toml:6: [train].fresh: a text scenario has no generator"), msg
    assert "\n" not in msg


def test_a_fresh_lab_is_the_same_in_two_workers(tmp_path, monkeypatch):
    """fresh is in the job (its cache key) and its records are this process's."""
    monkeypatch.setenv("RNNTUI_NO_CACHE", "1")
    lab = loads_lab(LAB + "fresh = true\n")
    assert all(j["train"]["fresh"] is True for j in lab.jobs())
    here = [run_job(j) for j in lab.jobs()]
    there = runner.run_lab(lab, workers=2)
    strip = (lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs])
    assert strip(there) == strip(here)
    plain = [run_job(j) for j in loads_lab(LAB).jobs()]
    assert [r["loss"] for r in plain] != [r["loss"] for r in here]


@pytest.mark.parametrize("kind", [k for k in KINDS if get_kind(k).draws()])
def test_every_kind_that_draws_trains_fresh_on_its_own_shapes(kind):
    """Each drawing kind's draw, with its [data] defaults, is sequences like its own (majority
    shares echo's class and has keys of its own)."""
    text = (f'[scenario]\nname = "k"\nkind = "{kind}"\n\n[train]\nepochs = 1\nbatch_size = 4\n'
            f'fresh = true\n\n[data]\nsequences = 8\n')
    sc = loads(text)
    drawn = get_kind(kind).draw(sc.data, np.random.default_rng(0), 3)
    assert len(drawn) == 3
    for seq in drawn:
        assert seq.inputs.shape[1] == sc.input_size and seq.targets.shape[1] == sc.output_size
    assert train_mod.fit(sc).trained_epochs == 1


def test_a_lab_of_a_task_without_a_generator_refuses_fresh(tmp_path):
    from engine.lab import _builtin_files, load_lab
    path = tmp_path / "lab.toml"
    text = _builtin_files()["bottleneck"].read_text(encoding="utf-8") + "fresh = true\n"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_lab(str(path))
    line = text.count("\n")  # the last line
    assert str(err.value) == (f"{path}:{line}: [runs].fresh: a reverse task has no generator "
                              f"to draw fresh sequences from"), str(err.value)
