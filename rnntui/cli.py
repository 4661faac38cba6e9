"""The ``rnntui`` command line: open the app, list and check scenarios, print a trace, screenshot."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys

import numpy as np

from engine.cells import CELLS

from . import __version__
from .cli_guard import Output, TerminalGuard, end_process
from .safe_text import visible

COMMANDS = ("list", "check", "trace", "screenshot", "compare", "generate")
COMMANDS += ("learn", "replay", "lab")
#: The classroom's commands (rnntui/classroom/commands.py).
CLASSROOM = ("present", "follow", "serve")
COMMANDS += CLASSROOM
EXIT_OK, EXIT_BAD_INPUT = 0, 2
#: The largest --size a screenshot may ask for (columns, rows): more than any terminal shows.
MAX_SIZE = (500, 200)
#: Where everything for stdout goes (see cli_guard.Output).
OUT = Output()


def _fail(message: str) -> int:
    """One line on stderr, with any control character in it made visible; returns exit 2."""
    try:
        print(f"rnntui: {visible(message)}", file=sys.stderr)
    except OSError:
        pass
    return EXIT_BAD_INPUT


def _load(name: str):
    """Load a scenario (or a lab run, rnntui.labrun), or return the one-line error."""
    from engine.types import ScenarioError

    from .labrun import load_any
    try:
        return load_any(name), None
    except ScenarioError as err:
        return None, str(err)


# ---------------------------------------------------------------------------------------------
# parsers


class _Parser(argparse.ArgumentParser):
    """argparse, but --help and --version go through OUT, so a failed write (a full disk) is
    reported and fails the command (argparse itself ignores it); and an option is spelled
    whole: `rnntui trace king --at t=3` was read as --attention ("invalid choice: 't=3'")."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def _print_message(self, message, file=None):
        if not message:
            return
        if file is None or file is sys.stdout:
            OUT.write(message)
        else:
            try:
                file.write(message)
            except OSError:
                pass


def _main_parser() -> _Parser:
    from engine.scenario import DEFAULT_SCENARIO
    p = _Parser(
        prog="rnntui",
        description="Step through a recurrent neural network in your terminal.",
        epilog=("commands:\n"
                "  rnntui [SCENARIO]            open the app (default: %s)\n"
                "  rnntui list                  list the built-in scenarios\n"
                "  rnntui learn [NAME]          list the lessons, or open one (guided tours)\n"
                "  rnntui check FILE...         validate scenario and lesson files (exit 2\n"
                "                               if any is bad)\n"
                "  rnntui trace SCENARIO        train and print the per-step table\n"
                "  rnntui screenshot SCENARIO -o FILE.svg   render the app to SVG\n"
                "  rnntui generate SCENARIO     train, then print text the model writes\n"
                "  rnntui lab NAME|PATH         a memory lab: its sweep drawn as it runs\n"
                "                               (docs/lab.md; a point opens its run)\n"
                "  rnntui present [SCENARIO]    present: followers see every step you take\n"
                "  rnntui follow HOST:PORT/TOKEN   follow a presenter\n"
                "  rnntui serve [SCENARIO]      serve the app to web browsers\n"
                "  rnntui replay FILE           replay a recording (--record FILE)\n"
                "Run 'rnntui COMMAND --help' for a command's options." % DEFAULT_SCENARIO),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                   help="a built-in name (see 'rnntui list') or a path to a .toml file")
    p.add_argument("--at", default=None, metavar="POSITION",
                   help="open at a position, e.g. 'epoch=50,t=3,phase=backward,wh=+4' "
                        "(docs/position.md; the help screen shows the current one)")
    p.add_argument("--cell", choices=CELLS, default=None,
                   help="open with this recurrent cell instead of the scenario's own")
    _attention_option(p)
    _reader_option(p)
    _record_option(p)
    _no_cache_option(p)
    p.add_argument("--version", action="version", version=f"rnntui {__version__}")
    return p


def _attention_option(p: argparse.ArgumentParser) -> None:
    from engine.types import ATTENTIONS
    p.add_argument("--attention", choices=ATTENTIONS, default=None,
                   help="an encoder-decoder scenario (reverse, translate): its attention "
                        "(none shows the bottleneck)")


def _with_attention(sc, attention):
    """``sc`` with ``--attention`` applied, or the one-line error."""
    if attention is None:
        return sc, None
    from engine.seq2seq import with_attention
    from engine.types import ScenarioError
    try:
        return with_attention(sc, attention), None
    except ScenarioError as err:
        return None, str(err)


def _no_cache_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true",
                   help="train instead of reading trained weights from the cache folder, and "
                        "write nothing there (also: RNNTUI_NO_CACHE=1; docs/cache.md)")


def _record_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--record", default=None, metavar="FILE",
                   help="record the session to FILE (a new file: NAME-1.EXT when it exists), "
                        "for 'rnntui replay FILE' (docs/recording.md)")


#: The file --record names (read by run_interactive, whichever command opens the app).
RECORD_TO: list[str] = []


def _reader_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reader", action="store_true",
                   help="reader mode: plain sentences, one command a line, for a screen "
                        "reader or a speech synthesiser (docs/reader.md)")


def _command_parser(cmd: str) -> _Parser:
    p = _Parser(prog=f"rnntui {cmd}")
    if cmd in CLASSROOM:
        from .classroom.commands import add_arguments
        add_arguments(cmd, p)
    if cmd in ("trace", "screenshot", "compare"):
        _no_cache_option(p)
    if cmd in ("present", "learn"):
        _record_option(p)
    if cmd == "list":
        p.description = "List the built-in scenarios with their descriptions."
    elif cmd == "learn":
        p.description = ("Guided lessons: with no NAME, list them with your progress marks; "
                         "with a NAME (or number, or a lesson file), open the app on it.")
        p.add_argument("name", nargs="?", default=None, metavar="NAME|PATH")
        p.add_argument("--reset", action="store_true",
                       help="forget the progress marks (of NAME only, when given)")
        _reader_option(p)
    elif cmd == "replay":
        p.description = ("Replay a recording (--record FILE): at its pace, space pauses, * and "
                         "/ change the speed, ( and ) step one event, J and K jump between "
                         "markers and lesson steps; any other key explores from there and f "
                         "comes back. With --asciicast, write each event's screen to an "
                         "asciicast v2 file instead (asciinema's player).")
        p.add_argument("file", metavar="FILE")
        p.add_argument("--asciicast", default=None, metavar="OUT.cast")
        p.add_argument("--size", default="100x32", metavar="COLSxROWS",
                       help="the screen size of --asciicast (default 100x32)")
        _reader_option(p)
    elif cmd == "check":
        p.description = "Validate scenario files; exit 0 when all are valid, else 2."
        p.add_argument("files", nargs="+", metavar="FILE")
    elif cmd == "trace":
        p.description = ("Train as the scenario says (or --epochs N) and print the per-step "
                         "table for its sequence, the spectral numbers and the retention curve.")
        p.add_argument("scenario", metavar="SCENARIO", nargs="?", default=None,
                       help="a built-in name or a .toml path (optional when --at names it)")
        p.add_argument("--epochs", type=int, default=None, metavar="N",
                       help="train N epochs instead of the scenario's number (0: untrained)")
        p.add_argument("--json", action="store_true",
                       help="print one JSON object (see docs/trace-json.md)")
        p.add_argument("--cell", choices=CELLS, default=None,
                       help="the recurrent cell (default: the scenario's own)")
        _attention_option(p)
        p.add_argument("--target-step", type=int, default=None, metavar="TAU",
                       help="add the per-loss view for step TAU: the gradient of the loss at "
                            "TAU at every earlier state, and each input's influence on it")
        p.add_argument("--at", default=None, metavar="POSITION",
                       help="the trace at a position, as the app shows it there (its epoch, "
                            "cell, knob, sequence...; docs/position.md); with --json, what "
                            "key e saves there")
    elif cmd == "compare":
        p.description = ("Open the app in compare mode: two cells trained on the same data, "
                         "side by side, moved by one cursor.")
        p.add_argument("scenario", metavar="SCENARIO")
        p.add_argument("--cells", default="rnn,lstm", metavar="A,B",
                       help="the two cells to compare (default rnn,lstm)")
        p.add_argument("--at", default=None, metavar="POSITION",
                       help="start at a position (docs/position.md)")
    elif cmd == "generate":
        from .generate_cli import add_arguments
        add_arguments(p)
    elif cmd == "lab":
        from .lab import add_arguments
        add_arguments(p)
        _no_cache_option(p)
    elif cmd == "screenshot":
        p.description = "Render the app headless to an SVG file and exit."
        p.add_argument("scenario", metavar="SCENARIO")
        p.add_argument("-o", "--output", required=True, metavar="FILE.svg")
        p.add_argument("--size", default="100x32", metavar="COLSxROWS")
        p.add_argument("--press", default="", metavar="KEYS",
                       help="comma-separated keys to press first, e.g. 'right,right,b'")
        p.add_argument("--at", default=None, metavar="POSITION",
                       help="open at a position first (docs/position.md)")
    return p


# ---------------------------------------------------------------------------------------------
# commands


def cmd_list() -> int:
    """One built-in a line, its description wrapped under itself to the terminal's width."""
    from engine.scenario import builtin_descriptions

    from .fit import columns, wrap
    items = builtin_descriptions()
    width = max(len(n) for n, _ in items)
    for name, desc in items:
        text = f"{name:<{width}}  {visible(desc)}"
        OUT.print("\n".join(wrap(text, columns(), indent=" " * (width + 2))))
    return EXIT_OK


def cmd_check(files: list[str]) -> int:
    bad = 0
    for f in files:
        from .lessons.command import check_file, looks_like_lesson
        if looks_like_lesson(f):  # a [lesson] table: a lesson file, checked as one
            ok, err = check_file(f)
            if ok is None:
                bad += 1
                try:
                    print(visible(err), file=sys.stderr)
                except OSError:
                    pass
            else:
                OUT.print(ok)
            continue
        sc, err = _load(f)
        if err:
            bad += 1
            try:
                print(visible(err), file=sys.stderr)
            except OSError:
                pass
        else:
            OUT.print(f"{visible(f)}: ok ({sc.kind} scenario '{visible(sc.name)}')")
    return EXIT_BAD_INPUT if bad else EXIT_OK


def cmd_trace(name: str | None, epochs: int | None, as_json: bool, cell: str | None = None,
              target_step: int | None = None, attention: str | None = None,
              at: str | None = None) -> int:
    if at is not None:
        given = [flag for flag, value in (("--epochs", epochs), ("--cell", cell),
                                          ("--attention", attention)) if value is not None]
        if given:
            them = "it" if len(given) == 1 else "them"
            return _fail(f"{' and '.join(given)} with --at: give {them} in the position (e.g. "
                         f"--at 'epoch=50,cell=lstm'; docs/position.md)")
        return _trace_at(name, at, as_json, target_step)
    if name is None:
        return _fail("trace needs a SCENARIO: a built-in name (rnntui list) or a .toml path")
    from engine.scenario import LIMITS
    if epochs is not None and not 0 <= epochs <= LIMITS["epochs"]:
        return _fail(f"--epochs must be from 0 to {LIMITS['epochs']} (the limit of a "
                     f"scenario file), got {epochs}")
    sc, err = _load(name)
    if not err:
        sc, err = _with_attention(sc, attention)
    if err:
        return _fail(err)
    if epochs is not None:
        from engine import budget
        from engine.types import ScenarioError
        try:
            budget.check(sc, epochs=epochs)
        except ScenarioError as e:
            return _fail(f"--epochs {epochs}: {e}")
    if cell is not None and cell != sc.model.cell:
        from engine.scenario import with_cell
        from engine.types import ScenarioError
        try:
            sc = with_cell(sc, cell)
        except ScenarioError as err:
            return _fail(str(err))
    if target_step is not None and not 0 <= target_step < len(sc.sequence):
        return _fail(f"--target-step must be a step of the sequence, 0 to "
                     f"{len(sc.sequence) - 1}")
    from engine import trace_for
    n = sc.train.epochs if epochs is None else epochs
    if n > 0:
        from .cache import trained
        history = trained(sc, n)  # from the cache when it has this run (fit's very numbers)
    else:
        from .training import untrained
        history = untrained(sc)
    epoch = history.nearest_epoch(history.trained_epochs)
    trace = trace_for(sc, history.params_at(epoch))
    if as_json:
        from .tracejson import reach_to_json, trace_to_json
        data = trace_to_json(sc, trace, history, epoch, 0)
        if target_step is not None:
            data["target_step"] = reach_to_json(trace, target_step)
        OUT.print(json.dumps(data, indent=1, allow_nan=False))
    else:
        from .fit import columns
        from .tracetable import format_trace
        OUT.print(format_trace(sc, trace, history, epoch, 0, width=columns()))
    if history.stopped:
        print(f"note: {visible(history.stopped)}", file=sys.stderr)
    return EXIT_OK


def _trace_at(name: str | None, at: str, as_json: bool, target_step: int | None) -> int:
    """``rnntui trace --at POSITION``: the trace the app shows at that position (its epoch,
    cell, attention, mask and sort, knob and sequence), as the table or the JSON that key e
    saves there."""
    from engine.types import ScenarioError

    from .position import PositionError, check_epoch, scenario_at
    from .sequences import check_position
    pos, err = _position(at, name)
    if err:
        return _fail(err)
    if pos.cells is not None:
        return _fail("--at: cells= is compare mode, two cells at once: trace one of them "
                     "with cell=...")
    sc, err = _load(pos.scenario)
    if err:
        return _fail(err)
    try:
        sc = scenario_at(sc, pos)
        check_position(sc, pos)
        check_epoch(pos, sc)
    except PositionError as err:
        return _fail(f"--at: {err}")
    except ScenarioError as err:
        return _fail(f"--at: {err.message}")
    from .training import open_epochs, untrained
    n = open_epochs(sc, True, pos.epoch)
    if n > 0:
        from .cache import trained
        history = trained(sc, n)  # (the cache's run when it has it: what the app opens)
    else:
        history = untrained(sc)
    from .jobs import compute_trace
    from .view import View, at_position
    try:
        view = at_position(View.open(sc, history, source=pos.scenario).with_history(history),
                           pos)
    except ScenarioError as err:
        return _fail(f"--at: {err.message}")
    view = view.with_trace(*compute_trace(view))
    if target_step is not None and not 0 <= target_step < view.T:
        return _fail(f"--target-step must be a step of the sequence, 0 to {view.T - 1}")
    if as_json:
        from .tracejson import reach_to_json, view_to_json
        data = view_to_json(view)
        if target_step is not None:
            data["target_step"] = reach_to_json(view.trace, target_step)
        OUT.print(json.dumps(data, indent=1, allow_nan=False))
    else:
        from .fit import columns
        from .tracetable import format_trace
        OUT.print(f"at {visible(str(view.position))}")
        OUT.print(format_trace(view.scenario, view.trace, view.history, view.epoch, view.knob,
                               width=columns()))
    if history.stopped:
        print(f"note: {visible(history.stopped)}", file=sys.stderr)
    return EXIT_OK


def cmd_compare(name: str, cells: str, at: str | None) -> int:
    """The app in compare mode: the same as ``--at 'cells=A,B,epoch=100'``."""
    from dataclasses import replace

    from .position import Position, PositionError
    try:
        pair = Position.parse(f'cells="{cells}"', scenario=name).cells
    except PositionError as err:
        return _fail(f"--cells: {err}")
    pos, err = _position(at, name)
    if err:
        return _fail(err)
    pos = replace(pos, cells=pair) if pos is not None else \
        Position(scenario=name, epoch=100, cells=pair)
    sc, err = _load(pos.scenario)
    if err:
        return _fail(err)
    return run_interactive(sc, at=pos, source=pos.scenario)


def _position(text: str | None, scenario: str):
    """The --at position (None when not given), or the one-line error."""
    if text is None:
        return None, None
    from .position import Position, PositionError
    try:
        return Position.parse(text, scenario=scenario), None
    except PositionError as err:
        return None, f"--at: {err}"


def _size(size: str) -> tuple[int, int] | None:
    """--size COLSxROWS, or None when it is not one."""
    try:
        cols, rows = (int(v) for v in size.lower().split("x"))
    except ValueError:
        return None
    if not (1 <= cols <= MAX_SIZE[0] and 1 <= rows <= MAX_SIZE[1]):
        return None
    return cols, rows


def _size_error(size: str) -> int:
    return _fail(f"--size must be COLSxROWS from 1x1 to {MAX_SIZE[0]}x{MAX_SIZE[1]}, "
                 f"e.g. 100x32, got {visible(size[:40])!r}")


def cmd_replay(file: str, asciicast: str | None, size: str, reader: bool = False) -> int:
    """Replay a recording in the app or in reader mode, or write it as an asciicast
    (rnntui.replay)."""
    from .recording import RecordingError
    from .replay import open_replay
    cells = _size(size)
    if cells is None:
        return _size_error(size)
    if reader:
        if asciicast is not None:
            return _fail("replay: --reader and --asciicast do not go together")
        from .reader_class import open_replay_reader, run_replay_reader
        try:
            role = open_replay_reader(file)
        except RecordingError as err:
            return _fail(str(err))
        return run_replay_reader(role, out=OUT.print)
    try:
        sc, pos, role = open_replay(file, play=asciicast is None)
    except RecordingError as err:
        return _fail(str(err))
    if asciicast is None:
        return run_interactive(sc, at=pos, source=pos.scenario, classroom=role)
    from .castfile import cast_text
    if os.path.lexists(asciicast):  # (said before the screens are drawn)
        return _fail(f"{asciicast}: already exists; choose another name")
    text, frames = cast_text(role, sc, pos, cells)
    return _write_output(asciicast, text, f" ({frames} screens)")


def _write_output(output: str, text: str, note: str = "") -> int:
    """Write ``text`` to the new file ``output`` (never over one) and say so."""
    from .export import write_new_file
    try:
        path = write_new_file(output, text, overwrite=False)
    except FileExistsError:
        return _fail(f"{output}: already exists; choose another name")
    except OSError as err:
        return _fail(f"{output}: could not write: {err.strerror or err}")
    OUT.print(f"wrote {visible(str(path))}{note}")
    return EXIT_OK


def cmd_screenshot(name: str, output: str, size: str, press: str,
                   at: str | None = None) -> int:
    stem, suffix = os.path.splitext(output)
    if suffix and suffix.lower() != ".svg":  # (out.png got an SVG under a PNG's name)
        return _fail(f"{visible(output)}: a screenshot is an SVG file; name it .svg, e.g. "
                     f"{visible(stem + '.svg')}")
    if os.path.lexists(output):  # said before a second of rendering, not after it
        return _fail(f"{visible(output)}: already exists; choose another name")
    got = _size(size)
    if got is None:
        return _size_error(size)
    cols, rows = got
    keys = [k.strip() for k in press.split(",") if k.strip()]
    err = check_keys(keys)
    if err:
        return _fail(err)
    pos, err = _position(at, name)
    if err:
        return _fail(err)
    if pos is not None:
        name = pos.scenario
    sc, err = _load(name)
    if err:
        return _fail(err)
    if pos is not None:  # an epoch past the scenario's limit or budget: refused, not trained
        from .position import PositionError, check_epoch
        try:
            check_epoch(pos, _with_cell(sc, pos) or sc)
        except PositionError as err:
            return _fail(f"--at: {err}")
    child = _train_in_child(sc, pos)  # (before the UI is loaded: a fork with no threads yet)
    from .screenshot import render_svg
    if child is not None:
        _import_the_app()  # on this core, while the child trains on the other
        child.wait()  # its run is in the cache now: the app opens trained from it
    from engine.types import ScenarioError
    try:
        svg = render_svg(sc, size=(cols, rows), press=keys, at=pos, source=name)
    except ScenarioError as err:  # a position the scenario cannot have (window=, gen=, text=)
        return _fail(f"--at: {err}")
    return _write_output(output, svg)


def _import_the_app() -> None:
    """Import the app's modules and every pane's (what opening it imports first), so that a
    cold start does it while its training child runs rather than after."""
    from .app import make_app  # noqa: F401
    from .widgets import PANES, pane_class
    for pane_id in PANES:
        pane_class(pane_id)


def _with_cell(sc, pos):
    """``sc`` with the cell and attention ``pos`` names (None when it cannot have them)."""
    if pos is None:
        return sc
    from engine.types import ScenarioError

    from .position import scenario_at
    try:
        return scenario_at(sc, pos)
    except ScenarioError:
        return None


def _train_in_child(sc, pos):
    """A cold cache: the training the app would do on open, started in a child process
    (rnntui.training.start_in_child) so it runs on the other core while the UI loads."""
    from .training import start_in_child
    if pos is not None and pos.cells is not None:
        return None  # compare mode trains its own two cells
    sc = _with_cell(sc, pos)
    if sc is None:
        return None  # (make_app reports it)
    return start_in_child(sc, None if pos is None else pos.epoch)


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    np.seterr(all="ignore")  # overflowed models are shown as such, never as printed warnings
    try:
        if argv and argv[0] in COMMANDS:
            cmd, rest = argv[0], argv[1:]
            args = _command_parser(cmd).parse_args(rest)
            if cmd not in GC_OFF_TILL_FIRST_FRAME:
                gc.enable()
            if cmd not in CLASSROOM:
                _use_cache(args)
            if getattr(args, "record", None):
                RECORD_TO[:] = [args.record]
            err = _settings_error()
            if err:
                return _fail(err)
            if cmd in CLASSROOM:
                return _classroom(cmd, args)
            if cmd == "list":
                return cmd_list()
            if cmd == "learn":
                from .lessons.command import learn
                return learn(args.name, args.reset, OUT.print, _fail,
                             _read_lesson if args.reader else _run_lesson)
            if cmd == "check":
                return cmd_check(args.files)
            if cmd == "replay":
                return cmd_replay(args.file, args.asciicast, args.size, args.reader)
            if cmd == "trace":
                return cmd_trace(args.scenario, args.epochs, args.json, args.cell,
                                 args.target_step, args.attention, args.at)
            if cmd == "compare":
                return cmd_compare(args.scenario, args.cells, args.at)
            if cmd == "generate":
                from .generate_cli import cmd_generate
                return cmd_generate(args, OUT, _fail, _load)
            if cmd == "lab":
                from .lab import cmd_lab
                return cmd_lab(args, OUT, _fail, _open_lab)
            return cmd_screenshot(args.scenario, args.output, args.size, args.press, args.at)
        args = _main_parser().parse_args(argv)
        _use_cache(args)
        if args.record:
            RECORD_TO[:] = [args.record]
        err = _settings_error()
        if err:
            return _fail(err)
        pos, err = _position(args.at, args.scenario)
        if err:
            return _fail(err)
        if args.cell is not None:
            from dataclasses import replace

            from .position import Position
            pos = replace(pos or Position(scenario=args.scenario), cell=args.cell)
        name = pos.scenario if pos is not None else args.scenario
        sc, err = _load(name)
        if err:
            return _fail(err)
        sc, err = _with_attention(sc, args.attention)
        if err:
            return _fail(err)
        if args.reader:
            gc.enable()
            from .reader import run_reader
            return run_reader(sc, source=name, at=pos, fail=_fail, out=OUT.print)
        return run_interactive(sc, at=pos, source=name)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rnntui trace king | head`
        OUT.closed()
        return EXIT_OK
    except MemoryError as err:
        return _fail(f"out of memory ({err or 'an allocation failed'}); the budgets are in "
                     f"docs/scenarios.md: use a smaller scenario, or lower RNNTUI_MEMORY_BUDGET "
                     f"if this machine has less memory than it")


def _use_cache(args) -> None:
    """--no-cache: the environment variable rnntui.cache reads (so every part of the run, and
    any process it starts, skips the cache)."""
    if getattr(args, "no_cache", False):
        from .cache import NO_CACHE_ENV
        os.environ[NO_CACHE_ENV] = "1"


def _settings_error() -> str | None:
    """The one-line complaint about a malformed setting in the environment (a budget, the
    cache's size cap), or None: a setting is never silently replaced by its default."""
    from engine.budget import budgets
    from engine.types import ScenarioError

    from .cache import check_settings
    try:
        budgets()
    except ScenarioError as err:
        return str(err)
    return check_settings()


#: The commands that open the app and whose start-up is timed (benchmarks/startup_bench.py):
#: the garbage collector is off until their first frame is out (see :func:`main`).
GC_OFF_TILL_FIRST_FRAME = ("screenshot",)


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit code (0 fine, 2 bad input or too big, 1 output that
    could not be written, 128 + N after signal N).

    Opening the app (``rnntui``, ``rnntui screenshot``) runs with the cyclic garbage collector
    off: what start-up allocates lives as long as the app (the scenario, the screen, its
    widgets, styles and pictures), so each of the ~150 collections on the way to the first
    frame (~35 ms of a 0.8 s start here) found next to nothing. The main screen freezes what is
    there and turns it back on with its first frame (rnntui/screens/main.py); every other
    command turns it on once its arguments are read, and whatever happens it is on again when
    this returns."""
    gc.disable()
    try:
        code = _main(argv)
    except SystemExit as e:  # argparse: --help, --version, or a usage error (already printed)
        code = e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None
                                                        else EXIT_BAD_INPUT)
    finally:
        gc.enable()
    OUT.flush()
    return OUT.code(code)


def check_keys(keys: list[str]) -> str | None:
    """None when every name in ``keys`` is a key the app knows, else the one-line error."""
    from .keys import known_keys
    known = known_keys()
    for key in keys:
        if len(key) == 1 and key.isprintable() or key in known:
            continue
        from engine._scenario_checks import quote, suggest
        return (f"--press: unknown key {quote(key)}{suggest(key, sorted(known))}; known keys: "
                f"{', '.join(sorted(known))}, or any single character")
    return None


def _classroom(cmd: str, args) -> int:
    from .classroom import commands
    if cmd == "present":
        return commands.cmd_present(args, _fail, _load, _position, run_interactive, OUT)
    if cmd == "follow":
        return commands.cmd_follow(args, _fail, run_interactive, OUT.print)
    return commands.cmd_serve(args, _fail, _load)


def _open_lab(lab, args) -> int:
    """The lab screen (rnntui lab NAME) over the main screen, which shows the lab's first run
    until one is opened."""
    from engine.lab import scenario_text
    from engine.scenario import loads
    from engine.types import ScenarioError

    from .lab import Sweep
    from .labrun import run_name
    from .screens.lab import LabScreen
    job = lab.jobs()[0]
    name = run_name(lab, job)
    try:
        sc = loads(scenario_text(job), name, files=False)
    except ScenarioError as err:
        return _fail(str(err))
    sweep = Sweep(lab, workers=args.workers, scheduler=args.scheduler)
    return run_interactive(sc, source=name, lab=LabScreen(lab, sweep, workers=args.workers))


def _run_lesson(lesson) -> int:
    """The app opened on a lesson's first step (rnntui learn NAME)."""
    first = lesson.steps[0]
    sc, err = _load(first.scenario)
    if err:
        return _fail(err)
    return run_interactive(sc, at=first.position, source=first.scenario, lesson=lesson)


def _read_lesson(lesson) -> int:
    """Reader mode on a lesson (rnntui learn NAME --reader)."""
    from .reader import run_reader
    return run_reader(None, lesson=lesson, fail=_fail, out=OUT.print)


def run_interactive(sc, *, at=None, source: str | None = None, classroom=None,
                    lesson=None, lab=None) -> int:
    """Run the app on a loaded scenario with the terminal guarded (see cli_guard) and return
    its exit code; ends the process at once if worker threads are still busy afterwards.
    ``lab``: a lab screen (rnntui.screens.lab) shown over the main screen from the start,
    which then trains nothing until a run is opened."""
    from engine.types import ScenarioError

    from .app import make_app
    from .position import PositionError
    try:
        app = make_app(sc, at=at, source=source, **({} if lab is None else {"train": False}))
        app.lab_at_start = lab
    except ScenarioError as err:
        return _fail(str(err))
    except PositionError as err:  # (an epoch past the scenario's limit or budget)
        return _fail(f"--at: {err}")
    if classroom is not None:  # presenting or following (rnntui.classroom.session)
        app.main_screen.classroom = classroom
    if lesson is not None:  # rnntui learn NAME: the lesson opens with the screen
        app.main_screen.lessons.open(lesson)
    recorder = None
    if RECORD_TO:
        from .recording import Recorder
        try:
            recorder = Recorder(RECORD_TO[0], command=_command_name(classroom, lesson))
        except OSError as err:
            return _fail(f"--record {RECORD_TO[0]}: cannot write: {err.strerror or err}")
        recorder.attach(app.main_screen)
    with TerminalGuard(app) as guard:
        app.run()
    if recorder is not None:
        recorder.close()
        try:
            print(f"rnntui: recorded {recorder.events} events to {visible(str(recorder.path))}"
                  + (f" ({visible(recorder.error)})" if recorder.error else ""),
                  file=sys.stderr)
        except OSError:
            pass
    code = guard.exit_code
    if code is None:
        code = 0 if app.return_code is None else int(app.return_code)
    end_process(OUT.code(code) if not OUT.flush() else code)
    return code


def _command_name(classroom, lesson) -> str:
    """What a recording's header says was run: present, learn or app."""
    if classroom is not None and hasattr(classroom, "presenter"):
        return "present"
    return "learn" if lesson is not None else "app"


if __name__ == "__main__":
    sys.exit(main())
