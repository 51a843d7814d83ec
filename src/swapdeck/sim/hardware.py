"""The simulated machine under a host: picked once from the seed, shared by the perf sampler,
the `/api/hardware` snapshot (§1.7) and the llama-server banner."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from swapdeck.sim.timefmt import rfc3339


@dataclass(frozen=True, slots=True)
class GpuKind:
    name: str
    architecture: str
    compute: str
    memory_kind: str
    vram_mb: int
    power_limit_w: float
    idle_w: float


@dataclass(frozen=True, slots=True)
class CpuKind:
    vendor: str
    model: str
    physical_cores: int
    threads: int


GPU_KINDS = (
    GpuKind("NVIDIA GeForce RTX 3090", "Ampere", "8.6", "GDDR6X", 24576, 350.0, 22.0),
    GpuKind("NVIDIA GeForce RTX 4090", "Ada Lovelace", "8.9", "GDDR6X", 24564, 450.0, 18.0),
    GpuKind("NVIDIA RTX A6000", "Ampere", "8.6", "GDDR6", 49140, 300.0, 25.0),
)
CPU_KINDS = (
    CpuKind("AuthenticAMD", "AMD Ryzen 9 7950X 16-Core Processor", 16, 32),
    CpuKind("GenuineIntel", "Intel(R) Xeon(R) W-2295 CPU @ 3.00GHz", 18, 36),
    CpuKind("AuthenticAMD", "AMD Ryzen Threadripper PRO 5955WX 16-Cores", 16, 32),
)


@dataclass(frozen=True, slots=True)
class HostHardware:
    gpu: GpuKind
    gpu_count: int
    gpu_uuids: tuple[str, ...]
    cpu: CpuKind
    mem_total_mb: int
    swap_total_mb: int
    kernel: str
    driver: str


def pick_hardware(seed: int, gpu_count: int) -> HostHardware:
    if gpu_count < 0:
        raise ValueError(f"gpus must be >= 0, got {gpu_count}")
    rng = random.Random(f"hardware:{seed}")
    gpu = rng.choice(GPU_KINDS)
    cpu = rng.choice(CPU_KINDS)
    uuids = tuple(f"GPU-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
                  for _ in range(gpu_count))
    return HostHardware(
        gpu=gpu, gpu_count=gpu_count, gpu_uuids=uuids, cpu=cpu,
        mem_total_mb=rng.choice((64218, 128642, 257594)), swap_total_mb=8191,
        kernel=f"6.8.0-{rng.randint(40, 79)}-generic",
        driver=rng.choice(("570.133.07", "575.57.08", "580.65.06")),
    )


def hardware_snapshot(hw: HostHardware, captured_ns: int) -> dict[str, Any]:
    """`GET /api/hardware` (v247+, §1.7), struct order of `internal/hw/types.go`."""
    mib = 1024 * 1024
    return {
        "schema_version": 1,
        "captured_at": rfc3339(captured_ns),
        "capture": {"scope": "host", "method": "native", "detector": "nvml"},
        "architecture": {"name": "x86_64"},
        "operating_system": {"family": "linux", "name": "Ubuntu", "version": "24.04",
                             "kernel": hw.kernel},
        "environment": {"kind": "bare-metal", "name": "", "version": ""},
        "cpu": {"vendor": hw.cpu.vendor, "model": hw.cpu.model, "socket_count": 1,
                "physical_core_count": hw.cpu.physical_cores,
                "logical_thread_count": hw.cpu.threads},
        "memory": {"capacity_bytes": hw.mem_total_mb * mib},
        "accelerators": [
            {"index": index, "kind": "gpu", "vendor": "NVIDIA", "model": hw.gpu.name,
             "architecture": hw.gpu.architecture,
             "memory": {"kind": hw.gpu.memory_kind, "capacity_bytes": hw.gpu.vram_mb * mib},
             "driver": {"name": "nvidia", "version": hw.driver},
             "power_limit_watts": hw.gpu.power_limit_w}
            for index in range(hw.gpu_count)
        ],
    }
