"""The command line: list, check, trace (table and JSON), and bad paths that never start the TUI."""

import json
import subprocess
import sys

import numpy as np
import pytest

from engine import load, run
from engine.scenario import builtin_names
from rnntui.cli import main

RNNTUI = [sys.executable, "-m", "rnntui.cli"]


def run_cli(*args, timeout=120):
    return subprocess.run([*RNNTUI, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("rnntui ")
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("list", "check", "trace", "screenshot"):
        assert f"rnntui {cmd}" in out


def test_list_names_every_builtin_with_a_description(capsys):
    assert main(["list"]) == 0
    lines = [ln for ln in capsys.readouterr().out.strip().splitlines()
             if not ln.startswith(" ")]  # (a description wraps under itself)
    names = [ln.split()[0] for ln in lines]
    assert sorted(names) == sorted(builtin_names())
    assert all(len(ln.split(None, 1)) == 2 for ln in lines)


def test_check_good_and_bad(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('[scenario]\nname = "g"\nkind = "echo"\n[data]\ndelay = 1\nlength = 5\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "b"\nkind = "echo"\n[model]\nhiden_size = 4\n')
    assert main(["check", str(good)]) == 0
    assert main(["check", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "hidden_size" in err  # names the file and suggests the key


@pytest.mark.parametrize("make", ["missing", "directory", "binary", "empty"])
def test_bad_scenario_path_is_one_line_exit_2_and_no_tui(tmp_path, make):
    path = tmp_path / "x.toml"
    if make == "directory":
        path.mkdir()
    elif make == "binary":
        path.write_bytes(b"\x00\xff\xfe\x80" * 50)
    elif make == "empty":
        path.write_bytes(b"")
    r = run_cli(str(path), timeout=30)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0]
    assert "Traceback" not in r.stderr and r.stdout == ""  # the TUI never drew anything


def test_trace_king_table_predicts_throne_after_on():
    r = run_cli("trace", "king")
    assert r.returncode == 0, r.stderr
    rows = [ln.split() for ln in r.stdout.splitlines()]
    on = next(row for row in rows if len(row) > 1 and row[0].isdigit() and row[1] == "on")
    assert "throne" in on
    p = float(on[on.index("throne") + 1])
    assert p >= 0.9
    assert "||W_h||_2" in r.stdout and "spectral radius" in r.stdout and "retention" in r.stdout


def test_trace_json_matches_the_engine():
    r = run_cli("trace", "cat", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    for key in ("scenario", "model", "params", "epochs_trained", "loss_history", "vocab", "steps",
                "loss", "grads", "spectral_norm", "spectral_radius", "retention"):
        assert key in doc
    sc = load("cat")
    assert doc["scenario"]["name"] == "cat" and doc["epochs_trained"] == 0
    assert len(doc["steps"]) == len(sc.sequence)
    W = {k: np.array(v) for k, v in doc["params"].items()}
    from engine.model import Params
    p = run(Params(**W), sc.sequence.inputs, sc.sequence.targets, sc.sequence.mask,
            activation=sc.model.activation, output=sc.model.output)
    for t, step in enumerate(doc["steps"]):
        assert np.allclose(step["h"], p.h[t, 0], atol=1e-15)
        assert sum(step["probs"]) == pytest.approx(1.0)
        assert step["t"] == t and step["input"] == sc.sequence.labels[t]
    assert doc["steps"][-1]["jacobian_norm"] == 1.0
    assert doc["steps"][-1]["target"] is None and doc["steps"][0]["target"] is not None
    assert np.allclose(doc["grads"]["W_h"], p.grads.W_h, atol=1e-15)
    assert doc["loss"] == pytest.approx(p.loss, rel=1e-12)
    assert doc["spectral_norm"] == pytest.approx(np.linalg.norm(W["W_h"], 2), rel=1e-12)


def test_trace_epochs_override_and_negative(capsys):
    assert main(["trace", "king", "--epochs", "0", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["epochs_trained"] == 0 and len(doc["loss_history"]) == 1
    assert main(["trace", "king", "--epochs", "3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["epochs_trained"] == 3 and len(doc["loss_history"]) == 4
    assert main(["trace", "king", "--epochs", "-1"]) == 2


def test_trace_cat_explains_the_seeds_power_estimate(capsys):
    assert main(["trace", "cat"]) == 0
    out = capsys.readouterr().out
    assert "0.5274" in out and "0.4191" in out  # ||W_h||_2 and the spectral radius
    assert "0.5240" in out and "complex pair" in out  # the seed's figure, and why it is neither


def test_screenshot_writes_svg_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "shot.svg"
    assert main(["screenshot", "cat", "-o", str(out), "--size", "80x24", "--press", "right"]) == 0
    svg = out.read_text()
    assert svg.startswith("<svg") and "cat" in svg
    assert main(["screenshot", "cat", "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_text() == svg  # the first file is intact
    assert main(["screenshot", "cat", "-o", str(tmp_path / "x.svg"), "--size", "big"]) == 2
    capsys.readouterr()
    # a name that says another format is refused at once, nothing written
    assert main(["screenshot", "cat", "-o", str(tmp_path / "shot.png")]) == 2
    assert capsys.readouterr().err.endswith("a screenshot is an SVG file; name it .svg, e.g. "
                                            f"{tmp_path / 'shot.svg'}\n")
    assert not (tmp_path / "shot.png").exists()


@pytest.mark.parametrize("argv, unknown", [(["trace", "king", "--att", "none"], "--att none"),
                                           (["trace", "king", "--ep", "2"], "--ep 2")])
def test_an_option_is_spelled_whole(argv, unknown, capsys):
    """`trace --at t=3` was read as --attention ("invalid choice: 't=3'"), a prefix of it, before
    trace had an --at of its own: no prefix of an option is taken for it."""
    assert main(argv) == 2
    assert f"unrecognized arguments: {unknown}" in capsys.readouterr().err
