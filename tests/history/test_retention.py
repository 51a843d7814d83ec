"""Retention: rollups against hand arithmetic, raw pruning after rollup, idempotence."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from swapdeck.config import HistoryConfig
from swapdeck.events import GapSuspected
from swapdeck.history import HistoryStore, RetentionReport, StoredCapture
from swapdeck.history.retention import unrolled_buckets

from .conftest import T0, activity, gpu_sample, perf, record, sys_sample

HOUR = 3600.0
CONFIG = HistoryConfig(raw_perf_retention_hours=48, activity_retention_days=30)


@pytest.fixture
async def kept(db_path: Path) -> AsyncIterator[HistoryStore]:
    store = await HistoryStore.open(db_path, CONFIG)
    yield store
    await store.close()


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def rollup(path: Path, series: str, bucket: float) -> dict[str, object]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM perf_rollup_5m WHERE series = ? AND bucket = ?",
                           (series, bucket)).fetchone()
    return dict(row)


async def test_rollup_matches_hand_computation(kept: HistoryStore, db_path: Path) -> None:
    """§1.9 readings; -1 (unknown) is left out of averages and peaks, never counted as 0."""
    kept.submit(perf("gpu1",
                     sys=(sys_sample(T0, cpu=(10.0, 30.0), mem_used=1000.0, load_avg_1=2.0),
                          sys_sample(T0 + 100, cpu=(20.0, 40.0), mem_used=2000.0,
                                     load_avg_1=-1.0),
                          sys_sample(T0 + 299, cpu=(50.0, 70.0), mem_used=6000.0,
                                     load_avg_1=4.0),
                          sys_sample(T0 + 300, cpu=(99.0,))),  # next bucket, still open
                     gpus=(gpu_sample(T0, 0, util=10.0, power_w=-1.0),
                           gpu_sample(T0 + 100, 0, util=20.0, power_w=-1.0),
                           gpu_sample(T0 + 200, 0, util=90.0, power_w=-1.0),
                           gpu_sample(T0, 1, util=5.0, temp_c=70.0))))
    await kept.flush()

    report = await kept.run_retention(now=T0 + 301)
    assert report == RetentionReport(rollup_buckets_written=3)

    sys_bucket = rollup(db_path, "sys", T0)
    assert sys_bucket["count"] == 3
    # cpu per sample = mean of cores: 20, 30, 60
    assert sys_bucket["avg_cpu_pct"] == pytest.approx((20 + 30 + 60) / 3)
    assert sys_bucket["max_cpu_pct"] == 60.0
    assert (sys_bucket["avg_mem_used_mb"], sys_bucket["max_mem_used_mb"]) == (3000.0, 6000.0)
    assert (sys_bucket["avg_load_avg_1"], sys_bucket["max_load_avg_1"]) == (3.0, 4.0)
    assert sys_bucket["avg_util_pct"] is None  # not a sys metric

    gpu0 = rollup(db_path, "gpu:0", T0)
    assert gpu0["count"] == 3
    assert (gpu0["avg_util_pct"], gpu0["max_util_pct"]) == (40.0, 90.0)
    assert (gpu0["avg_power_w"], gpu0["max_power_w"]) == (None, None)
    gpu1 = rollup(db_path, "gpu:1", T0)
    assert (gpu1["count"], gpu1["avg_temp_c"], gpu1["max_util_pct"]) == (1, 70.0, 5.0)

    with sqlite3.connect(db_path) as conn:
        open_buckets = conn.execute(
            "SELECT COUNT(*) FROM perf_rollup_5m WHERE bucket = ?", (T0 + 300,)).fetchone()
    assert open_buckets == (0,)


async def test_late_sample_recomputes_its_bucket(kept: HistoryStore, db_path: Path) -> None:
    kept.submit(perf("gpu1", sys=(sys_sample(T0, mem_used=1000.0),)))
    await kept.flush()
    await kept.run_retention(now=T0 + 600)
    # `?after=` resumed late and delivered an older sample of the same bucket
    kept.submit(perf("gpu1", sys=(sys_sample(T0 + 60, mem_used=3000.0),)))
    await kept.flush()
    assert (await kept.run_retention(now=T0 + 600)).rollup_buckets_written == 1
    bucket = rollup(db_path, "sys", T0)
    assert (bucket["count"], bucket["avg_mem_used_mb"]) == (2, 2000.0)


async def fifty_hours(store: HistoryStore) -> None:
    """A sample a minute, sys and one GPU, from T0 - 50 h up to T0."""
    minutes = 50 * 60
    for start in range(0, minutes + 1, 600):
        ats = [T0 - 50 * HOUR + 60 * m for m in range(start, min(start + 600, minutes + 1))]
        store.submit(perf("gpu1", sys=tuple(sys_sample(at, mem_used=at - T0) for at in ats),
                          gpus=tuple(gpu_sample(at, util=float(int(at) % 100)) for at in ats)))
    await store.flush()


async def test_raw_rows_pruned_only_when_old_and_rolled_up(kept: HistoryStore,
                                                           db_path: Path) -> None:
    await fifty_hours(kept)
    with sqlite3.connect(db_path) as conn:
        raw_before = conn.execute("SELECT COUNT(*) FROM perf_sys").fetchone()[0]

    report = await kept.run_retention(now=T0)

    # Two whole hour windows lie entirely beyond 48 h: 120 sys + 120 gpu rows.
    assert (report.raw_sys_deleted, report.raw_gpu_deleted) == (120, 120)
    with sqlite3.connect(db_path) as conn:
        oldest = conn.execute("SELECT MIN(at) FROM perf_sys").fetchone()[0]
        assert oldest == T0 - 48 * HOUR
        assert conn.execute("SELECT COUNT(*) FROM perf_sys").fetchone()[0] == raw_before - 120
        # Every bucket that lost raw rows has a rollup counting all five of them.
        counts = conn.execute(
            "SELECT series, COUNT(*), MIN(count), MAX(count) FROM perf_rollup_5m "
            "WHERE bucket < ? GROUP BY series", (T0 - 48 * HOUR,)).fetchall()
    assert sorted(counts) == [("gpu:0", 24, 5, 5), ("sys", 24, 5, 5)]
    # All complete buckets are rolled up (50 h of them); the sample at T0 is still open.
    assert report.rollup_buckets_written == 2 * 50 * 12


async def test_second_run_changes_nothing(kept: HistoryStore, db_path: Path) -> None:
    await fifty_hours(kept)
    kept.submit(activity("gpu1", record(1, at=T0 - 40 * 86400), record(2, at=T0)))
    kept.submit(GapSuspected("gpu1", T0 - 40 * 86400, T0 - 41 * 86400, T0 - 40 * 86400, "x"))
    await kept.flush()
    first = await kept.run_retention(now=T0)
    assert first.changed_anything
    snapshot = dump(db_path)
    second = await kept.run_retention(now=T0)
    assert second == RetentionReport()
    assert dump(db_path) == snapshot


async def test_stray_sample_in_pruned_window_does_not_shrink_its_rollup(
        kept: HistoryStore, db_path: Path) -> None:
    await fifty_hours(kept)
    await kept.run_retention(now=T0)
    before = rollup(db_path, "sys", T0 - 50 * HOUR)
    kept.submit(perf("gpu1", sys=(sys_sample(T0 - 50 * HOUR + 30),)))
    await kept.flush()
    report = await kept.run_retention(now=T0)
    assert (report.rollup_buckets_written, report.raw_sys_deleted) == (0, 1)
    assert rollup(db_path, "sys", T0 - 50 * HOUR) == before


async def test_perf_history_uses_rollups_where_raw_rows_are_gone(kept: HistoryStore) -> None:
    await fifty_hours(kept)
    await kept.run_retention(now=T0)
    points = await kept.perf_history("gpu1", "sys", T0 - 50 * HOUR, T0 - 47 * HOUR)
    rolled = [p for p in points if p.resolution_s == 300]
    raw = [p for p in points if p.resolution_s == 0]
    assert [p.at for p in rolled] == [T0 - 50 * HOUR + 300 * i for i in range(24)]
    assert [p.at for p in raw] == [T0 - 48 * HOUR + 60 * i for i in range(61)]
    assert points == rolled + raw  # oldest first
    first = rolled[0]
    # mem_used was set to (at - T0): the first bucket holds minutes 0..4 of T0 - 50 h
    assert first.samples == 5
    assert first.avg["mem_used_mb"] == pytest.approx(-50 * HOUR + 120)
    assert first.peak["mem_used_mb"] == -50 * HOUR + 240
    assert raw[0].avg == raw[0].peak
    assert raw[0].avg["cpu_pct"] == 20.0

    # [since, until] is inclusive: the bucket starting exactly at `until` is in it.
    gpu = await kept.perf_history("gpu1", "gpu:0", T0 - 50 * HOUR, T0 - 49 * HOUR)
    assert [p.at for p in gpu] == [T0 - 50 * HOUR + 300 * i for i in range(13)]
    assert all(p.resolution_s == 300 and "util_pct" in p.avg for p in gpu)
    assert await kept.perf_history("gpu1", "gpu:7", T0 - 50 * HOUR, T0) == []


async def test_unknown_series_name_is_refused(kept: HistoryStore) -> None:
    with pytest.raises(ValueError, match="unknown perf series 'gpu0'"):
        await kept.perf_history("gpu1", "gpu0", T0, T0 + 1)


def test_unrolled_buckets_blocks_pruning_until_rollups_cover_raw_rows() -> None:
    samples = {"sys": [(T0, (1.0,)), (T0 + 60, (1.0,)), (T0 + 300, (1.0,))]}
    assert unrolled_buckets(samples, {}) == [("sys", int(T0)), ("sys", int(T0) + 300)]
    assert unrolled_buckets(samples, {("sys", int(T0)): 1, ("sys", int(T0) + 300): 1}) == [
        ("sys", int(T0))]
    assert unrolled_buckets(samples, {("sys", int(T0)): 2, ("sys", int(T0) + 300): 1}) == []


async def test_activity_events_and_captures_pruned_by_age(kept: HistoryStore) -> None:
    old, new = T0 - 31 * 86400, T0 - 29 * 86400
    kept.submit(activity("gpu1", record(1, at=old), record(2, at=new)))
    kept.submit(GapSuspected("gpu1", old, old - 60, old, "old gap"))
    kept.submit(GapSuspected("gpu1", new, new - 60, new, "new gap"))
    await kept.flush()
    await kept.store_capture("gpu1", 0, 2, StoredCapture(req_path="/v1/completions"))
    report = await kept.run_retention(now=T0)
    assert (report.activity_deleted, report.model_events_deleted) == (1, 1)
    # The capture was stored just now (wall clock), so it is young and stays.
    assert report.captures_deleted == 0
    assert [r.remote_id for _, r in await kept.activity_page()] == [2]
    gone = await kept.run_retention(now=T0 + 10 * 365 * 86400)
    assert gone.captures_deleted == 1
    assert await kept.load_capture("gpu1", 0, 2) is None
