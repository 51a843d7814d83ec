"""How many activity events per second the history writer stores (target: >= 20,000 on one core).

Run: .venv/bin/python benchmarks/history_write.py [--events N] [--batch N]

Live updates are one ActivityRecorded per finished request, submitted one by one and
flushed in batches the way the background writer does; the reconcile case is one event
carrying thousands of records. Times include mapping events to rows and the SQLite
transaction, into a fresh file in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from swapdeck.events import ActivityRecord, ActivityRecorded
from swapdeck.history import HistoryStore

TARGET_EVENTS_PER_S = 20_000
HOSTS = ("gpu1", "gpu2", "gpu3", "gpu4")
MODELS = ("qwen3-30b", "llama-3.1-8b", "gemma-3-27b", "smollm2-135m")


def make_events(count: int, start: float) -> list[ActivityRecorded]:
    events = []
    for i in range(count):
        host = HOSTS[i % len(HOSTS)]
        status = 500 if i % 50 == 0 else 200
        record = ActivityRecord(
            remote_id=i // len(HOSTS) + 1, epoch=0, finished_at=start + i * 0.001,
            model=MODELS[i % len(MODELS)], req_path="/v1/chat/completions",
            status_code=status, content_type="text/event-stream", cache_tokens=1024,
            input_tokens=312, output_tokens=587, prompt_tps=1450.2, decode_tps=88.4,
            duration_ms=6871, error_msg="upstream error" if status != 200 else "",
            metadata={"selector": "coding-model"} if i % 3 == 0 else {},
        )
        events.append(ActivityRecorded(host=host, at=record.finished_at, records=(record,)))
    return events


async def live_updates(path: Path, events: list[ActivityRecorded], batch: int) -> float:
    store = await HistoryStore.open(path)
    began = time.perf_counter()
    for i, event in enumerate(events, 1):
        store.submit(event)
        if i % batch == 0:
            await store.flush()
    await store.flush()
    elapsed = time.perf_counter() - began
    await store.close()
    return elapsed


async def reconcile(path: Path, records_per_event: int, events: list[ActivityRecorded]) -> float:
    store = await HistoryStore.open(path)
    grouped = [
        ActivityRecorded(host="gpu9", at=0.0, records=tuple(
            e.records[0] for e in events[i:i + records_per_event]))
        for i in range(0, len(events), records_per_event)
    ]
    began = time.perf_counter()
    for event in grouped:
        store.submit(event)
        await store.flush()
    elapsed = time.perf_counter() - began
    # The same reconcile again: every row is a duplicate and must be ignored.
    began_dup = time.perf_counter()
    for event in grouped:
        store.submit(event)
    written = await store.flush()
    dup_elapsed = time.perf_counter() - began_dup
    await store.close()
    print(f"  duplicate reconcile: {written} rows written (expected 1: the hosts row), "
          f"{len(events) / dup_elapsed:,.0f} records/s")
    return elapsed


async def main(count: int, batch: int) -> None:
    events = make_events(count, start=1_780_000_000.0)
    with tempfile.TemporaryDirectory() as folder:
        live = await live_updates(Path(folder) / "live.sqlite", events, batch)
        rate = count / live
        print(f"live updates: {count:,} events in {live:.2f} s = {rate:,.0f} events/s "
              f"(batch {batch}); {rate / TARGET_EVENTS_PER_S:.1f}x the {TARGET_EVENTS_PER_S:,} "
              "target")
        bulk = await reconcile(Path(folder) / "reconcile.sqlite", 5_000, events)
        print(f"reconcile: {count:,} records in {bulk:.2f} s = {count / bulk:,.0f} records/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.batch))
