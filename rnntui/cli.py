"""The ``rnntui`` command line: open the app, list and check scenarios, print a trace, screenshot."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import __version__

COMMANDS = ("list", "check", "trace", "screenshot", "compare")
CELLS = ("rnn", "lstm", "gru")
EXIT_OK, EXIT_BAD_INPUT = 0, 2


def _fail(message: str) -> int:
    print(f"rnntui: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _load(name: str):
    """Load a scenario, or return the one-line error."""
    from engine.scenario import load
    from engine.types import ScenarioError
    try:
        return load(name), None
    except ScenarioError as err:
        return None, str(err)


# ---------------------------------------------------------------------------------------------
# parsers


def _main_parser() -> argparse.ArgumentParser:
    from engine.scenario import DEFAULT_SCENARIO
    p = argparse.ArgumentParser(
        prog="rnntui",
        description="Step through a recurrent neural network in your terminal.",
        epilog=("commands:\n"
                "  rnntui [SCENARIO]            open the app (default: %s)\n"
                "  rnntui list                  list the built-in scenarios\n"
                "  rnntui check FILE...         validate scenario files (exit 2 if any is bad)\n"
                "  rnntui trace SCENARIO        train and print the per-step table\n"
                "  rnntui screenshot SCENARIO -o FILE.svg   render the app to SVG\n"
                "Run 'rnntui COMMAND --help' for a command's options." % DEFAULT_SCENARIO),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                   help="a built-in name (see 'rnntui list') or a path to a .toml file")
    p.add_argument("--at", default=None, metavar="POSITION",
                   help="open at a position, e.g. 'epoch=50,t=3,phase=backward,wh=+4' "
                        "(docs/position.md; the help screen shows the current one)")
    p.add_argument("--cell", choices=CELLS, default=None,
                   help="open with this recurrent cell instead of the scenario's own")
    p.add_argument("--version", action="version", version=f"rnntui {__version__}")
    return p


def _command_parser(cmd: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"rnntui {cmd}")
    if cmd == "list":
        p.description = "List the built-in scenarios with their descriptions."
    elif cmd == "check":
        p.description = "Validate scenario files; exit 0 when all are valid, else 2."
        p.add_argument("files", nargs="+", metavar="FILE")
    elif cmd == "trace":
        p.description = ("Train as the scenario says (or --epochs N) and print the per-step "
                         "table for its sequence, the spectral numbers and the retention curve.")
        p.add_argument("scenario", metavar="SCENARIO")
        p.add_argument("--epochs", type=int, default=None, metavar="N",
                       help="train N epochs instead of the scenario's number (0: untrained)")
        p.add_argument("--json", action="store_true",
                       help="print one JSON object (see docs/trace-json.md)")
        p.add_argument("--cell", choices=CELLS, default=None,
                       help="the recurrent cell (default: the scenario's own)")
        p.add_argument("--target-step", type=int, default=None, metavar="TAU",
                       help="add the per-loss view for step TAU: the gradient of the loss at "
                            "TAU at every earlier state, and each input's influence on it")
    elif cmd == "compare":
        p.description = ("Open the app in compare mode: two cells trained on the same data, "
                         "side by side, moved by one cursor.")
        p.add_argument("scenario", metavar="SCENARIO")
        p.add_argument("--cells", default="rnn,lstm", metavar="A,B",
                       help="the two cells to compare (default rnn,lstm)")
        p.add_argument("--at", default=None, metavar="POSITION",
                       help="start at a position (docs/position.md)")
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
    from engine.scenario import builtin_descriptions
    items = builtin_descriptions()
    width = max(len(n) for n, _ in items)
    for name, desc in items:
        print(f"{name:<{width}}  {desc}")
    return EXIT_OK


def cmd_check(files: list[str]) -> int:
    bad = 0
    for f in files:
        sc, err = _load(f)
        if err:
            bad += 1
            print(err, file=sys.stderr)
        else:
            print(f"{f}: ok ({sc.kind} scenario '{sc.name}')")
    return EXIT_BAD_INPUT if bad else EXIT_OK


def cmd_trace(name: str, epochs: int | None, as_json: bool, cell: str | None = None,
              target_step: int | None = None) -> int:
    if epochs is not None and epochs < 0:
        return _fail("--epochs must be 0 or more")
    sc, err = _load(name)
    if err:
        return _fail(err)
    if cell is not None and cell != sc.model.cell:
        from engine.cells import with_cell
        sc = with_cell(sc, cell)
    if target_step is not None and not 0 <= target_step < len(sc.sequence):
        return _fail(f"--target-step must be a step of the sequence, 0 to "
                     f"{len(sc.sequence) - 1}")
    from engine import History, fit, initial_params, trace_for
    from engine.train import dataset_loss
    n = sc.train.epochs if epochs is None else epochs
    if n > 0:
        history = fit(sc, n)
    else:
        p0 = initial_params(sc)
        history = History(losses=[dataset_loss(p0, sc)], epochs=[0], weights=[p0])
    epoch = history.nearest_epoch(history.trained_epochs)
    trace = trace_for(sc, history.params_at(epoch))
    if as_json:
        from .tracejson import reach_to_json, trace_to_json
        data = trace_to_json(sc, trace, history, epoch, 0)
        if target_step is not None:
            data["target_step"] = reach_to_json(trace, target_step)
        print(json.dumps(data, indent=1, allow_nan=False))
    else:
        from .tracetable import format_trace
        print(format_trace(sc, trace, history, epoch, 0))
    if history.stopped:
        print(f"note: {history.stopped}", file=sys.stderr)
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
    from .screenshot import run_app
    return run_app(sc, at=pos, source=pos.scenario)


def _position(text: str | None, scenario: str):
    """The --at position (None when not given), or the one-line error."""
    if text is None:
        return None, None
    from .position import Position, PositionError
    try:
        return Position.parse(text, scenario=scenario), None
    except PositionError as err:
        return None, f"--at: {err}"


def cmd_screenshot(name: str, output: str, size: str, press: str,
                   at: str | None = None) -> int:
    try:
        cols, rows = (int(v) for v in size.lower().split("x"))
        if cols < 1 or rows < 1:
            raise ValueError
    except ValueError:
        return _fail(f"--size must look like 100x32, got {size!r}")
    pos, err = _position(at, name)
    if err:
        return _fail(err)
    if pos is not None:
        name = pos.scenario
    sc, err = _load(name)
    if err:
        return _fail(err)
    from .export import write_new_file
    from .screenshot import render_svg
    keys = [k.strip() for k in press.split(",") if k.strip()]
    svg = render_svg(sc, size=(cols, rows), press=keys, at=pos, source=name)
    try:
        path = write_new_file(output, svg, overwrite=False)
    except FileExistsError:
        return _fail(f"{output}: already exists; choose another name")
    except OSError as err:
        return _fail(f"{output}: could not write: {err.strerror or err}")
    print(f"wrote {path}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    np.seterr(all="ignore")  # overflowed models are shown as such, never as printed warnings
    try:
        if argv and argv[0] in COMMANDS:
            cmd, rest = argv[0], argv[1:]
            args = _command_parser(cmd).parse_args(rest)
            if cmd == "list":
                return cmd_list()
            if cmd == "check":
                return cmd_check(args.files)
            if cmd == "trace":
                return cmd_trace(args.scenario, args.epochs, args.json, args.cell,
                                 args.target_step)
            if cmd == "compare":
                return cmd_compare(args.scenario, args.cells, args.at)
            return cmd_screenshot(args.scenario, args.output, args.size, args.press, args.at)
        args = _main_parser().parse_args(argv)
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
        from .screenshot import run_app
        return run_app(sc, at=pos, source=name)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rnntui trace king | head`
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
