"""The command line against hostile flags, pipes, full disks and signals: clear lines, right codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.scenario import LIMITS
from rnntui.cli import MAX_SIZE, main

RNNTUI = [sys.executable, "-m", "rnntui.cli"]
BAD = '[scenario]\nname = "b"\nkind = "echo"\n[model]\nhiden_size = 4\n'
GOOD = '[scenario]\nname = "g"\nkind = "echo"\n[data]\ndelay = 1\nlength = 5\n'


def shell(cmd: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL)


def cli(*args) -> str:
    return " ".join([sys.executable, "-m", "rnntui.cli", *args])


def test_epochs_size_and_press_have_bounds(capsys, tmp_path):
    assert main(["trace", "cat", "--epochs", str(LIMITS["epochs"] + 1)]) == 2
    assert "--epochs must be from 0 to" in capsys.readouterr().err
    assert main(["trace", "sine", "--epochs", str(LIMITS["epochs"])]) == 2  # over the budget
    err = capsys.readouterr().err
    assert "budget is" in err and "RNNTUI_TRAIN_BUDGET" in err and len(err.splitlines()) == 1
    out = str(tmp_path / "x.svg")
    assert main(["screenshot", "cat", "-o", out, "--size", f"{MAX_SIZE[0] + 1}x30"]) == 2
    assert "500x200" in capsys.readouterr().err
    assert main(["screenshot", "cat", "-o", out, "--size", "99999999x99999999"]) == 2
    capsys.readouterr()
    assert main(["screenshot", "cat", "-o", out, "--press", "right,rihgt"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'rihgt'" in err and "did you mean 'right'" in err and "known keys" in err
    assert not Path(out).exists()


def test_check_exit_code_reflects_the_files_through_a_closed_pipe(tmp_path):
    (tmp_path / "bad.toml").write_text(BAD)
    (tmp_path / "good.toml").write_text(GOOD)
    many = " ".join(["good.toml"] * 400)  # output that goes on after the reader has gone
    r = shell(f"{cli('check', many, 'bad.toml')} | true; echo \"rc=${{PIPESTATUS[0]}}\"",
              tmp_path)
    assert "rc=2" in r.stdout and "Traceback" not in r.stderr, r.stderr[-2000:]
    r = shell(f"{cli('check', many)} | head -1; echo \"rc=${{PIPESTATUS[0]}}\"", tmp_path)
    assert "rc=0" in r.stdout and "Traceback" not in r.stderr and "Exception" not in r.stderr
    r = shell(f"{cli('trace', 'king')} | head -2; echo \"rc=${{PIPESTATUS[0]}}\"", tmp_path)
    assert "rc=0" in r.stdout and "Traceback" not in r.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [("--version",), ("list",), ("trace", "cat"),
                                  ("check", "good.toml"), ("--help",)])
def test_a_full_disk_gives_one_line_and_a_failing_code(tmp_path, args):
    (tmp_path / "good.toml").write_text(GOOD)
    r = shell(f"{cli(*args)} >/dev/full", tmp_path)
    assert r.returncode in (1, 2), (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the output" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_memory_error_in_a_command_is_one_line_exit_2(monkeypatch, capsys):
    import engine

    def boom(*a, **k):
        raise MemoryError("Unable to allocate 30.6 GiB")

    monkeypatch.setattr(engine, "trace_for", boom)
    assert main(["trace", "cat"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "out of memory" in err and "30.6 GiB" in err


def test_messages_quoting_file_text_are_short_and_visible(tmp_path):
    key = "k" * 1_500_000
    (tmp_path / "huge.toml").write_text(f'[scenario]\nname = "x"\nkind = "echo"\n'
                                        f'[model]\n{key} = 1\n')
    (tmp_path / "esc.toml").write_text('[scenario]\nname = "a\\u001b]2;PWNED\\u0007b"\n'
                                       'kind = "echo"\n[model]\nhidden_size = 0\n')
    r = subprocess.run([*RNNTUI, "check", "huge.toml", "esc.toml"], capture_output=True,
                       text=True, cwd=tmp_path, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2 and all(len(ln) < 400 for ln in lines), [len(x) for x in lines]
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr


# -- signals while the app runs, in a real terminal -------------------------------------------

RESTORE_CODES = (b"\x1b[?1049l", b"\x1b[?25h", b"\x1b[?1000l")


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGQUIT"])
def test_a_signal_restores_the_terminal_and_exits_128_plus_n(tmp_path, sig):
    import pty
    signum = getattr(signal, sig)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real program on the pty
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TEXTUAL")}
        env["TERM"] = "xterm-256color"
        os.execvpe(sys.executable, [sys.executable, "-m", "rnntui.cli", "cat"], env)
    out = bytearray()

    def read_for(seconds: float, until: bytes | None = None) -> None:
        end = time.monotonic() + seconds
        import select
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                out.extend(data)
                if until is not None and until in out:
                    return

    try:
        read_for(60, until=b"\x1b[?1049h")
        assert b"\x1b[?1049h" in out, out[-500:]
        read_for(60, until=b"cat")  # the first frame is out
        os.kill(pid, signum)
        status = None
        end = time.monotonic() + 30
        while time.monotonic() < end:
            read_for(0.1)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
        else:
            pytest.fail(f"still running 30 s after {sig}")
        read_for(0.3)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 128 + signum, status
        tail = bytes(out[out.rindex(b"\x1b[?1049h"):])
        for code in RESTORE_CODES:
            assert code in tail, (code, tail[-300:])
    finally:
        _end(pid, fd)


def test_the_app_ends_when_its_terminal_hangs_up():
    """A dropped SSH connection: the terminal goes away under the app (its pty's other end is
    closed), and the app must end on its own, not stay behind as a process nobody can see. It
    used to hang for good when the terminal went away while it was drawing: Textual's writer
    thread died on the dead terminal, the shutdown waited on its queue, and the guard's
    fallback exit died too (restoring the modes of a hung-up terminal raises termios.error,
    which is not an OSError)."""
    import pty
    import select
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real program on the pty, drawing a frame a step
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TEXTUAL")}
        env["TERM"] = "xterm-256color"
        os.execvpe(sys.executable, [sys.executable, "-m", "rnntui.cli", "sine"], env)
    out = bytearray()
    try:
        end = time.monotonic() + 60
        while b"sine" not in out and time.monotonic() < end:
            if select.select([fd], [], [], 0.05)[0]:
                out.extend(os.read(fd, 65536))
        assert b"sine" in out, out[-300:]
        os.write(fd, b" ")  # play: the app draws a frame a step from now on
        os.close(fd)  # the connection drops
        fd = None
        end = time.monotonic() + 30
        while time.monotonic() < end:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.1)
        pytest.fail("the app was still running 30 s after its terminal hung up")
    finally:
        _end(pid, fd)


def _end(pid: int, fd: int | None) -> None:
    """Kill the one process a test started on a pty (if it still runs) and close its pty."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    if fd is not None:
        os.close(fd)
