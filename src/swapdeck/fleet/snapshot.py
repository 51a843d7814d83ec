"""A plain-data picture of the fleet, for `swapdeck status --json` and other scripts.

Pure: state and `now` in, JSON-ready dicts out. Unknown values stay `null`, never 0.
"""

from __future__ import annotations

from typing import Any

from swapdeck.events import UNKNOWN, ActivityRecord, GpuSample, SysSample
from swapdeck.fleet.state import FleetState, HostState, ttl_remaining

SCHEMA_VERSION = 1


def _known(value: float) -> float | None:
    return None if value == UNKNOWN else value


def activity_dict(record: ActivityRecord) -> dict[str, Any]:
    return {
        "id": record.remote_id,
        "epoch": record.epoch,
        "finished_at": record.finished_at,
        "model": record.model,
        "path": record.req_path,
        "status": record.status_code,
        "cached_tokens": _known(record.cache_tokens),
        "prompt_tokens": record.input_tokens,
        "generated_tokens": record.output_tokens,
        "prefill_tps": _known(record.prompt_tps),
        "decode_tps": _known(record.decode_tps),
        "duration_ms": record.duration_ms,
        "error": record.error_msg or None,
    }


def gpu_dict(sample: GpuSample) -> dict[str, Any]:
    return {
        "index": sample.index,
        "name": sample.name,
        "at": sample.at,
        "util_pct": _known(sample.util_pct),
        "mem_used_mb": _known(sample.mem_used_mb),
        "mem_total_mb": _known(sample.mem_total_mb),
        "temp_c": _known(sample.temp_c),
        "power_w": _known(sample.power_w),
    }


def sys_dict(sample: SysSample) -> dict[str, Any]:
    return {
        "at": sample.at,
        "cpu_util_pct": round(sample.cpu_util, 1),
        "mem_used_mb": sample.mem_used_mb,
        "mem_total_mb": sample.mem_total_mb,
        "load_avg_1": sample.load_avg_1,
    }


def host_dict(host: HostState, url: str, now: float) -> dict[str, Any]:
    oldest = host.oldest_inflight_start()
    last = host.activity[-1] if host.activity else None
    return {
        "name": host.name,
        "url": url,
        "liveness": host.liveness.value,
        "attempt": host.attempt,
        "last_error": host.last_error or None,
        "last_seen": host.last_seen,
        "llama_swap_version": host.swap_version,
        "engine_build": host.engine_build,
        "models": [
            {
                "id": view.info.id,
                "name": view.info.name or None,
                "state": view.info.state.value,
                "ttl_s": view.info.ttl_s,
                "ttl_remaining_s": ttl_remaining(host, view.info.id, now),
                "inflight": host.inflight_for(view.info.id),
            }
            for view in sorted(host.models.values(), key=lambda v: v.info.id)
        ],
        "inflight": host.inflight_count,
        "oldest_inflight_age_s": None if oldest is None else max(0.0, now - oldest),
        "last_activity": activity_dict(last) if last else None,
        "gpus": [gpu_dict(g) for g in host.latest_gpus()],
        "sys": sys_dict(host.latest_sys) if host.latest_sys else None,
        "frames_rejected": host.frames_rejected,
        "gaps_suspected": len(host.gaps),
    }


def fleet_dict(state: FleetState, urls: dict[str, str], now: float) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now,
        "hosts": [host_dict(state.host(name), url, now) for name, url in urls.items()],
    }
