"""`rnntui serve` in a real headless browser: Debian's chromium driven by Playwright.

The page is opened through the address serve printed (with its token), keys are typed into it,
and the app's output (the bytes the page's terminal is given over its websocket) must change as
it does in a terminal: the status line says t=2 after two right arrows. No request may leave
127.0.0.1. The same address through a second port (a local forward, as `ssh -L` makes one),
followed from a link on another origin, must start the app with every request on that port.
A screenshot PNG is saved (``RNNTUI_BROWSER_PNG``, default in the test's tmp folder). Skips,
saying why, only where no browser can be had; ``make browser-deps`` installs everything (CI runs
it).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("RNNTUI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions"]
BOUND = 90.0  # seconds: bounds on waiting for a state, never measurements
ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")

pytestmark = pytest.mark.xdist_group("browser")


def _no_browser(why: str):
    if os.environ.get("RNNTUI_REQUIRE_BROWSER"):
        pytest.fail(f"RNNTUI_REQUIRE_BROWSER is set, but {why}")
    pytest.skip(why)


def _need_browser():
    """Skip, saying why, when no browser can be had (fail instead where
    RNNTUI_REQUIRE_BROWSER is set: CI, after make browser-deps)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _no_browser("no browser: Playwright is not installed (make browser-deps)")
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        _no_browser("rnntui serve needs the web extra: pip install '.[web]' (make browser-deps)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _no_browser(f"no browser: {CHROMIUM} is not there (make browser-deps: apt-get install "
                    f"chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, what: str, bound: float = BOUND):
    t0 = time.monotonic()
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() - t0 > bound:
            raise AssertionError(f"still waiting after {bound:.0f} s for {what}")
        time.sleep(0.05)


class Served:
    """`rnntui serve` on a free port of 127.0.0.1, until closed; ``url`` is the address it
    printed (with its token), ``base`` the same without the token."""

    def __init__(self, *args: str) -> None:
        for _ in range(3):  # (a new port when another process took this one first)
            self.port = _free_port()
            self.base = f"http://127.0.0.1:{self.port}/"
            env = dict(os.environ, TEXTUAL_ANIMATIONS="none")
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rnntui.cli", "serve", *args, "--port", str(self.port)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
            self.url = self.proc.stdout.readline().decode().strip()  # printed once listening
            if self.url.startswith(self.base + "?token="):
                return
            self.close(keep_stderr=True)  # (ended, or ended now: its stderr is whole)
            err = self.proc.stderr.read().decode()
            self.proc.stderr.close()
            if "cannot listen" not in err:
                break
        raise AssertionError(f"rnntui serve printed {self.url!r}: {err}")

    def close(self, keep_stderr: bool = False) -> None:
        import signal
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(20)
        self.proc.stdout.close()
        if not keep_stderr:
            self.proc.stderr.close()


class Forwarder:
    """A TCP port forward from a free port of 127.0.0.1 to ``port``, as ``ssh -L`` makes one:
    the browser sees another port (its Host and Origin say so), the server its own."""

    def __init__(self, port: int) -> None:
        import threading
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading
        while True:
            try:
                near, _ = self.listener.accept()
                far = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                return
            self.sockets += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        for s in [self.listener, *self.sockets]:
            try:
                s.close()
            except OSError:
                pass


class Page:
    """A chromium page on the served app, recording every request and the app's output."""

    def __init__(self, pw, url: str | None, profile: Path) -> None:
        self.requests: list[str] = []
        self.output = bytearray()
        self.context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1200, "height": 760})
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.page.on("websocket", self._socket)
        if url is not None:
            self.page.goto(url)

    def _socket(self, ws) -> None:
        self.requests.append(ws.url)
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "replace")
        self.output += payload

    def text(self, since: int = 0) -> str:
        """The app's output since byte ``since``, escape sequences taken out."""
        return ESCAPES.sub(b"", bytes(self.output[since:])).decode("utf-8", "replace")

    def pump(self) -> None:
        self.page.wait_for_timeout(50)  # (lets Playwright deliver events; not an assertion)

    def shows(self, text: str, since: int = 0):
        """A check for wait_for: ``text`` is in the app's output since byte ``since``."""
        def check():
            self.pump()
            return text in self.text(since)
        return check

    def ready(self, what: str) -> None:
        """Wait for the app trained and its status line, then give the terminal the keys."""
        wait_for(self.shows("epoch 200/200"), what)
        wait_for(self.shows("t=0"), "the status line")
        self.page.locator("#terminal").click()


def test_serve_in_chromium(tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright
    shot = Path(os.environ.get("RNNTUI_BROWSER_PNG") or tmp_path / "browser.png")
    served = Served("king")
    try:
        with sync_playwright() as pw:
            view = Page(pw, served.url, tmp_path / "profile")
            try:
                page = view.page
                view.ready("the app trained and on screen")
                before = page.screenshot()
                mark = len(view.output)
                page.keyboard.press("ArrowRight")
                wait_for(view.shows("t=1", mark), "t=1 after one right arrow")
                mark = len(view.output)
                page.keyboard.press("ArrowRight")
                wait_for(view.shows("t=2", mark), "t=2 after two right arrows")
                mark = len(view.output)
                page.keyboard.press("b")
                wait_for(view.shows("backward", mark), "the backward pass after b")
                page.wait_for_timeout(300)  # (the canvas paints; the PNG is for looking at)
                after = page.screenshot(path=str(shot))
                assert before != after  # the picture changed too
                print(f"screenshot: {shot}")
                hosts = {urlparse(u).hostname for u in view.requests}
                assert hosts == {"127.0.0.1"}, f"requests beyond 127.0.0.1: {view.requests}"
                assert f"ws://127.0.0.1:{served.port}/ws?width=" in " ".join(view.requests)
                assert page.url == served.base  # the token is gone from the address bar
            finally:
                view.context.close()
    finally:
        served.close()


def test_serve_through_a_tunnel_on_another_port(tmp_path):
    """The printed address, its port changed to a forward's (as `ssh -L 9000:localhost:8000`
    gives a student), followed from a link on another site (a chat): the token page sets the
    cookie, the app starts, every address the page uses is the forward's, keys work, and e
    gives the browser two downloads."""
    _need_browser()
    from playwright.sync_api import sync_playwright
    served = Served("king")
    forward = Forwarder(served.port)
    try:
        there = served.url.replace(f":{served.port}/", f":{forward.port}/")
        with sync_playwright() as pw:
            view = Page(pw, None, tmp_path / "profile")
            try:
                page = view.page
                page.set_content(f'<a id="go" href="{there}">the class</a>')  # another origin
                page.click("#go")
                view.ready("the app through the forward, trained")
                assert page.url == f"http://127.0.0.1:{forward.port}/"
                mark = len(view.output)
                page.keyboard.press("ArrowRight")
                wait_for(view.shows("t=1", mark), "t=1 after one right arrow")
                ours = [u for u in view.requests if urlparse(u).scheme in ("http", "https", "ws")]
                assert {urlparse(u).port for u in ours} == {forward.port}, ours
                assert f"ws://127.0.0.1:{forward.port}/ws?width=" in " ".join(ours)
                names = set()
                page.on("download", lambda d: names.add(d.suggested_filename))
                page.keyboard.press("e")
                wait_for(lambda: view.pump() or len(names) == 2, "two downloads after e")
                assert names == {"rnntui-king-e200-t1.svg", "rnntui-king-e200-t1.json"}
            finally:
                view.context.close()
    finally:
        forward.close()
        served.close()


def test_serve_follow_in_chromium(tmp_path):
    """`rnntui serve --follow JOIN`: a browser tab follows a presenter running on a terminal."""
    _need_browser()
    import pty
    import select
    import signal
    from playwright.sync_api import sync_playwright

    from rnntui.classroom.join import new_token
    seen = bytearray()

    def presenter_says(text: str) -> bool:
        while select.select([fd], [], [], 0)[0]:
            try:
                seen.extend(os.read(fd, 65536))
            except OSError:
                break
        return text.encode() in ESCAPES.sub(b"", bytes(seen))

    def presenter_up() -> str | None:
        """'up' once it presents; 'taken' if its port was taken between _free_port and its
        bind (another worker's server); 'ended' if it ended otherwise; None meanwhile."""
        if presenter_says("presenting"):
            return "up"
        if presenter_says("cannot listen"):
            return "taken"
        return "ended" if os.waitpid(pid, os.WNOHANG)[0] else None

    served = None
    pid = fd = None
    try:
        for _ in range(3):  # (a new port when another process took this one first)
            token, port = new_token(), _free_port()
            seen.clear()
            pid, fd = pty.fork()
            if pid == 0:  # the presenter, on a terminal of its own
                env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TEXTUAL")}
                env.update(TERM="xterm-256color")
                os.execvpe(sys.executable, [sys.executable, "-m", "rnntui.cli", "present",
                                            "king", "--port", str(port), "--token", token], env)
            state = wait_for(presenter_up, "the presenter")
            if state == "up":
                break
            assert state == "taken", f"the presenter ended: {bytes(seen)[-2000:]!r}"
            os.waitpid(pid, 0)
            os.close(fd)
            pid = fd = None
        assert pid is not None, "three ports in a row were taken"
        served = Served("--follow", f"127.0.0.1:{port}/{token}")
        with sync_playwright() as pw:
            view = Page(pw, served.url, tmp_path / "profile")
            try:
                wait_for(view.shows("following"), "the tab following")
                wait_for(lambda: presenter_says("1 following"), "the presenter counting it")
                mark = len(view.output)
                os.write(fd, b"\x1b[C\x1b[C\x1b[C")  # three right arrows on the presenter
                wait_for(view.shows("t=3", mark), "the tab at t=3")
                hosts = {urlparse(u).hostname for u in view.requests}
                assert hosts == {"127.0.0.1"}, view.requests
            finally:
                view.context.close()
    finally:
        if served is not None:
            served.close()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)  # only the process this test started
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(fd)
