"""Builders for history tests: real SQLite files in tmp_path, plain event values."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from swapdeck.config import HistoryConfig
from swapdeck.events import ActivityRecord, ActivityRecorded, GpuSample, PerfSampled, SysSample
from swapdeck.history import HistoryStore

T0 = 1_779_998_400.0
"""An hour boundary (and so a 5-minute boundary) in 2026: keeps bucket arithmetic readable."""


def record(remote_id: int, *, epoch: int = 0, at: float = T0, model: str = "qwen3-30b",
           status: int | None = 200, error: str = "", **extra: Any) -> ActivityRecord:
    base = ActivityRecord(
        remote_id=remote_id, epoch=epoch, finished_at=at, model=model,
        req_path="/v1/chat/completions", status_code=status, content_type="text/event-stream",
        cache_tokens=1024, input_tokens=312, output_tokens=587, prompt_tps=1450.2,
        decode_tps=88.4, duration_ms=6871, error_msg=error,
    )
    return dataclasses.replace(base, **extra)


def activity(host: str, *records: ActivityRecord) -> ActivityRecorded:
    return ActivityRecorded(host=host, at=records[-1].finished_at, records=records)


def sys_sample(at: float, cpu: tuple[float, ...] = (10.0, 30.0), mem_used: float = 20_000.0,
               **extra: float) -> SysSample:
    values: dict[str, float] = {"mem_total_mb": 64_000.0, "swap_total_mb": 8_000.0,
                                "swap_used_mb": 0.0, "load_avg_1": 1.0, "load_avg_5": 0.9,
                                "load_avg_15": 0.7}
    values.update(extra)
    return SysSample(at=at, cpu_util_per_core=cpu, mem_used_mb=mem_used, **values)


def gpu_sample(at: float, index: int = 0, util: float = 50.0, **extra: float) -> GpuSample:
    values: dict[str, float] = {"temp_c": 60.0, "mem_util_pct": 40.0, "mem_used_mb": 20_000.0,
                                "mem_total_mb": 24_576.0, "power_w": 300.0, "fan_pct": 50.0}
    values.update(extra)
    return GpuSample(at=at, index=index, name="NVIDIA GeForce RTX 3090", uuid=f"GPU-{index}",
                     util_pct=util, **values)


def perf(host: str, sys: tuple[SysSample, ...] = (),
         gpus: tuple[GpuSample, ...] = ()) -> PerfSampled:
    newest = max([s.at for s in sys] + [g.at for g in gpus])
    return PerfSampled(host=host, at=newest, sys=sys, gpus=gpus)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[HistoryStore]:
    opened = await HistoryStore.open(db_path, HistoryConfig())
    yield opened
    await opened.close()
