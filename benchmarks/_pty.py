"""Run a terminal program under a real pseudo-terminal and watch what it writes.

Used by app_bench.py: start-up time to the first full frame, idle/playing CPU from
/proc/PID/stat, RSS from /proc/PID/status, bytes per key press, key-press latency.
Linux only (pty, /proc). No third-party packages.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import termios
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
#: CSI / OSC / other escape sequences, for finding plain text in the output stream.
_ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]"           # CSI
                      rb"|\][^\x07\x1b]*(\x07|\x1b\\)"       # OSC
                      rb"|P[^\x1b]*\x1b\\"                    # DCS
                      rb"|[@-Z\\-_])")                         # two-byte

KEYS = {"right": b"\x1b[C", "left": b"\x1b[D", "up": b"\x1b[A", "down": b"\x1b[B",
        "space": b" ", "q": b"q", "home": b"\x1b[H", "end": b"\x1b[F"}


def strip_escapes(data: bytes) -> bytes:
    return _ESCAPES.sub(b"", data)


class PtyProcess:
    """``argv`` running on a new pty of ``cols`` x ``rows``; the parent keeps the master end."""

    def __init__(self, argv: list[str], cols: int = 80, rows: int = 24, env: dict | None = None,
                 cwd: str | None = None):
        env = dict(os.environ if env is None else env)
        env.update(TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        env.pop("TEXTUAL", None)  # no devtools
        self.t0 = time.perf_counter()
        pid, fd = os.forkpty()
        if pid == 0:  # child: size the terminal, then become the program
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                if cwd:
                    os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.out = bytearray()  # everything read so far
        self.alive = True
        self.exit_status: int | None = None

    # -- reading ---------------------------------------------------------------------------------
    def read_some(self, timeout: float) -> bytes:
        """What arrives within ``timeout`` seconds (b"" when nothing or the program ended)."""
        if not self.alive:
            return b""
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0.0))
        if not r:
            return b""
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            self.alive = False
            return b""
        self.out += data
        return data

    def wait_for_text(self, text: str, timeout: float) -> float | None:
        """Seconds since start when ``text`` first shows in the output (escapes stripped)."""
        needle = text.encode()
        deadline = time.perf_counter() + timeout
        scanned = 0
        while time.perf_counter() < deadline and self.alive:
            if self.read_some(min(0.05, deadline - time.perf_counter())):
                # rescan a little before the old end, in case the text straddles two reads
                start = max(0, scanned - 4096)
                if needle in strip_escapes(bytes(self.out[start:])):
                    return time.perf_counter() - self.t0
                scanned = len(self.out)
        return None

    def drain(self, quiet: float, limit: float = 10.0, since: float | None = None,
              first_timeout: float | None = None) -> tuple[int, float | None, float | None]:
        """Read until nothing arrives for ``quiet`` seconds, or ``limit`` seconds in all.

        Waits up to ``first_timeout`` (default ``quiet``) for the first byte. Returns (bytes
        read, time of the first byte, time of the last byte), both in seconds from ``since``
        (a perf_counter time, default now), None when nothing came.
        """
        t_start = time.perf_counter() if since is None else since
        n, first, last = 0, None, None
        wait_first = quiet if first_timeout is None else first_timeout
        last_activity = t_start
        while self.alive:
            now = time.perf_counter()
            if now - t_start >= limit:
                break
            window = (wait_first if first is None else quiet) - (now - last_activity)
            if window <= 0:
                break
            data = self.read_some(min(window, limit - (now - t_start)))
            if data:
                t = time.perf_counter()
                n += len(data)
                first = t - t_start if first is None else first
                last = t - t_start
                last_activity = t
        return n, first, last

    def send(self, data: bytes) -> float:
        """Write ``data`` as if typed; returns the perf_counter time just before writing."""
        t = time.perf_counter()
        os.write(self.fd, data)
        return t

    def press(self, key: str) -> float:
        return self.send(KEYS.get(key, key.encode()))

    # -- the process -----------------------------------------------------------------------------
    def cpu_seconds(self) -> float:
        """utime + stime of the process (all its threads), from /proc/PID/stat."""
        with open(f"/proc/{self.pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_over(self, seconds: float) -> float:
        """Fraction of one core the process used over the next ``seconds`` (output drained)."""
        c0, t0 = self.cpu_seconds(), time.perf_counter()
        while time.perf_counter() - t0 < seconds and self.alive:
            self.read_some(min(0.1, seconds - (time.perf_counter() - t0)))
        return (self.cpu_seconds() - c0) / (time.perf_counter() - t0)

    def close(self, quit_keys: bytes = b"q", grace: float = 3.0) -> None:
        """Ask the program to quit, then end it (this process only, by its pid)."""
        if self.exit_status is None:
            try:
                if self.alive and quit_keys:
                    os.write(self.fd, quit_keys)
            except OSError:
                pass
            deadline = time.perf_counter() + grace
            while time.perf_counter() < deadline:
                self.read_some(0.05)
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.exit_status = status
                    break
            else:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.kill(self.pid, sig)
                    except ProcessLookupError:
                        break
                    t_end = time.perf_counter() + 2.0
                    while time.perf_counter() < t_end:
                        pid, status = os.waitpid(self.pid, os.WNOHANG)
                        if pid:
                            self.exit_status = status
                            break
                        time.sleep(0.02)
                    if self.exit_status is not None:
                        break
        try:
            os.close(self.fd)
        except OSError:
            pass
        self.alive = False

    def __enter__(self) -> "PtyProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
