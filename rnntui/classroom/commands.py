"""``rnntui present``, ``rnntui follow`` and ``rnntui serve``: their options and what they run."""

from __future__ import annotations

import argparse
import re
import shlex
import socket
import sys

from .join import JoinError, check_host, check_port, check_token, new_token, parse_join

COMMANDS = ("present", "follow", "serve")
#: Default port of ``rnntui serve`` (``rnntui present`` takes a free one unless told).
SERVE_PORT = 8000
#: Default of ``rnntui serve --max-sessions`` (rnntui.classroom.serve.MAX_SESSIONS, which needs
#: the web extra to import).
MAX_SESSIONS = 40


def add_arguments(cmd: str, p: argparse.ArgumentParser) -> None:
    from engine.scenario import DEFAULT_SCENARIO
    if cmd == "present":
        p.description = ("Run the app as a presenter: followers ('rnntui follow JOIN') show "
                         "every step you take. Prints the join string.")
        p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                       metavar="SCENARIO|LESSON",
                       help="a built-in scenario or lesson (see 'rnntui learn'), or a .toml "
                            "file (default: %(default)s)")
        p.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
        p.add_argument("--port", default="0",
                       help="port to listen on (default: a free one); with --token, keeps "
                            "the join string the same across restarts")
        p.add_argument("--token", default=None,
                       help="the token followers must give (default: a new random one)")
        p.add_argument("--at", default=None, metavar="POSITION",
                       help="start at a position (docs/position.md)")
    elif cmd == "follow":
        p.description = ("Open the app following a presenter: it shows what the presenter "
                         "shows; a navigation key stops following (in a presented lesson, "
                         "only L or o do), f follows again.")
        p.add_argument("join", metavar="JOIN", help="HOST:PORT/TOKEN.CHECK, as 'rnntui "
                                                    "present' printed it")
        p.add_argument("--reader", action="store_true",
                       help="reader mode: the presenter's moves said as one sentence each, "
                            "one command a line (docs/reader.md)")
    elif cmd == "serve":
        p.description = ("Serve the app to web browsers (textual-serve; each tab its own app). "
                         "Needs the web extra: pip install 'rnntui[web]'.")
        p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, metavar="SCENARIO")
        p.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
        p.add_argument("--port", default=str(SERVE_PORT), help="port (default %(default)s)")
        p.add_argument("--follow", default=None, metavar="JOIN",
                       help="serve followers of the presenter at JOIN instead")
        p.add_argument("--token", default=None,
                       help="the token the address carries (default: a new random one)")
        p.add_argument("--max-sessions", default=str(MAX_SESSIONS), metavar="N",
                       help="browser tabs with the app open at once, at most (default "
                            "%(default)s; each is an app process)")
        p.add_argument("--public-url", default=None, metavar="URL",
                       help="the address browsers use, when a proxy changes it (http[s]://"
                            "HOST[:PORT][/PATH]): printed, and accepted as the websocket's "
                            "Origin")
        p.add_argument("--allow-files", action="store_true",
                       help="let browser tabs open scenario and lesson files of this machine "
                            "by path (off: only built-ins)")


def _warn(text: str) -> None:
    try:
        print(text, file=sys.stderr)
    except OSError:
        pass


def cmd_present(args, fail, load, position, run_interactive, out) -> int:
    from .session import PresenterRole, check_bind
    try:
        host = check_host(args.host)
        port = 0 if args.port == "0" else check_port(args.port)
        token = check_token(args.token) if args.token is not None else new_token()
    except JoinError as err:
        return fail(f"present: {err}")
    pos, err = position(args.at, args.scenario)
    if err:
        return fail(err)
    name = pos.scenario if pos is not None else args.scenario
    sc, err = load(name)
    lesson = None
    if err:  # not a scenario: a lesson (a built-in's name or number, or a lesson file)?
        lesson = _lesson(args.scenario)
        if lesson is None:
            return fail(err)
        first = lesson.steps[0]
        name, pos = first.scenario, first.position
        sc, err = load(name)
        if err:
            return fail(err)
    if pos is not None:  # refused before the join string is printed (the app checks again)
        from ..position import PositionError, check_epoch
        try:
            check_epoch(pos, sc)
        except PositionError as e:
            return fail(f"--at: {e}")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as e:
        return fail(f"present: cannot listen on {host}:{port}: {e.strerror or e}")
    warning = check_bind(host)
    if warning:
        _warn(warning)
    role = PresenterRole(token, host=host, port=sock.getsockname()[1])
    role.presenter._sock = sock
    out.print(f"rnntui follow {role.join}")
    out.flush()
    return run_interactive(sc, at=pos, source=name, classroom=role, lesson=lesson)


def _lesson(name: str):
    """The lesson ``name`` names, or None."""
    try:
        from ..lessons import LessonError, find_lesson
    except ImportError:
        return None
    try:
        return find_lesson(name)
    except (LessonError, OSError, ValueError):
        return None


def cmd_follow(args, fail, run_interactive, out=None) -> int:
    from engine.scenario import DEFAULT_SCENARIO, load

    from .session import FollowerRole
    try:
        join = parse_join(args.join)
    except JoinError as err:
        return fail(f"follow: {err}")
    if args.reader:
        from ..reader_class import run_follow_reader
        return run_follow_reader(join, out=out)
    return run_interactive(load(DEFAULT_SCENARIO), source=DEFAULT_SCENARIO,
                           classroom=FollowerRole(join))


def _public_url(text: str) -> str:
    """``text`` if it is an http or https address with a host (and no query), else JoinError."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
            or parts.query or parts.fragment or parts.username or parts.password):
        raise JoinError(f"--public-url {text[:80]!r} is not an address like "
                        f"https://HOST[:PORT][/PATH]")
    return text


def _sessions(text: str) -> int:
    if not (re.fullmatch(r"[0-9]{1,5}", text) and 1 <= int(text) <= 10000):
        raise JoinError(f"--max-sessions {text[:20]!r} is not a whole number from 1 to 10000")
    return int(text)


def cmd_serve(args, fail, load) -> int:
    try:
        host = check_host(args.host)
        port = check_port(args.port)
        join = parse_join(args.follow) if args.follow is not None else None
        token = check_token(args.token) if args.token is not None else new_token()
        cap = _sessions(args.max_sessions)
        public_url = _public_url(args.public_url) if args.public_url is not None else None
    except JoinError as err:
        return fail(f"serve: {err}")
    if join is None:
        sc, err = load(args.scenario)
        if err:
            return fail(err)
        what = [args.scenario]
    else:
        what = ["follow", str(join)]
    try:
        from .serve import address, serve
    except ImportError as err:
        return fail(f"serve needs the web extra ({err.name or err} is missing): "
                    f"pip install 'rnntui[web]'")
    from .join import is_loopback
    if not is_loopback(host):
        _warn(f"warning: serving on {host}, beyond this machine: anyone who can reach it and "
              f"has the address with its token can use the app (the connection is not "
              f"encrypted)")
    command = shlex.join([sys.executable, "-m", "rnntui.cli", *what])

    def announce(port: int) -> None:  # once listening: the address to open, on its own line
        try:
            print(address(host, port, token, public_url), flush=True)
        except OSError:
            pass
    try:
        serve(command, host, port, announce=announce, token=token, max_sessions=cap,
              public_url=public_url, allow_files=args.allow_files)
    except OSError as e:
        return fail(f"serve: cannot listen on {host}:{port}: {e.strerror or e}")
    return 0


__all__ = ["COMMANDS", "add_arguments", "cmd_follow", "cmd_present", "cmd_serve"]
