"""Ingest rate of the data plane against the raw SSE parse rate of the same bytes.

Builds one `/api/events` byte stream of llama-swap `metrics` frames (v209..v235 shape,
one nested activity record per frame, as a busy host sends them live — §2.4, §3.1), then
measures in one run:

  reference  bytes → lines → httpx-sse's SSEDecoder                        (events/s)
  swapdeck   the same, then → StreamDecoder (envelope + record parse)
                            → ActivityIntake (epochs, de-duplication)
                            → FleetState.apply (reducer)
                            → HistoryStore.submit + batched flush into SQLite (WAL)

and prints both rates and their ratio. Goals (issue 2): ratio >= 0.5 and >= 20,000
activity events/s sustained into SQLite on one core.

    .venv/bin/python benchmarks/ingest.py [--events 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from httpx_sse._decoders import SSEDecoder

from swapdeck.fleet.state import FleetState
from swapdeck.history.store import HistoryStore
from swapdeck.sources.base import ResumePoint
from swapdeck.sources.epochs import ActivityIntake, ActivityLedger
from swapdeck.sources.streamdecoder import StreamDecoder

HOST = "bench"
FLUSH_EVERY = 5000


def metrics_frame(record_id: int, base: float) -> str:
    """One SSE frame exactly as llama-swap writes it: `event:message\\ndata:<envelope>\\n\\n`."""
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + record_id))
    record = {
        "cache_tokens": 512, "duration_ms": 2400 + record_id % 300, "has_capture": True,
        "id": record_id, "model": f"model-{record_id % 5}", "req_path": "/v1/chat/completions",
        "resp_content_type": "text/event-stream", "resp_status_code": 200,
        "timestamp": f"{t}-07:00",
        "tokens": {"cache_tokens": 512, "draft_acc_tokens": -1, "draft_tokens": -1,
                   "input_tokens": 300 + record_id % 50, "output_tokens": 200,
                   "prompt_per_second": 1450.2, "tokens_per_second": 88.4},
    }
    envelope = {"data": json.dumps([record], separators=(",", ":")), "type": "metrics"}
    return "event:message\ndata:" + json.dumps(envelope, separators=(",", ":")) + "\n\n"


def build_stream(count: int) -> list[str]:
    base = time.time() - count
    return "".join(metrics_frame(i, base) for i in range(count)).splitlines()


def reference_rate(lines: list[str]) -> tuple[int, float]:
    decoder = SSEDecoder()
    seen = 0
    start = time.perf_counter()
    for line in lines:
        if decoder.decode(line) is not None:
            seen += 1
    return seen, time.perf_counter() - start


async def swapdeck_rate(lines: list[str], db_path: Path) -> tuple[int, int, float, float]:
    store = await HistoryStore.open(db_path)
    state = FleetState([HOST])
    stream = StreamDecoder(HOST)
    stream.connected()
    intake = ActivityIntake(HOST, ActivityLedger.from_resume(ResumePoint()))
    sse = SSEDecoder()
    records = 0
    rows = 0
    pending = 0
    cpu_start = time.process_time()
    start = time.perf_counter()
    for line in lines:
        frame = sse.decode(line)
        if frame is None:
            continue
        now = time.time()
        decoded = stream.decode(frame.event, frame.data, now)
        for event in decoded.events:
            state.apply(event)
            store.submit(event)
        if decoded.records:
            for event in intake.take(decoded.records, oldest_held=decoded.records[0], now=now):
                state.apply(event)
                store.submit(event)
            records += len(decoded.records)
            pending += 1
            if pending >= FLUSH_EVERY:
                rows += await store.flush()
                pending = 0
    rows += await store.flush()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    await store.close()
    return records, rows, elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    lines = build_stream(args.events)
    size_mb = sum(len(line) + 1 for line in lines) / 1e6
    print(f"stream: {args.events} metrics frames, {size_mb:.1f} MB")

    ref_events, ref_s = reference_rate(lines)
    ref_rate = ref_events / ref_s
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "history.sqlite"
        records, _rows, ours_s, cpu_s = asyncio.run(swapdeck_rate(lines, db_path))


        with sqlite3.connect(db_path) as check:
            stored = check.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    ours_rate = records / ours_s
    print(f"reference  httpx-sse parse only        {ref_rate:>10,.0f} events/s")
    print(f"swapdeck   parse→reduce→SQLite         {ours_rate:>10,.0f} events/s "
          f"({stored:,} rows stored, CPU {cpu_s / ours_s:.0%} of one core in this process)")
    print(f"ratio      {ours_rate / ref_rate:.2f}   (goal >= 0.5)")
    print(f"sustained  {ours_rate:,.0f} activity events/s into SQLite (goal >= 20,000)")
    if stored != args.events:
        print(f"WARNING: expected {args.events} stored rows, found {stored}")


if __name__ == "__main__":
    main()
