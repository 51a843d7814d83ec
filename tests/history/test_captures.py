"""Captures: redacted again, each body capped, total capped with oldest evicted first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from swapdeck.config import HistoryConfig
from swapdeck.history import HistoryStore, StoredCapture
from swapdeck.history.captures import plan_eviction, stored_size

KB = 1024
MB = 1024 * 1024


def capture(body_size: int = 100, **extra: object) -> StoredCapture:
    fields: dict[str, object] = {
        "req_path": "/v1/chat/completions",
        "req_headers": {"Content-Type": "application/json"},
        "resp_headers": {"Content-Type": "text/event-stream"},
        "req_body": b"q" * body_size,
        "resp_body": b"a" * body_size,
    }
    fields.update(extra)
    return StoredCapture(**fields)  # type: ignore[arg-type]


async def test_round_trip(store: HistoryStore) -> None:
    original = capture(req_body=b'{"model":"qwen3-30b"}', resp_body=None)
    await store.store_capture("gpu1", 0, 42, original)
    assert await store.load_capture("gpu1", 0, 42) == original
    assert await store.load_capture("gpu1", 1, 42) is None  # another epoch, another request


async def test_sensitive_headers_are_redacted_whatever_their_case(store: HistoryStore,
                                                                  db_path: Path) -> None:
    """§1.10: llama-swap redacts these five; a capture must never put one in the file."""
    await store.store_capture("gpu1", 0, 1, capture(
        req_headers={"authorization": "Bearer sk-secret", "X-API-KEY": "sk-secret",
                     "Cookie": "session=sk-secret", "Proxy-Authorization": "Basic sk-secret",
                     "Accept": "application/json"},
        resp_headers={"Set-Cookie": "session=sk-secret", "Content-Type": "text/plain"}))
    loaded = await store.load_capture("gpu1", 0, 1)
    assert loaded is not None
    assert loaded.req_headers == {
        "authorization": "[REDACTED]", "X-API-KEY": "[REDACTED]", "Cookie": "[REDACTED]",
        "Proxy-Authorization": "[REDACTED]", "Accept": "application/json"}
    assert loaded.resp_headers == {"Set-Cookie": "[REDACTED]", "Content-Type": "text/plain"}
    await store.close()
    assert b"sk-secret" not in db_path.read_bytes()


async def test_each_body_is_capped_and_flagged(db_path: Path) -> None:
    store = await HistoryStore.open(db_path, HistoryConfig(capture_row_cap_kb=1))
    await store.store_capture("gpu1", 0, 1, capture(req_body=b"x" * (KB + 1),
                                                    resp_body=b"y" * KB))
    loaded = await store.load_capture("gpu1", 0, 1)
    await store.close()
    assert loaded is not None
    assert (loaded.req_body, loaded.req_truncated) == (b"x" * KB, True)
    assert (loaded.resp_body, loaded.resp_truncated) == (b"y" * KB, False)


async def test_total_cap_evicts_oldest_first(db_path: Path) -> None:
    store = await HistoryStore.open(db_path, HistoryConfig(capture_total_cap_mb=1))
    size = stored_size(capture(body_size=200 * KB))
    per_mb = MB // size  # how many fit: 2 bodies of 200 KiB each -> 2 per MiB
    assert per_mb == 2
    for remote_id in range(1, 6):
        await store.store_capture("gpu1", 0, remote_id, capture(body_size=200 * KB))
    kept = [i for i in range(1, 6) if await store.load_capture("gpu1", 0, i) is not None]
    await store.close()
    assert kept == [4, 5]
    with sqlite3.connect(db_path) as conn:
        total = conn.execute("SELECT SUM(stored_bytes) FROM captures").fetchone()[0]
    assert total <= MB


async def test_storing_again_makes_a_capture_the_newest(db_path: Path) -> None:
    store = await HistoryStore.open(db_path, HistoryConfig(capture_total_cap_mb=1))
    await store.store_capture("gpu1", 0, 1, capture(body_size=200 * KB))
    await store.store_capture("gpu1", 0, 2, capture(body_size=200 * KB))
    await store.store_capture("gpu1", 0, 1, capture(body_size=200 * KB))  # refreshed
    await store.store_capture("gpu1", 0, 3, capture(body_size=200 * KB))
    kept = [i for i in (1, 2, 3) if await store.load_capture("gpu1", 0, i) is not None]
    await store.close()
    assert kept == [1, 3]


def test_eviction_plan_stops_as_soon_as_it_fits() -> None:
    assert plan_eviction([(1, 10), (2, 10), (3, 10)], total=30, cap=15) == [1, 2]
    assert plan_eviction([(1, 10), (2, 10)], total=20, cap=20) == []
    assert plan_eviction([(7, 50)], total=50, cap=10) == [7]
