"""The follower's client: connects to a presenter, gives the token, and hands on what it sends.

It runs in the app's asyncio loop and never gives up: a refused or lost connection is reported
and tried again with a growing pause (0.5 s up to :data:`MAX_BACKOFF`). Silence from the
presenter for :data:`SILENCE` seconds (it sends heartbeats every second) counts as lost, and so
does anything it sends that cannot be read (any error at all: the connection is closed and
tried again, never left for dead).

The presenter is a stranger: states that come faster than they are handed on are coalesced
(only the newest is handed on); a blob (a scenario's or lesson's text, weights) is taken only
when it answers a request this follower made, and weights only with exactly the names and
shapes the request expected, checked on the blob's header before any of its bytes are read,
and only when every number in them is finite.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import OrderedDict
from typing import Callable

from . import protocol as P
from .join import Join
from .presenter import _Allowance

HEARTBEAT = 1.0
#: Seconds of silence from the presenter after which the connection counts as lost.
SILENCE = 3.5
CONNECT_WAIT = 3.0
MAX_BACKOFF = 4.0
#: Requests waiting for their answer at most (the oldest is forgotten past it).
MAX_PENDING = 8
#: This follower's own pace for requests: REQUEST_BURST at once, then REQUEST_RATE a second,
#: under the presenter's allowance (presenter.REQUEST_BURST, REQUEST_RATE) with room for the
#: network bunching them, so an honest follower is never over the presenter's rate (a request
#: over it goes unanswered, and a follower far over it is dropped as a flood). A request held
#: back returns False and is asked again later (rnntui.classroom.session).
REQUEST_BURST = 4
REQUEST_RATE = 1.5

#: Events handed to ``on_event(event, detail)``: "connected", "state" (the message),
#: "scenario"/"lesson" (the text's bytes), "weights" ((epoch, arrays)), "left" (the presenter
#: said bye), "lost" (a reason), "refused", "version" (the presenter speaks another version of
#: the protocol: its number), "error" (a protocol problem: the connection is closed and tried
#: again).
EVENTS = ("connected", "state", "scenario", "lesson", "weights", "left", "lost", "refused",
          "version", "error")


class Follower:
    """Follow the presenter at ``join``; ``on_event(event, detail)`` hears everything."""

    def __init__(self, join: Join, on_event: Callable[[str, object], None]) -> None:
        self.join = join
        self._on_event = on_event
        self._task: asyncio.Task | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.connected = False
        self.attempts = 0
        self._stopping = False
        #: sha256 -> (what, expected (epoch, [(name, shape)]) for weights, else None)
        self._pending: OrderedDict[str, tuple] = OrderedDict()
        self._pace = _Allowance(REQUEST_BURST, REQUEST_RATE)
        self._state: dict | None = None  # the newest state not handed on yet
        self._state_soon = False

    def start(self) -> None:
        self._task = asyncio.ensure_future(self.run())

    async def stop(self) -> None:
        """Stop for good. (A flag as well as a cancel: Python 3.11's wait_for can swallow a
        cancel that arrives as its read completes.)"""
        self._stopping = True
        self._close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)

    def request(self, msg: dict, arrays: list[tuple[str, tuple]] | None = None) -> bool:
        """Ask the presenter for something (need_scenario, need_lesson, need_weights); the
        answer is taken only while it is awaited. ``arrays``: the (name, shape) of every
        weight array a need_weights answer must have. False when not connected, or when it
        is held back to keep this follower's pace (ask again later)."""
        if self._writer is None or not self.connected or not self._pace.take():
            return False
        msg = P.check(msg, P.TO_PRESENTER)
        what = msg["type"].removeprefix("need_")
        if what == "weights":
            if arrays is None:
                raise ValueError("need_weights needs the arrays expected")
            expect = (msg["epoch"], [(n, tuple(s)) for n, s in arrays])
        else:
            expect = None
        self._pending[msg["sha256"]] = (what, expect)
        self._pending.move_to_end(msg["sha256"])
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)
        try:
            self._writer.write(P.encode(msg))
        except Exception:  # noqa: BLE001 - a closing socket: the session ends and says why
            return False
        return True

    def answer(self, msg: dict) -> bool:
        """Tell the presenter this learner's answer for a step of the presented lesson (an
        ``answer`` message; counted there, never shown with who). False when not connected."""
        if self._writer is None or not self.connected:
            return False
        msg = P.check({"type": "answer", **msg}, P.TO_PRESENTER)
        try:
            self._writer.write(P.encode(msg))
        except Exception:  # noqa: BLE001 - a closing socket: the session ends and says why
            return False
        return True

    async def run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            self.attempts += 1
            outcome = await self._session()
            if outcome == "connected-then-lost":
                backoff = 0.5
            await asyncio.sleep(backoff * (0.8 + 0.4 * random.random()))
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _session(self) -> str:
        """One connection, start to end; says how it ended."""
        j = self.join
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(j.host, j.port),
                                                    CONNECT_WAIT)
        except (OSError, asyncio.TimeoutError) as err:
            self._emit("lost", _reason(err))
            return "no-connection"
        self._writer = writer
        self._pending.clear()  # (what was asked of an earlier connection is asked again)
        beat = None
        ended: tuple | None = None  # the event saying how it ended (none when stopped)
        try:
            writer.write(P.encode({"type": "hello", "version": P.VERSION, "token": j.token}))
            async with asyncio.timeout(SILENCE):
                first = await P.read_message(reader, P.TO_FOLLOWER)
            if first["type"] == "wrong_version":
                self._emit("version", first["version"])
                return "refused"
            if first["type"] == "refused":
                # (a version-1 presenter refuses another version without saying so: asked
                # again as version 1, it welcomes the token if that was all)
                old = P.VERSION != P.FIRST_VERSION and await self._speaks_first_version()
                self._emit(*(("version", P.FIRST_VERSION) if old else ("refused", None)))
                return "refused"
            if first["type"] != "welcome":
                raise P.ProtocolError(f"expected welcome, got {first['type']}")
            self.connected = True
            self._emit("connected", None)
            beat = asyncio.ensure_future(self._heartbeats(writer))
            blob: P.Assembler | None = None
            while not self._stopping:
                # (asyncio.timeout, not wait_for: no task per message, so frames already
                # received are read without handing control back, and states coalesce)
                async with asyncio.timeout(SILENCE):
                    msg = await P.read_message(reader, P.TO_FOLLOWER)
                kind = msg["type"]
                if kind == "heartbeat":
                    continue
                if kind == "bye":
                    ended = ("left", None)
                    break
                if kind == "state":
                    self._state = msg
                    if not self._state_soon:
                        self._state_soon = True
                        asyncio.get_running_loop().call_soon(self._hand_on_state)
                elif kind == "blob":
                    if blob is not None:
                        raise P.ProtocolError("a blob before the last one was complete")
                    blob = P.Assembler(self._expected(msg))
                    if blob.done:
                        blob = self._finish(blob)
                elif kind == "chunk":
                    if blob is None:
                        raise P.ProtocolError("a chunk with no blob before it")
                    blob.add(msg)
                    if blob.done:
                        blob = self._finish(blob)
                else:
                    raise P.ProtocolError(f"unexpected {kind}")
        except asyncio.TimeoutError:
            ended = ("lost", "no heartbeat from the presenter")
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as err:
            ended = ("lost", _reason(err))
        except P.ProtocolError as err:
            ended = ("error", str(err))
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - whatever it was, this connection is over
            ended = ("error", f"{type(err).__name__} while reading the presenter's message")
        finally:
            if beat is not None:
                beat.cancel()
            was = self.connected
            self._close()
        if ended is not None:
            self._emit(*ended)
        return "connected-then-lost" if was else "no-connection"

    async def _speaks_first_version(self) -> bool:
        """Whether the presenter welcomes this token in a version-1 hello (then closed at
        once: nothing more is read)."""
        j = self.join
        writer = None
        try:
            async with asyncio.timeout(SILENCE):
                reader, writer = await asyncio.open_connection(j.host, j.port)
                writer.write(P.encode({"type": "hello", "version": P.FIRST_VERSION,
                                       "token": j.token}))
                first = await P.read_message(reader, frozenset({"welcome", "refused"}))
            return first["type"] == "welcome" and first["version"] == P.FIRST_VERSION
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - no answer to the question: refused as it was
            return False
        finally:
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.transport.abort()

    def _hand_on_state(self) -> None:
        """Hand on the newest state received (those before it are coalesced away)."""
        self._state_soon = False
        state, self._state = self._state, None
        if state is not None:
            self._emit("state", state)

    def _expected(self, head: dict) -> dict:
        """A blob's header if it answers a request made, with the weights' epoch, names and
        shapes the request expected; else ProtocolError (before any of its bytes are read)."""
        asked = self._pending.get(head["sha256"])
        if asked is None or asked[0] != head["what"]:
            raise P.ProtocolError(f"a {head['what']} this follower did not ask for")
        if head["what"] == "weights":
            epoch, arrays = asked[1]
            got = [(a["name"], tuple(a["shape"])) for a in head["arrays"]]
            if head["epoch"] != epoch or got != arrays:
                raise P.ProtocolError("weights of another epoch, or other names or shapes, "
                                      "than those asked for")
        return head

    def _finish(self, blob: P.Assembler) -> None:
        head = blob.head
        result = blob.result()
        self._pending.pop(head["sha256"], None)
        if head["what"] == "weights":
            self._emit("weights", (head["epoch"], result))
        else:
            self._emit(head["what"], result)
        return None

    async def _heartbeats(self, writer: asyncio.StreamWriter) -> None:
        beat = P.encode({"type": "heartbeat"})
        with contextlib.suppress(Exception):
            while True:
                writer.write(beat)
                await asyncio.sleep(HEARTBEAT)

    def _close(self) -> None:
        if self._state is not None and not self._stopping:  # the newest state first, then
            # why the connection ended
            self._hand_on_state()
        self.connected = False
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.transport.abort()
            self._writer = None

    def _emit(self, event: str, detail) -> None:
        try:
            self._on_event(event, detail)
        except Exception:  # noqa: BLE001 - the app's problem, not the connection's
            import traceback
            traceback.print_exc()


def _reason(err: BaseException) -> str:
    if isinstance(err, asyncio.IncompleteReadError):
        return "the presenter closed the connection"
    if isinstance(err, ConnectionRefusedError):
        return "no presenter at that address (yet)"
    if isinstance(err, asyncio.TimeoutError):
        return "the presenter does not answer"
    return getattr(err, "strerror", None) or type(err).__name__
