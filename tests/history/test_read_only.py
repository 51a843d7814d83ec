"""A TUI attaches read-only to a collector's file while the collector keeps writing (WAL)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from swapdeck.history import HistoryError, HistoryStore, StoredCapture

from .conftest import T0, activity, perf, record, sys_sample


async def test_two_readers_follow_one_writer(db_path: Path) -> None:
    writer = await HistoryStore.open(db_path)
    writer.submit(activity("gpu1", record(0, at=T0)))
    await writer.flush()
    readers = [await HistoryStore.open(db_path, read_only=True) for _ in range(2)]
    batches = 40

    async def write() -> None:
        for batch in range(1, batches + 1):
            for i in range(25):
                rid = batch * 25 + i
                writer.submit(activity("gpu1", record(rid, at=T0 + rid)))
            await writer.flush()
            await asyncio.sleep(0)

    views: list[list[int]] = []

    async def read(reader: HistoryStore) -> None:
        seen: list[int] = []
        views.append(seen)
        while not seen or seen[-1] < 1 + batches * 25:
            page = await reader.activity_page(limit=5000)
            seen.append(len(page))
            # every page a reader sees is a committed whole: flushes are all-or-nothing
            assert (len(page) - 1) % 25 == 0
            await reader.resume_points()
            await asyncio.sleep(0)

    await asyncio.gather(write(), *(read(r) for r in readers))
    for seen in views:
        assert seen == sorted(seen)  # readers only ever see the history grow
        assert seen[-1] == 1 + batches * 25
    for reader in readers:
        await reader.close()
    await writer.close()


async def test_read_only_store_refuses_to_write(db_path: Path) -> None:
    writer = await HistoryStore.open(db_path)
    await writer.close()
    reader = await HistoryStore.open(db_path, read_only=True)
    with pytest.raises(HistoryError, match="read-only"):
        reader.submit(activity("gpu1", record(1)))
    with pytest.raises(HistoryError, match="read-only"):
        await reader.flush()
    with pytest.raises(HistoryError, match="read-only"):
        await reader.store_capture("gpu1", 0, 1, StoredCapture(req_path="/v1/completions"))
    with pytest.raises(HistoryError, match="read-only"):
        await reader.run_retention(now=T0)
    with pytest.raises(HistoryError, match="read-only"):
        reader.start_writer()
    await reader.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)


async def test_read_only_reader_sees_perf_and_rebuild(db_path: Path) -> None:
    writer = await HistoryStore.open(db_path)
    reader = None
    try:
        writer.submit(perf("gpu1", sys=(sys_sample(T0),)))
        await writer.flush()
        reader = await HistoryStore.open(db_path, read_only=True)
        assert [p.at for p in await reader.perf_history("gpu1", "sys", T0 - 1, T0 + 1)] == [T0]
        assert [type(e).__name__ for e in await reader.rebuild_events()] == ["PerfSampled"]
    finally:
        if reader is not None:
            await reader.close()
        await writer.close()


async def test_read_only_open_of_a_missing_file_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite"
    with pytest.raises(HistoryError, match=r"nowhere.sqlite: no such file"):
        await HistoryStore.open(missing, read_only=True)
    assert not missing.exists()


async def test_read_only_open_of_an_unmigrated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.sqlite"
    sqlite3.connect(path).close()
    path.touch()
    with pytest.raises(HistoryError, match="not a swapdeck history database"):
        await HistoryStore.open(path, read_only=True)
