"""The command line's safety net: output that cannot be written, signals while the app runs,
and a process that ends when the app does, whatever its worker threads are still computing."""

from __future__ import annotations

import os
import signal
import sys
import threading

#: Written to the terminal when the app must be left without Textual's own clean-up: leave the
#: alternate screen, stop every mouse-tracking mode and bracketed paste, show the cursor.
RESTORE = ("\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l"
           "\x1b[?1049l\x1b[?25h")
#: The signals that end the app with the terminal restored (exit code 128 + signal number).
SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGQUIT")
                if hasattr(signal, name))
#: Seconds the app gets to shut down by itself after a signal before the process is ended.
GRACE = 1.5


class Output:
    """stdout writes that never end in a traceback: a closed pipe (``| head``, ``| true``)
    silences the rest of the output; any other error (a full disk, ``>/dev/full``) is told once
    on stderr and makes the exit code at least 1. ``code(c)`` is the exit code to use."""

    def __init__(self) -> None:
        self.broken = False
        self.error: OSError | None = None

    def print(self, text: str = "") -> None:
        self.write(text + "\n")

    def write(self, text: str) -> None:
        if self.broken or self.error is not None:
            return
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            self.closed()
        except OSError as err:
            self.failed(err)

    def flush(self) -> None:
        if self.broken or self.error is not None:
            return
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            self.closed()
        except OSError as err:
            self.failed(err)

    def closed(self) -> None:
        self.broken = True
        _silence_stdout()

    def failed(self, err: OSError) -> None:
        self.error = err
        _silence_stdout()
        try:
            print(f"rnntui: cannot write the output: {err.strerror or err}", file=sys.stderr)
        except OSError:
            pass

    def code(self, code: int) -> int:
        return max(int(code), 1) if self.error is not None else int(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


class TerminalGuard:
    """While ``app`` runs: SIGTERM, SIGHUP and SIGQUIT ask it to exit (Textual then restores
    the terminal); if it has not ended GRACE seconds later, or a second signal comes, the
    terminal is restored here (mode, screen, mouse, cursor) and the process ends at once.
    The exit code is 128 + the signal number."""

    def __init__(self, app) -> None:
        self.app = app
        self.signum: int | None = None
        self._old: dict[int, object] = {}
        self._tty_attrs = None
        self._tty_fd: int | None = None

    def __enter__(self) -> "TerminalGuard":
        try:
            import termios
            fd = sys.__stdin__.fileno()
            if os.isatty(fd):
                self._tty_fd, self._tty_attrs = fd, termios.tcgetattr(fd)
        except (ImportError, OSError, ValueError, AttributeError):
            pass
        for sig in SIGNALS:
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except (OSError, ValueError):  # not the main thread
                pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            try:
                signal.signal(sig, old)
            except (OSError, ValueError, TypeError):
                pass

    @property
    def exit_code(self) -> int | None:
        return None if self.signum is None else 128 + self.signum

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            self.force()
            return
        self.signum = signum
        loop = getattr(self.app, "_loop", None)
        try:
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._exit_app)
            else:
                self.force()
                return
        except RuntimeError:
            self.force()
            return
        timer = threading.Timer(GRACE, self.force)
        timer.daemon = True
        timer.start()

    def _exit_app(self) -> None:
        try:
            self.app.exit(return_code=self.exit_code)
        except Exception:  # noqa: BLE001 - whatever went wrong, the terminal comes first
            self.force()

    def restore_terminal(self) -> None:
        try:
            if self._tty_attrs is not None:
                import termios
                termios.tcsetattr(self._tty_fd, termios.TCSADRAIN, self._tty_attrs)
        except Exception:  # noqa: BLE001 - termios.error (a hung-up terminal) is no OSError
            pass
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                os.write(stream.fileno(), RESTORE.encode())
                break
            except (OSError, ValueError, AttributeError):
                continue

    def force(self) -> None:
        """Restore the terminal and end the process now (whatever restoring it raises: a
        terminal that hung up cannot be restored, and the process must end all the same)."""
        try:
            self.restore_terminal()
        finally:
            os._exit(self.exit_code or 1)


def end_process(code: int) -> None:
    """Exit with ``code`` at once if threads other than this one are still running (a worker
    inside a long NumPy call cannot be interrupted, and the interpreter would wait for it)."""
    others = [t for t in threading.enumerate()
              if t is not threading.current_thread() and t.is_alive()
              and not isinstance(t, threading._DummyThread)]
    if not others:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
