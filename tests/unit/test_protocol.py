"""The classroom's wire format and join strings: frames, schema, caps, blobs, weights digests."""

from __future__ import annotations

import asyncio
import base64
import json
import struct

import numpy as np
import pytest

from engine import initial_params, load
from engine.scenario import with_cell
from rnntui.classroom import protocol as P
from rnntui.classroom.join import (Join, JoinError, is_loopback, new_token, parse_join,
                                   token_check)

TOKEN = "abcdefghijklmnop_-QRSTU"
STATE = {"type": "state", "seq": 1, "position": "scenario=king,t=2",
         "scenario": {"name": "king", "sha256": "0" * 64, "builtin": True},
         "weights": {"epoch": 3, "sha256": "a" * 64}, "maximized": None, "lesson": None}


# ---------------------------------------------------------------------------------------------
# join strings


def test_join_round_trip():
    j = parse_join(f"127.0.0.1:7341/{TOKEN}")
    assert j == Join("127.0.0.1", 7341, TOKEN)
    assert parse_join(str(j)) == j
    assert parse_join(f"  rnntui follow 127.0.0.1:7341/{TOKEN} ") == j
    v6 = parse_join(f"[::1]:80/{TOKEN}")
    assert v6.host == "::1" and str(v6) == f"[::1]:80/{TOKEN}.{token_check(TOKEN)}"
    assert parse_join(f"class-room.example:1/{TOKEN}").host == "class-room.example"


@pytest.mark.parametrize("text, says", [
    ("", "empty"),
    ("127.0.0.1:7341", "no /TOKEN"),
    ("127.0.0.1:7341/", "no /TOKEN"),
    (f"127.0.0.1/{TOKEN}", "not HOST:PORT"),
    (f":7341/{TOKEN}", "not HOST:PORT"),
    (f"127.0.0.1:0/{TOKEN}", "from 1 to 65535"),
    (f"127.0.0.1:65536/{TOKEN}", "from 1 to 65535"),
    (f"127.0.0.1:-1/{TOKEN}", "from 1 to 65535"),
    (f"127.0.0.1:7x/{TOKEN}", "from 1 to 65535"),
    ("127.0.0.1:7341/short", "bad token"),
    ("127.0.0.1:7341/" + "a" * 129, "bad token"),
    ("127.0.0.1:7341/abcdefghijklmnop!", "bad token"),
    (f"bad host:1/{TOKEN}", "not a host name"),
    (f"a..b:1/{TOKEN}", "not a host name"),
    (f"[::1:80/{TOKEN}", "[ADDRESS]:PORT"),
    (f"[nothex]:80/{TOKEN}", "not an IPv6"),
    ("x" * 500, "at most 400"),
    ("\x1b[31m:1/" + TOKEN, "not a host name"),
])
def test_bad_join_strings(text, says):
    with pytest.raises(JoinError) as err:
        parse_join(text)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_cut_or_mistyped_token_is_told_by_its_check():
    """Issue 19: the printed join string ends with a check of its token; a token cut short or
    mistyped is told by the follower alone (the presenter's refusal says nothing)."""
    printed = str(Join("127.0.0.1", 7341, TOKEN))
    token, check = printed.rsplit("/", 1)[1].split(".")
    assert token == TOKEN and len(check) == 4 and parse_join(printed).token == TOKEN
    mistyped = printed.replace(TOKEN, TOKEN[:5] + ("x" if TOKEN[5] != "x" else "y") + TOKEN[6:])
    for bad in (printed[:-2], printed[:-1] + ("A" if printed[-1] != "A" else "B"), mistyped,
                printed.replace(TOKEN, TOKEN[:-2])):
        with pytest.raises(JoinError) as err:
            parse_join(bad)
        assert "incomplete or mistyped" in str(err.value) and TOKEN not in str(err.value)


def test_the_printed_line_fits_80_columns_for_tokens_up_to_40():
    line = f"rnntui follow {Join('127.0.0.1', 65535, 'a' * 40)}"
    assert len(line) <= 80, len(line)


def test_tokens_are_random_and_valid():
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for t in tokens:
        parse_join(f"127.0.0.1:1/{t}")


def test_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.9.9.9") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")
    assert not is_loopback("example.org")


# ---------------------------------------------------------------------------------------------
# frames and the schema


def _decode(frame: bytes, allowed=P.TO_FOLLOWER) -> dict:
    kind, n = struct.unpack(">cI", frame[:5])
    assert n == len(frame) - 5
    return P.decode(kind, frame[5:], allowed)


def test_state_round_trips():
    assert _decode(P.encode(STATE)) == STATE


def test_frame_layout_is_kind_length_json():
    frame = P.encode({"type": "heartbeat"})
    assert frame == b"C" + struct.pack(">I", 20) + b'{"type":"heartbeat"}'


def _bad(msg, allowed=P.TO_FOLLOWER, kind=P.CONTROL):
    with pytest.raises(P.ProtocolError) as err:
        P.check(msg, allowed, kind)
    return str(err.value)


def test_schema_is_strict():
    assert "JSON object" in _bad([1, 2])
    assert "unexpected message type" in _bad({"type": "launch"})
    assert "unexpected message type" in _bad({"type": "hello", "version": 1, "token": TOKEN})
    assert "unexpected message type" in _bad(dict(STATE), allowed=P.TO_PRESENTER)
    assert "unknown key 'extra'" in _bad({**STATE, "extra": 1})
    assert "missing key 'lesson'" in _bad({k: v for k, v in STATE.items() if k != "lesson"})
    assert "state.seq" in _bad({**STATE, "seq": -1})
    assert "state.seq" in _bad({**STATE, "seq": True})
    assert "state.seq" in _bad({**STATE, "seq": 1.0})
    assert "state.position" in _bad({**STATE, "position": "x" * (P.MAX_POSITION + 1)})
    assert "state.maximized" in _bad({**STATE, "maximized": "#evil"})
    assert "state.scenario" in _bad({**STATE, "scenario": {"name": "king"}})
    assert "state.scenario" in _bad({**STATE, "scenario": {**STATE["scenario"],
                                                           "sha256": "G" * 64}})
    assert "state.weights" in _bad({**STATE, "weights": {"epoch": -1, "sha256": "a" * 64}})
    assert "data frame" in _bad(dict(STATE), kind=P.DATA)
    chunk = {"type": "chunk", "sha256": "a" * 64, "index": 0, "data": ""}
    assert "control frame" in _bad(chunk)
    assert P.check(chunk, P.TO_FOLLOWER, P.DATA) == chunk


def _hello(msg) -> dict:
    return P.decode_hello(P.CONTROL, json.dumps(msg).encode())


def test_a_hello_of_another_version_is_read_for_its_version_and_token_only():
    """Version 2 (a state's poll, a follower's answer) cannot be followed by version 1, nor
    the reverse: the hello of another version is read for what every version's hello has, so
    the presenter can answer wrong_version; this version's hello is checked whole."""
    assert P.VERSION == 2 and P.FIRST_VERSION == 1
    old = {"type": "hello", "version": 1, "token": TOKEN}
    assert _hello(old) == old
    later = {"type": "hello", "version": 3, "token": TOKEN, "wants": ["sound"]}
    assert _hello(later) == {"type": "hello", "version": 3, "token": TOKEN}
    with pytest.raises(P.ProtocolError, match="unknown key 'wants'"):
        _hello({**later, "version": P.VERSION})
    for bad in ({**old, "token": 7}, {**old, "token": "x" * 129}, {**old, "version": 0},
                {**old, "version": True}, {"type": "heartbeat"}, [old]):
        with pytest.raises(P.ProtocolError):
            _hello(bad)
    assert P.check({"type": "wrong_version", "version": 3}, P.TO_FOLLOWER)
    assert "wrong_version" not in P.TO_PRESENTER


@pytest.mark.parametrize("body", [
    b"\xff\xfe", b"not json", b"{", b"[" * 60000, b'{"type":"heartbeat","type":"bye"}',
    b'{"type":"state","seq":NaN}', b'{"type":"heartbeat"} trailing', b"null", b"123",
])
def test_garbage_bodies_are_protocol_errors(body):
    with pytest.raises(P.ProtocolError):
        P.decode(P.CONTROL, body, P.TO_FOLLOWER)


def test_encode_refuses_what_is_over_the_cap():
    with pytest.raises(ValueError, match="cap"):
        P.encode({"type": "hello", "version": 1, "token": "x" * (P.CONTROL_CAP + 1)})


async def _read(data: bytes, allowed=P.TO_PRESENTER, eof=True):
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return await P.read_message(reader, allowed), reader


async def test_read_message_reads_one_frame():
    hello = {"type": "hello", "version": 1, "token": TOKEN}
    msg, reader = await _read(P.encode(hello) + P.encode({"type": "heartbeat"}))
    assert msg == hello
    assert (await P.read_message(reader, P.TO_PRESENTER)) == {"type": "heartbeat"}


async def test_a_frame_over_the_cap_is_refused_from_its_header():
    """A 100 MB frame: only the 5 header bytes are read before it is refused."""
    reader = asyncio.StreamReader()
    reader.feed_data(b"C" + struct.pack(">I", 100 * 1024 * 1024) + b"x" * 1000)
    with pytest.raises(P.ProtocolError, match="over the 65536-byte cap"):
        await P.read_message(reader, P.TO_PRESENTER)
    assert len(reader._buffer) == 1000  # the rest was never taken


async def test_data_frames_only_where_chunks_are_expected():
    chunk = P.encode({"type": "chunk", "sha256": "a" * 64, "index": 0, "data": ""}, P.DATA)
    with pytest.raises(P.ProtocolError, match="unknown frame kind"):
        await _read(chunk, P.TO_PRESENTER)
    big = b"D" + struct.pack(">I", P.DATA_CAP + 1)
    with pytest.raises(P.ProtocolError, match="cap"):
        await _read(big, P.TO_FOLLOWER)
    with pytest.raises(P.ProtocolError, match="unknown frame kind"):
        await _read(b"X\x00\x00\x00\x02{}")


async def test_a_cut_frame_is_an_incomplete_read():
    frame = P.encode({"type": "heartbeat"})
    with pytest.raises(asyncio.IncompleteReadError):
        await _read(frame[:-3])


# ---------------------------------------------------------------------------------------------
# blobs


def _assemble(frames: list[bytes]):
    msgs = [_decode(f) for f in frames]
    asm = P.Assembler(msgs[0])
    for m in msgs[1:]:
        asm.add(m)
    assert asm.done
    return asm.result()


def test_text_blob_round_trips_in_chunks():
    text = bytes(range(256)) * 5000  # 1.28 MB: three chunks
    frames = P.blob_frames("scenario", text, P.sha256(text))
    assert len(frames) == 1 + 3
    assert all(len(f) <= 5 + P.DATA_CAP for f in frames)
    assert _assemble(frames) == text


def test_empty_blob():
    assert _assemble(P.blob_frames("scenario", b"", P.sha256(b""))) == b""


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_weights_round_trip_bit_for_bit(cell):
    sc = load("king") if cell == "rnn" else with_cell(load("king"), cell)
    params = initial_params(sc)
    digest, frames = P.weights_frames(params, 7)
    head = _decode(frames[0])
    assert head["epoch"] == 7 and head["what"] == "weights"
    arrays = _assemble(frames)
    mine = P.weight_arrays(params)
    assert [n for n, _ in arrays] == [n for n, _ in mine]
    for (_, a), (_, b) in zip(arrays, mine):
        assert a.dtype == np.float64 and a.shape == b.shape
        assert np.array_equal(a, b) and a.tobytes() == b.tobytes()
        assert a.flags.writeable
    assert P.weights_digest(arrays) == digest


def test_weights_digest_sees_one_bit_and_a_shape():
    params = initial_params(load("king"))
    arrays = P.weight_arrays(params)
    d = P.weights_digest(arrays)
    changed = [(n, a.copy()) for n, a in arrays]
    changed[1][1].flat[0] = np.nextafter(changed[1][1].flat[0], np.inf)
    assert P.weights_digest(changed) != d
    reshaped = [(n, a.reshape(-1) if n == "b" else a) for n, a in arrays]
    assert P.weights_digest(reshaped) == d  # b is 1-D already: same
    flat = [(n, a.reshape(-1)) for n, a in arrays]
    assert P.weights_digest(flat) != d


def _head(**over):
    h = {"type": "blob", "what": "scenario", "sha256": "a" * 64, "bytes": 10, "chunks": 1,
         "epoch": None, "arrays": None}
    h.update(over)
    return P.check(h, P.TO_FOLLOWER)


def _chunk(data: bytes, index=0, sha="a" * 64):
    return {"type": "chunk", "sha256": sha, "index": index,
            "data": base64.b64encode(data).decode()}


def test_assembler_refuses_what_does_not_add_up():
    with pytest.raises(P.ProtocolError, match="over its cap"):
        P.Assembler(_head(bytes=P.BLOB_CAPS["scenario"] + 1, chunks=5))
    with pytest.raises(P.ProtocolError, match="chunks"):
        P.Assembler(_head(chunks=2))
    with pytest.raises(P.ProtocolError, match="only weights"):
        P.Assembler(_head(epoch=3))
    arrays = [{"name": "W_h", "shape": [2, 2], "dtype": "<f8"}]
    with pytest.raises(P.ProtocolError, match="arrays hold 32 bytes"):
        P.Assembler(_head(what="weights", epoch=0, arrays=arrays, bytes=31))
    asm = P.Assembler(_head())
    with pytest.raises(P.ProtocolError, match="out of order"):
        asm.add(_chunk(b"x" * 10, index=1))
    with pytest.raises(P.ProtocolError, match="another blob"):
        asm.add(_chunk(b"x" * 10, sha="b" * 64))
    with pytest.raises(P.ProtocolError, match="holds 9 bytes"):
        asm.add(_chunk(b"x" * 9))
    with pytest.raises(P.ProtocolError, match="not base64"):
        asm.add({**_chunk(b""), "data": "!!!!"})
    asm.add(_chunk(b"x" * 10))
    with pytest.raises(P.ProtocolError, match="digest"):
        asm.result()


def test_weights_blob_with_a_wrong_digest_is_refused():
    params = initial_params(load("king"))
    digest, frames = P.weights_frames(params, 0)
    msgs = [_decode(f) for f in frames]
    raw = bytearray(base64.b64decode(msgs[1]["data"]))
    raw[0] ^= 1
    msgs[1]["data"] = base64.b64encode(bytes(raw)).decode()
    asm = P.Assembler(msgs[0])
    asm.add(msgs[1])
    with pytest.raises(P.ProtocolError, match="digest"):
        asm.result()


def test_schema_rejects_bad_array_descriptions():
    good = {"name": "W_h", "shape": [2, 2], "dtype": "<f8"}
    for bad in ([], [{**good, "dtype": "object"}], [{**good, "shape": [0]}],
                [{**good, "shape": [2, 2, 2]}], [{**good, "name": "__class__."}],
                [good, good], [{**good, "extra": 1}], [{**good, "shape": [2.0]}]):
        with pytest.raises(P.ProtocolError, match="blob.arrays"):
            _head(what="weights", epoch=0, arrays=bad)


def test_no_pickle_anywhere():
    import rnntui.classroom as pkg
    from pathlib import Path
    for f in Path(pkg.__file__).parent.glob("*.py"):
        text = f.read_text()
        for word in ("import pickle", "pickle.load", "np.load", "allow_pickle=True", "eval(",
                     "exec("):
            assert word not in text, (f, word)


def test_json_is_exact():
    msg = dict(STATE, position="scenario=king,text=\"é \\\" ,\"")
    assert json.loads(P.encode(msg)[5:]) == msg


def test_the_presenters_status_line_shows_the_whole_join_string_at_80_columns():
    """Issue 19: the join string stays in the status line, first and never cut (the rest of
    the line gives way), for tokens up to 40 characters at 80 columns."""
    from engine import History, initial_params, load
    from rnntui.screens.main import status_text
    from rnntui.view import View
    sc = load("king")
    view = View.open(sc, History(losses=[1.0], epochs=[0], weights=[initial_params(sc)]),
                     source="king")
    for token in (new_token(), "a" * 40):
        join = str(Join("127.0.0.1", 65535, token))
        parts = (("presenting", "reverse", 10), (join, "bold", 11), ("200 following", "", 11))
        for width in (80, 120):
            line = status_text(view, width, parts).plain
            seen = line if len(line) <= width else line[:width - 1]  # (then an ellipsis)
            assert join in seen and "200 following" in seen, line
        assert status_text(view, 80, parts).plain.startswith(" presenting" if len(token) < 30
                                                              else f" {join}")
    # without the classroom's parts the line is as before
    assert status_text(view, 80).plain.startswith(" king")
