"""Ingest rate of the data plane against the raw parse rate of the same bytes.

Two scenarios, each measured against its own reference in the same run:

metrics (v209..v235)  one `/api/events` byte stream of `metrics` frames, one nested activity
    record per frame with a nanosecond timestamp, as a busy host sends them live (§2.4, §3.1):
      reference  bytes → lines → httpx-sse's SSEDecoder
      swapdeck   one chunk per message, as the network delivers them at this rate
                              → SseParser (the connector's own, sse.py)
                              → StreamDecoder (envelope + record parse)
                              → ActivityIntake (epochs, de-duplication)
                              → FleetState.apply (reducer)
                              → HistoryStore.submit + batched flush into SQLite (WAL)

activity (v236+)  `activity {"id"}` frames (§2.2); every `--burst` ids the connector's own
    `sync_activity` fetches page 1 of `/api/metrics/activity?limit=50` (§1.10, §6) through a
    JSON reader that decodes page bodies built before the clock starts (no HTTP: the
    transport is measured by sse_transport.py), parses it with the real page parser, admits
    the new rows:
      reference  httpx-sse over the frames + `json.loads` of every page body
      swapdeck   SseParser → StreamDecoder → sync_activity (page decode + parse, ledger)
                     → FleetState.apply → HistoryStore → SQLite

Each rate is given twice: per wall-clock second, and per second of this process's CPU time
(all its threads, the SQLite writer's included). On a shared machine the wall-clock rate
drops whenever other work takes the cores; the CPU rate is the "on one core" figure. Every
scenario runs `--repeat` times and the medians are printed. Goals (issue 2): ratio >= 0.5
and >= 20,000 activity events/s sustained into SQLite on one core.

    .venv/bin/python benchmarks/ingest.py [--events 100000] [--repeat 3] [--burst 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from httpx_sse._decoders import SSEDecoder

from swapdeck.events import ActivityRecorded
from swapdeck.fleet.state import FleetState
from swapdeck.history.store import HistoryStore
from swapdeck.sources.activitysync import LIVE_PAGE, sync_activity
from swapdeck.sources.base import ResumePoint
from swapdeck.sources.epochs import ActivityIntake, ActivityLedger
from swapdeck.sources.jsonfields import decode_json
from swapdeck.sources.sse import SseParser
from swapdeck.sources.streamdecoder import StreamDecoder

HOST = "bench"
FLUSH_EVERY = 5000
"""Records between flushes: about what the background writer gathers in 0.5 s at 10k/s."""
GOAL_RATIO = 0.5
GOAL_RATE = 20_000
OFFSET = "-07:00"


# --------------------------------------------------------------------------- the bytes


def record(record_id: int, stamp: str) -> dict[str, Any]:
    """A v236-era record (§3.1), Go's key order (sorted)."""
    return {
        "cache_tokens": 512, "duration_ms": 2400 + record_id % 300, "has_capture": True,
        "id": record_id, "model": f"model-{record_id % 5}", "req_path": "/v1/chat/completions",
        "resp_content_type": "text/event-stream", "resp_status_code": 200,
        "timestamp": stamp,
        "tokens": {"cache_tokens": 512, "draft_acc_tokens": -1, "draft_tokens": -1,
                   "input_tokens": 300 + record_id % 50, "output_tokens": 200,
                   "prompt_per_second": 1450.2, "tokens_per_second": 88.4},
    }


def wall_clock(unix_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix_s))


def sse_frame(kind: str, payload: object) -> str:
    """One SSE frame exactly as llama-swap writes it: `event:message\\ndata:<envelope>\\n\\n`."""
    envelope = {"data": json.dumps(payload, separators=(",", ":")), "type": kind}
    return "event:message\ndata:" + json.dumps(envelope, separators=(",", ":")) + "\n\n"


def metrics_stream(count: int) -> list[str]:
    """Live in-memory records (v209..v235) carry RFC3339Nano stamps (§0); one per second."""
    base = int(time.time()) - count
    frames = []
    for i in range(count):
        nanos = (i * 7_919_113) % 1_000_000_000 or 1  # Go drops an all-zero fraction
        stamp = f"{wall_clock(base + i)}.{nanos:09d}".rstrip("0") + OFFSET
        frames.append(sse_frame("metrics", [record(i, stamp)]))
    return "".join(frames).splitlines()


def activity_stream(count: int) -> list[str]:
    """v236+: the store's ids start at 1 (§3.1); one `activity` frame per stored row."""
    return "".join(sse_frame("activity", {"id": i}) for i in range(1, count + 1)).splitlines()


def activity_pages(count: int, burst: int) -> dict[int, bytes]:
    """Page 1 (newest first, limit 50) as the host answers after each burst, by newest id.

    Store rows have whole seconds (§0); several finish within one second on a busy host.
    """
    base = int(time.time()) - count
    rows = {i: record(i, wall_clock(base + i // 4) + OFFSET) for i in range(1, count + 1)}
    pages = {}
    for newest in [*range(burst, count + 1, burst), count]:
        data = [rows[i] for i in range(newest, max(newest - LIVE_PAGE, 0), -1)]
        body = {"data": data, "limit": LIVE_PAGE, "page": 1, "total": newest,
                "total_pages": -(-newest // LIVE_PAGE)}
        pages[newest] = json.dumps(body, separators=(",", ":")).encode()
    return pages


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True, slots=True)
class Measured:
    events: int
    wall_s: float
    cpu_s: float

    @property
    def wall_rate(self) -> float:
        return self.events / self.wall_s

    @property
    def cpu_rate(self) -> float:
        return self.events / self.cpu_s


class Clock:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self, events: int) -> Measured:
        return Measured(events, time.perf_counter() - self.wall, time.process_time() - self.cpu)


def reference(lines: list[str], bodies: Iterable[bytes] = ()) -> Measured:
    decoder = SSEDecoder()
    seen = 0
    clock = Clock()
    for line in lines:
        if decoder.decode(line) is not None:
            seen += 1
    for body in bodies:
        json.loads(body)
    return clock.stop(seen)


class Pipeline:
    """Everything after the SSE decoder, wired as the connector and the hub wire it."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store
        self.state = FleetState([HOST])
        self.stream = StreamDecoder(HOST)
        self.stream.connected()
        self.intake = ActivityIntake(HOST, ActivityLedger.from_resume(ResumePoint()))
        self.records = 0
        self.since_flush = 0

    def deliver(self, events: Iterable[Any]) -> None:
        for event in events:
            self.state.apply(event)
            self.store.submit(event)
            if isinstance(event, ActivityRecorded):
                self.records += len(event.records)
                self.since_flush += len(event.records)

    async def flush_now_and_then(self) -> None:
        if self.since_flush >= FLUSH_EVERY:
            await self.store.flush()
            self.since_flush = 0


def chunks(lines: list[str]) -> list[str]:
    """The lines as the network hands them over: one chunk per message (Go flushes each)."""
    return [message + "\n\n" for message in "\n".join(lines).split("\n\n") if message]


async def ingest_metrics(lines: list[str], db_path: Path) -> Measured:
    pipeline = Pipeline(await HistoryStore.open(db_path))
    sse = SseParser()
    received = chunks(lines)
    clock = Clock()
    for frame in (frame for chunk in received for frame in sse.feed(chunk)):
        now = time.time()
        decoded = pipeline.stream.decode(frame.event, frame.data, now)
        pipeline.deliver(decoded.events)
        if decoded.records:
            pipeline.deliver(pipeline.intake.take(
                decoded.records, oldest_held=decoded.records[0], now=now))
            await pipeline.flush_now_and_then()
    await pipeline.store.flush()
    measured = clock.stop(pipeline.records)
    await pipeline.store.close()
    return measured


async def ingest_activity(lines: list[str], pages: dict[int, bytes], burst: int,
                          db_path: Path) -> Measured:
    pipeline = Pipeline(await HistoryStore.open(db_path))
    held = 0  # the newest row the simulated host has stored

    async def get(path: str, *, params: Mapping[str, str | int] | None = None,
                  missing_ok: tuple[int, ...] = (404,)) -> tuple[int, Any]:
        """The connector's JSON reader, minus HTTP: the page body as the host answers it.
        (The transport is measured on its own by sse_transport.py.)"""
        assert params is not None and params["page"] == 1, "a burst must fit one page"
        return 200, decode_json(pages[held])

    async def fetch() -> None:
        result = await sync_activity(get, pipeline.intake, page_size=LIVE_PAGE, now=time.time)
        pipeline.deliver(result.events)
        await pipeline.flush_now_and_then()

    sse = SseParser()
    received = chunks(lines)
    waiting = 0
    clock = Clock()
    for frame in (frame for chunk in received for frame in sse.feed(chunk)):
        decoded = pipeline.stream.decode(frame.event, frame.data, time.time())
        pipeline.deliver(decoded.events)
        if decoded.activity_ids:
            held = decoded.activity_ids[-1]
            waiting += len(decoded.activity_ids)
            if waiting >= burst:
                await fetch()
                waiting = 0
    if waiting:
        await fetch()
    await pipeline.store.flush()
    measured = clock.stop(pipeline.records)
    await pipeline.store.close()
    return measured


def stored_rows(db_path: Path) -> int:
    with sqlite3.connect(db_path) as check:
        count: int = check.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    return count


@dataclass(frozen=True, slots=True)
class Round:
    ref: Measured
    ours: Measured
    stored: int


def run_rounds(repeat: int, ref: Callable[[], Measured],
               ours: Callable[[Path], Measured]) -> list[Round]:
    rounds = []
    for _ in range(repeat):
        reference_run = ref()
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "history.sqlite"
            measured = ours(db_path)
            rounds.append(Round(reference_run, measured, stored_rows(db_path)))
    return rounds


def report(title: str, rounds: list[Round], expected: int) -> bool:
    """Print the medians; False when some run did not store exactly `expected` rows."""
    def median(value: Callable[[Round], float]) -> float:
        return statistics.median(value(r) for r in rounds)

    print(f"\n{title}  (median of {len(rounds)} runs)")
    print(f"{'':34}{'per wall s':>14}{'per CPU s':>14}")
    print(f"  reference  raw parse            {median(lambda r: r.ref.wall_rate):>14,.0f}"
          f"{median(lambda r: r.ref.cpu_rate):>14,.0f}  events/s")
    print(f"  swapdeck   parse→reduce→SQLite  {median(lambda r: r.ours.wall_rate):>14,.0f}"
          f"{median(lambda r: r.ours.cpu_rate):>14,.0f}  events/s")
    print(f"  ratio                           "
          f"{median(lambda r: r.ours.wall_rate / r.ref.wall_rate):>14.3f}"
          f"{median(lambda r: r.ours.cpu_rate / r.ref.cpu_rate):>14.3f}  (goal >= {GOAL_RATIO})")
    print("  runs (wall events/s): "
          + ", ".join(f"{r.ours.wall_rate:,.0f}" for r in rounds)
          + f"; CPU {median(lambda r: r.ours.cpu_s / r.ours.wall_s):.0%} of one core;"
          f" goal >= {GOAL_RATE:,} events/s into SQLite")
    wrong = [r.stored for r in rounds if r.stored != expected]
    if wrong:
        print(f"  WRONG: expected {expected:,} stored rows, found {wrong}")
    else:
        print(f"  {expected:,} rows stored in every run")
    return not wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--burst", type=int, default=40,
                        help=f"activity ids per REST fetch (below {LIVE_PAGE}, one page each)")
    parser.add_argument("--only", choices=("metrics", "activity"))
    args = parser.parse_args()
    if not 1 <= args.burst < LIVE_PAGE:
        parser.error(f"--burst must be 1..{LIVE_PAGE - 1}: one page must reach a known row")

    complete = True
    if args.only != "activity":
        lines = metrics_stream(args.events)
        size_mb = sum(len(line) + 1 for line in lines) / 1e6
        rounds = run_rounds(args.repeat, lambda: reference(lines),
                            lambda db: asyncio.run(ingest_metrics(lines, db)))
        complete &= report(f"metrics frames (v209..v235): {args.events:,} frames, "
                           f"{size_mb:.1f} MB", rounds, args.events)
    if args.only != "metrics":
        lines = activity_stream(args.events)
        pages = activity_pages(args.events, args.burst)
        size_mb = (sum(len(line) + 1 for line in lines) + sum(map(len, pages.values()))) / 1e6
        rounds = run_rounds(args.repeat, lambda: reference(lines, pages.values()),
                            lambda db: asyncio.run(
                                ingest_activity(lines, pages, args.burst, db)))
        complete &= report(f"activity ids + REST pages (v236+): {args.events:,} rows, "
                           f"burst {args.burst}, {len(pages):,} pages, {size_mb:.1f} MB",
                           rounds, args.events)
    if not complete:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
