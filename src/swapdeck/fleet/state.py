"""The live picture of the fleet: a reducer from `HostEvent`s to per-host state.

`FleetState.apply(event)` is deterministic and does no I/O and reads no clock: the same
events in the same order always give the same state, which is what lets the history store
rebuild the picture on start by replaying events. It updates the host's state in place
rather than returning copies because the data plane must absorb tens of thousands of
events per second; every window it keeps is bounded, so memory is too.

Each host carries a monotonic `seq`, bumped once per applied event, so subscribers can
tell cheaply whether anything changed since they last looked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from swapdeck.events import (
    ActivityRecord,
    ActivityRecorded,
    EngineVersion,
    FrameRejected,
    GapSuspected,
    GpuSample,
    HostEvent,
    InflightCount,
    InflightRemoved,
    InflightRequest,
    InflightSnapshot,
    InflightUpsert,
    Liveness,
    LivenessChanged,
    LogLines,
    LogSource,
    ModelInfo,
    ModelsListed,
    ModelState,
    ModelStateChanged,
    PerfSampled,
    ProfileChanged,
    SysSample,
)

ACTIVITY_WINDOW = 2000
"""Finished requests kept per host in memory; older ones are paged in from SQLite."""
LOG_WINDOW = 2000
"""Lines kept per host and log source (the Logs screen's tail)."""
PERF_WINDOW = 720
"""Perf samples kept per series: one hour at llama-swap's 5 s cadence (§1.9)."""
GAP_WINDOW = 50


@dataclass(slots=True)
class ModelView:
    info: ModelInfo
    state_since: float | None = None
    """When the current state was first seen (None when only known from a full list)."""
    last_request_done: float | None = None
    """Completion time of the model's last request: llama-swap's TTL clock (§4)."""


@dataclass(slots=True)
class LogTail:
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_WINDOW))
    total: int = 0
    """Lines ever received, so a view can tell how many it has not shown yet."""


@dataclass(slots=True)
class HostState:
    name: str
    seq: int = 0
    liveness: Liveness = Liveness.RECONNECTING
    attempt: int = 0
    last_error: str = ""
    last_seen: float | None = None
    reconnects: int = 0
    swap_version: str | None = None
    engine_build: str | None = None
    engine_commit: str = ""
    models: dict[str, ModelView] = field(default_factory=dict)
    inflight: dict[str, InflightRequest] = field(default_factory=dict)
    inflight_total: int | None = None
    """Set by hosts that only report a count (v192..v234); None when the list is known."""
    activity: deque[ActivityRecord] = field(default_factory=lambda: deque(maxlen=ACTIVITY_WINDOW))
    requests_seen: int = 0
    errors_seen: int = 0
    logs: dict[str, LogTail] = field(default_factory=dict)
    sys_history: deque[SysSample] = field(default_factory=lambda: deque(maxlen=PERF_WINDOW))
    gpu_history: dict[int, deque[GpuSample]] = field(default_factory=dict)
    gaps: deque[GapSuspected] = field(default_factory=lambda: deque(maxlen=GAP_WINDOW))
    frames_rejected: int = 0
    profile: str | None = None

    @property
    def inflight_count(self) -> int:
        return self.inflight_total if self.inflight_total is not None else len(self.inflight)

    def inflight_for(self, model: str) -> int | None:
        """Requests in flight on `model`, or None where only a host total is known
        (v192..v234 hosts send `{"total":N}`, §2.2; an attached TUI reads only the count)."""
        if self.inflight_total is not None:
            return None
        return sum(1 for request in self.inflight.values() if request.model == model)

    def oldest_inflight_start(self) -> float | None:
        starts = [r.started_at for r in self.inflight.values() if r.started_at is not None]
        return min(starts) if starts else None

    @property
    def latest_sys(self) -> SysSample | None:
        return self.sys_history[-1] if self.sys_history else None

    def latest_gpus(self) -> list[GpuSample]:
        return [history[-1] for _, history in sorted(self.gpu_history.items()) if history]

    def log_key(self, source: LogSource, model: str = "") -> str:
        return log_key(source, model)


def log_key(source: LogSource, model: str = "") -> str:
    return f"model:{model}" if source is LogSource.MODEL else source.value


class FleetState:
    """Every host's live state, keyed by configured host name."""

    def __init__(self, host_names: Iterable[str] = ()) -> None:
        self.hosts: dict[str, HostState] = {name: HostState(name) for name in host_names}
        self.seq = 0

    def host(self, name: str) -> HostState:
        state = self.hosts.get(name)
        if state is None:
            state = self.hosts[name] = HostState(name)
        return state

    def apply(self, event: HostEvent) -> HostState:
        host = self.host(event.host)
        _APPLY[type(event)](host, event)
        host.seq += 1
        self.seq += 1
        return host

    def apply_all(self, events: Iterable[HostEvent]) -> None:
        for event in events:
            self.apply(event)


# --------------------------------------------------------------------------- reducers


def _models_listed(host: HostState, event: ModelsListed) -> None:
    previous = host.models
    models: dict[str, ModelView] = {}
    for info in event.models:
        old = previous.get(info.id)
        if old is None:
            models[info.id] = ModelView(info=info, state_since=None)
            continue
        since = old.state_since if old.info.state is info.state else event.at
        ttl = info.ttl_s if info.ttl_s is not None else old.info.ttl_s
        if ttl != info.ttl_s:
            info = _with_ttl(info, ttl)
        models[info.id] = ModelView(info=info, state_since=since,
                                    last_request_done=old.last_request_done)
    host.models = models


def _with_ttl(info: ModelInfo, ttl: int | None) -> ModelInfo:
    return ModelInfo(id=info.id, state=info.state, name=info.name, description=info.description,
                     unlisted=info.unlisted, peer_id=info.peer_id, aliases=info.aliases,
                     context_length=info.context_length, ttl_s=ttl)


def _model_state_changed(host: HostState, event: ModelStateChanged) -> None:
    view = host.models.get(event.model)
    if view is None:
        host.models[event.model] = ModelView(
            info=ModelInfo(id=event.model, state=event.new), state_since=event.at)
        return
    info = view.info
    view.info = ModelInfo(id=info.id, state=event.new, name=info.name,
                          description=info.description, unlisted=info.unlisted,
                          peer_id=info.peer_id, aliases=info.aliases,
                          context_length=info.context_length, ttl_s=info.ttl_s)
    view.state_since = event.at


def _activity_recorded(host: HostState, event: ActivityRecorded) -> None:
    for record in event.records:
        host.activity.append(record)
        host.requests_seen += 1
        if not record.ok:
            host.errors_seen += 1
        view = host.models.get(record.model)
        if view is not None and (view.last_request_done is None
                                 or record.finished_at > view.last_request_done):
            view.last_request_done = record.finished_at


def _inflight_snapshot(host: HostState, event: InflightSnapshot) -> None:
    host.inflight = {request.id: request for request in event.requests}
    host.inflight_total = None


def _inflight_upsert(host: HostState, event: InflightUpsert) -> None:
    host.inflight[event.request.id] = event.request
    host.inflight_total = None


def _inflight_removed(host: HostState, event: InflightRemoved) -> None:
    host.inflight.pop(event.request_id, None)


def _inflight_count(host: HostState, event: InflightCount) -> None:
    host.inflight.clear()
    host.inflight_total = event.total


def _log_lines(host: HostState, event: LogLines) -> None:
    key = log_key(event.source, event.model)
    tail = host.logs.get(key)
    if tail is None:
        tail = host.logs[key] = LogTail()
    tail.lines.extend(event.lines)
    tail.total += len(event.lines)


def _perf_sampled(host: HostState, event: PerfSampled) -> None:
    newest_sys = host.sys_history[-1].at if host.sys_history else float("-inf")
    for sample in event.sys:
        if sample.at > newest_sys:  # replay and live polling may overlap
            host.sys_history.append(sample)
            newest_sys = sample.at
    for gpu in event.gpus:
        history = host.gpu_history.get(gpu.index)
        if history is None:
            history = host.gpu_history[gpu.index] = deque(maxlen=PERF_WINDOW)
        if not history or gpu.at > history[-1].at:
            history.append(gpu)


def _engine_version(host: HostState, event: EngineVersion) -> None:
    if event.component == "llama-swap":
        host.swap_version = event.version
    else:
        host.engine_build = event.version
        host.engine_commit = event.commit


def _liveness_changed(host: HostState, event: LivenessChanged) -> None:
    if host.liveness is Liveness.CONNECTED and event.liveness is not Liveness.CONNECTED:
        host.reconnects += 1
    if event.liveness is not Liveness.CONNECTED:
        # Nothing in flight can be trusted once the stream is gone; the snapshot on
        # reconnect brings back what is really still running.
        host.inflight.clear()
        host.inflight_total = None
    host.liveness = event.liveness
    host.attempt = event.attempt
    host.last_error = event.last_error
    if event.last_seen is not None:
        host.last_seen = event.last_seen


def _gap_suspected(host: HostState, event: GapSuspected) -> None:
    host.gaps.append(event)


def _frame_rejected(host: HostState, event: FrameRejected) -> None:
    host.frames_rejected += 1


def _profile_changed(host: HostState, event: ProfileChanged) -> None:
    host.profile = event.active


_APPLY: dict[type, Callable[[HostState, Any], None]] = {
    ModelsListed: _models_listed,
    ModelStateChanged: _model_state_changed,
    ActivityRecorded: _activity_recorded,
    InflightSnapshot: _inflight_snapshot,
    InflightUpsert: _inflight_upsert,
    InflightRemoved: _inflight_removed,
    InflightCount: _inflight_count,
    LogLines: _log_lines,
    PerfSampled: _perf_sampled,
    EngineVersion: _engine_version,
    LivenessChanged: _liveness_changed,
    GapSuspected: _gap_suspected,
    FrameRejected: _frame_rejected,
    ProfileChanged: _profile_changed,
}


# --------------------------------------------------------------------------- derived views


def ttl_remaining(host: HostState, model: str, now: float) -> float | None:
    """Seconds until llama-swap's TTL unloads `model` (§4), or None when it will not.

    llama-swap stops a ready model once it has nothing in flight and
    `now - lastUse > ttl`, `lastUse` being the completion time of its last request. Before
    any request we count from when the model became ready. The countdown is frozen (None)
    while requests are in flight, because the TTL cannot fire then; where a host reports
    only a total, any request in flight freezes it.
    """
    view = host.models.get(model)
    if view is None or view.info.state is not ModelState.READY:
        return None
    ttl = view.info.ttl_s
    if not ttl or ttl <= 0:
        return None
    busy = host.inflight_for(model)
    if busy is None:  # only a host total: any request may be this model's
        busy = host.inflight_count
    if busy:
        return None
    anchors = [t for t in (view.last_request_done, view.state_since) if t is not None]
    if not anchors:
        return float(ttl)
    return max(0.0, ttl - (now - max(anchors)))
