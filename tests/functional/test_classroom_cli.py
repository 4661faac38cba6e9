"""`rnntui present`, `follow` and `serve` on the command line: bad input is one line and exit 2;
a presenter and a follower on real terminals (ptys) find each other through the printed join
string, and the follower says `presenter left` when the presenter quits."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

from rnntui.classroom.join import new_token, token_check
from rnntui.classroom.session import check_bind

BOUND = 90.0
ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")


def run(capsys, *args: str) -> subprocess.CompletedProcess:
    """The command line in this process (it ends before any app would start)."""
    from rnntui.cli import main
    code = main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


@pytest.mark.parametrize("args, says", [
    (["follow", "nonsense"], "follow: 'nonsense' has no /TOKEN"),
    (["follow", "127.0.0.1:99999/abcdefghijklmnopqrst"], "from 1 to 65535"),
    (["follow", "127.0.0.1:7341/short"], "bad token"),
    (["follow", ""], "empty"),
    # issue 19: a join string cut in its check, or with a mistyped token, is told by the
    # follower alone, before it connects (the check of abcdefghijklmnopqrst is 3WXu)
    (["follow", "127.0.0.1:7341/abcdefghijklmnopqrst.3W"], "token in the join string is "
                                                          "incomplete or mistyped"),
    (["follow", "127.0.0.1:7341/abcdefghijklmnopqrsT.3WXu"], "incomplete or mistyped"),
    (["present", "--token", "short"], "present: a token is 16 to 128"),
    (["present", "--port", "70000"], "from 1 to 65535"),
    (["present", "--host", "a b"], "not a host name"),
    (["present", "nope"], "no built-in scenario or file named 'nope'"),
    (["present", "--at", "t=-1"], "t is at least 0"),
    (["serve", "nope"], "no built-in scenario or file named 'nope'"),
    (["serve", "--port", "0"], "from 1 to 65535"),
    (["serve", "--follow", "x:1/y"], "serve: bad token"),
    (["serve", "--token", "short"], "serve: a token is 16 to 128"),
    (["serve", "--max-sessions", "0"], "--max-sessions '0' is not a whole number from 1"),
    (["serve", "--max-sessions", "many"], "--max-sessions 'many' is not a whole number"),
    (["serve", "--max-sessions", "²"], "--max-sessions '²' is not a whole number"),
    (["serve", "--public-url", "ftp://class.example"], "--public-url 'ftp://class.example' is"),
    (["serve", "--public-url", "https://h/?token=x"], "not an address like https://HOST"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, says):
    r = run(capsys, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and lines[0].startswith("rnntui: "), r.stderr
    assert "Traceback" not in r.stderr


def test_a_port_in_use_is_one_line(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = run(capsys, "present", "--port", str(s.getsockname()[1]))
    assert r.returncode == 2 and "cannot listen on 127.0.0.1:" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_binding_beyond_loopback_warns():
    assert check_bind("127.0.0.1") is None and check_bind("::1") is None
    assert check_bind("localhost") is None
    for host in ("0.0.0.0", "10.1.2.3", "classroom.example"):
        assert "beyond this machine" in check_bind(host)


def test_help_lists_the_classroom(capsys):
    r = run(capsys, "--help")
    for word in ("rnntui present", "rnntui follow", "rnntui serve"):
        assert word in r.stdout


class Term:
    """A program on a pty of its own, its output gathered. Waiting on one terminal reads every
    live terminal's output too: an app whose pty is not read blocks on its next write, and a
    follower blocked so (with its heartbeats) was dropped by the presenter under load."""

    live: list["Term"] = []

    def __init__(self, *args: str) -> None:
        import pty
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TEXTUAL")}
            env.update(TERM="xterm-256color", COLUMNS="120", LINES="30")
            os.execvpe(sys.executable, [sys.executable, "-m", "rnntui.cli", *args], env)
        import fcntl
        import struct
        import termios
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        self.out = bytearray()
        self.ended = False
        Term.live.append(self)

    def text(self, since: int = 0) -> str:
        return ESCAPES.sub(b"", bytes(self.out[since:])).decode("utf-8", "replace")

    @classmethod
    def drain(cls, timeout: float) -> None:
        """Read what every live terminal has written (waiting at most ``timeout`` seconds)."""
        fds = {t.fd: t for t in cls.live if not t.ended}
        if not fds:
            return
        ready, _, _ = select.select(list(fds), [], [], timeout)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if data:
                fds[fd].out.extend(data)
            else:
                fds[fd].ended = True

    def wait_for(self, what: str, since: int = 0, bound: float = BOUND) -> None:
        end = time.monotonic() + bound
        while what not in self.text(since):
            if time.monotonic() > end:
                raise AssertionError(f"no {what!r} after {bound:.0f} s: {self.text()[-600:]!r}")
            if self.ended:
                raise AssertionError(f"ended before {what!r}: {self.text()[-600:]!r}")
            Term.drain(0.05)

    def send(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def end(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)  # only the process this test started
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)
        self.ended = True
        Term.live.remove(self)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_present_and_follow_on_real_terminals():
    token, port = new_token(), _free_port()
    presenter = Term("present", "king", "--port", str(port), "--token", token)
    follower = None
    try:
        printed = f"rnntui follow 127.0.0.1:{port}/{token}.{token_check(token)}"
        presenter.wait_for(printed)
        presenter.wait_for("presenting")
        # issue 19: printed whole on its own line before the app opens (to paste in a chat)
        before = bytes(presenter.out).split(b"\x1b[?1049h", 1)[0]
        assert printed.encode() + b"\r\n" in before
        follower = Term("follow", f"127.0.0.1:{port}/{token}")
        follower.wait_for("following")
        presenter.wait_for("1 following")
        mark = len(follower.out)
        presenter.send(b"\x1b[C\x1b[C")  # two right arrows
        follower.wait_for("t=2", mark)
        mark = len(follower.out)
        presenter.send(b"q")
        follower.wait_for("presenter left", mark)
        status = None
        end = time.monotonic() + BOUND
        while time.monotonic() < end:
            done, status = os.waitpid(presenter.pid, os.WNOHANG)
            if done:
                break
            Term.drain(0.05)  # (the follower's output is read meanwhile)
        assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        mark = len(follower.out)
        follower.send(b"\x1b[C")  # the follower stays usable
        follower.wait_for("t=3", mark)
    finally:
        presenter.end()
        if follower is not None:
            follower.end()
