"""The small values the history store hands out and takes in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class HistoryError(Exception):
    """A history problem a person can act on; the message names the database and the fault."""


@dataclass(frozen=True, slots=True)
class StoredCapture:
    """One request/response pair (§1.10 `/api/captures/{id}`), bodies already base64-decoded.

    `*_truncated` is True when a body was cut to `capture_row_cap_kb` on the way in.
    """

    req_path: str
    req_headers: Mapping[str, str] = field(default_factory=dict)
    resp_headers: Mapping[str, str] = field(default_factory=dict)
    req_body: bytes | None = None
    resp_body: bytes | None = None
    req_truncated: bool = False
    resp_truncated: bool = False


@dataclass(frozen=True, slots=True)
class PerfPoint:
    """One point of a perf series: a raw sample, or a 5-minute rollup where raw rows are gone.

    `avg` and `peak` map metric names (`cpu_pct`, `mem_used_mb`, `util_pct`, ...) to values;
    a metric the host could not read (-1 on the wire) is absent, never 0. For a raw sample
    both maps hold the sample's own values.
    """

    at: float
    """Sample time, or the bucket start for a rollup (unix seconds)."""
    resolution_s: float
    """0 for a raw sample, 300 for a 5-minute rollup."""
    samples: int
    avg: Mapping[str, float]
    peak: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one `run_retention` pass changed; all zeros when there was nothing to do."""

    rollup_buckets_written: int = 0
    raw_sys_deleted: int = 0
    raw_gpu_deleted: int = 0
    activity_deleted: int = 0
    model_events_deleted: int = 0
    captures_deleted: int = 0

    @property
    def changed_anything(self) -> bool:
        return any((self.rollup_buckets_written, self.raw_sys_deleted, self.raw_gpu_deleted,
                    self.activity_deleted, self.model_events_deleted, self.captures_deleted))
