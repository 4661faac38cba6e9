"""`rnntui serve` lets in only who has the token: the page, the websocket and downloads, through
aiohttp's test client against the real server (rnntui.classroom.serve). The app processes are a
tiny stand-in that speaks textual-serve's packet protocol (it says what RNNTUI_SERVED it got and
echoes keys), so each websocket costs a Python start-up, not an app."""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
import textwrap

import pytest

pytest.importorskip("textual_serve", reason="rnntui serve needs the web extra (make browser-deps)")
from aiohttp import WSServerHandshakeError  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from rnntui.classroom.serve import RnnServer  # noqa: E402

TOKEN = "Tok3n-for-the-tests_0123"
BOUND = 60.0  # seconds: bounds on waiting for a state, never measurements

#: A stand-in app: textual-serve's start line, one data packet naming RNNTUI_SERVED and the
#: terminal size, then an echo of every key until textual-serve asks it to quit ("stubborn":
#: never).
FAKE_APP = textwrap.dedent(r"""
    import json, os, sys
    out, inp = sys.stdout.buffer, sys.stdin.buffer
    def packet(kind, payload):
        out.write(kind + len(payload).to_bytes(4, "big") + payload)
        out.flush()
    out.write(b"__GANGLION__\n")
    packet(b"D", ("served=" + os.environ.get("RNNTUI_SERVED", "-") + ";size="
                  + os.environ["COLUMNS"] + "x" + os.environ["ROWS"] + ";").encode())
    while True:
        head = inp.read(5)
        if len(head) < 5:
            break
        body = inp.read(int.from_bytes(head[1:], "big"))
        if head[:1] == b"M" and json.loads(body).get("type") == "quit":
            if "stubborn" not in sys.argv:
                break
        if head[:1] == b"D":
            packet(b"D", b"key=" + body + b";")
""")
COMMAND = shlex.join([sys.executable, "-c", FAKE_APP])


class Served:
    """A RnnServer behind aiohttp's test client (``Host`` is 127.0.0.1:its port)."""

    def __init__(self, command: str = COMMAND, **options) -> None:
        options.setdefault("token", TOKEN)
        self.server = RnnServer(command, "127.0.0.1", 8000, **options)
        self.client: TestClient | None = None

    async def __aenter__(self) -> Served:
        app = await self.server._make_app()
        self.client = TestClient(TestServer(app, host="127.0.0.1"))
        await self.client.start_server()
        return self

    async def __aexit__(self, kind, *exc) -> None:
        if kind is None:  # every tab closed: their app processes end and free their slots
            await until(lambda: self.server.sessions == 0, "every slot freed")
        await self.client.close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.client.port}"

    def cookie(self, value: str | None = None) -> dict[str, str]:
        return {"Cookie": f"{self.server.cookie_name}={value or self.server._cookie_value}"}

    async def cookie_from_token(self) -> str:
        """The cookie the token address sets (as a browser would keep it)."""
        r = await self.client.get("/", params={"token": TOKEN}, allow_redirects=False)
        assert r.status == 200
        return r.cookies[self.server.cookie_name].value

    async def socket(self, *, origin: str | None = None, cookie: str | None = None):
        headers = {"Origin": origin or self.origin}
        if cookie != "":
            headers.update(self.cookie(cookie))
        return await self.client.ws_connect("/ws?width=80&height=24", headers=headers)


async def output(ws, until: str) -> str:
    """What the app sent over ``ws`` until ``until`` is in it (or it closed)."""
    got = ""
    while until not in got:
        msg = await asyncio.wait_for(ws.receive(), BOUND)
        if msg.data is None or not isinstance(msg.data, (bytes, str)):
            break
        got += msg.data.decode() if isinstance(msg.data, bytes) else msg.data
    return got


async def until(cond, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + BOUND
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"still waiting for {what}")
        await asyncio.sleep(0.01)


async def test_without_the_token_the_page_is_only_a_note():
    async with Served() as s:
        for params, headers in [({}, {}), ({"token": "Wrong-token-0123456789"}, {}),
                                ({}, s.cookie("0" * 64)), ({"token": TOKEN[:-1]}, {})]:
            r = await s.client.get("/", params=params, headers=headers, allow_redirects=False)
            body = await r.text()
            assert r.status == 403, params
            assert "needs its token" in body and "textual.js" not in body and "ws" not in body
            assert "Set-Cookie" not in r.headers


async def test_the_token_sets_a_strict_http_only_cookie_and_moves_on_without_it():
    async with Served() as s:
        r = await s.client.get("/", params={"token": TOKEN, "fontsize": "20"},
                               allow_redirects=False)
        assert r.status == 200
        cookie = r.headers["Set-Cookie"]
        assert cookie.startswith(f"{s.server.cookie_name}=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert TOKEN not in cookie  # a digest of it, not the token
        body = await r.text()
        assert "searchParams.delete('token')" in body and "location.replace" in body
        assert r.headers["Referrer-Policy"] == "no-referrer"
        # with the cookie: the app's page
        page = await s.client.get("/", headers=s.cookie(r.cookies[s.server.cookie_name].value))
        assert page.status == 200 and "textual.js" in await page.text()


async def test_static_files_need_no_token_and_list_no_folder():
    async with Served() as s:
        r = await s.client.get("/static/js/textual.js")
        assert r.status == 200 and len(await r.read()) > 10_000
        assert (await s.client.get("/static/")).status in (403, 404)


async def test_another_host_gets_a_page_whose_addresses_are_relative():
    """Reached through a tunnel on another port (or a proxy), the page must not send the
    browser back to 127.0.0.1:PORT: every address is relative, the websocket's made in the
    page from location."""
    async with Served() as s:
        r = await s.client.get("/", headers={"Host": "localhost:9999", **s.cookie()})
        page = await r.text()
        assert r.status == 200
        addresses = re.findall(r'(?:href|src)="([^"]*)"|url\("([^"]*)"\)', page)
        addresses = [a or b for a, b in addresses]
        assert "static/js/textual.js" in addresses and "static/css/xterm.css" in addresses
        assert all(not re.match(r"[a-z]+:|/", a) for a in addresses), addresses
        assert "127.0.0.1" not in page and "9999" not in page and "ws://" not in page
        assert 'new URL("ws", window.location.href)' in page


async def test_the_websocket_runs_an_app_told_it_is_in_a_browser():
    async with Served() as s:
        ws = await s.socket(cookie=await s.cookie_from_token())
        assert "served=browser;" in await output(ws, "served=")
        await ws.send_json(["stdin", "x"])
        assert "key=x;" in await output(ws, "key=")
        await ws.close()
    async with Served(allow_files=True) as s:
        ws = await s.socket()
        assert "served=browser+files;" in await output(ws, "served=")
        await ws.close()


@pytest.mark.parametrize("origin", [
    "http://evil.example", "http://127.0.0.1:1", "null", "", "http://127.0.0.1",
    "file://", "http://127.0.0.1:{port}.evil.example"])
async def test_a_websocket_from_another_origin_is_refused(origin):
    async with Served() as s:
        with pytest.raises(WSServerHandshakeError) as err:
            await s.client.ws_connect("/ws", headers={
                **s.cookie(), "Origin": origin.format(port=s.client.port)})
        assert err.value.status == 403
        assert s.server.sessions == 0


@pytest.mark.parametrize("cookie", ["", "0" * 64, "not-it"])
async def test_a_websocket_without_the_right_cookie_is_refused(cookie):
    async with Served() as s:
        with pytest.raises(WSServerHandshakeError) as err:
            await s.socket(cookie=cookie)
        assert err.value.status == 403
        # the token itself is not a cookie value
        with pytest.raises(WSServerHandshakeError):
            await s.socket(cookie=TOKEN)


async def test_the_origin_is_the_host_the_browser_asked_for_or_the_public_url():
    async with Served(public_url="https://class.example.org/rnntui/") as s:
        headers = {**s.cookie(), "Host": "localhost:9999", "Origin": "http://localhost:9999"}
        ws = await s.client.ws_connect("/ws", headers=headers)  # the Host: a tunnel's port
        assert "served=" in await output(ws, "served=")
        await ws.close()
        headers["Origin"] = "https://class.example.org"  # a proxy that rewrites Host
        ws = await s.client.ws_connect("/ws", headers=headers)
        assert "served=" in await output(ws, "served=")
        await ws.close()
        for wrong in ("http://class.example.org", "https://class.example.org:8443"):
            with pytest.raises(WSServerHandshakeError):
                await s.client.ws_connect("/ws", headers={**headers, "Origin": wrong})
        r = await s.client.get("/", params={"token": TOKEN}, allow_redirects=False)
        assert "Secure" in r.headers["Set-Cookie"]  # an https public address: Secure too


async def test_the_session_cap_says_so_and_a_closed_tab_frees_its_slot():
    async with Served(max_sessions=2) as s:
        first, second = await s.socket(), await s.socket()
        for ws in (first, second):
            assert "served=" in await output(ws, "served=")
        page = await s.client.get("/", headers=s.cookie())
        assert page.status == 503
        assert "full: 2 browser tabs have the app open" in await page.text()
        third = await s.socket()  # (a page opened just before the cap was reached)
        msg = await asyncio.wait_for(third.receive(), BOUND)
        assert third.close_code == 4001 and "is full" in str(msg.extra)
        assert s.server.sessions == 2
        await first.close()
        await until(lambda: s.server.sessions == 1, "the closed tab's slot freed")
        assert (await s.client.get("/", headers=s.cookie())).status == 200
        fourth = await s.socket()
        assert "served=" in await output(fourth, "served=")
        await second.close()
        await fourth.close()
        await until(lambda: s.server.sessions == 0, "every slot freed")


async def test_an_app_that_does_not_quit_is_ended_and_frees_its_slot(monkeypatch):
    from rnntui.classroom import serve
    monkeypatch.setattr(serve, "QUIT_SECONDS", 0.5)
    async with Served(COMMAND + " stubborn", max_sessions=1) as s:
        ws = await s.socket()
        assert "served=" in await output(ws, "served=")
        await ws.close()
        await until(lambda: s.server.sessions == 0, "the stubborn app killed, its slot freed")
        again = await s.socket()
        assert "served=" in await output(again, "served=")
        await again.close()


async def test_downloads_need_the_cookie():
    async with Served() as s:
        assert (await s.client.get("/download/0123abcd")).status == 403
        assert (await s.client.get("/download/0123abcd", headers=s.cookie())).status == 404


async def test_sizes_from_the_tab_are_kept_in_range(monkeypatch):
    from textual_serve.app_service import AppService
    asked = []

    async def set_terminal_size(self, width, height):
        asked.append((width, height))
    monkeypatch.setattr(AppService, "set_terminal_size", set_terminal_size)
    async with Served() as s:
        ws = await s.client.ws_connect("/ws?width=%C2%B2&height=99999999", headers={
            "Origin": s.origin, **s.cookie()})
        assert "size=80x500;" in await output(ws, "size=")
        await ws.send_str("not json")
        await ws.send_json(["resize", {"width": 10**12, "height": -3}])
        await ws.send_json(["resize", "nonsense"])
        await ws.send_json(["resize", {"width": "²", "height": True}])
        await ws.send_json(["resize", {"width": 100, "height": 30}])
        await until(lambda: (100, 30) in asked, "the ordinary resize")
        assert asked == [(1000, 1), (80, 24), (100, 30)]
        await ws.send_json(["stdin", "y"])
        assert "key=y;" in await output(ws, "key=")  # still up after the malformed messages
        await ws.close()


async def test_a_deeply_nested_message_from_the_tab_is_skipped_like_any_malformed_one():
    async with Served() as s:
        ws = await s.socket()
        assert "served=" in await output(ws, "size=")
        await ws.send_str("[" * 100_000)  # (json.loads recurses once per bracket)
        await ws.send_json(["stdin", "y"])
        assert "key=y;" in await output(ws, "key=")
        await ws.close()


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_the_address_with_its_token_once_listening():
    import os
    import signal
    import subprocess
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rnntui.cli", "serve", "king", "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        line = proc.stdout.readline().strip()
        match = re.fullmatch(rf"http://127\.0\.0\.1:{port}/\?token=([A-Za-z0-9_-]{{22}})", line)
        assert match, line
        import urllib.error
        import urllib.request
        with pytest.raises(urllib.error.HTTPError) as err:  # listening, and wants the token
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=BOUND)
        assert err.value.code == 403
        with urllib.request.urlopen(line, timeout=BOUND) as r:
            assert r.status == 200 and "rnntui_serve_" in r.headers["Set-Cookie"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # only the process this test started
        proc.wait(BOUND)
        proc.stdout.close()
        proc.stderr.close()
