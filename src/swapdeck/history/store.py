"""HistoryStore: the one SQLite file behind swapdeck's memory of its fleet.

The hub calls `submit(event)` for every event (synchronous, O(1): an append to a list);
a background writer flushes the buffer every `interval_s`, or sooner once it grows
large, as ONE transaction of executemany batches. `close()` stops the writer and flushes
what is left, so a clean stop loses nothing.

`submit` must be called from the event loop's thread (the hub's), like any asyncio API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from swapdeck.config import HistoryConfig
from swapdeck.events import ActivityRecord, HostEvent, Liveness, ModelInfo
from swapdeck.history import captures, queries, retention
from swapdeck.history.batch import (
    INSERT_GPU,
    INSERT_MODEL_EVENT,
    INSERT_SYS,
    UPSERT_HOST,
    RowBatch,
    WriterState,
    request_inserts,
    rows_for_events,
)
from swapdeck.history.database import Database, open_database
from swapdeck.history.rows import models_from_json
from swapdeck.history.values import HistoryError, PerfPoint, RetentionReport, StoredCapture
from swapdeck.sources.base import ResumePoint

log = logging.getLogger(__name__)

DEFAULT_CONFIG = HistoryConfig()

WAKE_AT_EVENTS = 10_000
"""Buffered events that wake the writer before its interval is up."""


class HistoryStore:
    def __init__(self, db: Database, config: HistoryConfig, state: WriterState) -> None:
        self._db = db
        self._config = config
        self._state = state
        self._buffer: list[HostEvent] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._writer: asyncio.Task[None] | None = None
        self._flushing: asyncio.Lock = asyncio.Lock()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(cls, path: Path, config: HistoryConfig = DEFAULT_CONFIG, *,
                   read_only: bool = False) -> HistoryStore:
        """Open the history file, creating and migrating it unless `read_only`.

        Read-only opens use a `mode=ro` URI: a TUI can attach to a collector's file while
        the collector keeps writing (WAL lets readers and the writer proceed together).
        """
        db = await open_database(path, read_only=read_only)
        try:
            state = WriterState() if read_only else await _load_writer_state(db)
        except BaseException:
            await db.close()
            raise
        return cls(db, config, state)

    async def close(self) -> None:
        """Stop the writer, flush everything buffered, close the file. Safe to call twice."""
        if self._closed:
            return
        self._stopping = True
        self._wake.set()
        try:
            writer, self._writer = self._writer, None
            if writer is not None:
                try:
                    await writer
                except Exception:
                    # A bug stopped the writer; its events are still buffered: flush them.
                    log.exception("history writer for %s stopped with an error", self.path)
            if not self._db.read_only:
                await self.flush()
        finally:
            self._closed = True
            await self._db.close()

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def read_only(self) -> bool:
        return self._db.read_only

    @property
    def pending(self) -> int:
        """Events submitted but not yet written."""
        return len(self._buffer)

    # ------------------------------------------------------------------ writing

    def submit(self, event: HostEvent) -> None:
        if self._db.read_only or self._closed:
            raise HistoryError(f"{self._db.label}: "
                               f"{'read-only' if self._db.read_only else 'closed'}, "
                               "cannot record events")
        self._buffer.append(event)
        if len(self._buffer) >= WAKE_AT_EVENTS:
            self._wake.set()

    async def flush(self) -> int:
        """Write everything buffered in one transaction; returns the rows inserted/updated.

        Duplicates (same host, epoch and remote id; same perf timestamp) are ignored by the
        database and not counted. If the write fails the events go back to the front of
        the buffer, so a later flush retries them.
        """
        if self._db.read_only:
            raise HistoryError(f"{self._db.label}: opened read-only, cannot write")
        # Shielded: a caller cancelled mid-flush must not leave a transaction half-done.
        return await asyncio.shield(self._flush_buffer())

    async def _flush_buffer(self) -> int:
        async with self._flushing:
            if not self._buffer:
                return 0
            events, self._buffer = self._buffer, []
            try:
                # Mapping is pure CPU work; off the loop, a big batch cannot stall the UI.
                batch, state = await asyncio.to_thread(rows_for_events, events, self._state)
                with self._db.errors("writing events"):
                    written = await self._write(batch)
            except BaseException:
                self._buffer[:0] = events
                raise
            self._state = state
            return written

    async def _write(self, batch: RowBatch) -> int:
        written = 0
        async with self._db.transaction() as conn:
            for sql, rows in (*request_inserts(batch.requests), (INSERT_SYS, batch.perf_sys),
                              (INSERT_GPU, batch.perf_gpu),
                              (INSERT_MODEL_EVENT, batch.model_events)):
                if rows:
                    cursor = await conn.executemany(sql, rows)
                    written += max(cursor.rowcount, 0)
            if batch.hosts:
                cursor = await conn.executemany(
                    UPSERT_HOST, [patch.row(host) for host, patch in batch.hosts.items()])
                written += max(cursor.rowcount, 0)
        return written

    def start_writer(self, interval_s: float = 0.5) -> None:
        if self._db.read_only:
            raise HistoryError(f"{self._db.label}: opened read-only, no writer to start")
        if interval_s <= 0:
            raise ValueError(f"writer interval must be positive, got {interval_s}")
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(
                self._write_loop(interval_s), name=f"history writer {self._db.path}")

    async def _write_loop(self, interval_s: float) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval_s)
            self._wake.clear()
            if self._stopping:
                return  # close() does the final flush
            try:
                await self.flush()
            except HistoryError as exc:
                # Events stay buffered; the next tick retries. One line, no traceback.
                log.warning("%s (will retry, %d events waiting)", exc, len(self._buffer))

    async def register_host(self, name: str, url: str) -> None:
        """Record a configured host's URL (any user:password part is dropped first)."""
        with self._db.errors("registering a host"):
            async with self._db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO hosts (name, url) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET url = excluded.url",
                    (name, strip_userinfo(url)))

    # ------------------------------------------------------------------ captures

    async def store_capture(self, host: str, epoch: int, remote_id: int,
                            capture: StoredCapture) -> None:
        """Store a capture (headers redacted again, bodies capped); evict oldest over the cap."""
        prepared = captures.prepare_capture(capture, self._config.capture_row_cap_kb * 1024)
        with self._db.errors("storing a capture"):
            async with self._db.transaction() as conn:
                await captures.insert_capture(conn, (host, epoch, remote_id), time.time(),
                                              prepared)
                await captures.enforce_total_cap(conn, self._config.capture_total_cap_mb
                                                 * 1024 * 1024)

    async def load_capture(self, host: str, epoch: int, remote_id: int) -> StoredCapture | None:
        with self._db.errors("reading a capture"):
            return await captures.select_capture(self._db.conn, (host, epoch, remote_id))

    # ------------------------------------------------------------------ reading

    async def resume_points(self) -> dict[str, ResumePoint]:
        with self._db.errors("reading resume points"):
            return await queries.resume_points(self._db.conn)

    async def rebuild_events(self, *, activity_limit: int = 500,
                             perf_window_s: float = 3600) -> list[HostEvent]:
        with self._db.errors("rebuilding the fleet picture"):
            return await queries.rebuild_events(self._db.conn, activity_limit, perf_window_s)

    async def activity_page(self, *, before: tuple[float, str, int, int] | None = None,
                            limit: int = 200, host: str | None = None, model: str | None = None,
                            errors_only: bool = False) -> list[tuple[str, ActivityRecord]]:
        with self._db.errors("reading activity"):
            return await queries.activity_page(self._db.conn, before=before, limit=limit,
                                               host=host, model=model, errors_only=errors_only)

    async def perf_history(self, host: str, series: str, since: float,
                           until: float) -> list[PerfPoint]:
        with self._db.errors("reading perf history"):
            return await queries.perf_history(self._db.conn, host, series, since, until)

    async def run_retention(self, now: float) -> RetentionReport:
        with self._db.errors("running retention"):
            return await retention.run_retention(self._db, self._config, now)


async def _load_writer_state(db: Database) -> WriterState:
    """Last liveness kind and model list per host, so mapping continues where it stopped."""
    liveness: dict[str, Liveness] = {}
    models: dict[str, tuple[ModelInfo, ...]] = {}
    with db.errors("loading host state"):
        rows = await db.conn.execute_fetchall("SELECT name, liveness, models_json FROM hosts")
    for name, kind, models_json in rows:
        if kind is not None:
            with contextlib.suppress(ValueError):
                liveness[name] = Liveness(kind)
        if models_json is not None:
            try:
                models[name] = models_from_json(models_json)
            except ValueError as exc:
                log.warning("history: host %s: ignoring its stored model list: %s", name, exc)
    return WriterState(liveness=liveness, models=models)


def strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
