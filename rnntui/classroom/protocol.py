"""The classroom wire format: length-prefixed JSON frames, their schema, caps and checks.

A frame is one kind byte (``C`` control, ``D`` data), a 4-byte big-endian length and that many
bytes of UTF-8 JSON holding one object. Control frames are at most :data:`CONTROL_CAP` bytes,
data frames (chunks of a scenario's text or of weights) at most :data:`DATA_CAP`. The length is
checked before anything is read, so a frame over its cap closes the connection without being
read. Every message is checked against :data:`SCHEMA` (no unknown type, no unknown or missing
key, every value of its type and in its range); anything else is a :class:`ProtocolError`.
Weights travel as base64 of little-endian float64 bytes with their names and shapes, never as
pickles. docs/classroom.md describes it for people.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import math
import re
import struct

import numpy as np

from ..position import MAX_LENGTH as MAX_POSITION
from ..safe_json import JSONError, read_json
from ..widgets import PANES  # a maximised pane's id is one of these

#: The classroom protocol's version. 2: a state's lesson carries the class's ``poll`` and
#: followers send ``answer`` (a version-1 follower cannot read the one, a version-1 presenter
#: closes the connection on the other). Only the same version is followed; the ``hello`` and
#: the reply to a hello of another version (``wrong_version``) stay as they are in every
#: version, so that each side can say which version the other runs.
VERSION = 2
#: The version a follower asks for when a presenter refuses it without saying why: only a
#: version-1 presenter does that to a hello with the right token (rnntui.classroom.follower).
FIRST_VERSION = 1
CONTROL, DATA = b"C", b"D"
#: The largest control frame (positions, heartbeats, headers): 64 KiB.
CONTROL_CAP = 64 * 1024
#: The largest data frame (one chunk): 1 MiB.
DATA_CAP = 1024 * 1024
#: Raw bytes carried by one chunk (base64 makes it 4/3 as long, well under DATA_CAP).
CHUNK_BYTES = 512 * 1024
#: The largest whole blob of each kind: a scenario file's own limit, and weights.
BLOB_CAPS = {"scenario": 2 * 1024 * 1024, "lesson": 2 * 1024 * 1024,
             "weights": 256 * 1024 * 1024}
#: The most arrays a weights blob has, and dimensions an array has.
MAX_ARRAYS, MAX_DIMS = 8, 2
#: A lesson question's choices at most (keys 1-4), a count in a poll at most, a lesson's steps.
MAX_CHOICES, MAX_COUNT, MAX_STEP = 4, 1000, 100_000
_HEADER = struct.Struct(">cI")
HEADER_BYTES = _HEADER.size
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,15}")


class ProtocolError(ValueError):
    """A frame or message that breaks the protocol; the connection it came on is closed."""


# ---------------------------------------------------------------------------------------------
# the schema: for each message type, its keys and what each holds


def _int(lo: int, hi: int):
    def check(v):
        return type(v) is int and lo <= v <= hi
    check.__doc__ = f"a whole number from {lo} to {hi}"
    return check


def _str(most: int, pattern: re.Pattern | None = None):
    def check(v):
        return (isinstance(v, str) and len(v) <= most
                and (pattern is None or pattern.fullmatch(v) is not None))
    check.__doc__ = f"a string of at most {most} characters"
    return check


def _bool(v):
    """true or false"""
    return type(v) is bool


def _nullable(inner):
    def check(v):
        return v is None or inner(v)
    check.__doc__ = f"null or {inner.__doc__}"
    return check


def _object(fields: dict):
    def check(v):
        return (isinstance(v, dict) and set(v) == set(fields)
                and all(fields[k](v[k]) for k in fields))
    check.__doc__ = "an object with the keys " + ", ".join(fields)
    return check


def _choice(*options: str):
    def check(v):
        return v in options
    check.__doc__ = " or ".join(options)
    return check


def _arrays(v):
    """a list of {name, shape, dtype} objects"""
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_ARRAYS:
        return False
    names = set()
    for a in v:
        if not (isinstance(a, dict) and set(a) == {"name", "shape", "dtype"}
                and isinstance(a["name"], str) and _NAME.fullmatch(a["name"])
                and a["dtype"] == "<f8" and isinstance(a["shape"], list)
                and 1 <= len(a["shape"]) <= MAX_DIMS
                and all(type(n) is int and 1 <= n <= 1 << 20 for n in a["shape"])):
            return False
        if a["name"] in names:
            return False
        names.add(a["name"])
    return True


def _counts(v):
    """a list of 1 to 4 whole numbers from 0 to 1000"""
    return isinstance(v, list) and 1 <= len(v) <= MAX_CHOICES and \
        all(type(n) is int and 0 <= n <= MAX_COUNT for n in v)


_HASH = _str(64, _HEX64)
_HASH.__doc__ = "64 lowercase hex digits (a SHA-256)"
_EPOCH = _int(0, 10**9)
_COUNT = _int(0, 1 << 30)

#: message type -> key -> check. Follower to presenter: hello, heartbeat, need_*. Presenter to
#: follower: welcome, refused, heartbeat, state, blob, chunk (data frames only), bye.
SCHEMA: dict[str, dict] = {
    "hello": {"version": _int(1, 1000), "token": _str(128)},
    "welcome": {"version": _int(1, 1000)},
    "refused": {},
    # the reply to a hello with the right token and another version: the presenter's
    "wrong_version": {"version": _int(1, 1000)},
    "heartbeat": {},
    "bye": {},
    "state": {
        "seq": _COUNT,
        "position": _str(MAX_POSITION),
        "scenario": _object({"name": _str(4096), "sha256": _HASH, "builtin": _bool}),
        "weights": _nullable(_object({"epoch": _EPOCH, "sha256": _HASH})),
        "maximized": _nullable(_choice(*PANES)),
        "lesson": _nullable(_object({
            "name": _str(4096), "sha256": _nullable(_HASH), "step": _int(0, MAX_STEP),
            # the class's answers for one step, when the presenter shows them to the class
            "poll": _nullable(_object({"step": _int(0, MAX_STEP), "of": _int(0, MAX_COUNT),
                                       "done": _nullable(_int(0, MAX_COUNT)),
                                       "picks": _nullable(_counts)}))})),
    },
    # a follower's answer for one step of the presented lesson (the only thing it sends
    # besides requests): the task done, the choice picked (1-4) or null
    "answer": {"lesson": _HASH, "step": _int(0, MAX_STEP), "done": _bool,
               "pick": _nullable(_int(1, MAX_CHOICES))},
    "need_scenario": {"sha256": _HASH},
    "need_lesson": {"sha256": _HASH},
    "need_weights": {"epoch": _EPOCH, "sha256": _HASH},
    "blob": {"what": _choice("scenario", "lesson", "weights"), "sha256": _HASH,
             "bytes": _int(0, max(BLOB_CAPS.values())), "chunks": _int(0, 1 << 20),
             "epoch": _nullable(_EPOCH), "arrays": _nullable(_arrays)},
    "chunk": {"sha256": _HASH, "index": _int(0, 1 << 20), "data": _str(DATA_CAP)},
}
#: Which messages each side may receive.
TO_PRESENTER = frozenset({"hello", "heartbeat", "need_scenario", "need_lesson", "need_weights",
                          "answer"})
TO_FOLLOWER = frozenset({"welcome", "refused", "wrong_version", "heartbeat", "state", "blob",
                         "chunk", "bye"})


def check(msg: object, allowed: frozenset[str], kind: bytes = CONTROL) -> dict:
    """``msg`` if it is a message of an ``allowed`` type that fits the schema, else
    ProtocolError naming the first problem. Chunks come in data frames, all else in control
    frames."""
    if not isinstance(msg, dict):
        raise ProtocolError("a message is a JSON object")
    kind_of = msg.get("type")
    if not isinstance(kind_of, str) or kind_of not in SCHEMA or kind_of not in allowed:
        raise ProtocolError(f"unexpected message type {str(kind_of)[:40]!r}")
    if (kind_of == "chunk") != (kind == DATA):
        raise ProtocolError(f"a {kind_of} message in a {'data' if kind == DATA else 'control'}"
                            f" frame")
    fields = SCHEMA[kind_of]
    keys = set(msg) - {"type"}
    if keys != set(fields):
        extra, missing = sorted(keys - set(fields)), sorted(set(fields) - keys)
        raise ProtocolError(f"{kind_of}: " + (f"unknown key {extra[0][:40]!r}" if extra
                                              else f"missing key {missing[0]!r}"))
    for key, ok in fields.items():
        if not ok(msg[key]):
            raise ProtocolError(f"{kind_of}.{key}: expected {ok.__doc__}")
    return msg


# ---------------------------------------------------------------------------------------------
# frames


def encode(msg: dict, kind: bytes = CONTROL) -> bytes:
    """One frame holding ``msg`` (ValueError if it is over its cap)."""
    body = json.dumps(msg, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")
    cap = CONTROL_CAP if kind == CONTROL else DATA_CAP
    if len(body) > cap:
        raise ValueError(f"a {msg.get('type')} message of {len(body)} bytes is over the "
                         f"{cap}-byte cap")
    return _HEADER.pack(kind, len(body)) + body


def _no_constant(name: str):
    raise ProtocolError(f"{name} is not a JSON number")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ProtocolError(f"key {k[:40]!r} given twice")
        out[k] = v
    return out


def _json(body: bytes):
    """A frame's body, read as untrusted JSON (rnntui.safe_json: nesting counted first; a
    number of more digits than int() converts, e.g. a seq of 5,000 digits, refused)."""
    try:
        return read_json(body, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except JSONError as err:
        raise ProtocolError(f"not UTF-8 JSON ({err.detail[:60]})") from None


def decode(kind: bytes, body: bytes, allowed: frozenset[str]) -> dict:
    """The checked message in a frame's body."""
    return check(_json(body), allowed, kind)


def decode_hello(kind: bytes, body: bytes) -> dict:
    """A follower's hello: checked whole when it has this version; of another version only its
    ``version`` and ``token`` are read (a later version's hello may say more), so that the
    presenter can answer it with ``wrong_version``. Anything else: ProtocolError."""
    msg = _json(body) if kind == CONTROL else None
    fields = SCHEMA["hello"]
    if isinstance(msg, dict) and msg.get("type") == "hello" and \
            fields["version"](msg.get("version")) and msg["version"] != VERSION:
        if not fields["token"](msg.get("token")):
            raise ProtocolError(f"hello.token: expected {fields['token'].__doc__}")
        return {"type": "hello", "version": msg["version"], "token": msg["token"]}
    return check(msg, frozenset({"hello"}), kind)


async def read_message(reader: asyncio.StreamReader, allowed: frozenset[str]) -> dict:
    """The next message from ``reader``: the header is read and its length checked against
    the frame kind's cap before the body is read (ProtocolError; EOF: IncompleteReadError)."""
    return decode(*await _read_frame(reader, allowed), allowed)


async def read_hello(reader: asyncio.StreamReader) -> dict:
    """The first message of a connection, a hello of any version (decode_hello)."""
    return decode_hello(*await _read_frame(reader, frozenset({"hello"})))


async def _read_frame(reader: asyncio.StreamReader, allowed: frozenset[str]):
    head = await reader.readexactly(HEADER_BYTES)
    kind, length = _HEADER.unpack(head)
    if kind == CONTROL:
        cap = CONTROL_CAP
    elif kind == DATA and "chunk" in allowed:
        cap = DATA_CAP
    else:
        raise ProtocolError(f"unknown frame kind {kind!r}")
    if length > cap:
        raise ProtocolError(f"a frame of {length} bytes is over the {cap}-byte cap")
    return kind, await reader.readexactly(length)


# ---------------------------------------------------------------------------------------------
# blobs: a scenario's text, or weights, cut into chunks


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def weight_arrays(params) -> list[tuple[str, np.ndarray]]:
    """(name, array) for every weight array of any cell's parameters (a bidirectional model's
    directions as ``fwd__W_x`` ...), in a fixed order (engine.cells.base.weight_names)."""
    from engine.cells.base import weight_names, weight_of
    return [(n, weight_of(params, n)) for n in weight_names(params)]


def weights_bytes(arrays: list[tuple[str, np.ndarray]]) -> bytes:
    return b"".join(np.ascontiguousarray(a, dtype="<f8").tobytes() for _, a in arrays)


def weights_digest(arrays: list[tuple[str, np.ndarray]]) -> str:
    """The SHA-256 of the arrays' names, shapes and float64 bytes: equal digests, equal
    weights bit for bit."""
    h = hashlib.sha256()
    for name, a in arrays:
        h.update(f"{name}{list(a.shape)};".encode())
        h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
    return h.hexdigest()


def blob_frames(what: str, data: bytes, digest: str, *, epoch: int | None = None,
                arrays: list[dict] | None = None) -> list[bytes]:
    """The frames that send ``data``: a control ``blob`` header, then its data chunks."""
    chunks = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
    head = {"type": "blob", "what": what, "sha256": digest, "bytes": len(data),
            "chunks": len(chunks), "epoch": epoch, "arrays": arrays}
    out = [encode(check(head, TO_FOLLOWER))]
    for i, c in enumerate(chunks):
        out.append(encode({"type": "chunk", "sha256": digest, "index": i,
                           "data": base64.b64encode(c).decode("ascii")}, DATA))
    return out


def weights_frames(params, epoch: int) -> tuple[str, list[bytes]]:
    arrays = weight_arrays(params)
    digest = weights_digest(arrays)
    meta = [{"name": n, "shape": list(a.shape), "dtype": "<f8"} for n, a in arrays]
    return digest, blob_frames("weights", weights_bytes(arrays), digest, epoch=epoch,
                               arrays=meta)


class Assembler:
    """Puts a blob back together from its header and chunks, checking each as it comes:
    chunks in order, each the size it must be, the whole under its cap and of its digest."""

    def __init__(self, head: dict) -> None:
        what, size = head["what"], head["bytes"]
        if size > BLOB_CAPS[what]:
            raise ProtocolError(f"a {what} of {size} bytes is over its cap of "
                                f"{BLOB_CAPS[what]}")
        if head["chunks"] != math.ceil(size / CHUNK_BYTES):
            raise ProtocolError(f"{size} bytes come in {math.ceil(size / CHUNK_BYTES)} chunks, "
                                f"not {head['chunks']}")
        has = (head["arrays"] is not None, head["epoch"] is not None)
        if has != ((True, True) if what == "weights" else (False, False)):
            raise ProtocolError("weights, and only weights, have an epoch and arrays")
        if what == "weights":
            want = sum(8 * math.prod(a["shape"]) for a in head["arrays"])
            if want != size:
                raise ProtocolError(f"the arrays hold {want} bytes, the blob says {size}")
        self.head = head
        self._parts: list[bytes] = []
        self._got = 0

    @property
    def done(self) -> bool:
        return len(self._parts) == self.head["chunks"]

    def add(self, chunk: dict) -> None:
        if chunk["sha256"] != self.head["sha256"] or chunk["index"] != len(self._parts):
            raise ProtocolError("a chunk out of order, or of another blob")
        try:
            raw = base64.b64decode(chunk["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("a chunk's data is not base64") from None
        last = chunk["index"] == self.head["chunks"] - 1
        want = self.head["bytes"] - self._got if last else CHUNK_BYTES
        if len(raw) != want:
            raise ProtocolError(f"chunk {chunk['index']} holds {len(raw)} bytes, not {want}")
        self._parts.append(raw)
        self._got += len(raw)

    def result(self):
        """The blob: bytes (a scenario's or lesson's text, digest checked), or for weights a
        list of (name, array), digest checked."""
        data = b"".join(self._parts)
        head = self.head
        if head["what"] != "weights":
            if sha256(data) != head["sha256"]:
                raise ProtocolError("the text's digest does not match")
            return data
        arrays, at = [], 0
        for a in head["arrays"]:
            n = math.prod(a["shape"])
            arr = np.frombuffer(data, dtype="<f8", count=n, offset=at).reshape(a["shape"])
            arrays.append((a["name"], arr.astype(np.float64)))
            at += 8 * n
        if weights_digest(arrays) != head["sha256"]:
            raise ProtocolError("the weights' digest does not match")
        if not all(np.isfinite(a).all() for _, a in arrays):
            raise ProtocolError("the weights hold NaN or infinite numbers")
        return arrays
