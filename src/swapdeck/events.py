"""The one event vocabulary every connector speaks.

Whatever the engine or llama-swap version, a connector turns what it reads into these
types; version quirks (double-encoded SSE envelopes, `metrics` arrays before v236,
`activity` ids after, flat records before v209, three `inflight` shapes) die inside
`swapdeck.sources`. Everything downstream — the fleet reducer, the history writer, the
TUI, the collector — sees only what is defined here.

Conventions:
- every event carries `host` (the configured host name) and `at` (unix seconds, UTC,
  when the fact happened on the host if the host says so, else when it was received);
- unknown numbers keep llama-swap's own sentinel `-1` (§3.1) and are never shown as 0;
- values are frozen, slotted dataclasses: cheap to build at tens of thousands per second
  and safe to share between the reducer, the writer and subscribers.

This module imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

UNKNOWN = -1
"""llama-swap's sentinel for a token count or rate it could not read (§3.1)."""


class Liveness(StrEnum):
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DOWN = "down"


class ModelState(StrEnum):
    """Process states of a llama-swap model (§4); `unknown` only from <=v217 hosts."""

    STOPPED = "stopped"
    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"
    SHUTDOWN = "shutdown"
    UNKNOWN = "unknown"
    PEER = "peer"  # peer models have an empty state on the wire (§2.2)

    @classmethod
    def parse(cls, raw: str) -> ModelState:
        if raw == "":
            return cls.PEER
        try:
            return cls(raw)
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_loaded(self) -> bool:
        """llama-swap's own notion (§1.2): any non-stopped process state."""
        return self in (ModelState.STARTING, ModelState.READY, ModelState.STOPPING)


class LogSource(StrEnum):
    PROXY = "proxy"
    UPSTREAM = "upstream"
    MODEL = "model"  # per-model log, `/logs/stream/<model>`; the model id travels beside it


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    state: ModelState
    name: str = ""
    description: str = ""
    unlisted: bool = False
    peer_id: str = ""
    aliases: tuple[str, ...] = ()
    context_length: int | None = None
    ttl_s: int | None = None
    """Configured TTL in seconds from `/running` (0 = never); None when the host does not say."""


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """One finished request (§3.1), normalised across the flat and nested record eras."""

    remote_id: int
    epoch: int
    """Bumped by the connector when the host's ids go backwards (restart or reload, §12):
    stored rows are unique per (host, epoch, remote_id)."""
    finished_at: float
    model: str
    req_path: str | None  # None before v209
    status_code: int | None  # None before v209 (only 200s were recorded then, §12)
    content_type: str | None
    cache_tokens: int
    input_tokens: int
    output_tokens: int
    prompt_tps: float
    decode_tps: float
    duration_ms: int
    has_capture: bool = False
    draft_tokens: int = UNKNOWN
    draft_accepted: int = UNKNOWN
    error_msg: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status_code is None or 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class InflightRequest:
    id: str
    model: str
    started_at: float | None = None
    req_path: str = ""
    method: str = ""
    remote_ip: str = ""
    user_agent: str = ""
    resp_bytes: int = 0
    elapsed_ms: int | None = None
    responding: bool = False
    """True once the upstream answered (non-empty `resp_headers`); False while queued/loading."""


@dataclass(frozen=True, slots=True)
class SysSample:
    at: float
    cpu_util_per_core: tuple[float, ...]
    mem_total_mb: float
    mem_used_mb: float
    swap_total_mb: float = 0.0
    swap_used_mb: float = 0.0
    load_avg_1: float = 0.0
    load_avg_5: float = 0.0
    load_avg_15: float = 0.0

    @property
    def cpu_util(self) -> float:
        cores = self.cpu_util_per_core
        return sum(cores) / len(cores) if cores else 0.0


@dataclass(frozen=True, slots=True)
class GpuSample:
    at: float
    index: int
    name: str
    uuid: str = ""
    temp_c: float = float(UNKNOWN)
    util_pct: float = float(UNKNOWN)
    mem_util_pct: float = float(UNKNOWN)
    mem_used_mb: float = float(UNKNOWN)
    mem_total_mb: float = float(UNKNOWN)
    power_w: float = float(UNKNOWN)
    fan_pct: float = float(UNKNOWN)


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class ModelsListed:
    """The host's full model list with states (SSE `modelStatus`, or `/running` + `/v1/models`)."""

    host: str
    at: float
    models: tuple[ModelInfo, ...]


@dataclass(frozen=True, slots=True)
class ModelStateChanged:
    host: str
    at: float
    model: str
    old: ModelState | None
    new: ModelState


@dataclass(frozen=True, slots=True)
class ActivityRecorded:
    """Finished requests, oldest first; a live update carries one, a reconcile many."""

    host: str
    at: float
    records: tuple[ActivityRecord, ...]


@dataclass(frozen=True, slots=True)
class InflightSnapshot:
    host: str
    at: float
    requests: tuple[InflightRequest, ...]


@dataclass(frozen=True, slots=True)
class InflightUpsert:
    host: str
    at: float
    request: InflightRequest


@dataclass(frozen=True, slots=True)
class InflightRemoved:
    host: str
    at: float
    request_id: str


@dataclass(frozen=True, slots=True)
class InflightCount:
    """v192..v234 hosts only say how many requests are in flight (§2.4)."""

    host: str
    at: float
    total: int


@dataclass(frozen=True, slots=True)
class LogLines:
    """Whole lines of one log source, assembled from arbitrary chunks (§2.2 `logData`)."""

    host: str
    at: float
    source: LogSource
    lines: tuple[str, ...]
    model: str = ""  # set when source is MODEL


@dataclass(frozen=True, slots=True)
class PerfSampled:
    host: str
    at: float
    sys: tuple[SysSample, ...]
    gpus: tuple[GpuSample, ...]


@dataclass(frozen=True, slots=True)
class EngineVersion:
    """What the host runs: `component` is `llama-swap` or `llama-server`."""

    host: str
    at: float
    component: str
    version: str
    commit: str = ""
    build_date: str = ""


@dataclass(frozen=True, slots=True)
class LivenessChanged:
    host: str
    at: float
    liveness: Liveness
    attempt: int = 0
    last_error: str = ""
    last_seen: float | None = None


@dataclass(frozen=True, slots=True)
class GapSuspected:
    """Records may be missing between `window_start` and `window_end` (unix seconds)."""

    host: str
    at: float
    window_start: float
    window_end: float
    reason: str


@dataclass(frozen=True, slots=True)
class FrameRejected:
    """A malformed frame or record was skipped; the stream lives on."""

    host: str
    at: float
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ProfileChanged:
    host: str
    at: float
    active: str | None


HostEvent = (
    ModelsListed
    | ModelStateChanged
    | ActivityRecorded
    | InflightSnapshot
    | InflightUpsert
    | InflightRemoved
    | InflightCount
    | LogLines
    | PerfSampled
    | EngineVersion
    | LivenessChanged
    | GapSuspected
    | FrameRejected
    | ProfileChanged
)
