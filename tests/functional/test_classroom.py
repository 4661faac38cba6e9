"""The classroom over real TCP on 127.0.0.1: a presenter, followers, and everything that goes
wrong (wrong tokens, garbage, a 100 MB frame, half-open and slow connections, either side
killed). Each test waits for the state it checks, with bounds generous for a busy machine."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import until

from engine import initial_params, load
from rnntui.classroom import follower as follower_mod
from rnntui.classroom import presenter as presenter_mod
from rnntui.classroom import protocol as P
from rnntui.classroom.follower import Follower
from rnntui.classroom.join import Join, new_token
from rnntui.classroom.presenter import Presenter

HOST = "127.0.0.1"
BOUND = 30.0  # seconds: a bound on waiting for a state, never a measurement


def body(t: int = 0, text: str | None = None) -> dict:
    pos = f"scenario=king,t={t}" + (f",text=\"{text}\"" if text else "")
    return {"position": pos, "scenario": {"name": "king", "sha256": "1" * 64, "builtin": True},
            "weights": None, "maximized": None, "lesson": None}


class Events:
    """What a Follower reported, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def __call__(self, event, detail) -> None:
        self.seen.append((event, detail))

    def kinds(self) -> list[str]:
        return [e for e, _ in self.seen]

    def states(self) -> list[dict]:
        return [d for e, d in self.seen if e == "state"]

    def count(self, kind: str) -> int:
        return self.kinds().count(kind)


@pytest.fixture
async def presenting():
    """A presenter on a free port with a fake screen state; yields (presenter, token, state)."""
    token = new_token()
    state = {"now": body(0)}
    params = initial_params(load("king"))
    digest = P.weights_digest(P.weight_arrays(params))
    pres = Presenter(token, host=HOST, port=0, state=lambda: state["now"],
                     weights=lambda e, d: params if (e, d) == (3, digest) else None)
    await pres.start()
    pres.broadcast(state["now"])
    yield pres, token, state
    await pres.stop()


async def follow(pres, token, events=None) -> tuple[Follower, Events]:
    events = events or Events()
    f = Follower(Join(HOST, pres.port, token), events)
    f.start()
    return f, events


async def raw(pres) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(HOST, pres.port)


async def closed_by_peer(reader: asyncio.StreamReader) -> bytes:
    """Everything the peer sends until it closes (bounded)."""
    return await asyncio.wait_for(reader.read(), BOUND)


def hello(token: str) -> bytes:
    return P.encode({"type": "hello", "version": P.VERSION, "token": token})


# ---------------------------------------------------------------------------------------------
# the good path


async def test_followers_get_the_newest_state_in_order(presenting):
    """States sent faster than they are handed on coalesce: each follower sees the newest,
    never an older one after a newer."""
    pres, token, state = presenting
    followers = [await follow(pres, token) for _ in range(3)]
    await until(lambda: pres.followers == 3, "three followers")
    await until(lambda: all(e.states() for _, e in followers), "the first state")
    for t in range(1, 6):
        pres.broadcast(body(t))
    for f, e in followers:
        await until(lambda: Position_t(e.states()[-1]) == 5, "the newest state")
        got = [Position_t(s) for s in e.states()]
        assert got == sorted(set(got)) and got[0] == 0
        assert [s["seq"] for s in e.states()] == sorted(set(s["seq"] for s in e.states()))
        await f.stop()
    await until(lambda: pres.followers == 0, "the followers gone")


def Position_t(state: dict) -> int:
    from rnntui.position import Position
    return Position.parse(state["position"]).t


async def test_a_newcomer_gets_the_current_state_first(presenting):
    pres, token, _ = presenting
    pres.broadcast(body(4))
    f, e = await follow(pres, token)
    await until(lambda: e.states(), "a state")
    assert Position_t(e.states()[0]) == 4 and e.kinds()[0] == "connected"
    await f.stop()


async def test_weights_are_sent_only_for_the_presenters_own(presenting):
    pres, token, _ = presenting
    params = initial_params(load("king"))
    digest = P.weights_digest(P.weight_arrays(params))
    f, e = await follow(pres, token)
    await until(lambda: f.connected, "connected")
    shapes = [(n, a.shape) for n, a in P.weight_arrays(params)]
    f.request({"type": "need_weights", "epoch": 3, "sha256": "f" * 64}, shapes)  # not theirs
    f.request({"type": "need_weights", "epoch": 3, "sha256": digest}, shapes)
    await until(lambda: e.count("weights"), "the weights")
    epoch, arrays = next(d for k, d in e.seen if k == "weights")
    assert epoch == 3 and e.count("weights") == 1
    for (n, a), (m, b) in zip(arrays, P.weight_arrays(params)):
        assert n == m and a.tobytes() == b.tobytes()
    assert f.connected and pres.followers == 1
    await f.stop()


# ---------------------------------------------------------------------------------------------
# refused, garbage, oversized


async def test_a_wrong_token_is_refused_without_detail(presenting):
    pres, token, state = presenting
    before = copy.deepcopy(state)
    reader, writer = await raw(pres)
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    writer.write(hello(wrong))
    data = await closed_by_peer(reader)
    assert data == P.encode({"type": "refused"})  # nothing about what was wrong
    assert pres.followers == 0 and pres.refused == 1
    e = Events()
    f = Follower(Join(HOST, pres.port, "x" * 22), e)
    f.start()
    await until(lambda: e.count("refused") >= 1, "the follower told it was refused")
    assert not e.states()
    await f.stop()
    assert state == before and pres.followers == 0


@pytest.mark.parametrize("junk", [
    b"\x00" * 64,
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"C\x00\x00\x00\x05hello",
    b"C\x00\x00\x00\x02[]",
    b"D\x00\x00\x00\x02{}",
    P.encode({"type": "heartbeat"}),                 # not a hello
    P.encode({"type": "hello", "version": 99, "token": "x" * 22}),
    bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)),
], ids=["zeros", "http", "not-json", "not-an-object", "data-frame", "no-hello",
        "wrong-version", "random"])
async def test_garbage_closes_that_connection_only(presenting, junk):
    pres, token, state = presenting
    good, ge = await follow(pres, token)
    await until(lambda: pres.followers == 1, "the good follower")
    before = copy.deepcopy(state)
    reader, writer = await raw(pres)
    writer.write(junk)
    await closed_by_peer(reader)
    pres.broadcast(body(7))
    await until(lambda: ge.states() and Position_t(ge.states()[-1]) == 7, "the next state")
    assert pres.followers == 1 and state == before
    await good.stop()


async def test_a_100_MB_frame_is_closed_at_the_cap_without_being_read(presenting):
    pres, token, state = presenting
    for authenticated in (False, True):
        reader, writer = await raw(pres)
        if authenticated:
            writer.write(hello(token))
            await until(lambda: pres.connections == 1, "the follower in")
        writer.write(b"C" + struct.pack(">I", 100 * 1024 * 1024))
        sent, chunk = 0, b"x" * (1 << 20)
        with pytest.raises((ConnectionError, OSError)):
            for _ in range(100):
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), BOUND)
                sent += len(chunk)
            await asyncio.wait_for(reader.read(), BOUND)  # (all sent: it must be closed)
            raise ConnectionResetError
        assert sent < 100 * (1 << 20)  # refused long before the end
        await until(lambda: pres.connections == 0, "the follower dropped")
        writer.close()
    assert state["now"] == body(0)


# ---------------------------------------------------------------------------------------------
# half-open, slow, killed mid-message


async def test_a_connection_that_never_says_hello_is_closed(presenting, monkeypatch):
    monkeypatch.setattr(presenter_mod, "HELLO_WAIT", 0.5)
    pres, token, _ = presenting
    reader, writer = await raw(pres)
    assert await closed_by_peer(reader) == b""
    assert pres.refused >= 1 and pres.followers == 0


async def test_a_follower_gone_silent_is_dropped(presenting, monkeypatch):
    monkeypatch.setattr(presenter_mod, "SILENCE", 0.5)
    pres, token, _ = presenting
    reader, writer = await raw(pres)
    writer.write(hello(token))  # and then nothing: no heartbeats (half-open)
    await until(lambda: pres.connections == 1, "the follower in")
    assert pres.followers == 0  # (let in, but not following until it speaks)
    await until(lambda: pres.connections == 0, "the silent follower dropped")


async def test_a_slow_reader_is_dropped_never_waited_for(presenting, monkeypatch):
    monkeypatch.setattr(presenter_mod, "QUEUE_FRAMES", 32)
    pres, token, _ = presenting
    good, ge = await follow(pres, token)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (HOST, pres.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(hello(token) + P.encode({"type": "heartbeat"}))
    await until(lambda: pres.followers == 2, "both followers in")

    async def keep_alive():  # it sends heartbeats but never reads
        while True:
            writer.write(P.encode({"type": "heartbeat"}))
            await asyncio.sleep(0.2)
    beat = asyncio.ensure_future(keep_alive())
    slowest = 0.0
    n = 0
    start = time.monotonic()
    while pres.followers == 2 and n < 50_000 and time.monotonic() - start < BOUND:
        n += 1
        t0 = time.perf_counter()
        pres.broadcast(body(n % 50, text="x" * 3000))
        slowest = max(slowest, time.perf_counter() - t0)
        if n % 20 == 0:
            await asyncio.sleep(0)  # let the good follower read
    beat.cancel()
    assert pres.followers == 1 and pres.dropped >= 1, "the slow reader was never dropped"
    last = n % 50
    await until(lambda: ge.states() and Position_t(ge.states()[-1]) == last,
                "the good follower has the last state")
    assert slowest < 1.0  # broadcast never blocks on a socket (a generous sanity bound)
    await good.stop()


async def test_a_follower_killed_mid_message(presenting):
    pres, token, state = presenting
    reader, writer = await raw(pres)
    writer.write(hello(token))
    await until(lambda: pres.connections == 1, "the follower in")
    frame = P.encode({"type": "need_scenario", "sha256": "a" * 64})
    writer.write(frame[: len(frame) // 2])
    await writer.drain()
    writer.transport.abort()  # gone, half a frame sent
    await until(lambda: pres.connections == 0, "the follower dropped")
    good, ge = await follow(pres, token)
    await until(lambda: ge.states(), "a new follower served")
    assert state["now"] == body(0)
    await good.stop()


async def test_followers_cannot_change_anything(presenting):
    """Everything a follower may send: the presenter's state and sequence do not move."""
    pres, token, state = presenting
    seq = pres.seq
    before = copy.deepcopy(state)
    reader, writer = await raw(pres)
    writer.write(hello(token))
    for m in ({"type": "heartbeat"}, {"type": "need_scenario", "sha256": "0" * 64},
              {"type": "need_lesson", "sha256": "0" * 64},
              {"type": "need_weights", "epoch": 10**9, "sha256": "0" * 64}):
        writer.write(P.encode(m))
    writer.write(P.encode({"type": "state", "seq": 99, **body(40)}))  # not a follower's
    await closed_by_peer(reader)
    assert pres.seq == seq and state == before and pres.followers == 0


# ---------------------------------------------------------------------------------------------
# the presenter goes away and comes back


async def test_presenter_leaves_and_returns_on_the_same_address_and_token(monkeypatch):
    monkeypatch.setattr(follower_mod, "MAX_BACKOFF", 0.5)
    token = new_token()
    pres = Presenter(token, host=HOST, port=0, state=lambda: body(1))
    await pres.start()
    port = pres.port
    e = Events()
    f = Follower(Join(HOST, port, token), e)
    f.start()
    await until(lambda: e.states(), "the first state")
    await pres.stop()
    await until(lambda: e.count("left") == 1, "the follower told the presenter left")
    again = Presenter(token, host=HOST, port=port, state=lambda: body(9))
    await again.start()
    await until(lambda: e.states() and Position_t(e.states()[-1]) == 9,
                "the returned presenter's state")
    assert e.count("connected") == 2
    await f.stop()
    await again.stop()


PRESENTER_SCRIPT = """
import asyncio, sys
from rnntui.classroom.presenter import Presenter
async def main():
    state = {"position": "scenario=king,t=%s", "scenario": {"name": "king", "sha256": "1" * 64,
             "builtin": True}, "weights": None, "maximized": None, "lesson": None}
    p = Presenter(sys.argv[1], host="127.0.0.1", port=int(sys.argv[2]), state=lambda: state)
    await p.start()
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


async def _spawn(token: str, port: int, t: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", PRESENTER_SCRIPT % t, token, str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), BOUND)
    assert line.strip() == b"ready", proc.stderr.read()
    return proc


async def test_presenter_killed_is_noticed_and_followed_again(monkeypatch):
    """kill -9 of the presenter's process: no bye, the socket just goes."""
    monkeypatch.setattr(follower_mod, "MAX_BACKOFF", 0.5)
    token, port = new_token(), _free_port()
    proc = await _spawn(token, port, 2)
    e = Events()
    f = Follower(Join(HOST, port, token), e)
    f.start()
    try:
        await until(lambda: e.states(), "the first state")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(BOUND)
        await until(lambda: e.count("lost") + e.count("left") >= 1, "the loss noticed")
        assert not f.connected
        proc = await _spawn(token, port, 6)
        await until(lambda: e.states() and Position_t(e.states()[-1]) == 6, "following again")
    finally:
        await f.stop()
        proc.kill()
        proc.wait(BOUND)


async def _fake_presenter(script):
    """A server that runs ``script(reader, writer)`` for each connection: a presenter that
    misbehaves."""
    async def handle(reader, writer):
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
    server = await asyncio.start_server(handle, HOST, 0)
    return server, server.sockets[0].getsockname()[1]


WELCOME = P.encode({"type": "welcome", "version": P.VERSION})


@pytest.mark.parametrize("after_welcome, says", [
    (b"\xff" * 100, "error"),
    (b"C" + struct.pack(">I", 100 * 1024 * 1024), "error"),
    (P.encode({"type": "state", "seq": 1, **body(1), "extra": 1}), "error"),
    (P.encode({"type": "chunk", "sha256": "a" * 64, "index": 0, "data": ""}, P.DATA), "error"),
    (P.encode({"type": "hello", "version": 1, "token": "x" * 20}), "error"),
    (P.encode({"type": "blob", "what": "scenario", "sha256": "a" * 64, "bytes": 3 << 20,
               "chunks": 6, "epoch": None, "arrays": None}), "error"),
    (b"", "lost"),  # welcome, then silence: no heartbeats
], ids=["garbage", "100MB", "unknown-key", "stray-chunk", "hello", "blob-over-cap", "silent"])
async def test_a_misbehaving_presenter_is_left_and_tried_again(monkeypatch, after_welcome,
                                                               says):
    monkeypatch.setattr(follower_mod, "SILENCE", 0.5)
    monkeypatch.setattr(follower_mod, "MAX_BACKOFF", 0.5)

    async def script(reader, writer):
        await P.read_message(reader, P.TO_PRESENTER)
        writer.write(WELCOME + after_welcome)
        await writer.drain()
        await asyncio.sleep(5)
    server, port = await _fake_presenter(script)
    e = Events()
    f = Follower(Join(HOST, port, new_token()), e)
    f.start()
    try:
        await until(lambda: e.count(says) >= 2, f"two {says} events (tried again)")
        assert not e.states()
    finally:
        await f.stop()
        server.close()


async def test_another_version_is_told_its_version_and_the_teacher_is_told(presenting):
    """A follower of version 1 (before the poll) says hello as version 1: with the token it
    is answered wrong_version and closed, never sent a state it cannot read (version 1 takes
    that first message for an unreadable one: 'connection lost'); the presenter hears which
    version came. Without the token nothing is said."""
    pres, token, _ = presenting
    heard = []
    pres._on_version = heard.append
    for who, reply in ((token, {"type": "wrong_version", "version": P.VERSION}),
                       ("x" * 22, {"type": "refused"})):
        reader, writer = await raw(pres)
        writer.write(P.encode({"type": "hello", "version": 1, "token": who}))
        assert await closed_by_peer(reader) == P.encode(reply)
    assert heard == [1] and pres.followers == 0


@pytest.mark.parametrize("presenter_version, token_ok, says", [
    (1, True, ("version", 1)), (1, False, ("refused", None)), (3, True, ("version", 3))])
async def test_a_follower_says_which_version_the_presenter_runs(presenter_version, token_ok,
                                                                says):
    """The reverse: a presenter of version 1 refuses a version-2 hello without saying why, so
    the follower asks again as version 1 (welcomed: the version was all); a later presenter
    says its version itself."""
    token = new_token()

    async def script(reader, writer):
        kind, body = await P._read_frame(reader, frozenset({"hello"}))
        hello = json.loads(body)
        if presenter_version > P.VERSION:
            reply = {"type": "wrong_version", "version": presenter_version}
        elif hello["version"] == presenter_version and token_ok:
            reply = {"type": "welcome", "version": presenter_version}
        else:
            reply = {"type": "refused"}
        writer.write(P.encode(reply))
        await writer.drain()
    server, port = await _fake_presenter(script)
    e = Events()
    f = Follower(Join(HOST, port, token), e)
    f.start()
    try:
        await until(lambda: e.count(says[0]), says[0])
        assert e.seen[0] == says and not e.count("connected")
    finally:
        await f.stop()
        server.close()


async def test_the_follower_notices_silence_within_a_few_seconds():
    """The real setting: heartbeats stop and the follower says so within SILENCE + a bound."""
    async def script(reader, writer):
        await P.read_message(reader, P.TO_PRESENTER)
        writer.write(WELCOME)
        await writer.drain()
        await asyncio.sleep(60)
    server, port = await _fake_presenter(script)
    e = Events()
    f = Follower(Join(HOST, port, new_token()), e)
    f.start()
    try:
        await until(lambda: e.count("connected"), "connected")
        await until(lambda: e.count("lost"), "the silence noticed")
        assert ("lost", "no heartbeat from the presenter") in e.seen
        assert follower_mod.SILENCE <= 5
    finally:
        await f.stop()
        server.close()


def test_state_json_is_small():
    frame = P.encode({"type": "state", "seq": 12, **body(3)})
    assert len(frame) < 400
    assert json.loads(frame[5:])["position"] == "scenario=king,t=3"


def test_a_new_token_never_reads_as_an_option():
    """One token in 64 began with '-', and `rnntui present --token -AbC...` then stopped at
    "argument --token: expected one argument" (a browser test failed on it)."""
    from rnntui.classroom.join import TOKEN_RE, new_token
    tokens = [new_token() for _ in range(2000)]  # (old: 1 - (63/64)^2000: one is sure to)
    assert not [t for t in tokens if t.startswith("-")]
    assert all(TOKEN_RE.fullmatch(t) for t in tokens) and len(set(tokens)) == len(tokens)
