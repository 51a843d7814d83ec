"""The batched writer against a real SQLite file: dedupe, epochs, flush on close."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from swapdeck.events import (
    GapSuspected,
    Liveness,
    LivenessChanged,
    ModelState,
    ModelStateChanged,
)
from swapdeck.history import HistoryError, HistoryStore, database
from swapdeck.history.batch import (
    INSERT_REQUEST,
    INSERT_REQUESTS,
    REQUESTS_PER_INSERT,
    request_inserts,
)
from swapdeck.history.rows import ACTIVITY_COLUMNS, activity_rows
from swapdeck.history.store import WAKE_AT_EVENTS

from .conftest import T0, activity, gpu_sample, perf, record, sys_sample


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def test_flush_writes_one_batch_and_reports_rows(store: HistoryStore, db_path: Path) -> None:
    store.submit(activity("gpu1", record(1, at=T0 + 1)))
    store.submit(activity("gpu1", record(2, at=T0 + 2)))
    store.submit(perf("gpu1", sys=(sys_sample(T0),), gpus=(gpu_sample(T0),)))
    store.submit(ModelStateChanged("gpu1", T0, "m", None, ModelState.STARTING))
    assert store.pending == 4
    # 2 requests + 1 sys + 1 gpu + 1 model event + 1 hosts row
    assert await store.flush() == 6
    assert store.pending == 0
    assert await store.flush() == 0
    assert [count(db_path, t) for t in ("requests", "perf_sys", "perf_gpu", "model_events")] == [
        2, 1, 1, 1]


async def test_duplicate_reconcile_inserts_nothing(store: HistoryStore, db_path: Path) -> None:
    """§12: a reconnect replays records already stored; (host, epoch, id) is the key."""
    reconcile = activity("gpu1", *(record(i, at=T0 + i) for i in range(1, 1001)))
    store.submit(reconcile)
    await store.flush()
    store.submit(reconcile)
    store.submit(activity("gpu1", record(500, at=T0 + 500, model="changed")))
    written = await store.flush()
    assert written == 1  # only the hosts row is touched
    assert count(db_path, "requests") == 1000
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT model FROM requests WHERE remote_id = 500").fetchone() == (
            "qwen3-30b",)


async def test_same_remote_id_in_new_epoch_is_a_new_row(store: HistoryStore,
                                                        db_path: Path) -> None:
    """§12: ids restart at a reload/restart; the connector bumps the epoch."""
    store.submit(activity("gpu1", record(1, epoch=0, at=T0)))
    store.submit(activity("gpu1", record(1, epoch=1, at=T0 + 60)))
    store.submit(activity("gpu2", record(1, epoch=0, at=T0 + 61)))
    await store.flush()
    assert count(db_path, "requests") == 3


async def test_duplicate_perf_samples_are_ignored(store: HistoryStore, db_path: Path) -> None:
    """§1.9: `?after=` may overlap what was stored; samples dedupe on (host, at[, gpu])."""
    event = perf("gpu1", sys=(sys_sample(T0), sys_sample(T0 + 5)),
                 gpus=(gpu_sample(T0, 0), gpu_sample(T0, 1)))
    store.submit(event)
    store.submit(event)
    await store.flush()
    store.submit(event)
    await store.flush()
    assert (count(db_path, "perf_sys"), count(db_path, "perf_gpu")) == (2, 2)


async def test_liveness_changes_recorded_once_per_kind_across_flushes(
        store: HistoryStore, db_path: Path) -> None:
    store.submit(LivenessChanged("gpu1", T0, Liveness.CONNECTED, last_seen=T0))
    await store.flush()
    store.submit(LivenessChanged("gpu1", T0 + 1, Liveness.CONNECTED, last_seen=T0 + 1))
    store.submit(LivenessChanged("gpu1", T0 + 2, Liveness.RECONNECTING, attempt=1))
    store.submit(LivenessChanged("gpu1", T0 + 3, Liveness.RECONNECTING, attempt=2))
    store.submit(GapSuspected("gpu1", T0 + 4, T0, T0 + 4, "reconnected"))
    await store.flush()
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT kind, old, new FROM model_events ORDER BY id").fetchall()
        host = conn.execute("SELECT liveness, liveness_attempt, last_seen FROM hosts").fetchone()
    assert rows == [("liveness", None, "connected"), ("liveness", "connected", "reconnecting"),
                    ("gap_suspected", None, None)]
    # last_seen survives events that do not carry one
    assert host == ("reconnecting", 2, T0 + 1)


async def test_close_flushes_what_is_buffered(db_path: Path) -> None:
    store = await HistoryStore.open(db_path)
    store.start_writer(interval_s=3600)  # the interval never elapses during this test
    for i in range(1, 101):
        store.submit(activity("gpu1", record(i, at=T0 + i)))
    await store.close()
    assert count(db_path, "requests") == 100
    with pytest.raises(HistoryError, match="closed"):
        store.submit(activity("gpu1", record(101)))


async def test_background_writer_flushes_without_being_asked(store: HistoryStore,
                                                             db_path: Path) -> None:
    store.start_writer(interval_s=0.01)
    store.submit(activity("gpu1", record(1)))
    for _ in range(500):
        if store.pending == 0 and count(db_path, "requests") == 1:
            break
        await asyncio.sleep(0.01)
    assert count(db_path, "requests") == 1


async def test_failed_flush_keeps_events_for_the_next_try(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 0)  # fail at once instead of after 5 s
    store = await HistoryStore.open(db_path)
    store.submit(activity("gpu1", record(1)))
    # Another process holds the write lock: the flush fails with one clear line.
    blocker = sqlite3.connect(db_path, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(HistoryError, match=r"history database .*: writing events failed"):
        await store.flush()
    assert store.pending == 1
    blocker.rollback()
    blocker.close()
    assert await store.flush() == 2
    await store.close()
    assert count(db_path, "requests") == 1


async def test_register_host_drops_credentials_from_the_url(store: HistoryStore,
                                                            db_path: Path) -> None:
    await store.register_host("gpu1", "http://admin:hunter2@gpu1.lan:8080/")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT url FROM hosts").fetchone() == ("http://gpu1.lan:8080/",)


async def test_a_large_buffer_wakes_the_writer_early(store: HistoryStore, db_path: Path) -> None:
    store.start_writer(interval_s=3600)  # only the buffer size can trigger this flush
    for i in range(WAKE_AT_EVENTS):
        store.submit(activity("gpu1", record(i, at=T0 + i)))
    for _ in range(1000):
        if count(db_path, "requests") == WAKE_AT_EVENTS:
            break
        await asyncio.sleep(0.01)
    assert count(db_path, "requests") == WAKE_AT_EVENTS
    assert store.pending == 0


async def test_use_after_close_is_a_clear_error(db_path: Path) -> None:
    store = await HistoryStore.open(db_path)
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(HistoryError, match=r"already closed \(reading activity refused\)"):
        await store.activity_page()


@pytest.mark.parametrize("rows", [1, REQUESTS_PER_INSERT - 1, REQUESTS_PER_INSERT,
                                  REQUESTS_PER_INSERT + 1, 2 * REQUESTS_PER_INSERT + 7])
async def test_multi_row_inserts_store_every_field_of_every_row(
        store: HistoryStore, db_path: Path, rows: int) -> None:
    """Groups of rows share one INSERT; each row must land exactly as a lone INSERT puts it."""
    records = [record(i, at=T0 + i, status=500 if i % 3 else 200, error="e" * (i % 2),
                      metadata={"n": str(i)} if i % 4 == 0 else {}) for i in range(rows)]
    store.submit(activity("gpu1", *records))
    # One row per record, plus the hosts row.
    assert await store.flush() == rows + 1
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute(f"SELECT {', '.join(ACTIVITY_COLUMNS)} FROM requests "
                              "ORDER BY id").fetchall()
    assert stored == list(activity_rows("gpu1", records))


async def test_multi_row_inserts_skip_duplicates_inside_a_group(store: HistoryStore,
                                                                db_path: Path) -> None:
    """§12: a replayed id inside a group of rows is ignored, the rest of the group stored."""
    first = [record(i, at=T0 + i) for i in range(0, REQUESTS_PER_INSERT, 2)]
    store.submit(activity("gpu1", *first))
    await store.flush()
    store.submit(activity("gpu1", *(record(i, at=T0 + i) for i in range(REQUESTS_PER_INSERT))))
    assert await store.flush() == REQUESTS_PER_INSERT - len(first) + 1
    assert count(db_path, "requests") == REQUESTS_PER_INSERT


def test_request_inserts_keep_the_rows_and_their_order() -> None:
    rows = [(f"h{i}", i) for i in range(2 * REQUESTS_PER_INSERT + 3)]
    plan = request_inserts(rows)
    assert [sql for sql, _ in plan] == [INSERT_REQUESTS, INSERT_REQUEST]
    flattened = [value for _, groups in plan for group in groups for value in group]
    assert flattened == [value for row in rows for value in row]
    assert len(plan[0][1]) == 2
    assert request_inserts([]) == []
    assert [sql for sql, _ in request_inserts(rows[:REQUESTS_PER_INSERT])] == [INSERT_REQUESTS]
