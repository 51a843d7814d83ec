"""UI load: the Activity screen watching a busy fleet, headless, measured in one run.

20 simulated llama-swap hosts at 50 requests/s each for 60 s (defaults). The hosts are
`swapdeck.sim.SimHost`s served on loopback from child processes, so this process holds
only what the real app holds: connectors, hub, history writer and the TUI. (`--feed
synthetic` instead feeds the hub from a generator task with the v250 connector's event mix,
to see the UI's own cost without the network.)

Printed, for the measured window (after a warm-up):
  events applied/s        hub.events_applied delta / wall
  arrival → on screen     median and p99 from the hub's emit of an activity record to the
                          end of the refresh that painted its row (the screen reports, per
                          refresh, the rows it added: `ActivityScreen.render_probe`)
  CPU share               this process's time.process_time delta / wall (and the sims')
  keystroke latency       a key is posted as the terminal would, then the time until the
                          screen's state changed and the next refresh finished

Goals: p99 arrival → on screen under 250 ms; keystrokes answered under 50 ms. Numbers are
printed, nothing is asserted.

    .venv/bin/python benchmarks/ui_load.py [--hosts 20] [--rate 50] [--seconds 60]
        [--feed sim|synthetic] [--era v250] [--warmup 5] [--size 160x48]

`--widgets` instead measures why the table is a Line-API widget: the per-refresh cost of
a 1,000-row newest-first window taking 100 new rows, for the Line-API `ActivityTable`, a
DataTable rebuilt (`clear` + `add_rows`) and a DataTable kept bounded (`add_row` the batch,
`remove_row` the oldest, `sort`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil
from textual.app import App

from swapdeck.config import Config, HostConfig
from swapdeck.events import (
    ActivityRecord,
    ActivityRecorded,
    HostEvent,
    InflightRemoved,
    InflightRequest,
    InflightUpsert,
    LogLines,
    LogSource,
)
from swapdeck.fleet.hub import Hub
from swapdeck.fleet.runtime import FleetRuntime
from swapdeck.fleet.state import FleetState
from swapdeck.sources.base import Emit
from swapdeck.tui.screens.activity import ActivityScreen
from swapdeck.tui.widgets.activity_window import FeedRow

RowKey = tuple[str, int, int]
MODELS = ("qwen3-30b-a3b", "gemma-3-12b", "llama-3.1-8b", "nomic-embed")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="requests/s per host")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--feed", choices=("sim", "synthetic"), default="sim")
    parser.add_argument("--era", default="v250")
    parser.add_argument("--sim-procs", type=int, default=2,
                        help="child processes serving the simulated hosts")
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--widgets", action="store_true",
                        help="instead: per-refresh cost of the Line-API table vs DataTable")
    parser.add_argument("--batch", type=int, default=100, help="new rows per refresh (--widgets)")
    parser.add_argument("--serve-sim", help=argparse.SUPPRESS)  # child mode: JSON spec
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- sim children


async def serve_sims(spec: dict[str, Any]) -> None:
    """Child process: start the hosts, print their URLs, serve traffic until stdin closes."""
    from swapdeck.sim import SimHost

    hosts = [SimHost(spec["era"], name=name, seed=seed)
             for name, seed in zip(spec["names"], spec["seeds"], strict=True)]
    urls = {host.name: await host.start() for host in hosts}
    print(json.dumps(urls), flush=True)
    for host in hosts:
        host.start_traffic(spec["rate"])
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for host in hosts:
        host.stop_traffic()
        await host.stop()


def start_sim_children(args: argparse.Namespace) -> tuple[list[subprocess.Popen[str]],
                                                           dict[str, str]]:
    names = [f"sim-{i:02d}" for i in range(args.hosts)]
    groups = [names[i::args.sim_procs] for i in range(args.sim_procs) if names[i::args.sim_procs]]
    children: list[subprocess.Popen[str]] = []
    urls: dict[str, str] = {}
    for group in groups:
        spec = {"names": group, "seeds": [names.index(n) for n in group], "rate": args.rate,
                "era": args.era}
        child = subprocess.Popen([sys.executable, __file__, "--serve-sim", json.dumps(spec)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise SystemExit("a simulator child process did not start (see its error above)")
        urls.update(json.loads(line))
        children.append(child)
    return children, urls


# --------------------------------------------------------------------------- synthetic feed


class QuietConnector:
    def __init__(self, host: str) -> None:
        self.host = host

    async def run(self, emit: Emit) -> None:
        await asyncio.Event().wait()


class SyntheticRuntime:
    """The hub fed directly: per request the v250 connector's mix — an inflight upsert at
    start and at response headers, a removal, one activity record and a proxy log line."""

    def __init__(self, names: Sequence[str], rate: float) -> None:
        self.config = Config(hosts=tuple(HostConfig(name=n, url=f"http://{n}.bench:8080")
                                         for n in names))
        self.state = FleetState(names)
        connectors: list[Any] = [QuietConnector(n) for n in names]
        self.hub = Hub(connectors, state=self.state)
        self.store = None
        self._rate = rate
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> SyntheticRuntime:
        for index, name in enumerate(self.hub.connectors):
            self._tasks.append(asyncio.create_task(self._host_traffic(name, index)))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.hub.stop()

    async def _host_traffic(self, host: str, seed: int) -> None:
        # Arrivals are counted against the clock, not one sleep each: a loaded event loop
        # wakes late, and the offered rate must not drop because of it.
        rng = random.Random(seed)
        rid = 0
        running: list[tuple[str, float, str]] = []
        owed = 0.0
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.02)
            tick = time.perf_counter()
            owed += (tick - last) * self._rate
            last = tick
            while owed >= 1:
                owed -= 1
                rid += 1
                self._request(host, rng, rid, running, seed)

    def _request(self, host: str, rng: random.Random, rid: int,
                 running: list[tuple[str, float, str]], seed: int) -> None:
        now = time.time()
        model = MODELS[rng.randrange(len(MODELS))]
        request = InflightRequest(str(rid), model, started_at=now, method="POST",
                                  req_path="/v1/chat/completions")
        self.hub.emit(InflightUpsert(host, now, request))
        running.append((str(rid), now, model))
        if len(running) <= 3:  # a handful in flight per host, the oldest finishing first
            return
        done_id, started, done_model = running.pop(0)
        self.hub.emit(InflightRemoved(host, now, done_id))
        status = 500 if rng.random() < 0.02 else 200
        record = ActivityRecord(
            remote_id=int(done_id), epoch=0, finished_at=now, model=done_model,
            req_path="/v1/chat/completions", status_code=status,
            content_type="text/event-stream", cache_tokens=rng.randrange(0, 2048),
            input_tokens=rng.randrange(50, 4000), output_tokens=rng.randrange(1, 800),
            prompt_tps=rng.uniform(400, 3000), decode_tps=rng.uniform(20, 120),
            duration_ms=int((now - started) * 1000))
        self.hub.emit(ActivityRecorded(host, now, (record,)))
        self.hub.emit(LogLines(host, now, LogSource.PROXY, (
            f'[INFO] Request 10.0.0.{seed} "POST /v1/chat/completions HTTP/1.1" '
            f'{status} 1234 "bench" {now - started:.3f}s',)))


# --------------------------------------------------------------------------- measurement


class Probe:
    """Arrival stamps from a hub listener; on-screen stamps from the screen's render probe."""

    def __init__(self) -> None:
        self.arrivals: dict[RowKey, float] = {}
        self.latencies_s: list[float] = []
        self.recording = False

    def on_event(self, event: HostEvent) -> None:
        if self.recording and isinstance(event, ActivityRecorded):
            now = time.perf_counter()
            for record in event.records:
                self.arrivals[(event.host, record.epoch, record.remote_id)] = now

    def on_rendered(self, rows: Sequence[FeedRow], at: float) -> None:
        for row in rows:
            arrived = self.arrivals.pop((row.host, row.record.epoch, row.record.remote_id), None)
            if arrived is not None and self.recording:
                self.latencies_s.append(at - arrived)


class BenchApp(App[None]):
    def __init__(self, runtime: Any, probe: Probe) -> None:
        super().__init__()
        self.runtime = runtime
        self.probe = probe
        self.stack = AsyncExitStack()
        self.ready = asyncio.Event()

    async def on_mount(self) -> None:
        await self.stack.enter_async_context(self.runtime)
        self.runtime.hub.add_listener(self.probe.on_event)
        screen = ActivityScreen(self.runtime, time.time)
        screen.render_probe = self.probe.on_rendered
        await self.push_screen(screen)
        self.ready.set()

    async def on_unmount(self) -> None:
        await self.stack.aclose()


async def keystroke(app: BenchApp, key: str, changed: Any) -> float:
    """Post `key` as the terminal would; seconds until `changed()` and a finished refresh."""
    screen = app.screen
    start = time.perf_counter()
    app.simulate_key(key)
    while not changed():
        await asyncio.sleep(0.0005)
    painted = asyncio.Event()
    screen.call_after_refresh(painted.set)
    await painted.wait()
    return time.perf_counter() - start


async def measure_keys(app: BenchApp, until: float) -> dict[str, list[float]]:
    """Keys a person uses while watching, each timed to the repaint that answers it."""
    screen = app.screen
    assert isinstance(screen, ActivityScreen)
    samples: dict[str, list[float]] = {}

    async def timed(label: str, key: str, changed: Any) -> None:
        samples.setdefault(label, []).append(await keystroke(app, key, changed))

    while time.perf_counter() < until - 2:
        await asyncio.sleep(1.5)
        # Errors-only on and off: each rebuilds the window from the whole fleet's memory.
        on = not screen.filter.errors_only
        await timed("e (errors-only filter)", "e",
                    lambda on=on: screen.filter.errors_only == on)
        await timed("e (errors-only filter)", "e",
                    lambda on=on: screen.filter.errors_only != on)
        await timed("space (pause)", "space", lambda: not screen.following)
        await timed("space (follow: rebuild)", "space", lambda: screen.following)
    return samples


async def sample_loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late a 10 ms sleep wakes up: the event loop's own backlog (data plane and UI)."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append(time.perf_counter() - started - 0.01)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run(args: argparse.Namespace) -> None:
    width, height = (int(v) for v in args.size.split("x"))
    children: list[subprocess.Popen[str]] = []
    tmp = tempfile.TemporaryDirectory(prefix="swapdeck-ui-load-")
    if args.feed == "sim":
        children, urls = start_sim_children(args)
        config = Config(data_dir=Path(tmp.name), hosts=tuple(
            HostConfig(name=name, url=url) for name, url in sorted(urls.items())))
        runtime: Any = FleetRuntime(config)
    else:
        runtime = SyntheticRuntime([f"sim-{i:02d}" for i in range(args.hosts)], args.rate)
    probe = Probe()
    app = BenchApp(runtime, probe)
    sim_procs = [psutil.Process(child.pid) for child in children]
    try:
        async with app.run_test(size=(width, height)) as pilot:
            await asyncio.wait_for(app.ready.wait(), 30)
            await pilot.pause(args.warmup)
            probe.recording = True
            applied0 = runtime.hub.events_applied
            cpu0 = time.process_time()
            sim_cpu0 = sum(sum(p.cpu_times()[:2]) for p in sim_procs)
            wall0 = time.perf_counter()
            lags: list[float] = []
            stop_lag = asyncio.Event()
            lag_task = asyncio.create_task(sample_loop_lag(lags, stop_lag))
            keys = await measure_keys(app, wall0 + args.seconds)
            remaining = wall0 + args.seconds - time.perf_counter()
            if remaining > 0:
                await asyncio.sleep(remaining)
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            sim_cpu = sum(sum(p.cpu_times()[:2]) for p in sim_procs) - sim_cpu0
            applied = runtime.hub.events_applied - applied0
            probe.recording = False
            stop_lag.set()
            await lag_task
    finally:
        for child in children:
            if child.stdin is not None:
                child.stdin.close()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        tmp.cleanup()

    lat = [v * 1000 for v in probe.latencies_s]
    print(f"feed: {args.feed} ({args.hosts} hosts × {args.rate:g} req/s, era {args.era}), "
          f"{wall:.1f} s measured after {args.warmup:g} s warm-up, terminal {args.size}")
    print(f"events applied/s:            {applied / wall:,.0f}   (requests offered/s: "
          f"{args.hosts * args.rate:,.0f})")
    if lat:
        print(f"arrival → on screen (ms):    median {statistics.median(lat):.1f}   "
              f"p99 {percentile(lat, 99):.1f}   max {max(lat):.1f}   ({len(lat):,} rows)")
    else:
        print("arrival → on screen:         no rows reached the screen")
    if lags:
        ms = [v * 1000 for v in lags]
        print(f"event-loop lag (ms):         median {statistics.median(ms):.1f}   "
              f"p99 {percentile(ms, 99):.1f}   (a 10 ms sleep's overshoot, whole process)")
    print(f"CPU share of this process:   {cpu / wall:.0%}"
          + (f"   (simulators: {sim_cpu / wall:.0%})" if sim_procs else ""))
    every = [v * 1000 for values in keys.values() for v in values]
    if every:
        print(f"keystroke → repainted (ms):  median {statistics.median(every):.1f}   "
              f"p99 {percentile(every, 99):.1f}   max {max(every):.1f}   ({len(every)} keys)")
        for label, values in keys.items():
            ms = [v * 1000 for v in values]
            print(f"    {label:26s} median {statistics.median(ms):6.1f}   max {max(ms):6.1f}")
    print("goals: p99 arrival → on screen < 250 ms; keystrokes < 50 ms")


# --------------------------------------------------------------------------- widget choice


class TableBench(App[None]):
    """One table widget alone, for the per-refresh cost of each way to keep a bounded feed."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def compose(self) -> Any:
        from textual.widgets import DataTable

        from swapdeck.tui.widgets.activity_table import ActivityTable

        yield DataTable() if self.kind.startswith("datatable") else ActivityTable(time.time)


def bench_rows(start: int, count: int) -> list[FeedRow]:
    return [FeedRow(f"sim-{i % 20:02d}", ActivityRecord(
        remote_id=i, epoch=0, finished_at=1.75e9 + i * 0.001, model=MODELS[i % 4],
        req_path="/v1/chat/completions", status_code=200, content_type="text/event-stream",
        cache_tokens=i % 999, input_tokens=300 + i % 50, output_tokens=200 + i % 70,
        prompt_tps=1450.2, decode_tps=88.4, duration_ms=2400)) for i in range(start, start + count)]


def cells(row: FeedRow) -> tuple[object, ...]:
    r = row.record
    return (f"{r.finished_at:.3f}", row.host, r.model, r.req_path, "200", r.cache_tokens,
            r.input_tokens, r.output_tokens, "1450", "88.4", "2.4s")


async def table_cost(kind: str, window: int, batch: int, refreshes: int) -> float:
    """Milliseconds per refresh (update + paint) of a `window`-row newest-first feed taking
    `batch` new rows each time."""
    from textual.widgets import DataTable

    from swapdeck.tui.widgets.activity_table import ActivityTable
    from swapdeck.tui.widgets.activity_window import ActivityWindow

    app = TableBench(kind)
    async with app.run_test(size=(160, 48)) as pilot:
        rows = bench_rows(0, window)[::-1]
        feed = ActivityWindow(window)
        feed.replace(rows)
        if kind in ("line-api", "idle"):
            line_table = app.query_one(ActivityTable)
            line_table.show(feed.rows, at_top=True)
        else:
            table = app.query_one(DataTable)
            table.add_columns("time", "host", "model", "path", "status", "cached", "prompt",
                              "gen", "prefill", "decode", "dur")
        if kind.startswith("datatable"):
            for row in rows:
                table.add_row(*cells(row), key=str(row.key))
        await pilot.pause()
        started = time.perf_counter()
        for step in range(refreshes):
            fresh = bench_rows(window + step * batch, batch)
            if kind == "idle":
                pass
            elif kind == "line-api":
                feed.add_newer(fresh)
                line_table.show(feed.rows, at_top=True)
            elif kind == "datatable-rebuild":
                feed.add_newer(fresh)
                table.clear()
                table.add_rows([cells(r) for r in feed.rows])
            else:  # datatable-bounded: add the batch, remove the oldest one by one, re-sort
                oldest = [row.key for row in feed.rows[-batch:]]
                feed.add_newer(fresh)
                with app.batch_update():
                    for row in fresh:
                        table.add_row(*cells(row), key=str(row.key))
                    for key in oldest:
                        if str(key) in table.rows:
                            table.remove_row(str(key))
                    table.sort(table.ordered_columns[0].key, reverse=True)
            await pilot.pause()
        return (time.perf_counter() - started) / refreshes * 1000


async def compare_tables(args: argparse.Namespace) -> None:
    window, batch, refreshes = 1000, args.batch, 10
    print(f"per refresh: {window}-row newest-first window, {batch} new rows, painted at 160x48"
          " (each includes one Pilot pause; 'idle' is that pause alone)")
    for kind in ("idle", "line-api", "datatable-rebuild", "datatable-bounded"):
        print(f"  {kind:18s} {await table_cost(kind, window, batch, refreshes):8.1f} ms")


def main() -> None:
    args = parse_args()
    if args.widgets:
        asyncio.run(compare_tables(args))
        return
    if args.serve_sim:
        asyncio.run(serve_sims(json.loads(args.serve_sim)))
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
