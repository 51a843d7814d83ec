"""Reads: resume points, the rebuild picture, activity pages and perf series."""

from __future__ import annotations

from typing import Any

import aiosqlite

from swapdeck.events import ActivityRecord, ActivityRecorded, HostEvent, PerfSampled
from swapdeck.history.picture import HOST_PICTURE_COLUMNS, host_picture_events
from swapdeck.history.rollup import (
    BUCKET_S,
    ROLLUP_VALUE_COLUMNS,
    gpu_index_of,
    metrics_of,
    raw_point,
    rollup_from_row,
    rollup_point,
)
from swapdeck.history.rows import (
    ACTIVITY_COLUMNS,
    GPU_COLUMNS,
    SYS_COLUMNS,
    gpu_sample_from_row,
    record_from_row,
    sys_sample_from_row,
)
from swapdeck.history.values import PerfPoint
from swapdeck.sources.base import ResumePoint

MAX_PAGE = 5000
PageKey = tuple[float, str, int, int]
"""(finished_at, host, epoch, remote_id) of the last row of the previous page."""

_ACTIVITY_SELECT = f"SELECT {', '.join(ACTIVITY_COLUMNS)} FROM requests"
_NEWEST_FIRST = " ORDER BY finished_at DESC, host DESC, epoch DESC, remote_id DESC LIMIT ?"


async def resume_points(conn: aiosqlite.Connection) -> dict[str, ResumePoint]:
    rows = await conn.execute_fetchall(
        "SELECT name, activity_epoch, last_activity_id, last_activity_at, perf_watermark "
        "FROM hosts ORDER BY name")
    return {
        str(r[0]): ResumePoint(activity_epoch=int(r[1] or 0), last_activity_id=r[2],
                               last_activity_at=r[3], perf_watermark=r[4])
        for r in rows
    }


async def rebuild_events(conn: aiosqlite.Connection, activity_limit: int,
                         perf_window_s: float) -> list[HostEvent]:
    """Per host, in name order: versions, models, liveness, recent activity, recent perf.

    `activity_limit` is per host, so a quiet host keeps its last requests beside a busy
    one; the perf window ends at the host's own newest sample (no clock involved).
    """
    hosts = await conn.execute_fetchall(
        f"SELECT {', '.join(HOST_PICTURE_COLUMNS)}, perf_watermark FROM hosts ORDER BY name")
    events: list[HostEvent] = []
    for host_row in hosts:
        row = dict(zip((*HOST_PICTURE_COLUMNS, "perf_watermark"), host_row, strict=True))
        host = str(row["name"])
        events.extend(host_picture_events(row))
        if activity_limit > 0:
            recent = await conn.execute_fetchall(
                f"{_ACTIVITY_SELECT} WHERE host = ? "
                "ORDER BY finished_at DESC, epoch DESC, remote_id DESC LIMIT ?",
                (host, activity_limit))
            records = [record_from_row(r)[1] for r in recent]
            if records:
                records.reverse()
                events.append(ActivityRecorded(host=host, at=records[-1].finished_at,
                                               records=tuple(records)))
        watermark = row["perf_watermark"]
        if watermark is not None and perf_window_s > 0:
            perf = await _recent_perf(conn, host, float(watermark) - perf_window_s)
            if perf is not None:
                events.append(perf)
    return events


async def _recent_perf(conn: aiosqlite.Connection, host: str, since: float) -> PerfSampled | None:
    sys_rows = await conn.execute_fetchall(
        f"SELECT {', '.join(SYS_COLUMNS)} FROM perf_sys WHERE host = ? AND at >= ? ORDER BY at",
        (host, since))
    gpu_rows = await conn.execute_fetchall(
        f"SELECT {', '.join(GPU_COLUMNS)} FROM perf_gpu WHERE host = ? AND at >= ? "
        "ORDER BY at, gpu_index", (host, since))
    sys = tuple(sys_sample_from_row(r) for r in sys_rows)
    gpus = tuple(gpu_sample_from_row(r) for r in gpu_rows)
    if not sys and not gpus:
        return None
    newest = max([s.at for s in sys[-1:]] + [g.at for g in gpus[-1:]])
    return PerfSampled(host=host, at=newest, sys=sys, gpus=gpus)


async def activity_page(conn: aiosqlite.Connection, *, before: PageKey | None, limit: int,
                        host: str | None, model: str | None,
                        errors_only: bool) -> list[tuple[str, ActivityRecord]]:
    """Newest first; pass the last row's key as `before` for the next page (keyset)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"activity page limit must be 1..{MAX_PAGE}, got {limit}")
    where: list[str] = []
    params: list[Any] = []
    if host is not None:
        where.append("host = ?")
        params.append(host)
    if model is not None:
        where.append("model = ?")
        params.append(model)
    if errors_only:
        where.append("is_error = 1")
    if before is not None:
        where.append("(finished_at, host, epoch, remote_id) < (?, ?, ?, ?)")
        params.extend(before)
    sql = _ACTIVITY_SELECT + (" WHERE " + " AND ".join(where) if where else "") + _NEWEST_FIRST
    rows = await conn.execute_fetchall(sql, (*params, limit))
    return [record_from_row(r) for r in rows]


def page_key(host: str, record: ActivityRecord) -> PageKey:
    """The `before` key that continues after this row."""
    return (record.finished_at, host, record.epoch, record.remote_id)


async def perf_history(conn: aiosqlite.Connection, host: str, series: str, since: float,
                       until: float) -> list[PerfPoint]:
    """Points in [since, until], oldest first: rollups where raw rows are gone, raw after."""
    gpu = gpu_index_of(series)
    metrics = metrics_of(series)
    extra_params: tuple[int, ...] = ()
    if gpu is None:
        table, extra = "perf_sys", ""
    else:
        table, extra, extra_params = "perf_gpu", " AND gpu_index = ?", (gpu,)
    (first_raw,) = next(iter(await conn.execute_fetchall(
        f"SELECT MIN(at) FROM {table} WHERE host = ?{extra}", (host, *extra_params))))
    rollup_sql = (
        f"SELECT bucket, count, {', '.join(ROLLUP_VALUE_COLUMNS)} FROM perf_rollup_5m "
        "WHERE host = ? AND series = ? AND bucket > ? AND bucket <= ?"
        + ("" if first_raw is None else " AND bucket + ? <= ?") + " ORDER BY bucket")
    rollup_params: tuple[Any, ...] = (host, series, since - BUCKET_S, until)
    if first_raw is not None:
        rollup_params += (BUCKET_S, first_raw)
    points = [rollup_point(rollup_from_row(r))
              for r in await conn.execute_fetchall(rollup_sql, rollup_params)]
    raw_rows = await conn.execute_fetchall(
        f"SELECT at, {', '.join(metrics)} FROM {table} "
        f"WHERE host = ? AND at >= ? AND at <= ?{extra} ORDER BY at",
        (host, since, until, *extra_params))
    points.extend(raw_point(float(r[0]), metrics, r[1:]) for r in raw_rows)
    return points
