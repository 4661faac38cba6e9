"""Your own data in the app and on the command line: windows, both losses, w writes and forecasts."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import pane_text, press_and_settle, settle, status, wait_until
from textual.widgets import Input

from engine.csvdata import normalization_of
from engine.generate import forecast_sequence, generate_text
from rnntui.cli import main
from rnntui.position import Generation
from rnntui.screens.generate import GenerateScreen
from rnntui.screens.main import MainScreen

#: Every scenario opens trained, as from a warm training cache (conftest.py: trained once per
#: test process, not once per test), except where training on open is the point (cold_cache).
pytestmark = pytest.mark.warm_cache


def _pane(app, ident):
    return pane_text(app.main_screen.query_one(f"#{ident}"))


def _trained(app) -> bool:
    v = app.main_screen.view
    return v.training is None and v.trained_epochs == v.scenario.train.epochs


async def _set(pilot, ident: str, value: str) -> None:
    field = pilot.app.screen.query_one(f"#{ident}", Input)
    field.value = value
    await pilot.pause()


@pytest.mark.cold_cache
async def test_rhymes_trains_shows_both_losses_and_steps_window_by_window(app_factory):
    app = app_factory("rhymes")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: _trained(app), "training on open")
        await settle(pilot)
        view = app.main_screen.view
        sc = view.scenario
        assert view.sequence is sc.sequence is sc.test_sequences[0]  # the first held-out window
        loss = _pane(app, "loss")
        assert "train" in loss and "val" in loss and "unigram (no context) val 2.972" in loss
        assert len(view.history.val_losses) == len(view.history.losses) == 16
        assert "val 1/14" in status(app)
        assert "validation window 1/14" in _pane(app, "sequence")
        await press_and_settle(pilot, ["n"])
        view = app.main_screen.view
        assert view.sequence is sc.test_sequences[1]  # the next held-out window
        assert "val 2/14" in status(app) and "window=val:2" in str(view.position)
        assert "validation window 2/14" in _pane(app, "sequence")
        assert "carried through the 32 characters" in _pane(app, "sequence")
        # its first step starts from the carried state, shown in the Step pane as h_-1
        assert np.abs(view.trace.h_prev[0]).max() > 0
        await press_and_settle(pilot, ["N", "N"])
        view = app.main_screen.view
        assert view.sequence is sc.train_sequences[-1]  # before the first: the last training
        assert "train 125/125" in status(app) and "window=train:125" in str(view.position)


async def test_w_writes_text_that_becomes_the_stepped_sequence(app_factory):
    app = app_factory("rhymes")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: _trained(app), "training on open")
        await press_and_settle(pilot, ["right"] * 5)
        before = app.main_screen.view
        await press_and_settle(pilot, ["w"])
        assert isinstance(app.screen, GenerateScreen)
        prime = "".join(before.sequence.tokens[:6])
        assert app.screen.query_one("#gen-prime", Input).value == prime  # the sequence up to t
        await _set(pilot, "gen-temperature", "0")
        await _set(pilot, "gen-length", "40")
        app.screen.query_one("#gen-length", Input).focus()
        await press_and_settle(pilot, ["enter"])
        assert isinstance(app.screen, MainScreen)
        view = app.main_screen.view
        want = generate_text(before.scenario, before.params, prime, 40, 0, 0)
        assert view.typed == want.text and len(view.sequence) == 46
        assert view.sequence.tokens == want.tokens
        assert view.t == 5  # the prime's last step: its output is the first character written
        # a position that makes it again: how it was written, not the text
        assert view.position.text is None
        assert view.position.gen == Generation(40, 0.0, 0, prime)
        # greedy: each written character is the argmax of the output one step before
        tr = view.trace
        idx = {t: i for i, t in enumerate(view.scenario.vocab)}
        for t in range(5, 45):
            assert int(np.argmax(tr.out[t])) == idx[view.sequence.tokens[t + 1]]


async def test_w_refuses_a_bad_temperature_and_keeps_the_dialog(app_factory):
    app = app_factory("rhymes", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["w"])
        await _set(pilot, "gen-temperature", "5")
        await press_and_settle(pilot, ["enter"])
        assert isinstance(app.screen, GenerateScreen)
        assert "temperature: 0 (greedy) or from 0.1 to 2" in str(
            app.screen.query_one("#gen-error").content)
        await press_and_settle(pilot, ["escape"])
        assert isinstance(app.screen, MainScreen)


async def test_w_forecasts_a_csv_series_against_the_truth(app_factory):
    app = app_factory("weather")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: _trained(app), "training on open")
        await press_and_settle(pilot, ["right"] * 10)
        before = app.main_screen.view
        assert "temp_c" in _pane(app, "output") and "zscore" in _pane(app, "output")
        await press_and_settle(pilot, ["w", "enter"])
        view = app.main_screen.view
        assert len(view.sequence) == 10 + 60 and view.t == 10
        seq, ahead = forecast_sequence(before.scenario, before.params, before.sequence, 10, 60)
        assert np.allclose(view.trace.out[10:, 0], ahead, rtol=1e-12, atol=1e-12)
        assert view.sequence.mask.all()  # the truth is known for every forecast step here
        norm = normalization_of(view.scenario)
        # the Sequence pane's labels are in the file's units
        assert view.sequence.labels[12] == f"{float(norm.invert(ahead[1])):.6g}"
        assert "t=10" in status(app)


async def test_w_on_an_echo_scenario_says_why_not(app_factory):
    app = app_factory("echo", train=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_settle(pilot, ["w"])
        assert isinstance(app.screen, MainScreen)


def test_cli_generate_is_seeded_and_refuses_bad_input_in_one_line(capsys):
    args = ["generate", "rhymes", "--prime", "the king", "--length", "50",
            "--temperature", "0.8", "--seed", "1", "--epochs", "3"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and first.startswith("the king")
    assert len(first.rstrip("\n")) == len("the king") + 50
    for bad, words in ((["--temperature", "3"], "--temperature"), (["--length", "0"], "--length"),
                       (["--seed", "-1"], "--seed"), (["--prime", "\u2603"], "prime")):
        assert main(["generate", "rhymes", "--epochs", "0", *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
    assert main(["generate", "echo"]) == 2
    assert "echo scenario" in capsys.readouterr().err


def test_cli_generate_forecasts_a_series(capsys):
    assert main(["generate", "weather", "--prime", "100", "--length", "5", "--epochs", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == ["step", "forecast temp_c", "truth"]
    assert [ln.split("\t")[0] for ln in lines[1:]] == ["100", "101", "102", "103", "104"]


async def test_a_bad_csv_keeps_the_app_and_the_old_scenario(app_factory, tmp_path):
    from helpers import static_text

    from rnntui.screens import PickerScreen
    (tmp_path / "d.csv").write_text("day,v\n1,2\n2,3\n3,oops\n4,5\n", encoding="utf-8")
    path = tmp_path / "bad.toml"
    path.write_text('[scenario]\nname = "b"\nkind = "series"\n[data]\ncsv = "d.csv"\n'
                    'column = "v"\nwindow = 2\n', encoding="utf-8")
    app = app_factory("king", train=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        before = app.view
        await press_and_settle(pilot, ["o", "tab"])
        app.screen.query_one(Input).value = str(path)
        await press_and_settle(pilot, ["enter"])
        assert isinstance(app.screen, PickerScreen)
        error = static_text(app.screen.query_one("#picker-error"))
        error = " ".join(error.split())  # (wrapped to the dialog's width)
        assert "d.csv:4:" in error and "column 'v' (1): 'oops' is not a number" in error
        await press_and_settle(pilot, ["escape"])
        assert app.view is before and app.view.scenario.name == "king"
