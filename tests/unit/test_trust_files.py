"""Issue 25, local files: a cache entry that is a FIFO, a device or a huge file, or an npz that
would decompress or allocate gigabytes, is refused before it is read; CSV and corpus files
that are FIFOs say so plainly; settings in the environment are checked, never silently
replaced; a refusal's advice fits where the data comes from."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import tracemalloc
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from engine import fit, load, loads
from engine import budget
from engine.csvdata import fit_normalization
from engine.types import ScenarioError
from rnntui import cache
from rnntui.cli import main

EPOCHS = 3


@pytest.fixture(scope="module")
def king_run():
    sc = load("king")
    return sc, fit(sc, EPOCHS)


def _stored(king_run):
    sc, history = king_run
    assert cache.store(sc, history, EPOCHS)
    key = cache.key_for(sc, EPOCHS)
    return sc, cache.cache_dir() / f"{key}.npz", cache.cache_dir() / f"{key}.json"


def _members(npz) -> dict[str, bytes]:
    with zipfile.ZipFile(npz) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _put(npz, man, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    """Write ``members`` as the entry's npz, with the manifest's hash made to match (so only
    the checks of what is inside can refuse it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    npz.write_bytes(buf.getvalue())
    manifest = json.loads(man.read_text())
    manifest["npz_sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    man.write_text(json.dumps(manifest))


def _npy_header(shape, descr="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


@pytest.fixture
def no_array_read(monkeypatch):
    """Fails the test if any array of an npz is read (np.load, or numpy's read_array)."""
    calls = []

    def refuse(*a, **k):
        calls.append(a)
        raise AssertionError("an array was read")
    monkeypatch.setattr(np, "load", refuse)
    monkeypatch.setattr(np.lib.format, "read_array", refuse)
    return calls


# -- 12: an npz bomb is refused from its directory and headers, before any array is read ------

def test_an_npz_declaring_a_huge_array_is_refused_before_any_array_is_read(
        king_run, no_array_read):
    sc, npz, man = _stored(king_run)
    members = _members(npz)
    # w_W_h claims 10^8 snapshots of 12 x 12 (115 GB) in a member of a few bytes
    members["w_W_h.npy"] = _npy_header((10 ** 8, 12, 12)) + b"\0" * 64
    _put(npz, man, members)
    assert cache.load(sc, EPOCHS) is None
    assert no_array_read == []
    assert not man.exists()  # dropped: the next start rebuilds it


def test_a_compressed_member_that_inflates_past_the_scenarios_size_is_never_inflated(
        king_run, no_array_read):
    sc, npz, man = _stored(king_run)
    members = _members(npz)
    # a real .npy header of the right shape, then 4 MB of zeros: deflated to a few KB
    members["w_W_h.npy"] = members["w_W_h.npy"] + b"\0" * (4 << 20)
    _put(npz, man, members, zipfile.ZIP_DEFLATED)
    assert npz.stat().st_size < 64 << 10
    assert cache.load(sc, EPOCHS) is None
    assert no_array_read == []


def test_a_header_whose_dtype_or_size_disagrees_with_the_zip_is_refused(king_run,
                                                                        no_array_read):
    sc, npz, man = _stored(king_run)
    good = _members(npz)
    for bad in (_npy_header((EPOCHS + 1, 12, 12), "<f4") + b"\0" * 4 * 4 * 144,  # float32
                _npy_header((EPOCHS + 1, 12, 12)) + b"\0" * 8,  # fewer bytes than it says
                _npy_header((EPOCHS + 1, 12, 12), "|O") + b"\0" * 8):  # objects: pickles
        _put(npz, man, {**good, "w_W_h.npy": bad})
        assert cache.load(sc, EPOCHS) is None
        cache.store(sc, king_run[1], EPOCHS)
    assert no_array_read == []


def test_a_good_entry_still_loads_after_the_checks(king_run):
    sc, npz, man = _stored(king_run)
    got = cache.load(sc, EPOCHS)
    assert got is not None and got.losses == king_run[1].losses
    assert npz.stat().st_size <= cache.npz_cap(cache._wanted(json.loads(man.read_text()),
                                                             king_run[1].weights[0], EPOCHS))


def test_a_manifest_cannot_bring_its_own_stop_message(king_run):
    """The manifest is outside the npz's hash: its "stopped" (shown by the app and printed
    by rnntui trace) must be the one stop a stored run can have, not text of its own."""
    sc, npz, man = _stored(king_run)
    manifest = json.loads(man.read_text())
    man.write_text(json.dumps({**manifest, "stopped": "\x1b]0;pwned\x07"}))
    assert cache.load(sc, EPOCHS) is None
    # a run that really stopped (the loss became non-finite) is stored and read back as it was
    sine = load("sine")
    sine = replace(sine, train=replace(sine.train, learning_rate=1e6, optimizer="sgd",
                                       clip=None))
    run = fit(sine, 50)
    assert run.stopped and "non-finite" in run.stopped
    assert cache.store(sine, run, 50)
    assert cache.load(sine, 50).stopped == run.stopped


# -- 10: a cache entry that is a FIFO, a device or a huge file is refused unread -------------

def _load_guarded(sc, path):
    """cache.load in a thread: on the old code it blocks on the FIFO; the join's limit only
    bounds a failing run (a passing one returns at once), and the FIFO is then unblocked."""
    out = []
    worker = threading.Thread(target=lambda: out.append(cache.load(sc, EPOCHS)), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():  # unblock the reader so the thread ends
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(10)
        pytest.fail("cache.load blocked on a FIFO")
    return out[0]


@pytest.mark.parametrize("which", ["manifest", "npz"])
def test_a_fifo_as_a_cache_file_is_refused_without_blocking(king_run, which):
    sc, npz, man = _stored(king_run)
    path = man if which == "manifest" else npz
    path.unlink()
    os.mkfifo(path)
    assert _load_guarded(sc, path) is None
    assert not man.exists()  # dropped as any bad entry
    assert cache.load(sc, EPOCHS) is None and cache.store(sc, king_run[1], EPOCHS)
    assert cache.load(sc, EPOCHS) is not None  # rebuilt


def test_an_npz_bigger_than_the_scenarios_arrays_is_refused_before_it_is_read(king_run):
    sc, npz, man = _stored(king_run)
    with open(npz, "r+b") as f:  # a sparse 64 MB file: no disk used, but 64 MB if read
        f.truncate(64 << 20)
    manifest = json.loads(man.read_text())
    tracemalloc.start()
    try:
        assert cache.load(sc, EPOCHS) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak
    assert manifest["epochs"] == EPOCHS


# -- smaller: settings from the environment ----------------------------------------------------

def test_a_cache_cap_that_is_not_a_size_is_refused_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv(cache.MAX_ENV, "abc")
    assert main(["trace", "cat"]) == 2
    err = capsys.readouterr().err
    assert err == ("rnntui: RNNTUI_CACHE_MAX='abc' is not a size; write e.g. "
                   "RNNTUI_CACHE_MAX=50M (or unset it for the default, 200 MiB)\n")
    with pytest.raises(cache.CacheSettingError, match="RNNTUI_CACHE_MAX='abc' is not a size"):
        cache.max_bytes()
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")  # the cache off: its cap does not matter
    assert cache.check_settings() is None
    monkeypatch.delenv(cache.NO_CACHE_ENV)
    cache.prune()  # inside, it falls back to the default rather than fail a store
    monkeypatch.setenv(cache.MAX_ENV, "50M")
    assert cache.max_bytes() == 50_000_000


@pytest.mark.parametrize("env, value, words", [
    ("RNNTUI_MEMORY_BUDGET", "1.5", "is 1.5 bytes, too small a budget to run anything; give "
                                    "at least 1000 bytes, e.g. 512M or 4G"),
    ("RNNTUI_TRACE_BUDGET", "10", "is 10 operations, too small a budget to run anything; give "
                                  "at least 1000 operations, e.g. 5e12"),
])
def test_a_budget_too_small_to_mean_anything_is_refused_clearly(monkeypatch, capsys, env,
                                                                value, words):
    monkeypatch.setenv(env, value)
    with pytest.raises(ScenarioError) as info:
        budget.budgets()
    assert str(info.value) == f"{env}='{value}' {words}"
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1 bytes" not in err and words in err
    assert budget.format_bytes(1.5) == "1.5 bytes"


# -- smaller: CSV and corpus files --------------------------------------------------------------

@pytest.mark.parametrize("key, kind", [("csv", "series"), ("file", "text")])
def test_a_fifo_as_a_data_file_is_named_plainly(tmp_path, key, kind):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ScenarioError) as info:
        loads(f'[scenario]\nname = "p"\nkind = "{kind}"\n[data]\n{key} = "pipe"\n',
              source=str(tmp_path / "s.toml"))
    assert str(info.value) == f"{tmp_path / 'pipe'}: is not a regular file (a pipe, device " \
                              f"or socket) (the [data].{key} of {tmp_path / 's.toml'})"


def test_a_spread_too_small_to_divide_by_is_not_called_constant():
    with pytest.raises(ValueError) as info:
        fit_normalization("zscore", np.array([1e-300, -1e-300, 0.0]))
    msg = str(info.value)
    assert "every value is" not in msg
    assert "differ by at most 2e-300" in msg and "too little for zscore" in msg
    with pytest.raises(ValueError, match=r"^every value is 1e-300, so minmax"):
        fit_normalization("minmax", np.array([1e-300, 1e-300]))
    z = fit_normalization("minmax", np.array([1e-300, -1e-300, 0.0]))
    assert np.isfinite(z.apply([1e-300, -1e-300])).all()


def test_a_text_file_over_its_budget_gets_advice_about_the_file(tmp_path, monkeypatch):
    (tmp_path / "t.txt").write_text("the cat sat on the mat. " * 200)
    text = ('[scenario]\nname = "t"\nkind = "text"\n[model]\nhidden_size = 8\n'
            '[train]\nepochs = 50\n[data]\nfile = "t.txt"\nunit = "char"\n')
    monkeypatch.setenv("RNNTUI_MEMORY_BUDGET", "1M")
    monkeypatch.setenv("RNNTUI_TRAIN_BUDGET", "1e7")
    with pytest.raises(ScenarioError) as info:
        loads(text, source=str(tmp_path / "s.toml"))
    msg = str(info.value)
    assert "sentence" not in msg and "prompt" not in msg
    assert msg.endswith("use a smaller [model].hidden_size, a shorter text file, a smaller "
                        "[data].vocab_size or a smaller [data].window, or a smaller "
                        "[train].batch_size (raise the budget with RNNTUI_MEMORY_BUDGET=..., "
                        "see docs/scenarios.md)"), msg
    monkeypatch.setenv("RNNTUI_MEMORY_BUDGET", "1G")
    with pytest.raises(ScenarioError, match="use fewer .train..epochs, a shorter text file, "):
        loads(text, source=str(tmp_path / "s.toml"))
