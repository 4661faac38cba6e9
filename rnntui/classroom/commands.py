"""``rnntui present``, ``rnntui follow`` and ``rnntui serve``: their options and what they run."""

from __future__ import annotations

import argparse
import shlex
import socket
import sys

from .join import JoinError, check_host, check_port, check_token, new_token, parse_join

COMMANDS = ("present", "follow", "serve")
#: Default port of ``rnntui serve`` (``rnntui present`` takes a free one unless told).
SERVE_PORT = 8000


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
                         "shows; any navigation key stops following, f follows again.")
        p.add_argument("join", metavar="JOIN", help="HOST:PORT/TOKEN, as 'rnntui present' "
                                                    "printed it")
    elif cmd == "serve":
        p.description = ("Serve the app to web browsers (textual-serve; each tab its own app). "
                         "Needs the web extra: pip install 'rnntui[web]'.")
        p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, metavar="SCENARIO")
        p.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
        p.add_argument("--port", default=str(SERVE_PORT), help="port (default %(default)s)")
        p.add_argument("--follow", default=None, metavar="JOIN",
                       help="serve followers of the presenter at JOIN instead")


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


def cmd_follow(args, fail, run_interactive) -> int:
    from engine.scenario import DEFAULT_SCENARIO, load

    from .session import FollowerRole
    try:
        join = parse_join(args.join)
    except JoinError as err:
        return fail(f"follow: {err}")
    return run_interactive(load(DEFAULT_SCENARIO), source=DEFAULT_SCENARIO,
                           classroom=FollowerRole(join))


def cmd_serve(args, fail, load) -> int:
    try:
        host = check_host(args.host)
        port = check_port(args.port)
        join = parse_join(args.follow) if args.follow is not None else None
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
        from .serve import serve
    except ImportError as err:
        return fail(f"serve needs the web extra ({err.name or err} is missing): "
                    f"pip install 'rnntui[web]'")
    from .session import check_bind
    warning = check_bind(host)
    if warning:
        _warn(warning)
    command = shlex.join([sys.executable, "-m", "rnntui.cli", *what])
    try:
        serve(command, host, port)
    except OSError as e:
        return fail(f"serve: cannot listen on {host}:{port}: {e.strerror or e}")
    return 0


__all__ = ["COMMANDS", "add_arguments", "cmd_follow", "cmd_present", "cmd_serve"]
