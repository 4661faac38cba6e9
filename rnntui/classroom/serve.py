"""``rnntui serve``: the app in web browsers through textual-serve, with the presenter's rules.

Who gets in: the address ``rnntui serve`` prints carries a token (``/?token=...``). The first
request with the right token sets a cookie (HttpOnly, SameSite=Strict) and sends the browser on
to the same address without the token; from then on the cookie is checked (in constant time)
on the page, the websocket and downloads. Without it the page says a token is needed and
nothing else. The websocket also needs an ``Origin`` equal to the address the browser asked for
(its ``Host``) or to ``--public-url``, so another web site open in the same browser cannot drive
the app. Static files (the terminal's script, its stylesheet and font) need no token.

At most ``max_sessions`` tabs have an app process at once (one process each); a closed tab frees
its slot. The app processes run with ``RNNTUI_SERVED`` set (rnntui/served.py): they open no file
a tab names unless serve was started with ``--allow-files``, and ``e`` gives the tab downloads.

The page (templates/app_index.html) is rnntui's own: every address in it is relative, and the
websocket's is computed in the page from ``location``, so it works through an ``ssh -L`` tunnel on
another port or behind a reverse proxy. textual-serve's own page hard-codes
``http://HOST:PORT/`` and links a web font from Google; ours uses the Roboto Mono textual-serve
ships, so the page makes no request beyond the address it came from.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import re
import signal
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from ..served import BROWSER, BROWSER_FILES, ENV

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: How many browser tabs may have an app process at once, unless told (--max-sessions).
MAX_SESSIONS = 40
#: The terminal size a tab may ask for: beyond it, the nearest size inside.
MAX_WIDTH, MAX_HEIGHT = 1000, 500
#: Seconds an app process has to end once asked to quit, before it is killed.
QUIT_SECONDS = 10
#: The websocket close code a full server answers with (4000-4999 are the application's own).
CLOSE_FULL = 4001

log = logging.getLogger("textual-serve")


def _page(title: str, text: str, status: int, extra: str = "") -> web.Response:
    body = (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}'
            f'</title>{extra}</head>\n<body style="font: 16px monospace; margin: 2em">'
            f"<p>{html.escape(text)}</p></body></html>\n")
    return web.Response(status=status, text=body, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


NEEDS_TOKEN = ("This address needs its token: open the address rnntui serve printed, "
               "with ?token= and the rest of it.")


def full_message(cap: int) -> str:
    return (f"rnntui serve is full: {cap} browser tabs have the app open, the most it allows. "
            f"Try again when one is closed.")


def _netloc(url_or_host: str, scheme: str) -> str:
    """``host:port`` in lower case, without the port when it is the scheme's default."""
    value = url_or_host.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    return value[: -len(default)] if default and value.endswith(default) else value


class TabService(AppService):
    """textual-serve's app process, with ``RNNTUI_SERVED`` in its environment."""

    def __init__(self, *args, served: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.served = served

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment[ENV] = self.served
        return environment

    async def stop(self) -> None:
        """textual-serve's stop (the app is asked to quit and its output read to the end), then
        the process waited for, so a tab's slot is free only once its process has ended; a
        process that has not ended within QUIT_SECONDS of each step is killed."""
        process = self._process
        try:
            await asyncio.wait_for(super().stop(), QUIT_SECONDS)
            if process is not None:
                await asyncio.wait_for(process.wait(), QUIT_SECONDS)
        except asyncio.TimeoutError:
            if process is not None and process.returncode is None:
                log.warning("an app process did not quit within %s s: killed", QUIT_SECONDS)
                process.kill()
                await process.wait()
        finally:
            # (textual-serve leaves the pipes open: closed here, not by the garbage collector)
            transport = getattr(process, "_transport", None)
            if transport is not None:
                transport.close()


def _size(value: Any, default: int, most: int) -> int:
    """A terminal dimension from the network: a whole number from 1 to ``most``."""
    if isinstance(value, str):
        value = int(value) if re.fullmatch(r"[0-9]{1,9}", value) else default
    if not isinstance(value, int) or isinstance(value, bool):
        return default
    return min(max(value, 1), most)


class RnnServer(Server):
    """textual-serve's Server with rnntui's page, a token, an Origin check and a session cap."""

    def __init__(self, command: str, host: str, port: int, *, token: str,
                 max_sessions: int = MAX_SESSIONS, public_url: str | None = None,
                 allow_files: bool = False) -> None:
        super().__init__(command, host=host, port=port, title="rnntui",
                         templates_path=TEMPLATES, public_url=public_url)
        self.token = token
        self.max_sessions = max_sessions
        self.allow_files = allow_files
        self.given_public_url = public_url
        self.sessions = 0
        #: The cookie holds a digest of the token, not the token; its name carries the port, as
        #: browsers send a host's cookies to every port of it.
        self.cookie_name = f"rnntui_serve_{port}"
        self._cookie_value = hmac.new(token.encode(), b"rnntui serve cookie",
                                      hashlib.sha256).hexdigest()

    # -- who may in ------------------------------------------------------------------------
    def token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())

    def cookie_ok(self, request: web.Request) -> bool:
        given = request.cookies.get(self.cookie_name, "")
        return hmac.compare_digest(given.encode(), self._cookie_value.encode())

    def origin_ok(self, request: web.Request) -> bool:
        """``Origin`` names the address the browser asked for (``Host``) or ``--public-url``."""
        origin = request.headers.get("Origin", "")
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        mine = _netloc(parts.netloc, parts.scheme)
        if request.host and mine == _netloc(request.host, parts.scheme):
            return True
        if self.given_public_url:
            public = urlsplit(self.given_public_url)
            return (parts.scheme == public.scheme
                    and mine == _netloc(public.netloc, public.scheme))
        return False

    # -- the web application ---------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes([
            web.get("/", self.handle_index, name="index"),
            web.get("/ws", self.handle_websocket, name="websocket"),
            web.get("/download/{key}", self.handle_download, name="download"),
            web.static("/static", self.statics_path, show_index=False, name="static"),
        ])
        app.on_response_prepare.append(self._headers)
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    @staticmethod
    async def _headers(request: web.Request, response: web.StreamResponse) -> None:
        # the token never travels on in a Referer; no other site may frame the app
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"

    def serve_socket(self, sock: socket.socket) -> None:
        """textual-serve's ``serve`` on a socket already listening (so a port that cannot be
        had is reported before anything is printed), until Ctrl+C or SIGTERM."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_exit)
            except (NotImplementedError, RuntimeError):
                pass
        web.run_app(self._make_app(), sock=sock, handle_signals=False, loop=loop,
                    print=lambda *args: None)

    async def on_startup(self, app: web.Application) -> None:
        """(textual-serve prints a banner and its own address here; rnntui serve printed its.)"""

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        given = request.query.get("token")
        if given is not None:
            if not self.token_ok(given):
                return _page("rnntui: token needed", NEEDS_TOKEN, 403)
            return self._welcome()
        if not self.cookie_ok(request):
            return _page("rnntui: token needed", NEEDS_TOKEN, 403)
        if self.sessions >= self.max_sessions:
            return _page("rnntui: full", full_message(self.max_sessions), 503)
        context = {"font_size": _size(request.query.get("fontsize", "16"), 16, 64),
                   "application": {"name": self.title}}
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _welcome(self) -> web.Response:
        """The cookie, and on to the same address without the token. A page that moves on
        rather than an HTTP redirect: a SameSite=Strict cookie set on a redirect that a link on
        another site started (a chat, a mail) is not sent with the redirected request."""
        script = ("<script>const u = new URL(location.href); u.searchParams.delete('token');"
                  " location.replace(u.href);</script>")
        response = _page("rnntui", "Opening rnntui…", 200, script)
        response.set_cookie(self.cookie_name, self._cookie_value, httponly=True,
                            samesite="Strict", path="",  # (no Path: the page's own folder)
                            secure=(self.given_public_url or "").startswith("https:") or None)
        return response

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        if not self.cookie_ok(request):
            raise web.HTTPForbidden(text=NEEDS_TOKEN)
        return await super().handle_download(request)

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        """The websocket that drives one app process: the Origin and the cookie first."""
        if not self.origin_ok(request):
            log.warning("websocket refused: Origin %r is not this server's address",
                        request.headers.get("Origin", "")[:200])
            raise web.HTTPForbidden(text="This websocket is for rnntui serve's own page.")
        if not self.cookie_ok(request):
            raise web.HTTPForbidden(text=NEEDS_TOKEN)
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=1 << 20)
        if self.sessions >= self.max_sessions:
            await websocket.prepare(request)
            await websocket.close(code=CLOSE_FULL,
                                  message=full_message(self.max_sessions).encode()[:123])
            return websocket
        self.sessions += 1
        try:
            await self._run_tab(request, websocket)
        finally:
            self.sessions -= 1
        return websocket

    async def _run_tab(self, request: web.Request, websocket: web.WebSocketResponse) -> None:
        width = _size(request.query.get("width", "80"), 80, MAX_WIDTH)
        height = _size(request.query.get("height", "24"), 24, MAX_HEIGHT)
        app_service: AppService | None = None
        try:
            await websocket.prepare(request)
            app_service = TabService(
                self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                close=websocket.close, download_manager=self.download_manager,
                debug=self.debug, served=BROWSER_FILES if self.allow_files else BROWSER)
            await app_service.start(width, height)
            await self._process_messages(websocket, app_service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            if app_service is not None:
                await app_service.stop()

    async def _process_messages(self, websocket: web.WebSocketResponse,
                                app_service: AppService) -> None:
        """textual-serve's, reading the tab's messages as data: a malformed one is skipped and
        sizes are kept in range."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except (ValueError, RecursionError):
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(_size(data.get("width"), 80, MAX_WIDTH),
                                                    _size(data.get("height"), 24, MAX_HEIGHT))
            elif kind == "ping" and isinstance(data, str):
                await websocket.send_json(["pong", data[:64]])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()


def address(host: str, port: int, token: str, public_url: str | None = None) -> str:
    """The address to open: ``http://HOST:PORT/?token=TOKEN`` (or ``--public-url``'s)."""
    if public_url:
        base = public_url if public_url.endswith("/") else public_url + "/"
    else:
        base = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    return f"{base}?token={token}"


def serve(command: str, host: str, port: int, *, announce=None, **options) -> None:
    """Serve ``command`` (one app process per browser tab) until interrupted; ``options`` are
    :class:`RnnServer`'s (``token`` is required). Listens first (OSError when it cannot), then
    calls ``announce(port)``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, reuse_port=False)
    server = RnnServer(command, host, port, **options)
    if announce is not None:
        announce(sock.getsockname()[1])
    server.serve_socket(sock)


__all__ = ["MAX_SESSIONS", "NEEDS_TOKEN", "RnnServer", "address", "full_message", "serve"]
