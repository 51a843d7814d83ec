"""Performance samples (§1.9): plausible system and GPU numbers that follow the host's load.

`PerfSynth.sample` is deterministic for a given seed and sequence of loads: GPU utilisation is
high while requests decode, VRAM tracks the loaded models, temperatures and load averages move
smoothly. `PerfRing` keeps one hour of samples and answers `?after=` queries.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Any

from swapdeck.sim.hardware import HostHardware
from swapdeck.sim.timefmt import rfc3339

_DRIVER_OVERHEAD_MB = 350.0
_HOST_BASE_MEM_MB = 5200.0


@dataclass(frozen=True, slots=True)
class Load:
    """What the host is doing at sampling time."""

    prefilling: int
    decoding: int
    loaded_vram_mb: float
    net_recv_bytes: int
    net_sent_bytes: int


@dataclass(frozen=True, slots=True)
class SysRow:
    at_ns: int
    cpu_util_per_core: tuple[float, ...]
    mem_used_mb: int
    swap_used_mb: int
    load_avg: tuple[float, float, float]
    net_recv_bytes: int
    net_sent_bytes: int


@dataclass(frozen=True, slots=True)
class GpuRow:
    at_ns: int
    index: int
    temp_c: float
    util_pct: float
    mem_util_pct: float
    mem_used_mb: float
    fan_pct: float
    power_w: float


class PerfSynth:
    def __init__(self, hw: HostHardware, seed: int, every_s: float) -> None:
        self.hw = hw
        self._rng = random.Random(f"perf:{seed}")
        self._every_s = every_s
        self._temps = [31.0 + self._rng.random() * 3 for _ in range(hw.gpu_count)]
        self._load_avg = [0.05, 0.05, 0.05]

    def sample(self, load: Load, now_ns: int) -> tuple[SysRow, list[GpuRow]]:
        rng = self._rng
        active = load.prefilling + load.decoding
        threads = self.hw.cpu.threads
        busy = set(rng.sample(range(threads), k=min(threads, active)))
        cores = tuple(round(rng.uniform(65, 100) if i in busy else rng.uniform(0.3, 4.5), 1)
                      for i in range(threads))
        for i, window_s in enumerate((60.0, 300.0, 900.0)):
            alpha = 1 - math.exp(-self._every_s / window_s)
            self._load_avg[i] += alpha * (active + 0.08 - self._load_avg[i])
        mem_used = _HOST_BASE_MEM_MB + 0.06 * load.loaded_vram_mb + rng.uniform(-40, 40)
        sys_row = SysRow(now_ns, cores, int(min(mem_used, self.hw.mem_total_mb)), 0,
                         (round(self._load_avg[0], 2), round(self._load_avg[1], 2),
                          round(self._load_avg[2], 2)),
                         load.net_recv_bytes, load.net_sent_bytes)
        gpus = [self._gpu(i, load, now_ns) for i in range(self.hw.gpu_count)]
        return sys_row, gpus

    def _gpu(self, index: int, load: Load, now_ns: int) -> GpuRow:
        rng, kind = self._rng, self.hw.gpu
        if load.prefilling:
            util, mem_util = rng.uniform(97, 100), rng.uniform(30, 45)
        elif load.decoding:
            util = min(99.0, rng.uniform(84, 93) + 2 * load.decoding)
            mem_util = rng.uniform(55, 80)
        else:
            util, mem_util = rng.choice((0.0, 0.0, 1.0, 2.0)), rng.choice((0.0, 1.0))
        target = 32 + 45 * util / 100
        self._temps[index] += 0.35 * (target - self._temps[index])
        temp = self._temps[index]
        share = load.loaded_vram_mb / max(1, self.hw.gpu_count)
        kv_growth = 180.0 * (load.decoding + load.prefilling) if share else 0.0
        mem_used = min(float(kind.vram_mb), _DRIVER_OVERHEAD_MB + share + kv_growth)
        power = kind.idle_w + (kind.power_limit_w - kind.idle_w) * 0.85 * util / 100
        fan = min(100.0, max(30.0, (temp - 30) * 1.6))
        return GpuRow(now_ns, index, round(temp), round(util), round(mem_util),
                      round(mem_used), round(fan), round(power + rng.uniform(-3, 3), 1))


class PerfRing:
    """One hour of samples (`ringCapacity = 1h / every`, §1.9)."""

    def __init__(self, every_s: float) -> None:
        if every_s <= 0:
            raise ValueError(f"perf_every_s must be > 0, got {every_s}")
        # Tests sample far faster than the real 5 s minimum; cap the ring so they stay small.
        capacity = min(7200, max(1, int(3600 / every_s)))
        self._rows: deque[tuple[SysRow, list[GpuRow]]] = deque(maxlen=capacity)

    def add(self, sys_row: SysRow, gpus: list[GpuRow]) -> None:
        self._rows.append((sys_row, gpus))

    def latest(self) -> tuple[SysRow, list[GpuRow]] | None:
        return self._rows[-1] if self._rows else None

    def since(self, after_ns: int | None) -> list[tuple[SysRow, list[GpuRow]]]:
        return [row for row in self._rows if after_ns is None or row[0].at_ns > after_ns]

    def clear(self) -> None:
        self._rows.clear()


def render_performance(hw: HostHardware, rows: list[tuple[SysRow, list[GpuRow]]], *,
                       after_given: bool, with_enabled: bool) -> dict[str, Any]:
    """The `/api/performance` body; arrays are null when the ring is empty and no `after`."""
    sys_stats: list[dict[str, Any]] | None = [_render_sys(hw, s) for s, _ in rows]
    gpu_stats: list[dict[str, Any]] | None = [_render_gpu(hw, g) for _, gs in rows for g in gs]
    if not rows and not after_given:
        sys_stats = gpu_stats = None
    body: dict[str, Any] = {"enabled": True} if with_enabled else {}
    body["sys_stats"] = sys_stats
    body["gpu_stats"] = gpu_stats
    return body


def _render_sys(hw: HostHardware, row: SysRow) -> dict[str, Any]:
    return {
        "timestamp": rfc3339(row.at_ns),
        "cpu_util_per_core": list(row.cpu_util_per_core),
        "mem_total_mb": hw.mem_total_mb,
        "mem_used_mb": row.mem_used_mb,
        "mem_free_mb": hw.mem_total_mb - row.mem_used_mb,
        "swap_total_mb": hw.swap_total_mb,
        "swap_used_mb": row.swap_used_mb,
        "load_avg_1": row.load_avg[0],
        "load_avg_5": row.load_avg[1],
        "load_avg_15": row.load_avg[2],
        "net_io": [{"name": "eth0", "bytes_recv": row.net_recv_bytes,
                    "bytes_sent": row.net_sent_bytes}],
    }


def _render_gpu(hw: HostHardware, row: GpuRow) -> dict[str, Any]:
    return {
        "timestamp": rfc3339(row.at_ns),
        "id": row.index,
        "name": hw.gpu.name,
        "uuid": hw.gpu_uuids[row.index],
        "temp_c": row.temp_c,
        "vram_temp_c": 0,  # consumer and most workstation cards do not report it
        "gpu_util_pct": row.util_pct,
        "mem_util_pct": row.mem_util_pct,
        "mem_used_mb": row.mem_used_mb,
        "mem_total_mb": hw.gpu.vram_mb,
        "fan_speed_pct": row.fan_pct,
        "power_draw_w": row.power_w,
    }


def render_prometheus(hw: HostHardware, latest: tuple[SysRow, list[GpuRow]] | None) -> str:
    """Prometheus text of the latest sample (§1.8): system plus one series set per GPU."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {_prom_number(value)}" for labels, value in samples)

    if latest is None:
        return ""
    sys_row, gpus = latest
    mib = 1024 * 1024
    family("llamaswap_cpu_util_percent", "gauge", "CPU utilisation per core.",
           [(f'{{core="{i}"}}', v) for i, v in enumerate(sys_row.cpu_util_per_core)])
    family("llamaswap_memory_total_bytes", "gauge", "Total memory.", [("", hw.mem_total_mb * mib)])
    family("llamaswap_memory_used_bytes", "gauge", "Used memory.",
           [("", sys_row.mem_used_mb * mib)])
    family("llamaswap_memory_free_bytes", "gauge", "Free memory.",
           [("", (hw.mem_total_mb - sys_row.mem_used_mb) * mib)])
    family("llamaswap_swap_total_bytes", "gauge", "Total swap.", [("", hw.swap_total_mb * mib)])
    family("llamaswap_swap_used_bytes", "gauge", "Used swap.", [("", sys_row.swap_used_mb * mib)])
    family("llamaswap_load_average", "gauge", "Load average.",
           [(f'{{interval="{n}"}}', v) for n, v in zip(("1m", "5m", "15m"), sys_row.load_avg,
                                                        strict=True)])
    family("llamaswap_network_bytes_total", "counter", "Network bytes.",
           [('{direction="recv",interface="eth0"}', sys_row.net_recv_bytes),
            ('{direction="sent",interface="eth0"}', sys_row.net_sent_bytes)])
    per_gpu = (
        ("temperature_celsius", "GPU temperature.", lambda g: g.temp_c),
        ("vram_temperature_celsius", "VRAM temperature.", lambda g: 0.0),
        ("util_percent", "GPU utilisation.", lambda g: g.util_pct),
        ("memory_util_percent", "GPU memory utilisation.", lambda g: g.mem_util_pct),
        ("memory_used_bytes", "GPU memory used.", lambda g: g.mem_used_mb * mib),
        ("memory_total_bytes", "GPU memory total.", lambda g: hw.gpu.vram_mb * mib),
        ("fan_speed_percent", "GPU fan speed.", lambda g: g.fan_pct),
        ("power_draw_watts", "GPU power draw.", lambda g: g.power_w),
    )
    for suffix, help_text, value_of in per_gpu:
        family(f"llamaswap_gpu_{suffix}", "gauge", help_text,
               [(f'{{id="{g.index}",name="{hw.gpu.name}",uuid="{hw.gpu_uuids[g.index]}"}}',
                 value_of(g)) for g in gpus])
    return "\n".join(lines) + "\n"


def _prom_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
