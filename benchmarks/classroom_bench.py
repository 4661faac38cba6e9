"""The classroom measured: presenter key press -> follower screen updated, bytes, memory, browser.

Standalone: ``.venv/bin/python benchmarks/classroom_bench.py [--followers 1,10,50]
[--steps 30] [--knobs 20] [--no-browser]``. Everything runs on 127.0.0.1 of this machine: the
presenter is a headless app in this process; followers are headless apps (``rnntui follow``'s
app, run by Textual's test driver) in a few worker processes, each app recording when its
screen has been refreshed at the presenter's new position. Times come from CLOCK_MONOTONIC,
which all processes share. A key's latency is measured from just before the presenter's key is
pressed to that refresh; one key is pressed only after every follower has shown the last.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, percentile  # noqa: E402

SIZE = (100, 30)
#: (filled in by the workers that need it)
View = None
BOUND = 120.0


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def quiet(app):
    app.animation_level = "none"
    return app


def recorder(screen, put, who):
    """A view hook: once the screen shows a new, settled position, after the refresh that
    draws it, ``put(("at", who, position, time))``."""
    last = [None]

    def hook(old, new):
        if new.needs_trace or new.training is not None or new.loss_pending:
            return
        pos = str(new.position)
        if pos != last[0]:
            last[0] = pos
            screen.call_after_refresh(lambda: put(("at", who, pos, time.monotonic())))
    screen.view_hooks.append(hook)


# ---------------------------------------------------------------------------------------------
# worker processes: K follower apps each


def worker_main(join: str, k: int, wid: int, queue, stop, mode: str = "app",
                ahead: bool = True) -> None:
    run = _worker(join, k, wid, queue, stop, ahead) if mode == "app" else \
        _view_worker(join, k, wid, queue, stop)
    asyncio.run(run)


async def _view_worker(join: str, k: int, wid: int, queue, stop) -> None:
    """``k`` headless followers: each applies every state to a View of its own and computes
    the trace it needs (what the panes are drawn from), with no terminal at all. The training
    is done once per process (every follower's would be the same, from the same seed)."""
    global View
    from engine import fit
    from engine.scenario import load
    from rnntui.classroom.follower import Follower
    from rnntui.view import View
    from rnntui.classroom.join import parse_join
    from rnntui.jobs import compute_trace
    from rnntui.position import Position
    before = rss_kib()
    sc = load("king")
    history = fit(sc)
    base = rss_kib()
    followers = []
    for i in range(k):
        box = {"view": View.open(sc, history, source="king").with_history(history)}
        who = f"{wid}.{i}"

        def on_event(event, detail, box=box, who=who):
            if event != "state":
                return
            queue.put(("recv", who, detail["position"], time.monotonic()))
            pos = Position.parse(detail["position"])
            v = box["view"]
            v = (v.with_epoch(pos.epoch if pos.epoch is not None else v.trained_epochs)
                 .with_knob(pos.knob).with_phase(pos.phase).at(pos.t).with_grads(pos.grads)
                 .with_target(pos.target))
            if v.needs_trace:
                v = v.with_trace(*compute_trace(v))
            box["view"] = v
            queue.put(("at", who, str(v.position), time.monotonic()))
        f = Follower(parse_join(join), on_event)
        f.start()
        followers.append(f)
    queue.put(("up", wid, k, base, rss_kib()))
    while not stop.is_set():
        await asyncio.sleep(0.05)
    queue.put(("rss", wid, k, base, rss_kib()))
    for f in followers:
        await f.stop()


async def _worker(join: str, k: int, wid: int, queue, stop, ahead: bool) -> None:
    from rnntui.app import make_app
    from rnntui.classroom.join import parse_join
    from rnntui.classroom.session import FollowerRole
    before = rss_kib()
    async with contextlib.AsyncExitStack() as stack:
        for i in range(k):
            app = quiet(make_app("king", cursor_blink=False, theme="ansi-dark",
                                 draw_ahead=ahead))
            role = FollowerRole(parse_join(join))
            app.main_screen.classroom = role
            who = f"{wid}.{i}"

            def heard(event, detail, told=role._event, who=who):
                if event == "state":  # the moment the state is read off the socket
                    queue.put(("recv", who, detail["position"], time.monotonic()))
                told(event, detail)
            role.follower._on_event = heard
            await stack.enter_async_context(app.run_test(size=SIZE))
            recorder(app.main_screen, queue.put, who)
        queue.put(("up", wid, k, before, rss_kib()))
        while not stop.is_set():
            await asyncio.sleep(0.05)
        queue.put(("rss", wid, k, before, rss_kib()))


def raw_main(join: str, n: int, queue, stop) -> None:
    """``n`` followers that only read (the network cost alone, for the presenter's latency)."""
    async def one(j):
        from rnntui.classroom import protocol as P
        reader, writer = await asyncio.open_connection(j.host, j.port)
        writer.write(P.encode({"type": "hello", "version": P.VERSION, "token": j.token}))
        beat = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                data = await asyncio.wait_for(reader.read(65536), 0.5)
                if not data:
                    return
            if time.monotonic() - beat > 1.0:  # a heartbeat a second, as a follower sends
                beat = time.monotonic()
                writer.write(P.encode({"type": "heartbeat"}))

    async def main():
        from rnntui.classroom.join import parse_join
        j = parse_join(join)
        tasks = [asyncio.ensure_future(one(j)) for _ in range(n)]
        queue.put(("raw-up", n))
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()
    asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# the presenter, in this process


class Inbox:
    """What the workers put on the queue, gathered by a thread."""

    def __init__(self, queue) -> None:
        self.items: list[tuple] = []
        self.lock = threading.Lock()
        self.queue = queue
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while True:
            item = self.queue.get()
            with self.lock:
                self.items.append(item)

    def take(self, kind: str) -> list[tuple]:
        with self.lock:
            return [i for i in self.items if i[0] == kind]


async def until(cond, what: str, bound: float = BOUND):
    t0 = time.monotonic()
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() - t0 > bound:
            raise TimeoutError(f"waited {bound:.0f} s for {what}")
        await asyncio.sleep(0.002)


async def run_presenter(counts, steps: int, knobs: int, raw: int, modes=("app",),
                        ahead: bool = True) -> dict:
    from rnntui.app import make_app
    from rnntui.classroom.join import new_token
    from rnntui.classroom.session import PresenterRole
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    inbox = Inbox(queue)
    mine: list[tuple] = []
    app = quiet(make_app("king", cursor_blink=False, theme="ansi-dark"))
    role = PresenterRole(new_token())
    app.main_screen.classroom = role
    results: dict = {"rows": []}
    sends: list[float] = []  # seconds each broadcast took in the presenter (its whole cost)
    told = role.presenter.broadcast

    def timed(state, told=told):
        t0 = time.perf_counter()
        told(state)
        sends.append(time.perf_counter() - t0)
    role.presenter.broadcast = timed
    async with app.run_test(size=SIZE) as pilot:
        recorder(app.main_screen, mine.append, "presenter")
        await until(lambda: role.presenter._server is not None, "the presenter")
        await until(lambda: app.view.training is None and not app.view.needs_trace, "training")
        join = str(role.join)

        async def press(key: str, n_followers: int) -> tuple:
            before = len(mine)
            t0 = time.monotonic()
            await pilot.press(key)
            await until(lambda: len(mine) > before, f"the presenter after {key}")
            pos, t_self = mine[-1][2], mine[-1][3]
            frame = len(role.presenter._last or b"")
            if n_followers == 0:
                return t_self - t0, [], frame, []
            got = await until(lambda: (lambda a: a if len(a) >= n_followers else None)(
                {i[1]: i[3] for i in inbox.take("at") if i[2] == pos and i[3] >= t0}),
                f"{n_followers} followers at {pos}")
            heard = {i[1]: i[3] for i in inbox.take("recv") if i[2] == pos and i[3] >= t0}
            return (t_self - t0, [t - t0 for t in got.values()], frame,
                    [t - t0 for t in heard.values()])

        async def trials(n_followers: int, label: str) -> dict:
            sends.clear()
            out = {}
            for kind, keys, count in (("step", ("right", "left"), steps),
                                      ("knob", ("plus", "minus"), knobs)):
                own, follow, frames, heard = [], [], [], []
                for i in range(count):
                    a, b, f, h = await press(keys[i % 2], n_followers)
                    own.append(a)
                    follow += b
                    frames.append(f)
                    heard += h
                out[kind] = {"own": own, "follow": follow, "frame": median(frames),
                             "heard": heard}
            out["sends"] = list(sends)
            out["connected"] = role.presenter.followers
            return out

        # 0 followers, then raw readers, then app followers
        results["none"] = await trials(0, "0")
        if raw:
            stop = ctx.Event()
            p = ctx.Process(target=raw_main, args=(join, raw, queue, stop))
            p.start()
            await until(lambda: role.presenter.followers == raw, f"{raw} raw followers")
            results["raw"] = await trials(0, f"{raw} raw")
            results["raw"]["n"] = raw
            stop.set()
            p.join(30)
            await until(lambda: role.presenter.followers == 0, "the raw followers gone")
        for mode, n in [(m, n) for m in modes for n in counts]:
            procs = max(1, min(n, 4 if mode == "app" else 2))
            sizes = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
            stop = ctx.Event()
            inbox.items.clear()
            workers = [ctx.Process(target=worker_main,
                                   args=(join, k, w, queue, stop, mode, ahead))
                       for w, k in enumerate(sizes)]
            t_start = time.monotonic()
            for w in workers:
                w.start()
            await until(lambda: len(inbox.take("up")) == procs, f"{n} followers up",
                        bound=60 + 20 * n)
            now = str(app.view.position)
            await until(lambda: len({i[1] for i in inbox.take("at") if i[2] == now}) >= n,
                        f"{n} followers in step", bound=60 + 20 * n)
            startup = time.monotonic() - t_start
            data = await trials(n, str(n))
            stop.set()
            await until(lambda: len(inbox.take("rss")) == procs, "the workers' memory")
            per = [(i[4] - i[3]) / i[2] for i in inbox.take("rss")]
            data.update(n=n, processes=procs, startup=startup, rss_per_follower_kib=median(per),
                        mode=mode)
            results["rows"].append(data)
            for w in workers:
                w.join(30)
            await until(lambda: role.presenter.followers == 0, "the followers gone")
        # the baseline again, last: a shared machine's load drifts during a run
        results["none_after"] = await trials(0, "0")
    return results


# ---------------------------------------------------------------------------------------------
# the browser

WATCH_JS = """
(() => {
  window.__keys = []; window.__frames = [];
  document.addEventListener('keydown', () => window.__keys.push(performance.now()), true);
  const Native = window.WebSocket;
  const dec = new TextDecoder();
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener('message', (e) => {
      const now = performance.now();
      const text = typeof e.data === 'string' ? e.data : dec.decode(e.data);
      window.__frames.push([now, text.replace(/\\x1b\\[[0-9;?<>=]*[ -\\/]*[@-~]/g, '')]);
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})();
"""


def run_browser(presses: int) -> dict | None:
    try:
        from playwright.sync_api import sync_playwright
        import textual_serve  # noqa: F401
    except ImportError as err:
        print(f"browser row skipped: {err}", file=sys.stderr)
        return None
    import tempfile
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "browser"))
    from test_serve_browser import ARGS, CHROMIUM, Served
    if not os.path.exists(CHROMIUM):
        print(f"browser row skipped: no {CHROMIUM}", file=sys.stderr)
        return None
    served = Served("king")
    lat = []
    try:
        with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                viewport={"width": 1200, "height": 760})
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.add_init_script(WATCH_JS)
            page.goto(served.url)
            page.wait_for_function("window.__frames.some(f => f[1].includes('epoch 200/200'))",
                                   timeout=BOUND * 1000)
            page.locator("#terminal").click()
            page.wait_for_timeout(500)
            t = 0
            for i in range(presses):
                key, t = ("ArrowRight", t + 1) if i % 2 == 0 else ("ArrowLeft", t - 1)
                n = page.evaluate("window.__frames.length")
                page.keyboard.press(key)
                page.wait_for_function(
                    f"window.__frames.slice({n}).some(f => f[1].includes('t={t} '))",
                    timeout=BOUND * 1000)
                key_t = page.evaluate("window.__keys[window.__keys.length - 1]")
                got = page.evaluate(
                    f"window.__frames.slice({n}).find(f => f[1].includes('t={t} '))[0]")
                lat.append((got - key_t) / 1000)
                page.wait_for_timeout(150)
            ctx.close()
    finally:
        served.close()
    return {"presses": presses, "latency": lat}


# ---------------------------------------------------------------------------------------------


def ms(x: float) -> str:
    return f"{1000 * x:.1f}"


def table(res: dict, browser: dict | None) -> str:
    lines = ["| what | followers | p50 ms | p95 ms | presses |", "|---|---|---|---|---|"]
    what = {"app": "follower app's screen updated", "view": "headless follower's View updated"}
    for row in res["rows"]:
        for kind in ("step", "knob"):
            f = row[kind]["follow"]
            lines.append(f"| presenter key → {what[row['mode']]}, {kind} | {row['n']} | "
                         f"{ms(median(f))} | {ms(percentile(f, 95))} | {len(row[kind]['own'])} |")
    for row in res["rows"]:
        for kind in ("step", "knob"):
            f = row[kind]["heard"]
            lines.append(f"| presenter key → state read off the socket ({row['mode']} "
                         f"followers), {kind} | {row['n']} | {ms(median(f))} | "
                         f"{ms(percentile(f, 95))} | {len(row[kind]['own'])} |")
    for label, data, n in [("0", res["none"], 0), ("0", res["none_after"], 0)] + \
            ([("raw", res["raw"], res["raw"]["n"])] if "raw" in res else []) + \
            [(r["mode"], r, r["n"]) for r in res["rows"]]:
        for kind in ("step", "knob"):
            o = data[kind]["own"]
            who = {"raw": f"{n} reading-only sockets", "0": "0", "app": f"{n} follower apps",
                   "view": f"{n} headless followers"}[label]
            lines.append(f"| presenter's own key → its screen updated, {kind} | {who} | "
                         f"{ms(median(o))} | {ms(percentile(o, 95))} | {len(o)} |")
    base = {k: median(res["none"][k]["own"] + res["none_after"][k]["own"])
            for k in ("step", "knob")}
    extra = []
    for data, who in ([(res["raw"], f"{res['raw']['n']} reading-only sockets")]
                      if "raw" in res else []) + [(r, f"{r['n']} {r['mode']} followers")
                                                 for r in res["rows"]]:
        for k in ("step", "knob"):
            extra.append(f"presenter {k} latency (p50) with {who} / with 0 (before and after): "
                         f"{median(data[k]['own']) / base[k]:.2f}x")
    lines.append("")
    lines += extra
    lines.append("")
    for data, who in [(res["none"], "0 followers")] + ([(res["raw"], "reading-only sockets")]
                                                       if "raw" in res else []) + \
            [(r, f"{r['mode']} followers") for r in res["rows"]]:
        b = data["sends"]
        lines.append(f"presenter's broadcast per key (state, encode once, write to each of "
                     f"{data['connected']} {who.split(' ', 1)[-1] if data['connected'] else 'followers'}): "
                     f"p50 {1000 * median(b):.3f} ms, p95 {1000 * percentile(b, 95):.3f} ms")
    lines.append("")
    for row in res["rows"][:1]:
        lines.append(f"bytes per update (one state frame, to each follower): step "
                     f"{row['step']['frame']:.0f} B, knob {row['knob']['frame']:.0f} B; "
                     f"heartbeats 25 B/s each way")
    for row in res["rows"]:
        lines.append(f"memory per {row['mode']} follower ({row['n']} in {row['processes']} "
                     f"processes): {row['rss_per_follower_kib'] / 1024:.1f} MiB; all up and in "
                     f"step after {row['startup']:.1f} s")
    if browser:
        b = browser["latency"]
        lines.append(f"browser key press → page receives the new screen (keydown to the "
                     f"websocket message with it; painting is the next animation frame): p50 "
                     f"{ms(median(b))} ms, p95 {ms(percentile(b, 95))} ms over {len(b)} "
                     f"presses")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--followers", default="1,10,50")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--knobs", type=int, default=20)
    p.add_argument("--raw", type=int, default=50,
                   help="reading-only sockets for the presenter's latency (0: none)")
    p.add_argument("--modes", default="view,app",
                   help="followers: view (headless: a View each, no terminal), app (the app)")
    p.add_argument("--no-ahead", action="store_true",
                   help="follower apps do not draw the neighbouring steps ahead")
    p.add_argument("--browser-presses", type=int, default=20)
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("--json", default=None, help="also write the raw numbers here")
    args = p.parse_args(argv)
    counts = [int(c) for c in args.followers.split(",") if c]
    res = asyncio.run(run_presenter(counts, args.steps, args.knobs, args.raw,
                                    tuple(args.modes.split(",")), not args.no_ahead))
    browser = None if args.no_browser else run_browser(args.browser_presses)
    print(table(res, browser))
    if args.json:
        Path(args.json).write_text(json.dumps({"classroom": res, "browser": browser}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
