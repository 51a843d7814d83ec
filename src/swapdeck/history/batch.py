"""Turning a buffer of events into the rows of one write transaction (pure).

`rows_for_events(events, state)` returns the rows and the writer's next state; the store
adopts that state only after the transaction commits, so a failed flush can be retried
with the same events and yields the same rows.

The hosts table gets one coalesced upsert per host per batch, however many events touched
it: the latest liveness, versions and model list win; activity and perf watermarks only
ever move forward.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from swapdeck.events import (
    ActivityRecorded,
    EngineVersion,
    FrameRejected,
    GapSuspected,
    HostEvent,
    InflightCount,
    InflightRemoved,
    InflightSnapshot,
    InflightUpsert,
    Liveness,
    LivenessChanged,
    ModelInfo,
    ModelsListed,
    ModelStateChanged,
    PerfSampled,
)
from swapdeck.history import rows
from swapdeck.history.rows import Row

LLAMA_SWAP = "llama-swap"


@dataclass(frozen=True, slots=True)
class WriterState:
    """What mapping needs to remember between batches (loaded from `hosts` on open)."""

    liveness: Mapping[str, Liveness] = field(default_factory=dict)
    """Last stored liveness kind per host: a model_events row is written only on change."""
    models: Mapping[str, tuple[ModelInfo, ...]] = field(default_factory=dict)
    """Last model list per host, so a lone ModelStateChanged keeps the stored list current."""
    inflight: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """In-flight request ids per host, folded from snapshots, upserts and removals."""


@dataclass(slots=True)
class HostPatch:
    """Columns of one hosts row to set; None leaves the stored value alone."""

    liveness: str | None = None
    liveness_at: float | None = None
    liveness_attempt: int | None = None
    last_seen: float | None = None
    last_error: str | None = None
    swap_version: str | None = None
    swap_commit: str | None = None
    swap_build_date: str | None = None
    swap_version_at: float | None = None
    engine_component: str | None = None
    engine_version: str | None = None
    engine_commit: str | None = None
    engine_build_date: str | None = None
    engine_version_at: float | None = None
    models_json: str | None = None
    models_at: float | None = None
    inflight_count: int | None = None
    inflight_at: float | None = None
    frames_rejected: int = 0
    """Added to the stored count."""
    activity_epoch: int | None = None
    last_activity_id: int | None = None
    last_activity_at: float | None = None
    perf_watermark: float | None = None

    def row(self, host: str) -> Row:
        return (host, *dataclasses.astuple(self))


HOST_PATCH_COLUMNS = tuple(f.name for f in dataclasses.fields(HostPatch))


@dataclass(slots=True)
class RowBatch:
    requests: list[Row] = field(default_factory=list)
    perf_sys: list[Row] = field(default_factory=list)
    perf_gpu: list[Row] = field(default_factory=list)
    model_events: list[Row] = field(default_factory=list)
    hosts: dict[str, HostPatch] = field(default_factory=dict)

    def host(self, name: str) -> HostPatch:
        patch = self.hosts.get(name)
        if patch is None:
            patch = self.hosts[name] = HostPatch()
        return patch

    @property
    def row_count(self) -> int:
        return (len(self.requests) + len(self.perf_sys) + len(self.perf_gpu)
                + len(self.model_events) + len(self.hosts))


def rows_for_events(events: Sequence[HostEvent],
                    state: WriterState) -> tuple[RowBatch, WriterState]:
    batch = RowBatch()
    liveness = dict(state.liveness)
    models = dict(state.models)
    inflight = dict(state.inflight)
    models_touched: dict[str, float] = {}
    inflight_touched: dict[str, float] = {}
    counted_inflight: dict[str, int] = {}

    for event in events:
        if isinstance(event, ActivityRecorded):
            _add_activity(batch, event)
        elif isinstance(event, PerfSampled):
            _add_perf(batch, event)
        elif isinstance(event, ModelStateChanged):
            batch.model_events.append(rows.model_state_row(event))
            models[event.host] = _with_state(models.get(event.host, ()), event)
            models_touched[event.host] = event.at
        elif isinstance(event, ModelsListed):
            models[event.host] = event.models
            models_touched[event.host] = event.at
        elif isinstance(event, LivenessChanged):
            change = rows.liveness_row(event, liveness.get(event.host))
            if change is not None:
                batch.model_events.append(change)
            liveness[event.host] = event.liveness
            _set_liveness(batch.host(event.host), event)
        elif isinstance(event, GapSuspected):
            batch.model_events.append(rows.gap_row(event))
        elif isinstance(event, EngineVersion):
            _set_version(batch.host(event.host), event)
        elif isinstance(event, FrameRejected):
            batch.host(event.host).frames_rejected += 1
        elif isinstance(event, InflightSnapshot | InflightUpsert | InflightRemoved):
            inflight[event.host] = _fold_inflight(inflight.get(event.host, frozenset()), event)
            counted_inflight.pop(event.host, None)
            inflight_touched[event.host] = event.at
        elif isinstance(event, InflightCount):
            # Hosts that only report a count (§2.4) have no ids to fold.
            inflight[event.host] = frozenset()
            counted_inflight[event.host] = event.total
            inflight_touched[event.host] = event.at
        # LogLines and ProfileChanged are live-only: nothing of them is kept.

    for host, at in models_touched.items():
        patch = batch.host(host)
        patch.models_json = rows.models_to_json(models[host])
        patch.models_at = at
    for host, at in inflight_touched.items():
        patch = batch.host(host)
        patch.inflight_count = counted_inflight.get(host, len(inflight[host]))
        patch.inflight_at = at
    return batch, WriterState(liveness=liveness, models=models, inflight=inflight)


def _add_activity(batch: RowBatch, event: ActivityRecorded) -> None:
    before = len(batch.requests)
    batch.requests.extend(rows.activity_rows(event.host, event.records))
    if len(batch.requests) == before:
        return
    patch = batch.host(event.host)
    for row in batch.requests[before:]:
        epoch, remote_id, finished_at = row[1], row[2], row[3]
        if (patch.activity_epoch is None or patch.last_activity_id is None
                or (epoch, remote_id) > (patch.activity_epoch, patch.last_activity_id)):
            patch.activity_epoch = epoch
            patch.last_activity_id = remote_id
            patch.last_activity_at = finished_at


def _add_perf(batch: RowBatch, event: PerfSampled) -> None:
    newest: float | None = None
    for s in event.sys:
        if rows.finite(s.at):
            batch.perf_sys.append(rows.sys_row(event.host, s))
            newest = s.at if newest is None else max(newest, s.at)
    for g in event.gpus:
        if rows.finite(g.at):
            batch.perf_gpu.append(rows.gpu_row(event.host, g))
            newest = g.at if newest is None else max(newest, g.at)
    if newest is not None:
        patch = batch.host(event.host)
        current = patch.perf_watermark
        patch.perf_watermark = newest if current is None else max(current, newest)


def _set_liveness(patch: HostPatch, event: LivenessChanged) -> None:
    patch.liveness = event.liveness.value
    patch.liveness_at = event.at
    patch.liveness_attempt = event.attempt
    patch.last_error = event.last_error
    if event.last_seen is not None:
        patch.last_seen = event.last_seen


def _set_version(patch: HostPatch, event: EngineVersion) -> None:
    if event.component == LLAMA_SWAP:
        patch.swap_version = event.version
        patch.swap_commit = event.commit
        patch.swap_build_date = event.build_date
        patch.swap_version_at = event.at
    else:
        patch.engine_component = event.component
        patch.engine_version = event.version
        patch.engine_commit = event.commit
        patch.engine_build_date = event.build_date
        patch.engine_version_at = event.at


def _with_state(models: tuple[ModelInfo, ...], event: ModelStateChanged) -> tuple[ModelInfo, ...]:
    if not any(m.id == event.model for m in models):
        return (*models, ModelInfo(id=event.model, state=event.new))
    return tuple(dataclasses.replace(m, state=event.new) if m.id == event.model else m
                 for m in models)


def _fold_inflight(ids: frozenset[str],
                   event: InflightSnapshot | InflightUpsert | InflightRemoved) -> frozenset[str]:
    if isinstance(event, InflightSnapshot):
        return frozenset(r.id for r in event.requests)
    if isinstance(event, InflightUpsert):
        return ids | {event.request.id}
    return ids - {event.request_id}


# --------------------------------------------------------------------------- statements

INSERT_REQUEST = (
    f"INSERT OR IGNORE INTO requests ({', '.join(rows.ACTIVITY_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(rows.ACTIVITY_COLUMNS))})"
)

REQUESTS_PER_INSERT = 40
"""Activity rows per INSERT in `request_inserts`. One statement per row spent about a third
of the write on running the statement (benchmarks/ingest.py); 40 rows of 20 columns are
800 parameters, under the 999 that SQLite builds before 3.32 allow."""

INSERT_REQUESTS = (
    f"INSERT OR IGNORE INTO requests ({', '.join(rows.ACTIVITY_COLUMNS)}) VALUES "
    + ", ".join([f"({', '.join('?' * len(rows.ACTIVITY_COLUMNS))})"] * REQUESTS_PER_INSERT)
)


def request_inserts(requests: Sequence[Row]) -> list[tuple[str, list[Row]]]:
    """(statement, parameter sets) pairs for `executemany` that insert `requests` in order.

    Whole groups of REQUESTS_PER_INSERT rows go as one multi-row INSERT each, the rest one
    row per statement. Same rows, same order, same OR IGNORE: only fewer statements.
    """
    whole = len(requests) - len(requests) % REQUESTS_PER_INSERT
    plan: list[tuple[str, list[Row]]] = []
    if whole:
        plan.append((INSERT_REQUESTS, [
            tuple(itertools.chain.from_iterable(requests[start:start + REQUESTS_PER_INSERT]))
            for start in range(0, whole, REQUESTS_PER_INSERT)
        ]))
    if whole < len(requests):
        plan.append((INSERT_REQUEST, list(requests[whole:])))
    return plan
INSERT_SYS = (
    f"INSERT OR IGNORE INTO perf_sys ({', '.join(rows.SYS_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(rows.SYS_COLUMNS))})"
)
INSERT_GPU = (
    f"INSERT OR IGNORE INTO perf_gpu ({', '.join(rows.GPU_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(rows.GPU_COLUMNS))})"
)
INSERT_MODEL_EVENT = (
    f"INSERT INTO model_events ({', '.join(rows.MODEL_EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(rows.MODEL_EVENT_COLUMNS))})"
)

_NEWER_ACTIVITY = (
    "(excluded.activity_epoch IS NOT NULL AND (activity_epoch IS NULL"
    " OR excluded.activity_epoch > activity_epoch"
    " OR (excluded.activity_epoch = activity_epoch"
    " AND excluded.last_activity_id > last_activity_id)))"
)
_SPECIAL_UPDATES = {
    "frames_rejected": "frames_rejected + excluded.frames_rejected",
    "activity_epoch": f"CASE WHEN {_NEWER_ACTIVITY} THEN excluded.activity_epoch "
                      "ELSE activity_epoch END",
    "last_activity_id": f"CASE WHEN {_NEWER_ACTIVITY} THEN excluded.last_activity_id "
                        "ELSE last_activity_id END",
    "last_activity_at": f"CASE WHEN {_NEWER_ACTIVITY} THEN excluded.last_activity_at "
                        "ELSE last_activity_at END",
    "perf_watermark": "max(COALESCE(excluded.perf_watermark, perf_watermark), "
                      "COALESCE(perf_watermark, excluded.perf_watermark))",
}
# In an upsert's SET list every bare column name reads the row as it was before the update.
UPSERT_HOST = (
    f"INSERT INTO hosts (name, {', '.join(HOST_PATCH_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (len(HOST_PATCH_COLUMNS) + 1))}) "
    "ON CONFLICT (name) DO UPDATE SET "
    + ", ".join(
        f"{c} = {_SPECIAL_UPDATES.get(c, f'COALESCE(excluded.{c}, {c})')}"
        for c in HOST_PATCH_COLUMNS
    )
)
