"""The follower's client: connects to a presenter, gives the token, and hands on what it sends.

It runs in the app's asyncio loop and never gives up: a refused or lost connection is reported
and tried again with a growing pause (0.5 s up to :data:`MAX_BACKOFF`). Silence from the
presenter for :data:`SILENCE` seconds (it sends heartbeats every second) counts as lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Callable

from . import protocol as P
from .join import Join

HEARTBEAT = 1.0
#: Seconds of silence from the presenter after which the connection counts as lost.
SILENCE = 3.5
CONNECT_WAIT = 3.0
MAX_BACKOFF = 4.0

#: Events handed to ``on_event(event, detail)``: "connected", "state" (the message),
#: "scenario"/"lesson" (the text's bytes), "weights" ((epoch, arrays)), "left" (the presenter
#: said bye), "lost" (a reason), "refused", "error" (a protocol problem: the connection is
#: closed and tried again).
EVENTS = ("connected", "state", "scenario", "lesson", "weights", "left", "lost", "refused",
          "error")


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

    def request(self, msg: dict) -> None:
        """Ask the presenter for something (need_scenario, need_lesson, need_weights)."""
        if self._writer is not None and self.connected:
            with contextlib.suppress(Exception):
                self._writer.write(P.encode(P.check(msg, P.TO_PRESENTER)))

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
        beat = None
        try:
            writer.write(P.encode({"type": "hello", "version": P.VERSION, "token": j.token}))
            first = await asyncio.wait_for(P.read_message(reader, P.TO_FOLLOWER), SILENCE)
            if first["type"] == "refused":
                self._emit("refused", None)
                return "refused"
            if first["type"] != "welcome":
                raise P.ProtocolError(f"expected welcome, got {first['type']}")
            self.connected = True
            self._emit("connected", None)
            beat = asyncio.ensure_future(self._heartbeats(writer))
            blob: P.Assembler | None = None
            while not self._stopping:
                msg = await asyncio.wait_for(P.read_message(reader, P.TO_FOLLOWER), SILENCE)
                kind = msg["type"]
                if kind == "heartbeat":
                    continue
                if kind == "bye":
                    self._emit("left", None)
                    return "connected-then-lost"
                if kind == "state":
                    self._emit("state", msg)
                elif kind == "blob":
                    blob = P.Assembler(msg)
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
            self._emit("lost", "no heartbeat from the presenter")
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as err:
            self._emit("lost", _reason(err))
        except P.ProtocolError as err:
            self._emit("error", str(err))
        finally:
            if beat is not None:
                beat.cancel()
            was = self.connected
            self._close()
        return "connected-then-lost" if was else "no-connection"

    def _finish(self, blob: P.Assembler) -> None:
        head = blob.head
        result = blob.result()
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
