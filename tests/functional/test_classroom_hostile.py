"""Issue 25, presenter to follower: a hostile presenter (a small asyncio server speaking the
documented protocol and sending crafted frames) against a real follower client, and a hostile
follower against a real presenter. The follower's session logic (FollowerRole) runs on a
stand-in screen, so no app is started. Each test is named after the finding it covers and
waits for the state it checks, never for a time."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import json
import struct
import time
import weakref

import numpy as np
import pytest
from helpers import until

from engine import History, initial_params, load
from rnntui.classroom import follower as follower_mod
from rnntui.classroom import presenter as presenter_mod
from rnntui.classroom import protocol as P
from rnntui.classroom.follower import Follower
from rnntui.classroom.join import Join, new_token
from rnntui.classroom.presenter import Presenter
from rnntui.classroom.session import FollowerRole

HOST = "127.0.0.1"
BOUND = 30.0  # seconds: a bound on waiting for a state, never a measurement
WELCOME = P.encode({"type": "welcome", "version": P.VERSION})
BEAT = P.encode({"type": "heartbeat"})


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setattr(follower_mod, "MAX_BACKOFF", 0.2)
    monkeypatch.setattr(follower_mod, "HEARTBEAT", 0.05)


# ---------------------------------------------------------------------------------------------
# the hostile presenter


class HostilePresenter:
    """Welcomes every follower, sends heartbeats, records what each connection sends, and
    lets the test send any frame. ``conns[i]`` is the i-th connection's (writer, messages)."""

    def __init__(self) -> None:
        self.conns: list[tuple[asyncio.StreamWriter, list[dict]]] = []
        self.on_connect = None  # frames to send first on every new connection (bytes)

    async def start(self) -> "HostilePresenter":
        self.server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader, writer) -> None:
        got: list[dict] = []
        try:
            await P.read_message(reader, P.TO_PRESENTER)  # hello (any token will do)
            writer.write(WELCOME + (self.on_connect or b""))
            self.conns.append((writer, got))
            beat = asyncio.ensure_future(self._beat(writer))
            try:
                while True:
                    got.append(await P.read_message(reader, P.TO_PRESENTER))
            finally:
                beat.cancel()
        except (ConnectionError, asyncio.IncompleteReadError, P.ProtocolError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _beat(writer) -> None:
        while not writer.is_closing():
            writer.write(BEAT)
            await asyncio.sleep(0.2)

    @property
    def writer(self) -> asyncio.StreamWriter:
        return self.conns[-1][0]

    def requests(self, conn: int = -1) -> list[dict]:
        return [m for m in self.conns[conn][1] if m["type"] != "heartbeat"]

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def settled(self, conn: int = -1) -> None:
        """Until the follower's next heartbeat arrives: whatever it wrote before is in."""
        got = self.conns[conn][1]
        n = len(got)
        await until(lambda: any(m["type"] == "heartbeat" for m in got[n:]),
                    "a heartbeat after what the follower wrote")

    def close(self) -> None:
        self.server.close()
        for w, _ in self.conns:
            w.close()


def state(position: str, name: str, sha: str, *, builtin: bool = False, weights=None,
          lesson=None, seq: int = 1) -> bytes:
    return P.encode({"type": "state", "seq": seq, "position": position,
                     "scenario": {"name": name, "sha256": sha, "builtin": builtin},
                     "weights": weights, "maximized": None, "lesson": lesson})


@functools.cache
def king_sha() -> str:
    return P.sha256(open(load("king").source, "rb").read())


def king_state(**over) -> bytes:
    return state(over.pop("position", "scenario=king,t=1"), "king", king_sha(), builtin=True,
                 **over)


# ---------------------------------------------------------------------------------------------
# a stand-in for the main screen: what FollowerRole uses of it


@dataclasses.dataclass
class FakeView:
    scenario: object
    source: str
    history: History
    epoch: int = 0
    training: object = None

    @classmethod
    def of(cls, sc, source: str) -> "FakeView":
        p0 = initial_params(sc)
        return cls(sc, source, History(losses=[0.0], epochs=[0], weights=[p0]))

    @property
    def cell(self) -> str:
        return self.scenario.model.cell

    @property
    def base_params(self):
        return self.history.params_at(self.epoch)

    @property
    def trained_epochs(self) -> int:
        return self.history.trained_epochs

    def with_history(self, history, epoch):
        return dataclasses.replace(self, history=history, epoch=epoch)


class FakeStatus:
    def __init__(self) -> None:
        self.extra = ()
        self.shown: list[str] = []

    def show(self, view) -> None:
        self.shown.append(" · ".join(p[0].strip() for p in self.extra))


class FakeLessons:
    def __init__(self) -> None:
        self.lesson, self.active, self.index, self.opened = None, False, 0, []
        self.hooks, self.room, self.runs = [], None, {}

    def open(self, lesson, step=0) -> None:
        self.lesson, self.active, self.index = lesson, True, step
        self.opened.append(lesson)

    def leave(self) -> None:
        self.active = False

    def redraw(self) -> None:
        pass


class FakeScreen:
    maximized = None

    def __init__(self) -> None:
        self.view = FakeView.of(load("king"), "king")
        self.view_hooks: list = []
        self.status = FakeStatus()
        self.notes: list[str] = []
        self.positions: list = []
        self.opened: list = []
        self.lessons = FakeLessons()
        self.draw_ahead = True

    def notify(self, text, **_) -> None:
        self.notes.append(str(text))

    def apply_position(self, pos) -> None:
        self.positions.append(pos)

    def use_scenario(self, sc, source=None) -> None:
        self.opened.append(sc)
        self.view = FakeView.of(sc, source)

    def minimize(self) -> None:
        pass


async def following(hp: HostilePresenter) -> tuple[FollowerRole, FakeScreen]:
    role = FollowerRole(Join(HOST, hp.port, new_token()))
    screen = FakeScreen()
    role.start(screen)
    await until(lambda: role.link == "connected" and hp.conns, "connected")
    return role, screen


@pytest.fixture
async def hostile():
    hp = await HostilePresenter().start()
    roles: list[FollowerRole] = []

    async def follow():
        role, screen = await following(hp)
        roles.append(role)
        return role, screen
    yield hp, follow
    for role in roles:
        await role.stop()
    hp.close()


def blob(what: str, data: bytes, sha: str | None = None, **head) -> bytes:
    return b"".join(P.blob_frames(what, data, sha or P.sha256(data), **head))


# ---------------------------------------------------------------------------------------------
# 1 and 2: local files, and no oracle on them

SERIES = ('[scenario]\nname = "probe"\nkind = "series"\n[model]\nhidden_size = 3\n'
          '[train]\nepochs = 0\n[data]\ncsv = "{path}"\ncolumn = "v"\n')
TEXT = ('[scenario]\nname = "probe"\nkind = "text"\n[model]\nhidden_size = 3\n'
        '[train]\nepochs = 0\n[data]\nfile = "{path}"\nunit = "word"\n')


@pytest.fixture
def secrets(tmp_path, monkeypatch):
    """A folder holding a CSV and a text of the follower's own; it is the working folder."""
    (tmp_path / "secret.csv").write_text("v\n" + "".join(f"0.{i}\n" for i in range(1, 40)))
    (tmp_path / "secret.txt").write_text("the secret word is swordfish .\n" * 40)
    monkeypatch.chdir(tmp_path)
    reads: list = []
    import engine.csvdata as csvdata
    real = csvdata.read_bytes
    monkeypatch.setattr(csvdata, "read_bytes", lambda p, s: reads.append(p) or real(p, s))
    return tmp_path, reads


async def _send_probe(hp, role, screen, text: str, weights=None) -> str:
    data = text.encode()
    sha = P.sha256(data)
    hp.send(state("scenario=probe,t=0", "probe.toml", sha, weights=weights))
    await until(lambda: any(m["type"] == "need_scenario" for m in hp.requests()),
                "the follower asking for the scenario")
    hp.send(blob("scenario", data))
    await until(lambda: sha in role._failed or sha in role._scenarios, "the text read")
    await hp.settled()
    return sha


@pytest.mark.parametrize("template, name", [(SERIES, "secret.csv"), (TEXT, "secret.txt")])
@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
async def test_finding1_a_sent_scenario_naming_files_is_refused_and_none_is_read(
        hostile, secrets, template, name, absolute):
    hp, follow = hostile
    folder, reads = secrets
    role, screen = await follow()
    path = str(folder / name) if absolute else name
    sha = await _send_probe(hp, role, screen, template.format(path=path))
    assert reads == []  # the file was never opened
    assert sha not in role._scenarios and screen.opened == [] and screen.positions == []
    said = [n for n in screen.notes if "cannot be opened here" in n]
    assert len(said) == 1 and "names a file" in said[0] and "\n" not in said[0]
    assert "swordfish" not in " ".join(screen.notes)
    assert role.link == "connected"  # refused, and still following


async def test_finding2_no_oracle_the_replies_are_the_same_whether_the_file_exists(
        hostile, secrets):
    """The follower's requests after a scenario naming ./secret.csv, the file there or not."""
    hp, follow = hostile
    folder, reads = secrets
    weights = {"epoch": 0, "sha256": "e" * 64}  # (not the follower's: asked for if it loads)
    replies = []
    for exists in (True, False):
        if not exists:
            (folder / "secret.csv").unlink()
        role, screen = await follow()
        text = SERIES.format(path="secret.csv") + f"# {exists}\n"  # (another digest each time)
        await _send_probe(hp, role, screen, text, weights=weights)
        replies.append([{k: v for k, v in m.items() if k != "sha256"} for m in hp.requests()])
        await role.stop()
    assert replies[0] == replies[1] == [{"type": "need_scenario"}]


# ---------------------------------------------------------------------------------------------
# the decision: a sent lesson names built-in scenarios only


LESSON = ('[lesson]\ntitle = "probe"\nsummary = "a probe"\nminutes = 1\nscenario = "{ref}"\n'
          '[[step]]\ntitle = "one"\nnarration = "hello"\n')


@pytest.mark.parametrize("ref", ["ABS", "../secret.toml", "~/secret.toml"])
async def test_a_sent_lesson_names_only_builtin_scenarios(hostile, secrets, ref, monkeypatch):
    hp, follow = hostile
    folder, _ = secrets
    monkeypatch.setenv("HOME", str(folder))
    (folder / "secret.toml").write_text(SERIES.format(path="secret.csv"))
    (folder / "presenter").mkdir()  # (../secret.toml from presenter/NAME.toml is ./secret.toml)
    ref = str(folder / "secret.toml") if ref == "ABS" else ref
    role, screen = await follow()
    data = LESSON.format(ref=ref).encode()
    sha = P.sha256(data)
    hp.send(king_state(lesson={"name": "probe", "sha256": sha, "step": 0, "poll": None}))
    await until(lambda: any(m["type"] == "need_lesson" for m in hp.requests()),
                "the follower asking for the lesson")
    hp.send(blob("lesson", data))
    await until(lambda: sha in role._failed or sha in role._lessons, "the lesson read")
    assert screen.lessons.opened == [] and sha not in role._lessons
    said = " ".join(screen.notes)
    assert "only built-in" in said
    # the same lesson naming a built-in opens
    good = LESSON.format(ref="king").encode()
    hp.send(king_state(lesson={"name": "probe", "sha256": P.sha256(good), "step": 0,
                               "poll": None}, seq=2))
    await until(lambda: any(m["type"] == "need_lesson" and m["sha256"] == P.sha256(good)
                            for m in hp.requests()), "asked for the good lesson")
    hp.send(blob("lesson", good))
    await until(lambda: screen.lessons.opened, "the good lesson open")


# ---------------------------------------------------------------------------------------------
# 4: memory without bound


def _inline(i: int) -> bytes:
    return (f'[scenario]\nname = "s{i}"\nkind = "series"\n[model]\nhidden_size = 3\n'
            f'[train]\nepochs = 0\n[data]\nfunction = "sin"\npoints = 40\nseed = {i}\n'
            ).encode()


async def test_finding4_sent_scenarios_are_kept_in_a_small_cache_not_for_ever(hostile):
    hp, follow = hostile
    role, screen = await follow()
    kept = []
    for i in range(12):
        data = _inline(i)
        sha = P.sha256(data)
        hp.send(state(f"scenario=s{i}.toml,t=0", f"s{i}.toml", sha, seq=i + 1))
        await until(lambda: any(m.get("sha256") == sha for m in hp.requests()), f"asked for {i}")
        hp.send(blob("scenario", data))
        await until(lambda: len(screen.opened) == i + 1, f"scenario {i} open")
        kept.append(weakref.ref(screen.opened[-1]))
    screen.opened.clear()
    gc.collect()
    alive = [i for i, r in enumerate(kept) if r() is not None]
    assert 11 in alive and len(alive) <= 5, alive  # the newest few, not all twelve


async def test_finding4_7_a_blob_not_asked_for_is_refused(hostile):
    """A scenario, and weights of the right shapes, pushed unasked: the connection is closed
    (and followed again), nothing is kept or installed."""
    hp, follow = hostile
    role, screen = await follow()
    own = P.weight_arrays(screen.view.base_params)
    changed = [(n, a + 1.0) for n, a in own]
    digest = P.weights_digest(changed)
    meta = [{"name": n, "shape": list(a.shape), "dtype": "<f8"} for n, a in changed]
    for i, frames in enumerate([blob("scenario", _inline(1)),
                                blob("weights", P.weights_bytes(changed), digest, epoch=0,
                                     arrays=meta)]):
        hp.send(frames)
        await until(lambda: len(hp.conns) == i + 2 and role.link == "connected",
                    "closed and followed again")
    assert not role._scenarios and screen.opened == []
    assert P.weights_digest(P.weight_arrays(screen.view.base_params)) == \
        P.weights_digest(own)


# ---------------------------------------------------------------------------------------------
# 5: time without bound


async def test_finding5_a_position_past_the_epoch_limit_from_the_network_is_refused(hostile):
    hp, follow = hostile
    role, screen = await follow()
    hp.send(king_state(position="scenario=king,epoch=999999999,t=1"))
    await until(lambda: any("refused here" in n for n in screen.notes), "the refusal said")
    assert all(p.epoch != 999999999 for p in screen.positions)
    said = next(n for n in screen.notes if "refused here" in n)
    assert "epoch=999999999" in said and "100000" in said and "\n" not in said
    hp.send(king_state(position="scenario=king,epoch=3,t=1", seq=2))  # and then a good one
    await until(lambda: any(p.epoch == 3 for p in screen.positions), "the next position")


# ---------------------------------------------------------------------------------------------
# 6: one bad number


async def test_finding6_a_5000_digit_number_closes_that_connection_and_it_reconnects(hostile):
    hp, follow = hostile
    role, screen = await follow()
    msg = json.loads(king_state()[5:])
    body = json.dumps(msg).replace('"seq": 1', '"seq": ' + "7" * 5000).encode()
    assert len(body) < P.CONTROL_CAP
    hp.send(b"C" + struct.pack(">I", len(body)) + body)
    await until(lambda: len(hp.conns) == 2, "a second connection")
    shown = screen.status.shown
    lost = next(i for i, s in enumerate(shown) if s.startswith("connection lost"))
    assert "following" not in shown[lost]
    await until(lambda: role.link == "connected" and shown[-1] == "following",
                "following again")
    assert any("cannot read" in n for n in screen.notes)
    hp.send(king_state(position="scenario=king,t=4", seq=2))
    await until(lambda: screen.positions and screen.positions[-1].t == 4, "a state applied")


@pytest.mark.parametrize("body", [
    b'{"type":"state","seq":1e400}', b'{"type":"welcome","version":' + b"9" * 4400 + b"}",
    b'[' * 100_00 + b']' * 100_00,
], ids=["float-overflow", "huge-int", "deep"])
def test_finding6_every_unreadable_body_is_a_protocol_error(body):
    with pytest.raises(P.ProtocolError):
        P.decode(P.CONTROL, body, P.TO_FOLLOWER)


# ---------------------------------------------------------------------------------------------
# 7: floods and weights


async def test_finding7_a_flood_of_states_is_coalesced_to_the_newest():
    n = 5000
    flood = b"".join(king_state(position=f"scenario=king,t={i % 7}", seq=i + 1)
                     for i in range(n))

    async def script(reader, writer):
        await P.read_message(reader, P.TO_PRESENTER)
        writer.write(WELCOME + flood)
        while not writer.is_closing():
            writer.write(BEAT)
            await asyncio.sleep(0.2)
    server = await asyncio.start_server(script, HOST, 0)
    seqs: list[int] = []
    f = Follower(Join(HOST, server.sockets[0].getsockname()[1], new_token()),
                 lambda e, d: seqs.append(d["seq"]) if e == "state" else None)
    f.start()
    try:
        await until(lambda: seqs and seqs[-1] == n, "the newest state handed on")
        assert seqs == sorted(set(seqs))  # never an older one after a newer
        assert len(seqs) < n // 10, len(seqs)  # coalesced, not handed on one by one
    finally:
        await f.stop()
        server.close()


async def test_finding7_weights_of_other_shapes_are_refused_on_the_header(hostile):
    """Asked for 3 KB of weights, the presenter announces 256 MiB: the follower closes the
    connection on the header alone (the body is never sent)."""
    hp, follow = hostile
    role, screen = await follow()
    hp.send(king_state(weights={"epoch": 0, "sha256": "d" * 64}))
    await until(lambda: any(m["type"] == "need_weights" for m in hp.requests()),
                "the follower asking for weights")
    big = [{"name": "W_h", "shape": [1 << 15, 1 << 10], "dtype": "<f8"}]
    head = {"type": "blob", "what": "weights", "sha256": "d" * 64, "bytes": 8 << 25,
            "chunks": (8 << 25) // P.CHUNK_BYTES, "epoch": 0, "arrays": big}
    hp.send(P.encode(head))
    await until(lambda: len(hp.conns) == 2, "the connection closed and made again")
    assert any("other names or shapes" in n for n in screen.notes)


async def test_finding7_non_finite_weights_are_refused(hostile):
    hp, follow = hostile
    role, screen = await follow()
    own = P.weight_arrays(screen.view.base_params)
    for bad in (np.nan, np.inf, -np.inf):
        bent = [(n, a.copy()) for n, a in own]
        bent[1][1].flat[0] = bad
        digest = P.weights_digest(bent)
        conns = len(hp.conns)
        hp.send(king_state(weights={"epoch": 0, "sha256": digest}))
        await until(lambda: any(m.get("sha256") == digest for m in hp.requests()),
                    "asked for the weights")
        meta = [{"name": n, "shape": list(a.shape), "dtype": "<f8"} for n, a in bent]
        hp.send(blob("weights", P.weights_bytes(bent), digest, epoch=0, arrays=meta))
        await until(lambda: len(hp.conns) == conns + 1 and role.link == "connected",
                    "closed and followed again")
        assert P.weights_digest(P.weight_arrays(screen.view.base_params)) == \
            P.weights_digest(own)
    # finite weights asked for are installed
    good = [(n, a + 0.5) for n, a in own]
    digest = P.weights_digest(good)
    hp.send(king_state(weights={"epoch": 0, "sha256": digest}, seq=9))
    await until(lambda: any(m.get("sha256") == digest for m in hp.requests()), "asked")
    meta = [{"name": n, "shape": list(a.shape), "dtype": "<f8"} for n, a in good]
    hp.send(blob("weights", P.weights_bytes(good), digest, epoch=0, arrays=meta))
    await until(lambda: P.weights_digest(P.weight_arrays(screen.view.base_params)) == digest,
                "the presenter's weights installed")


def _hello(token: str) -> bytes:
    return P.encode({"type": "hello", "version": P.VERSION, "token": token})


async def test_finding7_weights_past_the_queue_cap_are_still_delivered(monkeypatch):
    """A blob within its cap is delivered whatever the queue's caps (made small here: 3 MiB of
    weights in 7 frames against a queue of 2 frames and 1 MiB; the real ones are 512 frames
    and 32 MiB against a 256 MiB cap)."""
    monkeypatch.setattr(presenter_mod, "QUEUE_FRAMES", 2)
    monkeypatch.setattr(presenter_mod, "QUEUE_BYTES", 1 << 20)
    token = new_token()
    import dataclasses

    @dataclasses.dataclass
    class Params:  # (weights are named by their fields, as every cell's are)
        W_x: np.ndarray
        W_h: np.ndarray

    rng = np.random.default_rng(0)
    params = Params(rng.standard_normal((7, 3)), rng.standard_normal((640, 614)))
    digest = P.weights_digest(P.weight_arrays(params))
    pres = Presenter(token, host=HOST, port=0,
                     weights=lambda e, d: params if d == digest else None)
    await pres.start()
    got = []
    f = Follower(Join(HOST, pres.port, token),
                 lambda e, d: got.append(d) if e == "weights" else None)
    f.start()
    try:
        await until(lambda: f.connected, "connected")
        f.request({"type": "need_weights", "epoch": 5, "sha256": digest},
                  [(n, a.shape) for n, a in P.weight_arrays(params)])
        await until(lambda: got, "the weights delivered")
        assert P.weights_digest(got[0][1]) == digest and pres.dropped == 0
        assert len(P.weights_frames(params, 5)[1]) > presenter_mod.QUEUE_FRAMES
    finally:
        await f.stop()
        await pres.stop()


async def test_finding7_made_up_weight_requests_are_rate_limited():
    token = new_token()
    calls = []
    pres = Presenter(token, host=HOST, port=0, weights=lambda e, d: calls.append(e))
    await pres.start()
    try:
        reader, writer = await asyncio.open_connection(HOST, pres.port)
        t0 = time.monotonic()
        writer.write(_hello(token) + b"".join(
            P.encode({"type": "need_weights", "epoch": i, "sha256": f"{i:064x}"})
            for i in range(1000)))
        writer.write_eof()  # the presenter reads them all, then closes
        await asyncio.wait_for(reader.read(), BOUND)
        elapsed = time.monotonic() - t0
        allowed = presenter_mod.REQUEST_BURST + presenter_mod.REQUEST_RATE * elapsed
        assert len(calls) <= allowed, (len(calls), elapsed)
        writer.close()
    finally:
        await pres.stop()


# ---------------------------------------------------------------------------------------------
# smaller: 500 hostile authenticated connections are not "500 following"


async def test_hostile_connections_are_not_counted_as_following_and_are_capped(monkeypatch):
    monkeypatch.setattr(presenter_mod, "MAX_FOLLOWERS", 100)
    token = new_token()
    counts = []
    pres = Presenter(token, host=HOST, port=0, on_count=counts.append)
    await pres.start()
    socks = []
    try:
        welcomed = closed = 0
        for _ in range(150):  # each gives the token and then says nothing
            r, w = await asyncio.open_connection(HOST, pres.port)
            w.write(_hello(token))
            socks.append(w)
            try:
                welcomed += await asyncio.wait_for(r.readexactly(len(WELCOME)), BOUND) == WELCOME
            except asyncio.IncompleteReadError as err:
                closed += err.partial == b""
        assert (welcomed, closed) == (100, 50)
        assert pres.followers == 0 and all(c == 0 for c in counts)
        for w in socks[100:]:
            w.close()
        w0 = socks.pop(0)
        w0.transport.abort()  # one leaves: a real follower gets its place
        await until(lambda: pres.connections == 99, "the place free")
        f = Follower(Join(HOST, pres.port, token), lambda e, d: None)
        f.start()
        await until(lambda: pres.followers == 1, "the real follower counted")
        assert counts[-1] == 1
        await f.stop()
    finally:
        for w in socks:
            w.transport.abort()
        await pres.stop()


# ---------------------------------------------------------------------------------------------
# issue 19: the answers channel (a follower's answers for the presented lesson's poll)

LESSON_SHA = "ab" * 32
STEPS = 3  # a stand-in lesson: step 0 a task, step 1 a question of 3 choices, step 2 nothing


def _answer_ok(msg: dict) -> bool:
    """What PresenterRole._answer_ok checks, for the stand-in lesson above."""
    if msg["lesson"] != LESSON_SHA or msg["step"] >= STEPS:
        return False
    if msg["done"] and msg["step"] != 0:
        return False
    return msg["pick"] is None or (msg["step"] == 1 and msg["pick"] <= 3)


def _ans(step: int, done: bool = False, pick=None, lesson: str = LESSON_SHA) -> bytes:
    return P.encode({"type": "answer", "lesson": lesson, "step": step, "done": done,
                     "pick": pick})


async def _polling(**kw):
    token = new_token()
    changed = []
    pres = Presenter(token, host=HOST, port=0, answer_ok=_answer_ok,
                     on_answers=lambda: changed.append(1), **kw)
    await pres.start()
    return pres, token, changed


async def _taken(pres, n: int) -> None:
    await until(lambda: pres.answers_taken + pres.answers_ignored >= n, f"{n} answers read")


async def test_answers_for_steps_or_choices_that_do_not_exist_change_nothing():
    pres, token, changed = await _polling()
    try:
        r, w = await asyncio.open_connection(HOST, pres.port)
        w.write(_hello(token) + BEAT)
        await until(lambda: pres.followers == 1, "counted")
        w.write(_ans(STEPS) + _ans(99_999, True) + _ans(2, True) + _ans(0, pick=1) +
                _ans(1, pick=4) + _ans(1, pick=2, lesson="cd" * 32))
        await _taken(pres, 6)
        assert pres.answers_taken == 0 and not changed
        assert pres.tally(LESSON_SHA, 1, 3) == (1, 0, [0, 0, 0])
        # out of the schema's range (a step past 100,000, a pick of 5): the connection closes
        w.write(_ans(1, pick=1).replace(b'"pick":1', b'"pick":5'))
        assert await asyncio.wait_for(r.read(), BOUND) is not None
        await until(lambda: pres.connections == 0, "that connection closed")
        assert pres.tally(LESSON_SHA, 1, 3) == (0, 0, [0, 0, 0])
        w.close()
    finally:
        await pres.stop()


async def test_a_repeated_answer_replaces_the_earlier_and_counts_stay_within_the_followers():
    pres, token, changed = await _polling()
    try:
        conns = []
        for _ in range(2):
            r, w = await asyncio.open_connection(HOST, pres.port)
            w.write(_hello(token) + BEAT)
            conns.append((r, w))
        await until(lambda: pres.followers == 2, "two counted")
        w0, w1 = conns[0][1], conns[1][1]
        w0.write(_ans(1, pick=1) + _ans(1, pick=2) + _ans(1, pick=3) + _ans(0, True) * 3)
        w1.write(_ans(1, pick=3))
        await _taken(pres, 7)
        assert pres.tally(LESSON_SHA, 1, 3) == (2, 0, [0, 0, 2])  # the last pick of each
        assert pres.tally(LESSON_SHA, 0, 0) == (2, 1, [])
        # one goes: its answers no longer count, and the presenter is told
        told = len(changed)
        w0.transport.abort()
        await until(lambda: pres.followers == 1, "one left")
        await until(lambda: len(changed) > told, "the poll told of it")
        assert pres.tally(LESSON_SHA, 1, 3) == (1, 0, [0, 0, 1])
        assert pres.tally(LESSON_SHA, 0, 0) == (1, 0, [])
        w1.close()
    finally:
        await pres.stop()


async def test_a_million_answers_cost_bounded_time_and_memory():
    """A follower sending answers far past its rate is taken for a flood and closed: the
    presenter reads a few dozen of a million, its memory does not grow, its loop stays free."""
    import tracemalloc
    pres, token, changed = await _polling()
    lag = []

    async def ticker():  # the presenter's loop must keep turning
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(0.01)
            lag.append(time.monotonic() - t0)
    tick = asyncio.ensure_future(ticker())
    tracemalloc.start()
    try:
        r, w = await asyncio.open_connection(HOST, pres.port)
        w.write(_hello(token) + BEAT)
        await until(lambda: pres.followers == 1, "counted")
        batch = _ans(1, pick=2) * 10_000
        sent = 0
        t0 = time.monotonic()
        with pytest.raises((ConnectionError, OSError)):
            for _ in range(100):  # a million answers, unless closed before
                w.write(batch)
                await w.drain()
                sent += 10_000
            await asyncio.wait_for(r.read(), BOUND)
            raise ConnectionResetError  # (read to the end: closed by the presenter)
        elapsed = time.monotonic() - t0
        await until(lambda: pres.connections == 0, "the flood closed")
        read = pres.answers_taken + pres.answers_ignored
        assert pres.answers_taken <= presenter_mod.ANSWER_BURST + \
            presenter_mod.ANSWER_RATE * elapsed + 1
        assert read <= presenter_mod.FLOOD + presenter_mod.ANSWER_BURST + \
            presenter_mod.ANSWER_RATE * elapsed + 1, read
        assert sent < 1_000_000 and pres.dropped >= 1
        peak = tracemalloc.get_traced_memory()[1]
        assert peak < 64 * 1024 * 1024, peak
        assert max(lag) < 1.0, max(lag)
        assert pres.tally(LESSON_SHA, 1, 3) == (0, 0, [0, 0, 0])
    finally:
        tracemalloc.stop()
        tick.cancel()
        await pres.stop()


async def test_answers_from_a_connection_with_a_wrong_token_are_never_read():
    pres, token, changed = await _polling()
    try:
        r, w = await asyncio.open_connection(HOST, pres.port)
        w.write(_hello(new_token()) + _ans(1, pick=2) * 100)
        got = await asyncio.wait_for(r.read(), BOUND)
        assert got == P.encode({"type": "refused"})
        assert pres.answers_taken == pres.answers_ignored == 0 and not changed
        assert pres.tally(LESSON_SHA, 1, 3) == (0, 0, [0, 0, 0]) and pres.refused == 1
        w.close()
    finally:
        await pres.stop()


async def test_a_follower_that_cannot_connect_names_host_and_port_and_what_to_check():
    """Issue 19: a wrong port said 'connecting… · 127.0.0.1' for ever."""
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    role = FollowerRole(Join(HOST, port, new_token()))
    screen = FakeScreen()
    role.start(screen)
    try:
        await until(lambda: role.unreachable is not None, "the connection refused")
        where = f"{HOST}:{port}"
        assert screen.status.shown[-1] == f"no presenter at · {where} · check host and port"
        assert all(keep >= 10 for _, _, keep in screen.status.extra)  # first, never cut
        note = [n for n in screen.notes if where in n]
        assert len(note) == 1 and "Check the host and port" in note[0]
        attempts = role.follower.attempts
        await until(lambda: role.follower.attempts > attempts + 1, "tried again")
        assert len([n for n in screen.notes if where in n]) == 1  # said once, not each time
    finally:
        await role.stop()


async def test_a_presenter_of_another_version_is_said_once_and_stays_in_the_status_line():
    """A version-1 presenter (it refuses a version-2 hello without saying why): the follower
    finds out it is version 1 and says so, not 'check the join string', and keeps trying."""
    async def v1(reader, writer):
        hello = json.loads((await P._read_frame(reader, frozenset({"hello"})))[1])
        writer.write(P.encode({"type": "welcome", "version": 1} if hello["version"] == 1
                              else {"type": "refused"}))
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(v1, HOST, 0)
    role = FollowerRole(Join(HOST, server.sockets[0].getsockname()[1], new_token()))
    screen = FakeScreen()
    role.start(screen)
    try:
        await until(lambda: role.link == "version", "the presenter's version found")
        assert screen.status.shown[-1] == \
            "the presenter's rnntui is older · the same version is needed"
        assert screen.notes == [
            "The presenter runs an older rnntui (classroom protocol 1; this app's is 2): follow "
            "it with the same version of rnntui as the presenter's. This app keeps trying."]
        attempts = role.follower.attempts
        await until(lambda: role.follower.attempts > attempts + 1, "tried again")
        assert len(screen.notes) == 1 and role.link == "version"  # said once
    finally:
        await role.stop()
        server.close()


def test_the_teacher_is_told_once_per_version_turned_away():
    from types import SimpleNamespace

    from rnntui.classroom.session import PresenterRole
    role = PresenterRole(new_token())
    notes: list[str] = []
    role.screen = SimpleNamespace(notify=lambda text, **_: notes.append(text))
    for v in (1, 1, 1, 3):
        role.presenter._on_version(v)
    assert notes == [
        "A follower with an older rnntui (classroom protocol 1; yours is 2) was turned away: it "
        "can follow once it runs the same version of rnntui as yours.",
        "A follower with a newer rnntui (classroom protocol 3; yours is 2) was turned away: it "
        "can follow once it runs the same version of rnntui as yours."]


def test_the_presenters_range_check_of_answers_against_the_lesson_presented():
    """PresenterRole._answer_ok (what the stand-in above mirrors), on the built-in lesson 1:
    step 1 has a task, step 2 a question of 3 choices, step 4 neither."""
    from types import SimpleNamespace

    from rnntui.classroom.session import PresenterRole
    from rnntui.lessons import builtin_lessons
    lesson = builtin_lessons()[0]
    role = PresenterRole(new_token())
    role.screen = SimpleNamespace(lessons=SimpleNamespace(lesson=lesson, active=True, index=0))
    sha = P.sha256(open(lesson.source, "rb").read())

    def ok(step, done=False, pick=None, lesson_sha=sha):
        return role._answer_ok({"type": "answer", "lesson": lesson_sha, "step": step,
                                "done": done, "pick": pick})
    assert ok(1, True) and ok(2, pick=3) and ok(2, pick=1) and ok(4)
    assert not ok(len(lesson)) and not ok(99_999, True)  # no such step
    assert not ok(2, True) and not ok(4, True)  # no task there
    assert not ok(1, pick=1) and not ok(2, pick=4)  # no question there, no 4th choice
    assert not ok(1, True, lesson_sha="cd" * 32)  # another lesson
    role.screen.lessons.active = False  # no lesson presented: nothing is counted
    assert not ok(1, True)


# ---------------------------------------------------------------------------------------------
# an honest follower keeps its own pace under the presenter's allowance (test_follower_pace)


async def test_a_request_held_back_by_the_followers_pace_is_asked_again(hostile):
    hp, follow = hostile
    role, screen = await follow()
    role.follower._pace.tokens = 0.0  # (as after a burst of requests)
    data = _inline(7)
    sha = P.sha256(data)
    hp.send(state("scenario=s7.toml,t=0", "s7.toml", sha))
    await until(lambda: any(m.get("sha256") == sha for m in hp.requests()),
                "the scenario asked for once the pace allows")
    hp.send(blob("scenario", data))
    await until(lambda: screen.opened, "the scenario open")
