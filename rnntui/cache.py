"""The training cache: a scenario's trained weights and loss curve, kept on disk between runs.

An entry is what :func:`engine.fit` returned for one scenario trained from its initial weights
for a number of epochs: the loss of every epoch, the kept epochs' weights, the newest weights and
the optimiser's state (so pressing t later continues exactly as after a fresh run). It lives in
``$XDG_CACHE_HOME/rnntui`` (else ``~/.cache/rnntui``) as two files named by its key:

* ``KEY.npz``: the arrays (``numpy.savez``; read with ``allow_pickle=False``: no pickle, ever);
  an encoder-decoder's (engine/seq2seq.py) as its encoder's (``w_enc__W_h``), its decoder's
  (``w_dec__W_h``) and its own (``w_W_o``, the attention's ``w_v``);
* ``KEY.json``: a small manifest (format, key, scenario name, cell, epochs, the sha256 of the
  npz). It is written last, so it is the entry's commit point: a crash mid-write leaves at most a
  temporary file or an npz without a manifest, and neither is an entry.

The key is the sha256 of everything training reads (:func:`key_for`): the model settings
(hidden size, cell, activation, output, init, seed, hand-written weights, an encoder-decoder's
attention), the training settings,
the sizes, every training sequence's arrays (so a data file that changed, even one a scenario only
names, makes a new key), the number of epochs, and the engine's version (the sha256 of its source
files: changed training code never meets old weights).

Nothing read is trusted: an entry whose manifest, hash, keys, dtypes, shapes or values do not
match what this scenario's training would give (its first weights must equal the scenario's
initial weights bit for bit) is ignored and rebuilt. Both files are read only as regular files
(:func:`engine.files.read_regular`: a FIFO, a device or a symlink to one is refused unread) and
only up to a size: the manifest :data:`MANIFEST_MAX_BYTES`, the npz what this scenario's arrays
can take (:func:`npz_cap`). Before any array is read, the npz's members are checked against
what the scenario needs (:func:`_check_members`): their names, that they are stored as
``numpy.savez`` stores them (not compressed), and each ``.npy`` header's dtype and shape, with
the zip's declared size of each member equal to what that header says it holds: a small file
that would decompress or allocate gigabytes is refused without allocating them.

Both files are written to a temporary name and moved into place with :func:`os.replace`. The
folder is kept under :data:`MAX_BYTES` (``RNNTUI_CACHE_MAX``, e.g. ``50M``; a value that is not
a size is refused, :func:`check_settings`), dropping the least recently used entries (by mtime;
a hit touches its entry). ``RNNTUI_NO_CACHE=1`` (the ``--no-cache`` flag) turns all of it off.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import io
import json
import os
import time
import zipfile
from pathlib import Path

from engine.cells.base import weight_names, weight_of, with_weights

import numpy as np

from engine.budget import MAX_SNAPSHOTS, parse_amount
from engine.files import read_regular

__all__ = ["FORMAT", "MAX_BYTES", "CacheSettingError", "cache_dir", "check_settings", "enabled",
           "engine_version", "key_for", "load", "npz_cap", "prune", "store", "trained"]

#: Bumped when the layout of an entry changes (old entries are then ignored).
FORMAT = 1
#: Default size cap of the cache folder (bytes); ``RNNTUI_CACHE_MAX`` overrides it.
MAX_BYTES = 200 << 20
NO_CACHE_ENV = "RNNTUI_NO_CACHE"
MAX_ENV = "RNNTUI_CACHE_MAX"
#: The largest manifest read (bytes); one is a few hundred bytes.
MANIFEST_MAX_BYTES = 64 << 10
#: Room for one member's zip headers and .npy header beside its data (bytes), and for the
#: zip's end records.
_MEMBER_OVERHEAD = 4096
#: Training runs that stopped for one of these reasons depend on more than the scenario.
_UNREPEATABLE = ("request", "memory")


def enabled() -> bool:
    """False when ``RNNTUI_NO_CACHE`` is set to anything but "" or "0"."""
    return os.environ.get(NO_CACHE_ENV, "") in ("", "0")


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/rnntui`` (an absolute XDG_CACHE_HOME only, as the spec says), else
    ``~/.cache/rnntui``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "rnntui"


class CacheSettingError(ValueError):
    """``RNNTUI_CACHE_MAX`` is set to something that is not a size: one plain sentence."""


def max_bytes() -> int:
    """The folder's size cap: ``RNNTUI_CACHE_MAX`` (e.g. ``50M``) when set, else MAX_BYTES.
    A value that is not a size raises CacheSettingError (never a silent default); the CLI
    checks it at start (:func:`check_settings`)."""
    text = os.environ.get(MAX_ENV, "")
    if not text.strip():
        return MAX_BYTES
    try:
        value = parse_amount(text)
    except ValueError:
        value = 0.0
    if value < 1:
        raise CacheSettingError(f"{MAX_ENV}={text.strip()[:40]!r} is not a size; write e.g. "
                                f"{MAX_ENV}=50M (or unset it for the default, "
                                f"{MAX_BYTES >> 20} MiB)")
    return int(value)


def check_settings() -> str | None:
    """The one-line complaint about the cache's environment variables, or None when they are
    fine (or the cache is off)."""
    if not enabled():
        return None
    try:
        max_bytes()
    except CacheSettingError as err:
        return str(err)
    return None


_ENGINE_VERSION: str | None = None


def engine_version() -> str:
    """The sha256 of the engine's source files (names and bytes), computed once."""
    global _ENGINE_VERSION
    if _ENGINE_VERSION is None:
        import engine
        root = Path(engine.__file__).resolve().parent
        h = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
        _ENGINE_VERSION = h.hexdigest()
    return _ENGINE_VERSION


# -- the key ----------------------------------------------------------------------------------

def _feed(h, value) -> None:
    """Hash ``value`` unambiguously: type tags, lengths, arrays by dtype, shape and bytes."""
    if value is None or isinstance(value, (bool, int, str)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, float):
        h.update(f"float:{value.hex()};".encode())
    elif isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value)
        h.update(f"nd:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    elif isinstance(value, np.generic):
        _feed(h, value.item())
    elif isinstance(value, dict):
        h.update(f"dict:{len(value)};".encode())
        for k in sorted(value, key=str):
            _feed(h, str(k))
            _feed(h, value[k])
    elif isinstance(value, (list, tuple)):
        h.update(f"seq:{len(value)};".encode())
        for v in value:
            _feed(h, v)
    elif dataclasses.is_dataclass(value):
        h.update(f"dc:{type(value).__name__};".encode())
        for f in dataclasses.fields(value):
            if f.name == "origin":  # how the cell was switched; the model itself is all here
                continue
            _feed(h, f.name)
            _feed(h, getattr(value, f.name))
    else:
        raise TypeError(f"cannot key a {type(value).__name__}")


def key_for(scenario, epochs: int | None = None) -> str | None:
    """The cache key of ``scenario`` trained ``epochs`` (default: its own number) from its
    initial weights: a sha256 hex digest (see the module docstring); None when the scenario
    holds something this module cannot hash (it is then never cached)."""
    n = scenario.train.epochs if epochs is None else int(epochs)
    h = hashlib.sha256()
    try:
        _feed(h, ["rnntui-train-cache", FORMAT, engine_version(), scenario.kind,
                  scenario.model.cell, scenario.input_size, scenario.output_size, n])
        _feed(h, scenario.model)
        _feed(h, scenario.train)
        for s in scenario.train_sequences:
            _feed(h, [s.inputs, s.targets, s.mask])
        _feed(h, scenario.data)  # what else the data section built (a corpus, its windows)
    except TypeError:
        return None
    return h.hexdigest()


# -- encoding a History -----------------------------------------------------------------------

_KNOWN = ("losses", "epochs", "weights", "every", "stopped", "opt_state", "tip")


def _extra_fields(history_type) -> list[str]:
    """History's fields beyond those this module knows by name (lists of floats per epoch)."""
    return [f.name for f in dataclasses.fields(history_type) if f.name not in _KNOWN]


def _encode(history) -> tuple[dict[str, np.ndarray], dict] | None:
    """The arrays and the manifest fields of ``history``, or None when it cannot be cached."""
    if history.stopped and any(w in history.stopped for w in _UNREPEATABLE):
        return None
    if set(history.opt_state) - {"t", "m", "v"}:
        return None  # an optimiser state this format does not know
    extra = {}
    for name in _extra_fields(history):  # e.g. val_losses: per-epoch numbers
        value = getattr(history, name)
        if not isinstance(value, list) or not all(isinstance(x, float) for x in value):
            return None  # a History with more in it than this format knows
        extra["x_" + name] = np.asarray(value, dtype=np.float64)
    p0 = history.weights[0]
    names = weight_names(p0)
    arrays: dict[str, np.ndarray] = {
        "losses": np.asarray(history.losses, dtype=np.float64),
        "epochs": np.asarray(history.epochs, dtype=np.int64), **extra,
    }
    for name in names:
        arrays["w_" + name] = np.stack([weight_of(w, name) for w in history.weights])
        if history.tip is not None:
            arrays["tip_" + name] = weight_of(history.tip, name)
    for part in ("m", "v"):
        value = history.opt_state.get(part)
        if value is not None:
            if len(value) != len(names):
                return None
            for name, a in zip(names, value):
                arrays[f"{part}_{name}"] = np.asarray(a)
    meta = {"every": int(history.every), "stopped": history.stopped,
            "opt_t": int(history.opt_state.get("t", 0)), "tip": history.tip is not None,
            "opt": sorted(k for k in ("m", "v") if history.opt_state.get(k) is not None)}
    return arrays, meta


def _wanted(meta: dict, p0, n_epochs: int) -> dict[str, tuple] | None:
    """The arrays an entry of this scenario must hold, by name: (dtype, shape, least rows,
    most rows). A shape starting with -1 has from "least" to "most" rows; any other is exact.
    None when the manifest names parts this format does not have."""
    from engine import History
    opt = meta.get("opt")
    if not isinstance(opt, list) or not set(opt) <= {"m", "v"}:
        return None
    f8, i8 = np.dtype("<f8"), np.dtype("<i8")
    rows = n_epochs + 1  # the losses: epoch 0 and every epoch trained
    kept = min(rows, MAX_SNAPSHOTS + 2)  # the weights kept: spaced to at most this many
    want = {"losses": (f8, (-1,), 1, rows), "epochs": (i8, (-1,), 1, kept)}
    want |= {"x_" + n: (f8, (-1,), 0, rows) for n in _extra_fields(History)}
    for n in weight_names(p0):
        shape = tuple(weight_of(p0, n).shape)
        want["w_" + n] = (f8, (-1, *shape), 1, kept)
        if meta.get("tip"):
            want["tip_" + n] = (f8, shape, 1, 1)
        for part in opt:
            want[f"{part}_{n}"] = (f8, shape, 1, 1)
    return want


def npz_cap(want: dict) -> int:
    """The most bytes an npz holding the arrays ``want`` (see :func:`_wanted`) can take."""
    total = _MEMBER_OVERHEAD
    for dtype, shape, _least, most in want.values():
        count = int(np.prod([most if d == -1 else d for d in shape], dtype=object))
        total += count * dtype.itemsize + _MEMBER_OVERHEAD
    return total


def _check_members(zf: zipfile.ZipFile, want: dict) -> bool:
    """Whether the npz's members are exactly the arrays ``want`` describes, checked from the
    zip's directory and each .npy header alone: before any array is read or allocated."""
    infos = zf.infolist()
    if len(infos) != len(want) or {i.filename for i in infos} != {k + ".npy" for k in want}:
        return False
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            return False  # numpy.savez stores; nothing here is ever decompressed
        dtype, shape, least, most = want[info.filename[:-4]]
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                got, _fortran, got_dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                got, _fortran, got_dtype = np.lib.format.read_array_header_2_0(f)
            else:
                return False
            header = f.tell()
        if got_dtype != dtype or got_dtype.hasobject or len(got) != len(shape):
            return False
        if shape[0] == -1:
            if not least <= got[0] <= most or tuple(got[1:]) != shape[1:]:
                return False
        elif tuple(got) != shape:
            return False
        count = int(np.prod(got, dtype=object))
        if info.file_size != header + count * dtype.itemsize:
            return False
    return True


def _read_npz(data: bytes, want: dict) -> dict[str, np.ndarray] | None:
    """The arrays of the npz ``data`` when its members check out (:func:`_check_members`)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if not _check_members(zf, want):
            return None
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {name: z[name] for name in z.files}


def _decode(arrays: dict[str, np.ndarray], meta: dict, p0, n_epochs: int):
    """The History the arrays hold, checked against the scenario's initial weights ``p0``;
    None when anything does not fit."""
    from engine import History
    names = weight_names(p0)
    extra = _extra_fields(History)
    want = _wanted(meta, p0, n_epochs)
    if want is None or set(arrays) != set(want):
        return None
    opt = meta["opt"]
    losses, epochs = arrays["losses"], arrays["epochs"]
    if losses.dtype != np.float64 or losses.ndim != 1 or epochs.dtype != np.int64 \
            or epochs.ndim != 1:
        return None
    if not 1 <= len(losses) <= n_epochs + 1 or not np.isfinite(losses).all():
        return None
    k = len(epochs)
    if k < 1 or epochs[0] != 0 or np.any(np.diff(epochs) <= 0) or epochs[-1] != len(losses) - 1:
        return None
    every, opt_t, stopped = meta.get("every"), meta.get("opt_t"), meta.get("stopped")
    if type(every) is not int or every < 1 or type(opt_t) is not int or opt_t < 0:
        return None
    from engine.train import NON_FINITE
    # the only stop a stored run can have (the others are not stored): anything else in the
    # manifest, which the npz's hash does not cover, is not this run's (nor shown as one)
    if stopped is not None and stopped != f"stopped at epoch {len(losses)}: {NON_FINITE}":
        return None
    if stopped is None and len(losses) != n_epochs + 1:
        return None

    def checked(a: np.ndarray, shape) -> np.ndarray | None:
        if a.dtype != np.float64 or a.shape != tuple(shape) or not np.isfinite(a).all():
            return None
        return a

    stacks = {}
    for n in names:
        s = checked(arrays["w_" + n], (k, *weight_of(p0, n).shape))
        if s is None:
            return None
        stacks[n] = s
    weights = [with_weights(p0, {n: stacks[n][i].copy() for n in names}) for i in range(k)]
    if not all(np.array_equal(weight_of(weights[0], n), weight_of(p0, n)) for n in names):
        return None  # trained from other starting weights: not this scenario's run
    tip = None
    if meta.get("tip"):
        parts = {n: checked(arrays["tip_" + n], weight_of(p0, n).shape) for n in names}
        if any(v is None for v in parts.values()):
            return None
        tip = with_weights(p0, {n: v.copy() for n, v in parts.items()})
    opt_state: dict = {"t": opt_t}
    for part in opt:
        vals = [checked(arrays[f"{part}_{n}"], weight_of(p0, n).shape) for n in names]
        if any(v is None for v in vals):
            return None
        opt_state[part] = [v.copy() for v in vals]
    more = {}
    for name in extra:
        a = arrays["x_" + name]
        if a.dtype != np.float64 or a.ndim != 1 or len(a) > len(losses) \
                or np.isnan(a).any():
            return None
        more[name] = [float(x) for x in a]
    return History(losses=[float(x) for x in losses], epochs=[int(e) for e in epochs],
                   weights=weights, every=every, stopped=stopped, opt_state=opt_state, tip=tip,
                   **more)


# -- files ------------------------------------------------------------------------------------

def _paths(key: str, folder: Path | None = None) -> tuple[Path, Path]:
    folder = folder or cache_dir()
    return folder / f"{key}.npz", folder / f"{key}.json"


def load(scenario, epochs: int | None = None, folder: Path | None = None):
    """The cached History of ``scenario`` trained ``epochs`` (default: its own) from its
    initial weights, or None (no entry, the cache off, or an entry that does not check out:
    it is then deleted, so the next store rebuilds it). ``folder``: another cache folder
    than :func:`cache_dir` (the tests share one run's training between processes)."""
    if not enabled():
        return None
    n = scenario.train.epochs if epochs is None else int(epochs)
    if n <= 0:
        return None
    key = key_for(scenario, n)
    if key is None:
        return None
    npz_path, man_path = _paths(key, folder)
    if not man_path.exists():
        return None  # no entry (an npz alone is a write that never finished: pruned later)
    history = None
    try:
        # regular files only, each up to a size (a FIFO, /dev/zero, a huge file: refused)
        manifest = json.loads(read_regular(man_path, MANIFEST_MAX_BYTES).decode("utf-8"))
        if isinstance(manifest, dict) and manifest.get("format") == FORMAT \
                and manifest.get("key") == key and manifest.get("epochs") == n:
            from engine import initial_params
            p0 = initial_params(scenario)
            want = _wanted(manifest, p0, n)
            if want is not None:
                data = read_regular(npz_path, npz_cap(want))
                if manifest.get("npz_sha256") == hashlib.sha256(data).hexdigest():
                    arrays = _read_npz(data, want)
                    if arrays is not None:
                        history = _decode(arrays, manifest, p0, n)
    except Exception:  # noqa: BLE001 - any unreadable entry is a miss, never an error
        history = None
    if history is None:
        _remove(npz_path, man_path)
        return None
    try:
        os.utime(man_path)  # recently used: pruned last
    except OSError:
        pass
    return history


def store(scenario, history, epochs: int | None = None, folder: Path | None = None) -> bool:
    """Write ``history`` (``scenario`` trained ``epochs`` from its initial weights) to the
    cache (or to ``folder``, as :func:`load`); True when it was written. Never raises for a
    disk problem."""
    if not enabled():
        return False
    n = scenario.train.epochs if epochs is None else int(epochs)
    if n <= 0:
        return False
    encoded = _encode(history)
    if encoded is None:
        return False
    arrays, meta = encoded
    key = key_for(scenario, n)
    if key is None:
        return False
    folder = folder or cache_dir()
    npz_path, man_path = _paths(key, folder)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    manifest = {"format": FORMAT, "key": key, "scenario": scenario.name,
                "cell": scenario.model.cell, "epochs": n,
                "npz_sha256": hashlib.sha256(data).hexdigest(), **meta}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(npz_path, data)
        _write_atomic(man_path, json.dumps(manifest, indent=1).encode("utf-8"))
    except OSError:
        return False
    prune(folder)
    return True


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then move it into
    place in one step (:func:`os.replace`): readers see the old file or the new, never part."""
    import tempfile  # (only when writing: not on a warm start)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _remove(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except OSError:
            pass


def prune(folder: Path | None = None, limit: int | None = None) -> None:
    """Keep the cache folder under ``limit`` bytes (default :func:`max_bytes`): drop whole
    entries, least recently used first (by their manifest's mtime), and any npz without a
    manifest and temporary file left by a crash once they are a minute old."""
    folder = folder or cache_dir()
    if limit is None:
        try:
            limit = max_bytes()
        except CacheSettingError:  # (the command line refuses to start with it: check_settings)
            limit = MAX_BYTES
    limit = int(limit)
    try:
        files = list(folder.iterdir())
    except OSError:
        return
    now = time.time()
    entries: list[tuple[float, int, list[Path]]] = []
    for man in files:
        if man.suffix != ".json" or man.name.startswith("."):
            continue
        npz = man.with_suffix(".npz")
        try:
            st = man.stat()
            size = st.st_size + (npz.stat().st_size if npz.exists() else 0)
        except OSError:
            continue
        entries.append((st.st_mtime, size, [npz, man]))
    for f in files:
        stray = f.name.startswith(".tmp-") or (f.suffix == ".npz"
                                               and not f.with_suffix(".json").exists())
        try:
            if stray and now - f.stat().st_mtime > 60:
                f.unlink()
        except OSError:
            pass
    total = sum(size for _, size, _ in entries)
    for _, size, paths in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        _remove(paths[1], paths[0])  # the manifest first: the entry is gone at once
        total -= size


def trained(scenario, epochs: int | None = None, **fit_options):
    """``scenario`` trained ``epochs`` (default: its own) from its initial weights: from the
    cache when it has the run, else by :func:`engine.fit` (then stored). Options go to fit."""
    n = scenario.train.epochs if epochs is None else int(epochs)
    history = load(scenario, n)
    if history is None:
        from engine import fit
        history = fit(scenario, n, **fit_options)
        store(scenario, history, n)
    return history


def has_entry(scenario, epochs: int | None = None) -> bool:
    """Whether the cache has an entry for this run (its manifest exists; :func:`load` checks
    the rest)."""
    n = scenario.train.epochs if epochs is None else int(epochs)
    key = key_for(scenario, n) if enabled() and n > 0 else None
    return key is not None and _paths(key)[1].exists()


class TrainingChild:
    """Training done by a forked child process, into the cache (see :func:`train_in_child`)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def wait(self, timeout: float = 600.0) -> bool:
        """Wait for the child (at most ``timeout`` seconds, then it is stopped); True when it
        stored its run. Otherwise the app trains as without it."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    return os.waitstatus_to_exitcode(status) == 0
                if time.monotonic() > deadline:
                    os.kill(self.pid, 9)
                    os.waitpid(self.pid, 0)
                    return False
                time.sleep(0.002)
        except (ChildProcessError, OSError):
            return False


def train_in_child(scenario, epochs: int | None = None) -> TrainingChild | None:
    """Start training ``scenario`` (``epochs`` from its initial weights) in a forked child
    process that stores the run in the cache, so that the training uses the other core while
    this process goes on loading the UI; None when there is nothing to do (the cache is off or
    has the run, no epochs) or no fork. Call before any thread is started (Textual's, a BLAS
    pool's), and :meth:`TrainingChild.wait` before the cache is read."""
    n = scenario.train.epochs if epochs is None else int(epochs)
    if n <= 0 or not enabled() or not hasattr(os, "fork") or has_entry(scenario, n):
        return None
    from engine import fit  # (imported here: the child takes no import lock)
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: train, store, leave at once (no cleanup of the parent's state)
        code = 1
        gc.enable()  # (the parent may be starting with it off: rnntui.cli.main)
        try:
            code = 0 if store(scenario, fit(scenario, n), n) else 1
        except BaseException:  # noqa: BLE001 - the parent trains itself then
            code = 1
        finally:
            os._exit(code)
    return TrainingChild(pid)
