"""Run rnntui with timestamps logged from inside the app, for key-press latency breakdowns.

    python benchmarks/_app_probe.py LOGFILE SCENARIO [--big-trace=N] [--play-rate=R]
                                                      [--no-draw-ahead]

Starts the app exactly as ``rnntui SCENARIO`` does, after wrapping two Textual internals
(textual==8.2.8 is pinned, so they are stable):

* ``App.on_event``: ``key T KEY`` when the app starts handling a key event;
* ``App._display``: ``display T0 T1`` around turning a compositor update into terminal
  output and handing it to the driver's writer thread.

With options the app is made with ``make_app(SCENARIO, big_trace=N, play_rate=R,
draw_ahead=False)`` instead of the command line (which does the same with the defaults):
``--big-trace`` computes traces up to T x H = N in the UI thread, not a worker; ``--play-rate``
sets the steps per second of playing; ``--no-draw-ahead`` makes the app draw each step's panes
when its key comes instead of while idle before.

T is time.perf_counter(), which is CLOCK_MONOTONIC on Linux and so comparable with the
harness's own clock in another process. A missing internal just means no lines of that kind.
"""

from __future__ import annotations

import sys
import time


def install(log_path: str) -> None:
    from textual import events
    from textual.app import App

    log = open(log_path, "a", buffering=1)
    clock = time.perf_counter

    on_event = getattr(App, "on_event", None)
    if on_event is not None:
        async def probed_on_event(self, event):
            if isinstance(event, events.Key) and not event.is_forwarded:
                log.write(f"key {clock():.6f} {event.key}\n")
            return await on_event(self, event)
        App.on_event = probed_on_event

    display = getattr(App, "_display", None)
    if display is not None:
        def probed_display(self, screen, renderable):
            t0 = clock()
            try:
                return display(self, screen, renderable)
            finally:
                if renderable is not None:
                    log.write(f"display {t0:.6f} {clock():.6f}\n")
        App._display = probed_display


def main() -> int:
    log_path, scenario = sys.argv[1], sys.argv[2]
    install(log_path)
    options = {}
    for arg in sys.argv[3:]:
        name, _, value = arg.partition("=")
        if name == "--big-trace":  # traces up to T x H = N computed in the UI thread
            options["big_trace"] = int(value)
        elif name == "--play-rate":  # steps per second while playing
            options["play_rate"] = float(value)
        elif name == "--no-draw-ahead":  # draw every step's panes when its key comes
            options["draw_ahead"] = False
        else:
            raise SystemExit(f"unknown option {arg}")
    if options:  # what `rnntui SCENARIO` does, with make_app's options
        import numpy as np
        from rnntui.app import make_app
        np.seterr(all="ignore")
        app = make_app(scenario, **options)
        app.run()
        return int(app.return_code or 0)
    from rnntui.cli import main as cli_main
    return cli_main([scenario])


if __name__ == "__main__":
    sys.exit(main())
