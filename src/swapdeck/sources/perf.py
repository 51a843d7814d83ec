"""`GET /api/performance` (§1.9, v212+) -> `PerfSampled`.

`sys_stats` and `gpu_stats` are flat lists over the ring; `gpu_stats` mixes all GPUs, so
samples are grouped by GPU id (then time). Either list may be `null` when the ring is empty.
Disabled monitors answer 503 (`{"enabled":false}` v229+, `{"error":...}` before).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swapdeck.events import UNKNOWN, GpuSample, PerfSampled, SysSample
from swapdeck.sources.jsonfields import (
    FieldError,
    as_list,
    as_object,
    get_float,
    get_float_list,
    get_int,
    get_str,
)
from swapdeck.sources.timestamps import TimestampError, parse_rfc3339


@dataclass(frozen=True, slots=True)
class PerfBatch:
    event: PerfSampled | None
    """None when nothing newer than the watermark came back."""
    watermark: float | None
    watermark_text: str | None
    """The newest sample's timestamp exactly as the host wrote it, for the next `after`."""
    rejected: tuple[str, ...]


def parse_performance(host: str, raw: object, *, after: float | None) -> PerfBatch:
    """Samples strictly newer than `after` (the host filters too; this guards rounding)."""
    obj = as_object(raw, "/api/performance")
    rejected: list[str] = []
    newest: tuple[float, str] | None = None
    sys_samples: list[SysSample] = []
    for item in _rows(obj, "sys_stats"):
        try:
            at, text = _stamp(item)
            if after is None or at > after:
                sys_samples.append(_sys(item, at))
                newest = _newer(newest, at, text)
        except FieldError as exc:
            rejected.append(f"sys sample: {exc}")
    gpu_samples: list[GpuSample] = []
    for item in _rows(obj, "gpu_stats"):
        try:
            at, text = _stamp(item)
            if after is None or at > after:
                gpu_samples.append(_gpu(item, at))
                newest = _newer(newest, at, text)
        except FieldError as exc:
            rejected.append(f"gpu sample: {exc}")
    if newest is None:
        return PerfBatch(None, after, None, tuple(rejected))
    sys_samples.sort(key=lambda s: s.at)
    gpu_samples.sort(key=lambda g: (g.index, g.at))
    event = PerfSampled(host=host, at=newest[0], sys=tuple(sys_samples), gpus=tuple(gpu_samples))
    return PerfBatch(event, newest[0], newest[1], tuple(rejected))


def _rows(obj: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    raw = obj.get(key)
    if raw is None:
        return []
    return [as_object(item, key) for item in as_list(raw, key)]


def _stamp(item: Mapping[str, Any]) -> tuple[float, str]:
    text = get_str(item, "timestamp")
    try:
        return parse_rfc3339(text), text
    except TimestampError as exc:
        raise FieldError(f"timestamp: {exc}") from None


def _newer(current: tuple[float, str] | None, at: float, text: str) -> tuple[float, str]:
    return (at, text) if current is None or at > current[0] else current


def _sys(item: Mapping[str, Any], at: float) -> SysSample:
    return SysSample(
        at=at,
        cpu_util_per_core=get_float_list(item, "cpu_util_per_core"),
        mem_total_mb=get_float(item, "mem_total_mb"),
        mem_used_mb=get_float(item, "mem_used_mb"),
        swap_total_mb=get_float(item, "swap_total_mb", 0.0),
        swap_used_mb=get_float(item, "swap_used_mb", 0.0),
        load_avg_1=get_float(item, "load_avg_1", 0.0),
        load_avg_5=get_float(item, "load_avg_5", 0.0),
        load_avg_15=get_float(item, "load_avg_15", 0.0),
    )


def _gpu(item: Mapping[str, Any], at: float) -> GpuSample:
    unknown = float(UNKNOWN)
    return GpuSample(
        at=at,
        index=get_int(item, "id"),
        name=get_str(item, "name", ""),
        uuid=get_str(item, "uuid", ""),
        temp_c=get_float(item, "temp_c", unknown),
        util_pct=get_float(item, "gpu_util_pct", unknown),
        mem_util_pct=get_float(item, "mem_util_pct", unknown),
        mem_used_mb=get_float(item, "mem_used_mb", unknown),
        mem_total_mb=get_float(item, "mem_total_mb", unknown),
        power_w=get_float(item, "power_draw_w", unknown),
        fan_pct=get_float(item, "fan_speed_pct", unknown),
    )
