"""Retention: roll raw perf up into 5-minute buckets, then prune what is past its keep.

Work happens in small transactions (one host and one hour window at a time, or a few
thousand rows) so the batched writer, which shares the connection's lock, waits at most
one chunk.

Why it is safe to run any number of times:
- raw perf rows are immutable once stored (INSERT OR IGNORE on (host, at[, gpu])), so a
  bucket's rollup is recomputed only when the bucket has gained raw rows since, and an
  identical recomputation is never written;
- raw rows are deleted a whole hour window at a time, only once the window is older than
  `raw_perf_retention_hours` and only if, inside the deleting transaction, every bucket
  with raw rows already has a committed rollup counting at least those rows;
- a rollup is never overwritten from fewer raw rows than it counted (raw rows gone).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite

from swapdeck.config import HistoryConfig
from swapdeck.history.captures import enforce_total_cap
from swapdeck.history.database import Database
from swapdeck.history.rollup import (
    GPU_METRICS,
    ROLLUP_VALUE_COLUMNS,
    SYS_METRICS,
    SYS_SERIES,
    Sample,
    bucket_of,
    gpu_series,
    rollup_row,
    rollup_samples,
)
from swapdeck.history.values import RetentionReport

WINDOW_S = 3600
PRUNE_CHUNK_ROWS = 5000

_UPSERT_ROLLUP = (
    f"INSERT OR REPLACE INTO perf_rollup_5m (host, series, bucket, count, "
    f"{', '.join(ROLLUP_VALUE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (4 + len(ROLLUP_VALUE_COLUMNS)))})"
)
_SYS_SAMPLE_SQL = (f"SELECT at, {', '.join(SYS_METRICS)} FROM perf_sys "
                   "WHERE host = ? AND at >= ? AND at < ? ORDER BY at")
_GPU_SAMPLE_SQL = (f"SELECT at, gpu_index, {', '.join(GPU_METRICS)} FROM perf_gpu "
                   "WHERE host = ? AND at >= ? AND at < ? ORDER BY at, gpu_index")


def window_of(at: float) -> int:
    return int(at // WINDOW_S) * WINDOW_S


async def run_retention(db: Database, config: HistoryConfig, now: float) -> RetentionReport:
    complete_before = bucket_of(now)  # buckets starting earlier have ended by `now`
    raw_cutoff = now - config.raw_perf_retention_hours * 3600
    kept_cutoff = now - config.activity_retention_days * 86400
    written = sys_deleted = gpu_deleted = 0
    for host in await _hosts(db.conn):
        window = await _next_window(db.conn, host, None)
        while window is not None and window < complete_before:
            end = window + WINDOW_S
            written += await _roll_window(db, host, window, min(end, complete_before))
            if end <= raw_cutoff:
                pruned = await _prune_window(db, host, window, end)
                sys_deleted += pruned[0]
                gpu_deleted += pruned[1]
            window = await _next_window(db.conn, host, end)
    activity = await _prune_older(db, "requests", "finished_at", kept_cutoff)
    model_events = await _prune_older(db, "model_events", "at", kept_cutoff)
    captures = await _prune_older(db, "captures", "stored_at", kept_cutoff)
    async with db.transaction() as conn:
        captures += await enforce_total_cap(conn, config.capture_total_cap_mb * 1024 * 1024)
    return RetentionReport(
        rollup_buckets_written=written, raw_sys_deleted=sys_deleted, raw_gpu_deleted=gpu_deleted,
        activity_deleted=activity, model_events_deleted=model_events, captures_deleted=captures,
    )


async def _hosts(conn: aiosqlite.Connection) -> list[str]:
    return [str(r[0]) for r in await conn.execute_fetchall("SELECT name FROM hosts ORDER BY name")]


async def _next_window(conn: aiosqlite.Connection, host: str, start: int | None) -> int | None:
    """The first hour window at or after `start` that holds raw rows of `host`."""
    lower = float("-inf") if start is None else float(start)
    found: list[float] = []
    for table in ("perf_sys", "perf_gpu"):
        rows = list(await conn.execute_fetchall(
            f"SELECT MIN(at) FROM {table} WHERE host = ? AND at >= ?", (host, lower)))
        if rows[0][0] is not None:
            found.append(float(rows[0][0]))
    return window_of(min(found)) if found else None


async def _raw_samples(conn: aiosqlite.Connection, host: str, lo: float,
                       hi: float) -> dict[str, list[Sample]]:
    """Raw samples per series in [lo, hi)."""
    series: dict[str, list[Sample]] = {}
    for row in await conn.execute_fetchall(_SYS_SAMPLE_SQL, (host, lo, hi)):
        series.setdefault(SYS_SERIES, []).append((float(row[0]), tuple(row[1:])))
    for row in await conn.execute_fetchall(_GPU_SAMPLE_SQL, (host, lo, hi)):
        series.setdefault(gpu_series(int(row[1])), []).append((float(row[0]), tuple(row[2:])))
    return series


async def _rollup_counts(conn: aiosqlite.Connection, host: str, lo: float,
                         hi: float) -> dict[tuple[str, int], int]:
    rows = await conn.execute_fetchall(
        "SELECT series, bucket, count FROM perf_rollup_5m "
        "WHERE host = ? AND bucket >= ? AND bucket < ?", (host, lo, hi))
    return {(str(r[0]), int(r[1])): int(r[2]) for r in rows}


async def _raw_counts(conn: aiosqlite.Connection, host: str, lo: float, hi: float) -> Counter[str]:
    counts: Counter[str] = Counter()
    sys_rows = list(await conn.execute_fetchall(
        "SELECT COUNT(*) FROM perf_sys WHERE host = ? AND at >= ? AND at < ?", (host, lo, hi)))
    if sys_rows[0][0]:
        counts[SYS_SERIES] = int(sys_rows[0][0])
    for row in await conn.execute_fetchall(
            "SELECT gpu_index, COUNT(*) FROM perf_gpu WHERE host = ? AND at >= ? AND at < ? "
            "GROUP BY gpu_index", (host, lo, hi)):
        counts[gpu_series(int(row[0]))] = int(row[1])
    return counts


def settled(raw: Counter[str], rolled: Mapping[tuple[str, int], int]) -> bool:
    """True when every raw row of the window is already counted by a rollup.

    Raw rows only accumulate until their window is pruned, so equal totals per series
    mean every bucket's rollup was computed from exactly today's raw rows.
    """
    totals: Counter[str] = Counter()
    for (series, _bucket), count in rolled.items():
        totals[series] += count
    return all(totals[series] >= count for series, count in raw.items())


def rollups_to_write(host: str, samples: Mapping[str, Sequence[Sample]],
                     existing: Mapping[tuple[str, int], int]) -> list[tuple[Any, ...]]:
    """Rows for buckets that gained raw rows since their rollup (or never had one)."""
    out: list[tuple[Any, ...]] = []
    for series, series_samples in sorted(samples.items()):
        metrics = SYS_METRICS if series == SYS_SERIES else GPU_METRICS
        for rollup in rollup_samples(series_samples, metrics):
            if rollup.count > existing.get((series, rollup.bucket), 0):
                out.append(rollup_row(host, series, rollup))
    return out


async def _roll_window(db: Database, host: str, lo: int, hi: int) -> int:
    raw = await _raw_counts(db.conn, host, lo, hi)
    if settled(raw, await _rollup_counts(db.conn, host, lo, hi)):
        return 0
    async with db.transaction() as conn:
        rows = rollups_to_write(host, await _raw_samples(conn, host, lo, hi),
                                await _rollup_counts(conn, host, lo, hi))
        await conn.executemany(_UPSERT_ROLLUP, rows)
    return len(rows)


def unrolled_buckets(samples: Mapping[str, Sequence[Sample]],
                     rolled: Mapping[tuple[str, int], int]) -> list[tuple[str, int]]:
    """(series, bucket) pairs whose raw rows are not all counted by a committed rollup."""
    raw: Counter[tuple[str, int]] = Counter()
    for series, series_samples in samples.items():
        for at, _readings in series_samples:
            raw[(series, bucket_of(at))] += 1
    return sorted(key for key, count in raw.items() if rolled.get(key, 0) < count)


async def _prune_window(db: Database, host: str, lo: int, hi: int) -> tuple[int, int]:
    async with db.transaction() as conn:
        if unrolled_buckets(await _raw_samples(conn, host, lo, hi),
                            await _rollup_counts(conn, host, lo, hi)):
            return 0, 0  # roll-up did not cover it (it will on a later pass): keep the raw rows
        sys_cursor = await conn.execute(
            "DELETE FROM perf_sys WHERE host = ? AND at >= ? AND at < ?", (host, lo, hi))
        gpu_cursor = await conn.execute(
            "DELETE FROM perf_gpu WHERE host = ? AND at >= ? AND at < ?", (host, lo, hi))
        return sys_cursor.rowcount, gpu_cursor.rowcount


async def _prune_older(db: Database, table: str, column: str, cutoff: float) -> int:
    """Delete rows with `column < cutoff`, a chunk per transaction, oldest first."""
    deleted = 0
    while True:
        async with db.transaction() as conn:
            cursor = await conn.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "
                f"WHERE {column} < ? ORDER BY {column} LIMIT ?)", (cutoff, PRUNE_CHUNK_ROWS))
            count = cursor.rowcount
        deleted += count
        if count < PRUNE_CHUNK_ROWS:
            return deleted
