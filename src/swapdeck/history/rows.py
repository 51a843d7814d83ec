"""Pure translations between event values and SQLite rows, both ways.

Row tuples follow the column orders declared here, which the INSERT statements in
`batch.py` and the SELECTs in `queries.py` share. Nothing here touches a database.

Unknown readings keep llama-swap's `-1` sentinel (§3.1) in the activity columns, where
the wire has it too, but become NULL in perf columns so SQL averages skip them; reading a
perf row back turns NULL into `-1` again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from swapdeck.events import (
    UNKNOWN,
    ActivityRecord,
    GapSuspected,
    GpuSample,
    Liveness,
    LivenessChanged,
    ModelInfo,
    ModelState,
    ModelStateChanged,
    SysSample,
)

Row = tuple[Any, ...]

ACTIVITY_COLUMNS = (
    "host", "epoch", "remote_id", "finished_at", "model", "req_path", "status_code",
    "content_type", "cache_tokens", "input_tokens", "output_tokens", "prompt_tps",
    "decode_tps", "duration_ms", "has_capture", "draft_tokens", "draft_accepted",
    "error_msg", "metadata", "is_error",
)
SYS_COLUMNS = (
    "host", "at", "cpu_pct", "cpu_per_core", "mem_used_mb", "mem_total_mb", "swap_used_mb",
    "swap_total_mb", "load_avg_1", "load_avg_5", "load_avg_15",
)
GPU_COLUMNS = (
    "host", "at", "gpu_index", "name", "uuid", "util_pct", "mem_util_pct", "mem_used_mb",
    "mem_total_mb", "temp_c", "power_w", "fan_pct",
)
MODEL_EVENT_COLUMNS = ("host", "at", "kind", "model", "old", "new", "window_start",
                       "window_end", "detail")

KIND_STATE = "state"
KIND_GAP = "gap_suspected"
KIND_LIVENESS = "liveness"


def finite(value: float) -> bool:
    return math.isfinite(value)


def known(value: float) -> float | None:
    """A perf reading for storage: NULL for the -1 sentinel and for NaN/inf."""
    if value == UNKNOWN or not math.isfinite(value):
        return None
    return value


def unknown_if_null(value: float | None) -> float:
    return float(UNKNOWN) if value is None else float(value)


# --------------------------------------------------------------------------- activity


def is_error_status(status_code: int | None) -> bool:
    """The same notion as `ActivityRecord.ok`: before v209 there is no status (§12)."""
    return status_code is not None and not 200 <= status_code < 300


def activity_rows(host: str, records: Sequence[ActivityRecord]) -> Iterator[Row]:
    """Rows for `requests`, skipping a record whose finish time is not a real number."""
    for r in records:
        if not math.isfinite(r.finished_at):
            continue
        yield (
            host, r.epoch, r.remote_id, r.finished_at, r.model, r.req_path, r.status_code,
            r.content_type, r.cache_tokens, r.input_tokens, r.output_tokens,
            r.prompt_tps if math.isfinite(r.prompt_tps) else float(UNKNOWN),
            r.decode_tps if math.isfinite(r.decode_tps) else float(UNKNOWN),
            r.duration_ms, int(r.has_capture), r.draft_tokens, r.draft_accepted, r.error_msg,
            json.dumps(dict(r.metadata), sort_keys=True) if r.metadata else None,
            int(is_error_status(r.status_code)),
        )


def record_from_row(row: Sequence[Any]) -> tuple[str, ActivityRecord]:
    """(host, record) from a `requests` row selected in ACTIVITY_COLUMNS order."""
    metadata: dict[str, str] = json.loads(row[18]) if row[18] else {}
    return row[0], ActivityRecord(
        remote_id=row[2], epoch=row[1], finished_at=row[3], model=row[4], req_path=row[5],
        status_code=row[6], content_type=row[7], cache_tokens=row[8], input_tokens=row[9],
        output_tokens=row[10], prompt_tps=row[11], decode_tps=row[12], duration_ms=row[13],
        has_capture=bool(row[14]), draft_tokens=row[15], draft_accepted=row[16],
        error_msg=row[17], metadata=metadata,
    )


# --------------------------------------------------------------------------- perf


def sys_row(host: str, s: SysSample) -> Row:
    return (
        host, s.at, known(s.cpu_util) if s.cpu_util_per_core else None,
        json.dumps(list(s.cpu_util_per_core)), known(s.mem_used_mb), known(s.mem_total_mb),
        known(s.swap_used_mb), known(s.swap_total_mb), known(s.load_avg_1),
        known(s.load_avg_5), known(s.load_avg_15),
    )


def sys_sample_from_row(row: Sequence[Any]) -> SysSample:
    """A SysSample from a `perf_sys` row selected in SYS_COLUMNS order (host ignored)."""
    return SysSample(
        at=row[1], cpu_util_per_core=tuple(json.loads(row[3])),
        mem_used_mb=unknown_if_null(row[4]), mem_total_mb=unknown_if_null(row[5]),
        swap_used_mb=unknown_if_null(row[6]), swap_total_mb=unknown_if_null(row[7]),
        load_avg_1=unknown_if_null(row[8]), load_avg_5=unknown_if_null(row[9]),
        load_avg_15=unknown_if_null(row[10]),
    )


def gpu_row(host: str, g: GpuSample) -> Row:
    return (
        host, g.at, g.index, g.name, g.uuid, known(g.util_pct), known(g.mem_util_pct),
        known(g.mem_used_mb), known(g.mem_total_mb), known(g.temp_c), known(g.power_w),
        known(g.fan_pct),
    )


def gpu_sample_from_row(row: Sequence[Any]) -> GpuSample:
    """A GpuSample from a `perf_gpu` row selected in GPU_COLUMNS order (host ignored)."""
    return GpuSample(
        at=row[1], index=row[2], name=row[3], uuid=row[4], util_pct=unknown_if_null(row[5]),
        mem_util_pct=unknown_if_null(row[6]), mem_used_mb=unknown_if_null(row[7]),
        mem_total_mb=unknown_if_null(row[8]), temp_c=unknown_if_null(row[9]),
        power_w=unknown_if_null(row[10]), fan_pct=unknown_if_null(row[11]),
    )


# --------------------------------------------------------------------------- model events


def model_state_row(e: ModelStateChanged) -> Row:
    return (e.host, e.at, KIND_STATE, e.model, e.old.value if e.old else None, e.new.value,
            None, None, "")


def gap_row(e: GapSuspected) -> Row:
    return (e.host, e.at, KIND_GAP, None, None, None, e.window_start, e.window_end, e.reason)


def liveness_row(e: LivenessChanged, previous: Liveness | None) -> Row | None:
    """A row only when the liveness kind changes; reconnect attempts alone are not events."""
    if previous == e.liveness:
        return None
    return (e.host, e.at, KIND_LIVENESS, None, previous.value if previous else None,
            e.liveness.value, None, None, e.last_error)


# --------------------------------------------------------------------------- model lists


def models_to_json(models: Sequence[ModelInfo]) -> str:
    return json.dumps([
        {"id": m.id, "state": m.state.value, "name": m.name, "description": m.description,
         "unlisted": m.unlisted, "peer_id": m.peer_id, "aliases": list(m.aliases),
         "context_length": m.context_length, "ttl_s": m.ttl_s}
        for m in models
    ], separators=(",", ":"))


def models_from_json(text: str) -> tuple[ModelInfo, ...]:
    """Inverse of models_to_json; raises ValueError (json or key errors) on a damaged list."""
    try:
        items: list[Mapping[str, Any]] = json.loads(text)
        return tuple(
            ModelInfo(id=str(i["id"]), state=ModelState.parse(str(i["state"])),
                      name=str(i["name"]), description=str(i["description"]),
                      unlisted=bool(i["unlisted"]), peer_id=str(i["peer_id"]),
                      aliases=tuple(str(a) for a in i["aliases"]),
                      context_length=i["context_length"], ttl_s=i["ttl_s"])
            for i in items
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"damaged model list ({exc!r})") from None
