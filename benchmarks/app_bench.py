"""App-level benchmarks: rnntui in a real pseudo-terminal, against a bare Textual app.

Rows: start-up to the first full frame (vs benchmarks/bare_app.py, alternated), idle CPU,
RSS, bytes written per step at 80x24, key-press-to-screen latency at 120x40 on a text
scenario with H = 64 and T = 1000 (from the pty side, and from inside the app through
_app_probe.py), and CPU while playing. Every row says "skipped: app not available" until
``rnntui.app.make_app`` imports and the app starts. See README.md.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BENCH_DIR, REPO, median, percentile, thread_env
from _pty import PtyProcess, strip_escapes

FOOTER_TEXT = "quit"  # both apps' footers show "q quit"
SECTION = "app (pty, TERM=xterm-256color)"
BENCH_SCENARIO_NAME = "bench-h64-t1000"


def _python() -> str:
    return sys.executable


def rnntui_argv(scenario: str) -> list[str]:
    script = Path(sys.executable).parent / "rnntui"
    if script.exists():
        return [str(script), scenario]
    return [_python(), "-m", "rnntui.cli", scenario]


def bare_argv() -> list[str]:
    return [_python(), str(BENCH_DIR / "bare_app.py")]


def app_available() -> tuple[bool, str]:
    """Whether the app can be benchmarked: make_app imports and the CLI knows scenarios."""
    try:
        r = subprocess.run([_python(), "-c", "import rnntui.app as a; assert callable(a.make_app)"],
                           capture_output=True, text=True, timeout=120, cwd=REPO,
                           env=thread_env(1))
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, str(err)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["import failed"]
        return False, tail[0]
    return True, ""


def byte_compile() -> str:
    """Byte-compile rnntui and engine, as ``pip install`` does for an installed package (and did
    for textual, numpy and plotext, which the bare app imports). The editable install under
    ``PYTHONDONTWRITEBYTECODE=1`` (set in some environments) otherwise compiles every module
    from source on every start, ~80-100 ms that no installed rnntui pays. Returns "" or why not."""
    try:
        r = subprocess.run([_python(), "-m", "compileall", "-q", "rnntui", "engine"],
                           capture_output=True, text=True, timeout=120, cwd=REPO)
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    return "" if r.returncode == 0 else (r.stderr or r.stdout).strip()[-200:]


def write_bench_scenario(folder: Path, T: int = 1000, H: int = 64) -> Path:
    """A text scenario (unit char, untrained) whose prompt has exactly T tokens."""
    words = ("the king sits on a throne while the dog sleeps on the mat and a cat runs "
             "after the old ball in the long garden near the river").split()
    text, i = "", 0
    while len(text) < T:
        text += words[i % len(words)] + " "
        i += 1
    prompt = text[:T - 1] + "x"  # exactly T characters, each a token
    sentences = [" ".join(words[j:j + 8]) for j in range(0, len(words), 8)] + ["x marks it"]
    lines = [
        "[scenario]",
        f'name = "{BENCH_SCENARIO_NAME}"',
        'kind = "text"',
        f'description = "Benchmark scenario: H = {H}, T = {T} characters, untrained."',
        "[model]",
        f"hidden_size = {H}",
        'activation = "tanh"',
        'output = "softmax"',
        'init = "xavier"',
        "seed = 0",
        "[train]",
        "epochs = 0",
        "[data]",
        'unit = "char"',
        "text = [" + ", ".join(f'"{s}"' for s in sentences) + "]",
        f'prompt = "{prompt}"',
    ]
    path = folder / f"{BENCH_SCENARIO_NAME}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _start(argv, cols, rows, timeout=60.0) -> tuple[PtyProcess, float | None]:
    p = PtyProcess(argv, cols, rows, env=thread_env(1), cwd=str(REPO))
    return p, p.wait_for_text(FOOTER_TEXT, timeout)


def _settle(p: PtyProcess, quiet: float = 1.0, limit: float = 60.0) -> None:
    """Let start-up work (training on open, trace workers) finish: no output for ``quiet`` s."""
    p.drain(quiet=quiet, limit=limit)


def run_app_benchmarks(args, emit) -> dict:
    quick = args.quick
    ok, why = app_available()
    if not ok:
        for name in ("start-up to first frame (king)", "idle CPU (king)", "RSS (king)",
                     "bytes per step (80x24)", "key-press latency p95 (120x40, H=64, T=1000)",
                     "CPU while playing (H=64, T=1000)"):
            emit(dict(section=SECTION, name=name, value="-", compare="", ratio="", target="",
                      status="skipped: app not available"))
        return {"skipped": f"app not available: {why}"}

    out: dict = {"byte_compile": byte_compile() or "ok"}
    n_start = 3 if quick else 10
    idle_s = 3.0 if quick else 10.0
    n_steps = 8 if quick else 20
    n_lat = 15 if quick else 40
    parts = (("startup", "start-up to first full frame (king, 80x24)",
              lambda: _startup(n_start, emit)),
             ("king", "idle CPU, RSS, bytes per step (king)",
              lambda: _default_scenario(idle_s, n_steps, emit)),
             ("latency", "key-press latency and playing (120x40, H=64, T=1000)",
              lambda: _latency(idle_s, n_lat, emit)),
             ("training", "watching training (frames/s, cost)",
              lambda: __import__("training_bench").run_training_bench(args, emit)))
    for key, name, part in parts:
        try:
            out[key] = part()
        except Exception as err:  # the app is young: report, and go on with the next part
            out[key] = {"error": f"{type(err).__name__}: {err}"}
            emit(dict(section=SECTION, name=name, value="-", compare="", ratio="", target="",
                      status=f"failed: {str(err).splitlines()[0][:70]}"))
    return out


def _startup(n_start: int, emit) -> dict:
    """(a) start-up: time to the footer in a real pty, alternated with the bare app."""
    times = {"rnntui": [], "bare": []}
    failures = []
    for i in range(n_start):
        order = (("rnntui", rnntui_argv("king")), ("bare", bare_argv()))
        for name, argv in (order if i % 2 == 0 else order[::-1]):
            p, t = _start(argv, 80, 24)
            p.close()
            if t is None:
                failures.append({"app": name, "output_tail": _tail(p)})
            else:
                times[name].append(t)
    if not times["rnntui"]:
        raise RuntimeError("rnntui king never showed its footer: "
                           + (failures[0]["output_tail"][-200:] if failures else ""))
    t_app, t_bare = median(times["rnntui"]), median(times["bare"])
    emit(dict(section=SECTION, name="start-up to first full frame (king, 80x24)",
              value=f"{t_app:.2f} s", compare=f"bare Textual {t_bare:.2f} s",
              ratio=f"{t_app / t_bare:.2f}x" if t_bare else "-", target="",
              status=f"{len(failures)} of {2 * n_start} failed" if failures else ""))
    return {"rnntui_s": times["rnntui"], "bare_s": times["bare"], "rnntui_median_s": t_app,
            "bare_median_s": t_bare, "ratio": t_app / t_bare if t_bare else None,
            "failures": failures}


def _tail(p: PtyProcess, n: int = 600) -> str:
    """The end of what a program wrote, escape sequences removed, for error reports."""
    return strip_escapes(bytes(p.out[-4 * n:])).decode(errors="replace")[-n:]


def _default_scenario(idle_s: float, n_steps: int, emit) -> dict:
    """(b, c, d) the default scenario at 80x24: idle CPU, RSS, bytes per step."""
    ref = {}
    p, t = _start(bare_argv(), 80, 24)
    try:
        _settle(p)
        ref = {"rss_mb": p.rss_mb(), "idle_cpu": p.cpu_over(idle_s)}
    finally:
        p.close()
    p, t = _start(rnntui_argv("king"), 80, 24)
    try:
        if t is None:
            raise RuntimeError(f"rnntui king showed no footer: {_tail(p, 200)!r}")
        _settle(p)
        rss = p.rss_mb()
        idle = p.cpu_over(idle_s)
        step_bytes = []
        for i in range(n_steps + 2):  # right, left, right, ...: king's prompt is 5 steps long
            t_send = p.press("right" if i % 2 == 0 else "left")
            n, _, _ = p.drain(quiet=0.1, limit=5.0, since=t_send, first_timeout=1.0)
            if i >= 2:
                step_bytes.append(n)
    finally:
        p.close()
    res = {"rss_mb": rss, "idle_cpu": idle, "step_bytes": step_bytes,
           "bare_rss_mb": ref.get("rss_mb"), "bare_idle_cpu": ref.get("idle_cpu"),
           "idle_seconds": idle_s}
    emit(dict(section=SECTION, name=f"idle CPU over {idle_s:g} s (king)",
              value=f"{idle * 100:.1f}% of a core",
              compare=f"bare {ref.get('idle_cpu', float('nan')) * 100:.1f}%", ratio="",
              target="", status=""))
    emit(dict(section=SECTION, name="RSS after start (king)", value=f"{rss:.0f} MB",
              compare=f"bare {ref.get('rss_mb', float('nan')):.0f} MB", ratio="", target="",
              status=""))
    emit(dict(section=SECTION, name=f"bytes per step (80x24, median of {len(step_bytes)})",
              value=f"{median(step_bytes):.0f} B",
              compare=f"max {max(step_bytes) if step_bytes else 0} B", ratio="", target="",
              status=""))
    return res


#: Steps per second while the playing CPU is measured (the target is for 10; the app's own
#: default, PLAY_RATE, is 4).
BENCH_PLAY_RATE = 10


def _press_series(p: PtyProcess, key: str, n: int) -> dict:
    """Press ``key`` ``n`` times; for each, read until the output has been quiet for 100 ms."""
    sends, ends, firsts, lasts, nbytes = [], [], [], [], []
    for _ in range(n):
        t_send = p.press(key)
        n_bytes, first, last = p.drain(quiet=0.1, limit=5.0, since=t_send, first_timeout=2.0)
        sends.append(t_send)
        ends.append(time.perf_counter())
        nbytes.append(n_bytes)
        if last is not None:
            firsts.append(first)
            lasts.append(last)
    return {"sends": sends, "ends": ends, "first_byte_s": firsts, "last_byte_s": lasts,
            "bytes": nbytes, "p50_s": percentile(lasts, 50), "p95_s": percentile(lasts, 95),
            "first_p95_s": percentile(firsts, 95), "missing": n - len(lasts)}


def _latency(idle_s: float, n_lat: int, emit) -> dict:
    """(e) key-press latency at 120x40 on H = 64, T = 1000; idle CPU and CPU while playing.

    Right is pressed ``n_lat`` times, then Left as often; while idle the app draws the panes one
    step on and one step back ahead of time, so these show pictures drawn in advance. Run as
    ``rnntui FILE`` does, with a play rate of BENCH_PLAY_RATE; when that shows no footer (the
    app crashed), once more with the trace computed in the UI thread (make_app(...,
    big_trace=10**9)), and say so. Then, in a second process made with draw_ahead=False, Right
    ``n_lat`` times again: what a key costs when its panes are drawn as it comes.
    """
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-") as tmp:
        scen = write_bench_scenario(Path(tmp))
        log = Path(tmp) / "probe.log"
        argv = [_python(), str(BENCH_DIR / "_app_probe.py"), str(log), str(scen),
                f"--play-rate={BENCH_PLAY_RATE}"]
        note, crash = "", None
        p, t = _start(argv, 120, 40)
        if t is None:
            crash = _tail(p, 300)
            p.close()
            note = " [trace in UI thread: default crashed]"
            argv.append(f"--big-trace={10 ** 9}")
            p, t = _start(argv, 120, 40)
        try:
            if t is None:
                raise RuntimeError(f"the H=64, T=1000 scenario showed no footer: {_tail(p, 200)!r}")
            _settle(p)
            idle_long = p.cpu_over(idle_s)
            right = _press_series(p, "right", n_lat)
            left = _press_series(p, "left", n_lat)
            p.press("space")
            c0 = p.cpu_seconds()
            n_play, _, _ = p.drain(quiet=idle_s, limit=idle_s, first_timeout=idle_s)
            play_cpu = (p.cpu_seconds() - c0) / idle_s
            p.press("space")
            p.drain(quiet=0.3, limit=5.0)
        finally:
            p.close()
        for series in (right, left):
            series["probe"] = _probe_latencies(log, series.pop("sends"), series.pop("ends"))
        on_demand = None
        log2 = Path(tmp) / "probe-on-demand.log"
        p, t = _start([argv[0], argv[1], str(log2), *argv[3:], "--no-draw-ahead"], 120, 40)
        try:
            if t is not None:  # (an app without the draw_ahead option does not start)
                _settle(p)
                on_demand = _press_series(p, "right", n_lat)
        finally:
            p.close()
        if on_demand is not None:
            on_demand["probe"] = _probe_latencies(log2, on_demand.pop("sends"),
                                                  on_demand.pop("ends"))
    res = {"scenario": "text, unit char, H=64, T=1000, untrained, 120x40",
           "default_start_crashed": crash, **right, "left": left, "on_demand": on_demand,
           "idle_cpu": idle_long, "play_cpu": play_cpu, "play_rate": BENCH_PLAY_RATE,
           "play_bytes_per_s": n_play / idle_s}
    for series, name in ((right, "key-press to screen p95 (120x40, H=64, T=1000)"),
                         (left, "  the same for Left"),
                         (on_demand, "  Right, nothing drawn ahead (draw_ahead=False)")):
        if series is None:
            emit(dict(section=SECTION, name=name, value="-", compare="", ratio="", target="",
                      status="skipped: the app has no draw_ahead option"))
            continue
        emit(dict(section=SECTION, name=name, value=f"{series['p95_s'] * 1e3:.0f} ms",
                  compare=f"p50 {series['p50_s'] * 1e3:.0f} ms, first byte p95 "
                          f"{series['first_p95_s'] * 1e3:.0f} ms",
                  ratio="", target="",
                  status=(f"{series['missing']} no output" if series["missing"] else "") + note))
        probe = series["probe"]
        if probe.get("n"):
            emit(dict(section=SECTION, name="  in-process: key event to display done, p95",
                      value=f"{probe['handle_p95_s'] * 1e3:.1f} ms",
                      compare=f"p50 {probe['handle_p50_s'] * 1e3:.1f} ms, pty write to key "
                              f"event p95 {probe['input_p95_s'] * 1e3:.1f} ms",
                      ratio="", target="", status=""))
    emit(dict(section=SECTION, name=f"idle CPU over {idle_s:g} s (H=64, T=1000)",
              value=f"{idle_long * 100:.1f}% of a core", compare="", ratio="", target="",
              status=""))
    emit(dict(section=SECTION,
              name=f"CPU while playing {idle_s:g} s at {BENCH_PLAY_RATE}/s (H=64, T=1000)",
              value=f"{play_cpu * 100:.1f}% of a core",
              compare=f"{n_play / idle_s / 1e3:.1f} kB/s written", ratio="", target="",
              status=""))
    return res


def _probe_latencies(log: Path, sends: list[float], ends: list[float]) -> dict:
    """Match each key sent with the app's own timestamps (see _app_probe.py); a press owns
    what the app logged between sending it and its output going quiet (``ends``)."""
    try:
        lines = log.read_text().splitlines()
    except OSError:
        return {"n": 0}
    keys = [float(parts[1]) for parts in (ln.split() for ln in lines) if parts[0] == "key"]
    displays = [(float(parts[1]), float(parts[2])) for parts in (ln.split() for ln in lines)
                if parts[0] == "display"]
    inputs, handles, totals = [], [], []
    for t_send, t_next in zip(sends, ends):
        k = next((t for t in keys if t_send <= t < t_next), None)
        if k is None:
            continue
        ends = [d1 for d0, d1 in displays if k <= d0 < t_next]
        if not ends:
            continue
        inputs.append(k - t_send)
        handles.append(ends[-1] - k)
        totals.append(ends[-1] - t_send)
    if not totals:
        return {"n": 0}
    return {"n": len(totals), "input_s": inputs, "handle_s": handles, "total_s": totals,
            "input_p95_s": percentile(inputs, 95), "handle_p95_s": percentile(handles, 95),
            "handle_p50_s": percentile(handles, 50), "total_p95_s": percentile(totals, 95)}


__all__ = ["run_app_benchmarks", "write_bench_scenario", "app_available"]
