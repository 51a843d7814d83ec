"""HistoryFollower: a connector-like source that reads a collector's history file instead of
a host, for a TUI attached read-only beside a running collector.

`start()` reads, in one read transaction (a consistent WAL snapshot), the picture a
restarted swapdeck would rebuild *and* where each table ended; each `poll()` then turns
only the rows written since into the events the TUI's reducer already understands:

  requests          → ActivityRecorded    (by rowid: rows are only ever appended)
  perf_sys/perf_gpu → PerfSampled         (per host, past its newest sample seen)
  model_events      → ModelStateChanged, GapSuspected
  hosts             → ModelsListed, LivenessChanged, EngineVersion, InflightCount,
                      FrameRejected       (a column that changed since the last poll)

Reading never blocks the collector: WAL readers and the writer proceed together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from swapdeck.events import (
    ActivityRecord,
    ActivityRecorded,
    EngineVersion,
    FrameRejected,
    GapSuspected,
    HostEvent,
    InflightCount,
    LivenessChanged,
    ModelsListed,
    ModelState,
    ModelStateChanged,
    PerfSampled,
)
from swapdeck.history.database import Database
from swapdeck.history.picture import HOST_PICTURE_COLUMNS, host_picture_events
from swapdeck.history.queries import rebuild_events
from swapdeck.history.rows import (
    ACTIVITY_COLUMNS,
    GPU_COLUMNS,
    KIND_GAP,
    KIND_STATE,
    MODEL_EVENT_COLUMNS,
    SYS_COLUMNS,
    gpu_sample_from_row,
    record_from_row,
    sys_sample_from_row,
)
from swapdeck.history.values import HistoryError
from swapdeck.sources.base import Emit

log = logging.getLogger(__name__)

ROWS_PER_POLL = 5000
"""Rows read per table per poll; a backlog is read over the next polls, oldest first."""
MAX_FRAME_EVENTS = 100
"""Rejected frames are stored as a count; at most this many events stand for one jump."""
REBUILD_ACTIVITY = 500
REBUILD_PERF_S = 3600.0

_HOST_COLUMNS = (*HOST_PICTURE_COLUMNS, "perf_watermark", "inflight_count", "inflight_at",
                 "frames_rejected")
_LIVENESS_COLUMNS = ("liveness", "liveness_at", "liveness_attempt", "last_error", "last_seen")
_VERSION_COLUMNS = ("swap_version", "swap_version_at", "engine_version", "engine_version_at")
_MODEL_COLUMNS = ("models_json", "models_at")
_INFLIGHT_COLUMNS = ("inflight_count", "inflight_at")


@dataclass(slots=True)
class _Marks:
    """Where each table ended in the last snapshot read."""

    request_id: int = 0
    model_event_id: int = 0
    sys_at: dict[str, float] = field(default_factory=dict)
    gpu_at: dict[str, float] = field(default_factory=dict)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)


class HistoryFollower:
    def __init__(self, db: Database, hosts: Iterable[str]) -> None:
        if not db.read_only:
            raise ValueError("HistoryFollower reads; open the database read-only")
        self._db = db
        self._hosts = frozenset(hosts)
        self._marks = _Marks()
        self.more = False
        """The last poll hit ROWS_PER_POLL somewhere: poll again without waiting."""

    async def start(self) -> list[HostEvent]:
        """The rebuilt picture, and every table's end noted so `poll` continues from it."""
        with self._db.errors("attaching to the collector's history"):
            async with self._snapshot() as conn:
                marks = _Marks()
                marks.request_id = await _max_id(conn, "requests")
                marks.model_event_id = await _max_id(conn, "model_events")
                for host in sorted(self._hosts):
                    marks.sys_at[host] = await _newest(conn, "perf_sys", host)
                    marks.gpu_at[host] = await _newest(conn, "perf_gpu", host)
                rows = await self._host_rows(conn)
                events = [e for e in await rebuild_events(conn, REBUILD_ACTIVITY,
                                                          REBUILD_PERF_S)
                          if e.host in self._hosts]
        for host, row in rows.items():
            marks.hosts[host] = row
            if row["inflight_count"] is not None:
                events.append(InflightCount(host=host, at=float(row["inflight_at"]),
                                            total=int(row["inflight_count"])))
        self._marks = marks
        return events

    async def poll(self) -> list[HostEvent]:
        """Events for everything written since the last `start` or `poll`, oldest first."""
        marks = self._marks
        with self._db.errors("following the collector's history"):
            async with self._snapshot() as conn:
                model_rows = list(await conn.execute_fetchall(
                    f"SELECT id, {', '.join(MODEL_EVENT_COLUMNS)} FROM model_events "
                    "WHERE id > ? ORDER BY id LIMIT ?", (marks.model_event_id, ROWS_PER_POLL)))
                host_rows = await self._host_rows(conn)
                request_rows = list(await conn.execute_fetchall(
                    f"SELECT id, {', '.join(ACTIVITY_COLUMNS)} FROM requests "
                    "WHERE id > ? ORDER BY id LIMIT ?", (marks.request_id, ROWS_PER_POLL)))
                perf = await self._perf(conn, host_rows)
        self.more = ROWS_PER_POLL in (len(model_rows), len(request_rows))
        events: list[HostEvent] = []
        if model_rows:
            marks.model_event_id = int(model_rows[-1][0])
            events.extend(self._model_events(model_rows))
        for host, row in host_rows.items():
            events.extend(_host_changes(host, marks.hosts.get(host), row))
            marks.hosts[host] = row
        if request_rows:
            marks.request_id = int(request_rows[-1][0])
            events.extend(self._activity(request_rows))
        events.extend(perf)
        return events

    async def run(self, emit: Emit, interval_s: float) -> None:
        """Poll until cancelled; a failed read is said once and retried on the next tick."""
        failing = ""
        while True:
            try:
                events = await self.poll()
            except HistoryError as exc:
                if str(exc) != failing:
                    log.warning("%s (retrying every %.0f s)", exc, interval_s)
                failing = str(exc)
            else:
                failing = ""
                for event in events:
                    emit(event)
                if self.more:
                    await asyncio.sleep(0)
                    continue
            await asyncio.sleep(interval_s)

    # ------------------------------------------------------------------ reading

    def _snapshot(self) -> _ReadTransaction:
        return _ReadTransaction(self._db.conn)

    async def _host_rows(self, conn: aiosqlite.Connection) -> dict[str, dict[str, Any]]:
        rows = await conn.execute_fetchall(f"SELECT {', '.join(_HOST_COLUMNS)} FROM hosts")
        found = (dict(zip(_HOST_COLUMNS, r, strict=True)) for r in rows)
        return {str(row["name"]): row for row in found if row["name"] in self._hosts}

    async def _perf(self, conn: aiosqlite.Connection,
                    host_rows: dict[str, dict[str, Any]]) -> list[HostEvent]:
        """New samples of hosts whose perf watermark moved (the writer keeps it current)."""
        marks = self._marks
        events: list[HostEvent] = []
        for host, row in host_rows.items():
            previous = marks.hosts.get(host, {}).get("perf_watermark")
            if row["perf_watermark"] is None or row["perf_watermark"] == previous:
                continue
            since_sys = marks.sys_at.get(host, float("-inf"))
            since_gpu = marks.gpu_at.get(host, float("-inf"))
            sys_rows = await conn.execute_fetchall(
                f"SELECT {', '.join(SYS_COLUMNS)} FROM perf_sys WHERE host = ? AND at > ? "
                "ORDER BY at", (host, since_sys))
            gpu_rows = await conn.execute_fetchall(
                f"SELECT {', '.join(GPU_COLUMNS)} FROM perf_gpu WHERE host = ? AND at > ? "
                "ORDER BY at, gpu_index", (host, since_gpu))
            sys = tuple(sys_sample_from_row(r) for r in sys_rows)
            gpus = tuple(gpu_sample_from_row(r) for r in gpu_rows)
            if sys:
                marks.sys_at[host] = sys[-1].at
            if gpus:
                marks.gpu_at[host] = max(g.at for g in gpus)
            if sys or gpus:
                newest = max([s.at for s in sys[-1:]] + [g.at for g in gpus])
                events.append(PerfSampled(host=host, at=newest, sys=sys, gpus=gpus))
        return events

    # ------------------------------------------------------------------ rows → events

    def _model_events(self, rows: Iterable[Sequence[Any]]) -> list[HostEvent]:
        events: list[HostEvent] = []
        for row in rows:
            host, at, kind, model, old, new, start, end, detail = row[1:]
            if host not in self._hosts:
                continue
            if kind == KIND_STATE and model is not None and new is not None:
                events.append(ModelStateChanged(
                    host=host, at=float(at), model=str(model),
                    old=None if old is None else ModelState.parse(str(old)),
                    new=ModelState.parse(str(new))))
            elif kind == KIND_GAP and start is not None and end is not None:
                events.append(GapSuspected(host=host, at=float(at), window_start=float(start),
                                           window_end=float(end), reason=str(detail)))
            # liveness rows: the hosts table carries the current liveness with its details
        return events

    def _activity(self, rows: Iterable[Sequence[Any]]) -> list[HostEvent]:
        by_host: dict[str, list[ActivityRecord]] = {}
        for row in rows:
            host, record = record_from_row(row[1:])
            if host in self._hosts:
                by_host.setdefault(host, []).append(record)
        return [ActivityRecorded(host=host, at=records[-1].finished_at, records=tuple(records))
                for host, records in by_host.items()]


def _host_changes(host: str, before: dict[str, Any] | None,
                  after: dict[str, Any]) -> list[HostEvent]:
    """Events for the columns of a hosts row that changed between two polls."""
    def changed(columns: tuple[str, ...]) -> bool:
        return before is None or any(before[c] != after[c] for c in columns)

    events: list[HostEvent] = []
    for event in host_picture_events(after):
        if ((isinstance(event, EngineVersion) and changed(_VERSION_COLUMNS))
                or (isinstance(event, ModelsListed) and changed(_MODEL_COLUMNS))
                or (isinstance(event, LivenessChanged) and changed(_LIVENESS_COLUMNS))):
            events.append(event)
    if after["inflight_count"] is not None and changed(_INFLIGHT_COLUMNS):
        events.append(InflightCount(host=host, at=float(after["inflight_at"]),
                                    total=int(after["inflight_count"])))
    if before is not None:
        rejected = int(after["frames_rejected"] or 0) - int(before["frames_rejected"] or 0)
        # The count has no time of its own: the row's newest timestamp is the best bound.
        stamps = [after[c] for c in ("liveness_at", "models_at", "inflight_at",
                                     "perf_watermark") if after[c] is not None]
        at = float(max(stamps)) if stamps else 0.0
        events.extend(FrameRejected(host=host, at=at, reason="rejected by the collector")
                      for _ in range(min(max(rejected, 0), MAX_FRAME_EVENTS)))
    return events


async def _max_id(conn: aiosqlite.Connection, table: str) -> int:
    rows = list(await conn.execute_fetchall(f"SELECT MAX(id) FROM {table}"))
    return int(rows[0][0] or 0)


async def _newest(conn: aiosqlite.Connection, table: str, host: str) -> float:
    rows = list(await conn.execute_fetchall(f"SELECT MAX(at) FROM {table} WHERE host = ?",
                                            (host,)))
    value = rows[0][0]
    return float("-inf") if value is None else float(value)


class _ReadTransaction:
    """BEGIN … COMMIT around a group of reads: one consistent snapshot of the WAL."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def __aenter__(self) -> aiosqlite.Connection:
        await self._conn.execute("BEGIN")
        return self._conn

    async def __aexit__(self, *exc: object) -> None:
        if self._conn.in_transaction:
            await self._conn.execute("COMMIT")
