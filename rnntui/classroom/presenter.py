"""The presenter's server: followers connect over TCP, give the token, and are sent each state.

It runs in the app's asyncio loop. Sending never waits: :meth:`Presenter.broadcast` encodes a
message once and puts it on each follower's bounded queue; a follower whose queue is full (it
reads too slowly, or not at all) is dropped. Followers only ever ask for data (a scenario's
text, weights) and answer the presented lesson's steps (counted per step, never who: the
poll); nothing they send changes the presenter's state but those counts, and their requests
and answers are rate-limited (a follower asking for made-up weights cannot keep the presenter
busy; one flooding past the limits is dropped). A
connection counts as following once it has given the token and then spoken (its first
heartbeat); at most :data:`MAX_FOLLOWERS` connections are let in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections import OrderedDict, deque
from typing import Callable

from . import protocol as P

#: Seconds between heartbeats, and of silence after which a follower is taken for gone.
HEARTBEAT = 1.0
SILENCE = 6.0
#: Seconds a new connection has to say hello with the token.
HELLO_WAIT = 5.0
#: A follower's queue: at most this many frames, and this many bytes, waiting to be sent; on
#: top of them one blob at a time (a scenario's text or weights, up to its cap in
#: protocol.BLOB_CAPS, so every blob within the cap can be sent); a blob asked for while one
#: is on its way waits for it (the last asked for only).
QUEUE_FRAMES = 512
QUEUE_BYTES = 32 * 1024 * 1024
#: A follower's requests: at most REQUEST_BURST at once, then REQUEST_RATE a second; more are
#: not answered.
REQUEST_BURST = 8
REQUEST_RATE = 2.0
#: A follower's answers (the presented lesson's poll): at most ANSWER_BURST at once, then
#: ANSWER_RATE a second; more are not counted.
ANSWER_BURST = 8
ANSWER_RATE = 2.0
#: Messages over a follower's rates (requests and answers) after which it is taken for a
#: flood and dropped: no honest follower comes near it, and a million messages cost the
#: presenter this many, not a million.
FLOOD = 64
#: The most followers let in at once (a connection past it is closed after its hello).
MAX_FOLLOWERS = 200
#: Blobs answered lately, kept encoded (followers asking for the same share the bytes).
ANSWERS_KEPT = 2


class _Allowance:
    """A token bucket: ``burst`` at once, then ``rate`` a second."""

    __slots__ = ("burst", "rate", "tokens", "stamp")

    def __init__(self, burst: int, rate: float) -> None:
        self.burst, self.rate = float(burst), rate
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class _Conn:
    """One follower: its queue and the task writing it out."""

    __slots__ = ("writer", "queue", "queued", "blob_left", "next_blob", "wake", "closed",
                 "task", "peer", "heard", "spoke", "requests", "answers", "answered_in",
                 "answer_allowance", "over")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.queue: deque[tuple[bytes, bool]] = deque()  # (frame, part of a blob)
        self.queued = 0  # frames and bytes of the queue outside blobs
        self.blob_left = 0  # frames of the blob on its way
        self.next_blob: list[bytes] | None = None  # the one asked for meanwhile (the last)
        self.wake = asyncio.Event()
        self.closed = False
        self.task: asyncio.Task | None = None
        self.peer = writer.get_extra_info("peername")
        #: When it last sent anything (the heartbeat loop drops it after SILENCE seconds).
        self.heard = time.monotonic()
        #: It has sent something after its hello: it counts as following.
        self.spoke = False
        self.requests = _Allowance(REQUEST_BURST, REQUEST_RATE)
        #: Its answers for the lesson ``answered_in`` (a file digest): step -> (done, pick).
        self.answers: dict[int, tuple[bool, int | None]] = {}
        self.answered_in: str | None = None
        self.answer_allowance = _Allowance(ANSWER_BURST, ANSWER_RATE)
        self.over = 0  # messages over its rates so far

    def offer(self, frames: list[bytes]) -> bool:
        """Queue ``frames`` without waiting; False when they do not fit (drop this one)."""
        size = sum(len(f) for f in frames)
        if len(self.queue) - self.blob_left + len(frames) > QUEUE_FRAMES or \
                self.queued + size > QUEUE_BYTES:
            return False
        transport = self.writer.transport
        if len(frames) == 1 and not self.queue and size <= P.CONTROL_CAP + P.HEADER_BYTES \
                and transport.get_write_buffer_size() == 0 and not transport.is_closing():
            transport.write(frames[0])  # out now (into the socket), not after this key's work
            return True
        self.queue.extend((f, False) for f in frames)
        self.queued += size
        self.wake.set()
        return True

    def offer_blob(self, frames: list[bytes]) -> None:
        """Queue a blob's frames; while one is on its way, they wait for it (only the last
        asked for waits: the one before is not sent)."""
        if self.blob_left:
            self.next_blob = frames
            return
        self.queue.extend((f, True) for f in frames)
        self.blob_left = len(frames)
        self.wake.set()

    def may_ask(self) -> bool:
        """Take one request from its allowance (False: over the rate, not answered)."""
        return self.requests.take() or self._over()

    def may_answer(self) -> bool:
        """Take one answer from its allowance (False: over the rate, not counted)."""
        return self.answer_allowance.take() or self._over()

    def _over(self) -> bool:
        self.over += 1
        if self.over > FLOOD:
            raise P.ProtocolError("a flood of messages over the rate")
        return False

    async def pump(self) -> None:
        while not self.closed:
            await self.wake.wait()
            self.wake.clear()
            while self.queue and not self.closed:
                frame, in_blob = self.queue.popleft()
                if in_blob:
                    self.blob_left -= 1
                    if not self.blob_left and self.next_blob is not None:
                        self.offer_blob(self.next_blob)
                        self.next_blob = None
                else:
                    self.queued -= len(frame)
                self.writer.write(frame)
                await self.writer.drain()


class Presenter:
    """Serves the state that ``state()`` returns (a ``state`` message without its ``seq``).

    ``scenario_text(sha256)`` and ``weights(epoch, sha256)`` answer followers' requests (None
    when the presenter has no such thing); ``on_count(n)`` is told the number of followers;
    ``on_version(v)`` of a follower with the token that speaks another version ``v`` (it is
    answered ``wrong_version`` and closed).
    """

    def __init__(self, token: str, *, host: str = "127.0.0.1", port: int = 0,
                 state: Callable[[], dict] | None = None,
                 scenario_text: Callable[[str], bytes | None] | None = None,
                 lesson_text: Callable[[str], bytes | None] | None = None,
                 weights: Callable[[int, str], object] | None = None,
                 on_count: Callable[[int], None] | None = None,
                 answer_ok: Callable[[dict], bool] | None = None,
                 on_answers: Callable[[], None] | None = None,
                 on_version: Callable[[int], None] | None = None, sock=None) -> None:
        self.token = token.encode("utf-8")
        self.host, self.port = host, port
        self._state = state
        self._scenario_text = scenario_text
        self._lesson_text = lesson_text
        self._weights = weights
        self._on_count = on_count
        self._answer_ok = answer_ok
        self._on_answers = on_answers
        self._on_version = on_version
        self._sock = sock  # a socket already listening (the CLI binds it to print the port)
        self._conns: set[_Conn] = set()
        self._server: asyncio.base_events.Server | None = None
        self._beat: asyncio.Task | None = None
        self._handlers: set[asyncio.Task] = set()
        self.seq = 0
        self._last: bytes | None = None  # the last state frame, sent to each newcomer
        self._answers: OrderedDict[tuple, list[bytes] | None] = OrderedDict()
        #: Connections refused or closed for breaking the protocol (for tests and the log).
        self.refused = 0
        self.dropped = 0
        #: Requests answered with data, and requests over a follower's rate (not answered).
        self.answered = 0
        self.ignored = 0
        #: Answers counted, and answers not counted (over the rate, or out of range).
        self.answers_taken = 0
        self.answers_ignored = 0

    # -- life ----------------------------------------------------------------------------------
    async def start(self) -> None:
        where = {"sock": self._sock} if self._sock is not None else \
            {"host": self.host, "port": self.port}
        self._server = await asyncio.start_server(self._handle,
                                                  limit=P.HEADER_BYTES + P.CONTROL_CAP, **where)
        self.port = self._server.sockets[0].getsockname()[1]
        self._beat = asyncio.create_task(self._heartbeats())

    async def stop(self) -> None:
        """Say bye to everyone and close (the followers say 'presenter left')."""
        if self._beat is not None:
            self._beat.cancel()
        if self._server is not None:
            self._server.close()
        bye = P.encode({"type": "bye"})
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                conn.writer.write(bye)
            self._close(conn, count=False)
        for task in list(self._handlers):
            task.cancel()
        self._conns.clear()

    @property
    def connections(self) -> int:
        """Connections let in (they gave the token), whether they have spoken since or not."""
        return len(self._conns)

    @property
    def followers(self) -> int:
        """Connections that gave the token and have spoken since (sent a heartbeat)."""
        return sum(1 for c in self._conns if c.spoke)

    # -- sending -------------------------------------------------------------------------------
    def broadcast(self, state: dict) -> None:
        """Send a state (a ``state`` message without ``seq``) to every follower, now."""
        self.seq += 1
        msg = P.check({"type": "state", "seq": self.seq, **state}, P.TO_FOLLOWER)
        self._last = frame = P.encode(msg)
        self._send_all([frame])

    def _send_all(self, frames: list[bytes]) -> None:
        for conn in list(self._conns):
            if not conn.offer(frames):
                self.dropped += 1
                self._close(conn)

    async def _heartbeats(self) -> None:
        beat = P.encode({"type": "heartbeat"})
        try:
            while True:
                await asyncio.sleep(HEARTBEAT)
                self._send_all([beat])
                quiet = time.monotonic() - SILENCE
                for conn in [c for c in self._conns if c.heard < quiet]:
                    self.dropped += 1
                    self._close(conn)  # silent too long: gone, or half-open
        finally:  # the app is ending (its loop cancels this): tell everyone at once
            bye = P.encode({"type": "bye"})
            for conn in list(self._conns):
                with contextlib.suppress(Exception):
                    conn.writer.write(bye)

    # -- one follower --------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        conn = None
        try:
            try:
                hello = await asyncio.wait_for(P.read_hello(reader), HELLO_WAIT)
            except (P.ProtocolError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                    ConnectionError, OSError):
                self.refused += 1
                return
            token_ok = hmac.compare_digest(hello["token"].encode("utf-8"), self.token)
            if not token_ok or hello["version"] != P.VERSION:
                self.refused += 1
                # a wrong token is refused without detail; with the token, another version
                # is told this presenter's (and the teacher is told the follower's)
                reply = {"type": "refused"} if not token_ok else \
                    {"type": "wrong_version", "version": P.VERSION}
                if token_ok and self._on_version is not None:
                    self._on_version(hello["version"])
                with contextlib.suppress(Exception):
                    writer.write(P.encode(reply))
                    await asyncio.wait_for(writer.drain(), 1.0)
                return
            if len(self._conns) >= MAX_FOLLOWERS:
                self.refused += 1
                return  # full: closed (the follower tries again later)
            conn = _Conn(writer)
            first = [P.encode({"type": "welcome", "version": P.VERSION})]
            if self._last is None and self._state is not None:
                self.broadcast(self._state())  # (nobody else yet: it goes to no one)
            if self._last is not None:
                first.append(self._last)
            conn.offer(first)
            self._conns.add(conn)
            conn.task = asyncio.create_task(self._pump(conn))
            await self._listen(conn, reader)
        except (P.ProtocolError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                ConnectionError, OSError):
            if conn is not None and not conn.closed:
                self.dropped += 1
        except asyncio.CancelledError:  # the app is ending: say bye (and asyncio would log it)
            if conn is not None and not conn.closed:
                with contextlib.suppress(Exception):
                    conn.writer.write(P.encode({"type": "bye"}))
                self._close(conn, count=False)
        finally:
            self._handlers.discard(task)
            if conn is not None:
                self._close(conn)
            else:
                writer.close()

    async def _pump(self, conn: _Conn) -> None:
        """Write a follower's queue out; a failed write drops it (its reader then ends)."""
        try:
            await conn.pump()
        except (ConnectionError, OSError):
            self.dropped += 1
        finally:
            self._close(conn)

    async def _listen(self, conn: _Conn, reader: asyncio.StreamReader) -> None:
        """Read what a follower sends (heartbeats, requests) until it goes or misbehaves
        (silence is watched by the heartbeat loop, which closes the connection)."""
        while not conn.closed:
            msg = await P.read_message(reader, P.TO_PRESENTER)
            conn.heard = time.monotonic()
            kind = msg["type"]
            if kind == "hello":
                raise P.ProtocolError("hello twice")
            if not conn.spoke:
                conn.spoke = True
                self._count()
            if kind == "heartbeat":
                continue
            if kind == "answer":
                self._take_answer(conn, msg)
                continue
            if not conn.may_ask():
                self.ignored += 1
                continue
            frames = self._answer(msg)
            if frames:
                conn.offer_blob(frames)
                self.answered += 1

    # -- the poll ------------------------------------------------------------------------------
    def _take_answer(self, conn: _Conn, msg: dict) -> None:
        """Count a follower's answer: within its rate, for a step that exists in the lesson
        presented (``answer_ok``); it replaces the follower's earlier answer for that step."""
        if not conn.may_answer() or self._answer_ok is None or not self._answer_ok(msg):
            self.answers_ignored += 1
            return
        if msg["lesson"] != conn.answered_in:  # another lesson: its earlier answers go
            conn.answered_in, conn.answers = msg["lesson"], {}
        conn.answers[msg["step"]] = (msg["done"], msg["pick"])
        self.answers_taken += 1
        if self._on_answers is not None:
            self._on_answers()

    def tally(self, lesson: str | None, step: int, choices: int) -> tuple[int, int, list[int]]:
        """(followers, how many of them did the task, how many picked each of ``choices``) at
        ``step`` of the lesson whose file has digest ``lesson``: counts, never who. Only
        connections present and following count, each once."""
        of, done, picks = 0, 0, [0] * choices
        for conn in self._conns:
            if not conn.spoke:
                continue
            of += 1
            got = conn.answers.get(step) if conn.answered_in == lesson else None
            if got is None:
                continue
            done += got[0]
            if got[1] is not None and 1 <= got[1] <= choices:
                picks[got[1] - 1] += 1
        return of, done, picks

    def _answer(self, msg: dict) -> list[bytes] | None:
        """The frames answering a request, or None when there is nothing to send (answers
        are kept encoded for the next follower asking the same)."""
        key = (msg["type"], msg.get("epoch"), msg["sha256"])
        if key in self._answers:
            self._answers.move_to_end(key)
            return self._answers[key]
        frames = self._answer_new(msg)
        if frames is not None:  # (a miss is not kept: a made-up digest costs a lookup)
            self._answers[key] = frames
            while len(self._answers) > ANSWERS_KEPT:
                self._answers.popitem(last=False)
        return frames

    def _answer_new(self, msg: dict) -> list[bytes] | None:
        kind, digest = msg["type"], msg["sha256"]
        if kind in ("need_scenario", "need_lesson"):
            what = "scenario" if kind == "need_scenario" else "lesson"
            source = self._scenario_text if kind == "need_scenario" else self._lesson_text
            text = source(digest) if source is not None else None
            if text is None or len(text) > P.BLOB_CAPS[what] or P.sha256(text) != digest:
                return None
            return P.blob_frames(what, text, digest)
        params = self._weights(msg["epoch"], digest) if self._weights is not None else None
        if params is None:
            return None
        got, frames = P.weights_frames(params, msg["epoch"])
        return frames if got == digest else None

    def _close(self, conn: _Conn, count: bool = True) -> None:
        if conn.closed:
            return
        conn.closed = True
        conn.wake.set()
        self._conns.discard(conn)
        if conn.task is not None and conn.task is not asyncio.current_task():
            conn.task.cancel()
        transport = conn.writer.transport
        with contextlib.suppress(Exception):
            transport.abort() if count else conn.writer.close()
        if count:
            self._count()
            if conn.answers and self._on_answers is not None:
                self._on_answers()  # (its answers no longer count)

    def _count(self) -> None:
        if self._on_count is not None:
            self._on_count(self.followers)

