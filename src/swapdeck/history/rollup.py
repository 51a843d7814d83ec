"""5-minute perf rollups as pure arithmetic over raw samples, and the series names they use.

A series is `sys` (the host's system sample) or `gpu:<index>`. A bucket is the 300-second
span starting at a multiple of 300 (unix seconds). Averages and peaks skip unknown
readings; a metric with no known reading in a bucket is absent, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from swapdeck.history.rows import Row
from swapdeck.history.values import PerfPoint

BUCKET_S = 300
SYS_SERIES = "sys"
GPU_PREFIX = "gpu:"
SYS_METRICS = ("cpu_pct", "mem_used_mb", "mem_total_mb", "swap_used_mb", "load_avg_1")
GPU_METRICS = ("util_pct", "mem_used_mb", "mem_total_mb", "temp_c", "power_w")
ROLLUP_METRICS = ("cpu_pct", "mem_used_mb", "mem_total_mb", "swap_used_mb", "load_avg_1",
                  "util_pct", "temp_c", "power_w")
ROLLUP_VALUE_COLUMNS = tuple(f"{kind}_{m}" for m in ROLLUP_METRICS for kind in ("avg", "max"))

Sample = tuple[float, Sequence[float | None]]
"""(at, readings in the order of the series' metrics); None is an unknown reading."""


def bucket_of(at: float) -> int:
    return int(at // BUCKET_S) * BUCKET_S


def gpu_series(index: int) -> str:
    return f"{GPU_PREFIX}{index}"


def gpu_index_of(series: str) -> int | None:
    """None for `sys`, the GPU index for `gpu:<n>`; ValueError for anything else."""
    if series == SYS_SERIES:
        return None
    if series.startswith(GPU_PREFIX) and series[len(GPU_PREFIX):].isdigit():
        return int(series[len(GPU_PREFIX):])
    raise ValueError(f"unknown perf series {series!r}: expected 'sys' or 'gpu:<index>'")


def metrics_of(series: str) -> tuple[str, ...]:
    return SYS_METRICS if gpu_index_of(series) is None else GPU_METRICS


@dataclass(frozen=True, slots=True)
class BucketRollup:
    bucket: int
    count: int
    avg: Mapping[str, float]
    peak: Mapping[str, float]


def rollup_samples(samples: Iterable[Sample], metrics: Sequence[str]) -> list[BucketRollup]:
    """One rollup per bucket that has samples, in bucket order."""
    grouped: dict[int, list[Sequence[float | None]]] = {}
    for at, readings in samples:
        grouped.setdefault(bucket_of(at), []).append(readings)
    result: list[BucketRollup] = []
    for bucket in sorted(grouped):
        in_bucket = grouped[bucket]
        avg: dict[str, float] = {}
        peak: dict[str, float] = {}
        for position, metric in enumerate(metrics):
            known = [v for v in (r[position] for r in in_bucket) if v is not None]
            if known:
                # fsum: the same bucket gives the same bits whatever order rows come in.
                avg[metric] = math.fsum(known) / len(known)
                peak[metric] = max(known)
        result.append(BucketRollup(bucket, len(in_bucket), avg, peak))
    return result


def rollup_row(host: str, series: str, rollup: BucketRollup) -> Row:
    values: list[float | None] = []
    for metric in ROLLUP_METRICS:
        values.append(rollup.avg.get(metric))
        values.append(rollup.peak.get(metric))
    return (host, series, rollup.bucket, rollup.count, *values)


def rollup_from_row(row: Sequence[Any]) -> BucketRollup:
    """From (bucket, count, avg_/max_ pairs in ROLLUP_METRICS order)."""
    avg: dict[str, float] = {}
    peak: dict[str, float] = {}
    for position, metric in enumerate(ROLLUP_METRICS):
        mean, top = row[2 + 2 * position], row[3 + 2 * position]
        if mean is not None:
            avg[metric] = float(mean)
        if top is not None:
            peak[metric] = float(top)
    return BucketRollup(int(row[0]), int(row[1]), avg, peak)


def raw_point(at: float, metrics: Sequence[str], readings: Sequence[float | None]) -> PerfPoint:
    values = {m: float(v) for m, v in zip(metrics, readings, strict=True) if v is not None}
    return PerfPoint(at=at, resolution_s=0, samples=1, avg=values, peak=dict(values))


def rollup_point(rollup: BucketRollup) -> PerfPoint:
    return PerfPoint(at=float(rollup.bucket), resolution_s=BUCKET_S, samples=rollup.count,
                     avg=rollup.avg, peak=rollup.peak)
