"""The training cache (rnntui/cache.py): exact round trips, nothing read is trusted, a bounded
folder, atomic writes, the switches, and a warm start that draws the very same screen."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine import fit, load, with_cell
from rnntui import cache


def _same_history(a, b) -> None:
    assert a.losses == b.losses
    assert a.epochs == b.epochs
    assert a.every == b.every and a.stopped == b.stopped
    assert list(getattr(a, "val_losses", [])) == list(getattr(b, "val_losses", []))
    assert len(a.weights) == len(b.weights)
    for p, q in zip(a.weights + [a.tip], b.weights + [b.tip]):
        assert type(p) is type(q)
        for x, y in zip(p.arrays(), q.arrays()):
            assert x.dtype == y.dtype and np.array_equal(x, y)
    assert a.opt_state.get("t") == b.opt_state.get("t")
    for part in ("m", "v"):
        xs, ys = a.opt_state.get(part), b.opt_state.get(part)
        assert (xs is None) == (ys is None)
        for x, y in zip(xs or [], ys or []):
            assert np.array_equal(x, y)


def _entry(sc, epochs=None) -> tuple[Path, Path]:
    key = cache.key_for(sc, epochs)
    return cache.cache_dir() / f"{key}.npz", cache.cache_dir() / f"{key}.json"


def _rewrite(sc, change, *, fix_hash: bool = True, epochs=None) -> None:
    """Change the arrays of ``sc``'s entry (``change(arrays)`` edits the dict) and write them
    back, with the manifest's hash made to match (so only the content checks can catch it)."""
    npz, man = _entry(sc, epochs)
    with np.load(npz, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    npz.write_bytes(buf.getvalue())
    if fix_hash:
        manifest = json.loads(man.read_text())
        manifest["npz_sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
        man.write_text(json.dumps(manifest))


#: king trained this many epochs, not its own 200: the tests of a damaged or tampered entry
#: train it again from scratch after each refusal (two dozen of them), and the length of the
#: run has nothing to do with what they check. (Every snapshot of it is kept, as with 200.)
KING_EPOCHS = 40


@pytest.fixture(scope="module")
def king_fresh():
    sc = load("king")
    sc.train.epochs = KING_EPOCHS
    fresh = fit(sc)
    assert fresh.epochs == list(range(KING_EPOCHS + 1))
    return sc, fresh


def test_the_suite_never_uses_the_real_cache_folder():
    home = Path.home() / ".cache"
    assert not str(cache.cache_dir()).startswith(str(home))
    assert cache.cache_dir().parent == Path(os.environ["XDG_CACHE_HOME"])


@pytest.mark.parametrize("name,cell", [("king", None), ("king", "lstm"), ("sine", "gru"),
                                       ("echo", None)])
def test_round_trip_equals_fresh_training_exactly(name, cell):
    sc = load(name)
    if cell:
        sc = with_cell(sc, cell)
    fresh = fit(sc)
    assert cache.load(sc) is None  # empty at first
    assert cache.store(sc, fresh)
    loaded = cache.load(sc)
    assert loaded is not None
    _same_history(loaded, fresh)
    # training on from the loaded run is training on from the fresh one, number for number
    _same_history(fit(sc, 3, history=loaded), fit(sc, 3, history=fresh))


def test_trained_uses_the_cache_and_fit_otherwise(monkeypatch, king_fresh):
    sc, fresh = king_fresh
    _same_history(cache.trained(sc), fresh)  # cold: trains, stores
    import engine

    def no_fit(*a, **k):
        raise AssertionError("trained again although the cache has the run")

    monkeypatch.setattr(engine, "fit", no_fit)
    _same_history(cache.trained(sc), fresh)  # warm: read


def test_the_key_follows_what_training_reads(monkeypatch):
    sc = load("king")
    k = cache.key_for(sc)
    assert k == cache.key_for(load("king"))  # the same file: the same key
    assert cache.key_for(sc, 201) != k
    assert cache.key_for(with_cell(sc, "gru")) != k
    other = load("king")
    other.train.learning_rate = 0.051
    assert cache.key_for(other) != k
    other = load("king")
    other.train_sequences[0].inputs = other.train_sequences[0].inputs.copy()
    other.train_sequences[0].inputs[0, 0] += 1e-12  # one number of the data
    assert cache.key_for(other) != k
    other = load("king")
    other.model.seed = 2
    assert cache.key_for(other) != k
    monkeypatch.setattr(cache, "_ENGINE_VERSION", "another engine")
    assert cache.key_for(sc) != k


def _stored(king_fresh):
    sc, fresh = king_fresh
    assert cache.store(sc, fresh)
    assert cache.load(sc) is not None
    return sc, fresh


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "not-zip", "manifest-json",
                                    "manifest-key", "manifest-epochs", "manifest-format",
                                    "no-npz", "no-manifest"])
def test_a_damaged_entry_is_ignored_and_rebuilt(king_fresh, damage):
    sc, fresh = _stored(king_fresh)
    npz, man = _entry(sc)
    data = npz.read_bytes()
    manifest = json.loads(man.read_text())
    if damage == "flip":
        b = bytearray(data)
        b[len(b) // 2] ^= 0x40
        npz.write_bytes(bytes(b))
    elif damage == "truncate":
        npz.write_bytes(data[: len(data) // 3])
    elif damage == "empty":
        npz.write_bytes(b"")
    elif damage == "not-zip":
        npz.write_bytes(b"not an npz at all" * 10)
    elif damage == "manifest-json":
        man.write_text("{not json")
    elif damage == "manifest-key":
        man.write_text(json.dumps({**manifest, "key": "0" * 64}))
    elif damage == "manifest-epochs":
        man.write_text(json.dumps({**manifest, "epochs": KING_EPOCHS - 1}))
    elif damage == "manifest-format":
        man.write_text(json.dumps({**manifest, "format": 999}))
    elif damage == "no-npz":
        npz.unlink()
    elif damage == "no-manifest":
        man.unlink()
    assert cache.load(sc) is None
    assert not man.exists()  # dropped, so the next start rebuilds it
    _same_history(cache.trained(sc), fresh)
    assert cache.load(sc) is not None  # rebuilt


def _w_h(arrays):
    return arrays["w_W_h"]


@pytest.mark.parametrize("tamper", [
    ("shape", lambda a: a.update(w_W_h=_w_h(a)[:, :-1])),  # a column fewer
    ("kept-count", lambda a: a.update(w_W_h=_w_h(a)[:-1])),  # a snapshot fewer
    ("tip-shape", lambda a: a.update(tip_W_h=a["tip_W_h"].ravel())),
    ("dtype", lambda a: a.update(w_W_h=_w_h(a).astype(np.float32))),
    ("int-dtype", lambda a: a.update(losses=a["losses"].astype(np.int64))),
    ("nan-weight", lambda a: _w_h(a).__setitem__((3, 0, 0), np.nan)),
    ("inf-loss", lambda a: a["losses"].__setitem__(5, np.inf)),
    ("missing-key", lambda a: a.pop("m_W_y")),
    ("extra-key", lambda a: a.update(surprise=np.zeros(3))),
    ("epochs-order", lambda a: a["epochs"].__setitem__(slice(1, 3), [2, 1])),
    ("epochs-end", lambda a: a["epochs"].__setitem__(-1, KING_EPOCHS - 10)),
    ("other-start", lambda a: _w_h(a).__setitem__((0, 0, 0), _w_h(a)[0, 0, 0] + 1e-9)),
    ("object-array", lambda a: a.update(losses=np.array([1.0, "x"], dtype=object))),
], ids=lambda t: t[0] if isinstance(t, tuple) else str(t))
def test_a_tampered_entry_with_a_matching_hash_is_still_refused(king_fresh, tamper):
    sc, fresh = _stored(king_fresh)
    _rewrite(sc, tamper[1])
    assert cache.load(sc) is None
    _same_history(cache.trained(sc), fresh)


def test_the_entry_must_be_of_this_cell(king_fresh):
    """An LSTM run stored under the vanilla cell's key (same names, other shapes) is refused."""
    sc, _ = _stored(king_fresh)
    lstm = with_cell(sc, "lstm")
    cache.store(lstm, fit(lstm, 2), 2)
    src_npz, src_man = _entry(lstm, 2)
    npz, man = _entry(sc)
    npz.write_bytes(src_npz.read_bytes())
    manifest = json.loads(src_man.read_text())
    manifest.update(key=cache.key_for(sc), epochs=KING_EPOCHS)
    man.write_text(json.dumps(manifest))
    assert cache.load(sc) is None


def test_the_folder_stays_under_its_cap_oldest_dropped(monkeypatch):
    sc = load("king")
    runs = {n: fit(sc, n) for n in (2, 3, 4, 5)}
    sizes = []
    for i, (n, h) in enumerate(runs.items()):
        assert cache.store(sc, h, n)
        npz, man = _entry(sc, n)
        sizes.append(npz.stat().st_size + man.stat().st_size)
        os.utime(man, (1_000_000 + i, 1_000_000 + i))  # stored one after another
    cap = sizes[-1] + sizes[-2] + 10  # room for the two newest only
    monkeypatch.setenv(cache.MAX_ENV, str(cap))
    cache.prune()
    kept = [n for n in runs if _entry(sc, n)[1].exists()]
    assert kept == [4, 5]
    assert not _entry(sc, 2)[0].exists() and not _entry(sc, 3)[0].exists()
    total = sum(p.stat().st_size for p in cache.cache_dir().iterdir())
    assert total <= cap
    # a hit makes an entry recent: the older of the two is then the one kept
    assert cache.load(sc, 4) is not None
    monkeypatch.setenv(cache.MAX_ENV, str(sizes[-1] + 10))
    cache.prune()
    assert [n for n in runs if _entry(sc, n)[1].exists()] == [4]


def test_the_default_cap_is_documented_and_used(monkeypatch):
    monkeypatch.delenv(cache.MAX_ENV, raising=False)
    assert cache.max_bytes() == cache.MAX_BYTES == 200 << 20
    monkeypatch.setenv(cache.MAX_ENV, "50M")
    assert cache.max_bytes() == 50_000_000


def test_a_crash_while_writing_leaves_no_entry(monkeypatch, king_fresh):
    sc, fresh = king_fresh
    real_replace = os.replace
    calls = []

    def crash_on_manifest(src, dst):
        calls.append(dst)
        if str(dst).endswith(".json"):
            raise KeyboardInterrupt("killed mid-write")  # what a signal would do
        return real_replace(src, dst)

    monkeypatch.setattr(cache.os, "replace", crash_on_manifest)
    with pytest.raises(KeyboardInterrupt):
        cache.store(sc, fresh)
    monkeypatch.setattr(cache.os, "replace", real_replace)
    assert len(calls) == 2  # the npz went into place, the manifest did not
    assert cache.load(sc) is None  # an npz without its manifest is no entry
    assert not any(p.name.startswith(".tmp-") for p in cache.cache_dir().iterdir())


def test_a_write_that_fails_midway_leaves_nothing(monkeypatch, king_fresh):
    sc, fresh = king_fresh

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.os, "fsync", full_disk)
    assert cache.store(sc, fresh) is False  # reported, not raised
    monkeypatch.undo()
    folder = cache.cache_dir()
    assert not folder.exists() or list(folder.iterdir()) == []
    assert cache.load(sc) is None


def test_no_cache_reads_and_writes_nothing(monkeypatch, king_fresh):
    sc, fresh = king_fresh
    assert cache.store(sc, fresh)
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    assert cache.load(sc) is None
    other = fit(sc, 2)
    assert cache.store(sc, other, 2) is False
    monkeypatch.delenv(cache.NO_CACHE_ENV)
    assert cache.load(sc, 2) is None and cache.load(sc) is not None


def test_runs_stopped_on_request_are_not_stored():
    sc = load("king")
    h = fit(sc, 50, progress=lambda e, loss: e < 10)
    assert h.stopped and "request" in h.stopped
    assert cache.store(sc, h, 50) is False


def test_cli_trace_uses_the_cache_and_no_cache_skips_it(capsys):
    from rnntui.cli import main
    sc = load("king")
    assert main(["trace", "king", "--no-cache"]) == 0
    assert not _entry(sc)[1].exists()
    os.environ.pop(cache.NO_CACHE_ENV, None)  # (the flag sets it for the rest of a process)
    cold = capsys.readouterr().out
    assert main(["trace", "king"]) == 0
    assert _entry(sc)[1].exists()
    assert main(["trace", "king"]) == 0  # warm
    out = capsys.readouterr().out
    assert out == cold + cold  # the same table, trained now or read


def test_a_warm_start_draws_the_same_screen_without_training(monkeypatch):
    from rnntui import jobs
    from rnntui.screenshot import render_svg
    cold = render_svg("king", size=(100, 32))
    assert _entry(load("king"))[1].exists()  # training on open stored its run

    def no_fit(*a, **k):
        raise AssertionError("trained on a warm start")

    monkeypatch.setattr(jobs, "fit", no_fit)
    warm = render_svg("king", size=(100, 32))
    assert warm == cold
    # and a position's epoch is the one shown, from the cached run too
    assert render_svg("king", size=(100, 32), at="epoch=50,t=2") == \
        _cold_at(monkeypatch, "epoch=50,t=2")


def _cold_at(monkeypatch, at):
    from rnntui import jobs
    from rnntui.screenshot import render_svg
    monkeypatch.setattr(jobs, "fit", fit)
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    try:
        return render_svg("king", size=(100, 32), at=at)
    finally:
        monkeypatch.delenv(cache.NO_CACHE_ENV)


async def test_the_first_frame_says_training_when_it_will_train():
    """Cold: "training" from the very first frame, never a stale "untrained"."""
    from helpers import quiet_app
    app = quiet_app("king")
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.view  # the View of the first frame (before the training thread has begun)
        assert view.training is not None and view.trained_epochs == 0
        screen = app.main_screen
        for pane_id in ("#sequence", "#loss"):
            pane = screen.query_one(pane_id)
            text = pane.draw(view.reading(pane.READS), 110, 6).plain
            assert "untrained" not in text and "training" in text, text
        from rnntui.screens.main import status_text
        assert "training 0/200" in status_text(view).plain
        await pilot.press("q")


def test_training_in_a_child_process_stores_the_very_run(king_fresh):
    sc, fresh = king_fresh
    child = cache.train_in_child(sc)
    assert child is not None and child.wait()
    _same_history(cache.load(sc), fresh)
    assert cache.train_in_child(sc) is None  # the cache has it: nothing to do
    assert cache.train_in_child(sc, 0) is None


def test_training_in_a_child_is_off_with_the_cache(monkeypatch, king_fresh):
    sc, _ = king_fresh
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    assert cache.train_in_child(sc) is None


def test_a_cold_cli_screenshot_trains_in_a_child_and_draws_the_same(tmp_path, monkeypatch):
    from rnntui.cli import main
    calls = []
    real = cache.train_in_child

    def spy(*a, **k):
        child = real(*a, **k)
        calls.append(child)
        return child

    monkeypatch.setattr(cache, "train_in_child", spy)
    assert main(["screenshot", "king", "-o", str(tmp_path / "cold.svg")]) == 0
    assert calls and calls[0] is not None  # cold: trained by the child
    assert _entry(load("king"))[1].exists()
    assert main(["screenshot", "king", "-o", str(tmp_path / "warm.svg")]) == 0
    assert calls[1] is None  # warm: nothing to train
    assert main(["screenshot", "king", "--no-cache", "-o", str(tmp_path / "none.svg")]) == 0
    os.environ.pop(cache.NO_CACHE_ENV, None)
    cold, warm, none = ((tmp_path / f).read_text() for f in ("cold.svg", "warm.svg", "none.svg"))
    assert cold == warm == none


@pytest.mark.parametrize("attention", ["additive", "none"])
def test_an_encoder_decoder_run_is_cached_with_the_same_numbers(monkeypatch, attention):
    """The encoder's, the decoder's and the attention's weights are stored and read back;
    a second open is from the cache, number for number, and trains on as the fresh run."""
    from engine.seq2seq import with_attention
    sc = with_attention(load("reverse"), attention)
    assert cache.key_for(sc, 2) is not None
    assert cache.key_for(sc, 2) != cache.key_for(with_attention(sc, "dot"), 2)
    fresh = cache.trained(sc, 2)  # cold: trains, stores
    assert cache.has_entry(sc, 2)
    import engine

    def no_fit(*a, **k):
        raise AssertionError("trained again although the cache has the run")

    monkeypatch.setattr(engine, "fit", no_fit)
    loaded = cache.trained(sc, 2)
    assert loaded is not fresh
    _same_history(loaded, fresh)
    assert loaded.weights[-1].attention == attention
    monkeypatch.undo()
    _same_history(fit(sc, 1, history=loaded), fit(sc, 1, history=fresh))


def test_an_encoder_decoder_entry_with_other_encoder_weights_is_refused():
    sc = load("reverse")
    cache.store(sc, fit(sc, 1), 1)

    def tamper(arrays):
        assert {"w_enc__W_h", "w_dec__W_h", "w_W_o", "w_v"} <= set(arrays)
        arrays["w_enc__W_h"][0] += 1.0  # the starting encoder is not this scenario's

    _rewrite(sc, tamper, epochs=1)
    assert cache.load(sc, 1) is None
