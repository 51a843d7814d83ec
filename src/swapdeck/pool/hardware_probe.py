"""Probing this box (I/O) and the 24 h profile cache. `load_hardware_profile` never raises.

NVIDIA through NVML (`pynvml`), falling back to `nvidia-smi --query-gpu`; Apple Silicon from
`system_profiler SPHardwareDataType -json` plus `sysctl`; CPU name and cores from `lscpu` or
`/proc/cpuinfo`; RAM from psutil. Every probe is fail-safe: a failure becomes a warning, and a
box whose probes all fail is described as CPU-only. Parsing lives in `hardware_parsers`.
"""

from __future__ import annotations

import json
import os
import platform as platform_module
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from swapdeck.pool.bandwidth import lookup_cpu_bandwidth
from swapdeck.pool.hardware import (
    SCHEMA,
    GpuInfo,
    HardwareProfile,
    apply_override,
    backend_for,
    profile_from_json,
    profile_to_json,
    resolve_gpu,
)
from swapdeck.pool.hardware_parsers import (
    GIB,
    NVIDIA_SMI_QUERY,
    SYSCTL_QUERY,
    SYSTEM_PROFILER_QUERY,
    CpuDescription,
    ParsedGpu,
    ProbeParseError,
    apple_cpu_cores,
    apple_gpu_limit_bytes,
    parse_lscpu,
    parse_meminfo,
    parse_nvidia_smi_csv,
    parse_proc_cpuinfo,
    parse_sysctl,
    parse_system_profiler_hardware,
)
from swapdeck.pool.settings import HardwareOverride

CACHE_FILE = "hardware.json"
CACHE_MAX_AGE_S = 24 * 3600.0
_T = TypeVar("_T")


CommandRunner = Callable[[Sequence[str]], str]


def run_command(argv: Sequence[str]) -> str:
    """stdout of a probe command; raises OSError when it cannot run or prints nothing useful."""
    completed = subprocess.run(list(argv), capture_output=True, text=True, timeout=15,
                               env={**os.environ, "LC_ALL": "C"}, check=False)
    if completed.returncode != 0 and not completed.stdout.strip():
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        raise OSError(f"{argv[0]} exited {completed.returncode}: {detail[0] if detail else ''}")
    return completed.stdout


def read_nvml() -> tuple[ParsedGpu, ...]:
    import pynvml

    pynvml.nvmlInit()
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            name = name.decode() if isinstance(name, bytes) else str(name)
            try:
                vram: int | None = int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)
            except pynvml.NVMLError:
                vram = None  # unified-memory parts report NOT_SUPPORTED
            gpus.append(ParsedGpu(name, vram))
        return tuple(gpus)
    finally:
        pynvml.nvmlShutdown()


def _total_ram() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


def _read_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class ProbeEnvironment:
    """Where probes get their facts; tests swap in recorded outputs."""

    platform: str = sys.platform
    run: CommandRunner = run_command
    nvml: Callable[[], tuple[ParsedGpu, ...]] | None = read_nvml
    total_ram: Callable[[], int] = _total_ram
    read_text: Callable[[str], str] = _read_text
    fallback_cpu_name: Callable[[], str] = field(default=platform_module.processor)


def probe_hardware(now: float, env: ProbeEnvironment | None = None) -> HardwareProfile:
    """Probe the box. Never raises: a failure becomes a warning and a CPU-only description."""
    env = env or ProbeEnvironment()
    warnings: list[str] = []
    try:
        if env.platform == "darwin":
            apple = _probe_apple(env, warnings)
            if apple is not None:
                return replace(apple, probed_at=now, warnings=tuple(warnings))
        gpus = _probe_nvidia(env, warnings)
        ram = _probe_ram(env, warnings)
        cpu = _probe_cpu(env, warnings)
        unified = any(gpu.vram_bytes is None for gpu in gpus)
        infos = tuple(resolve_gpu(gpu.name, gpu.vram_bytes or ram) for gpu in gpus)
        return _profile(infos, ram, cpu, unified, now, warnings)
    except Exception as exc:  # the contract is "never raises": last line of defence
        warnings.append(f"hardware probe failed ({type(exc).__name__}: {exc}); assuming CPU only")
        return _profile((), _safe(env.total_ram, 0), CpuDescription("unknown CPU", 1), False,
                        now, warnings)


def _profile(gpus: tuple[GpuInfo, ...], ram: int, cpu: CpuDescription, unified: bool,
             now: float, warnings: list[str]) -> HardwareProfile:
    figure = lookup_cpu_bandwidth(cpu.name, cpu_cores=cpu.cores)
    if cpu.sockets > 1:
        warnings.append(f"{cpu.sockets} CPU sockets: one socket's memory bandwidth is used, "
                        "since llama.cpp gains little across NUMA nodes")
    if ram <= 0:
        warnings.append("could not read the RAM size; assuming 8 GiB")
        ram = 8 * GIB
    return HardwareProfile(
        gpus=gpus, ram_bytes=ram, cpu_name=cpu.name, cpu_cores=cpu.cores,
        cpu_bandwidth_gbs=figure.gbs, cpu_bandwidth_source=figure.source,
        cpu_bandwidth_warning=figure.note, unified_memory=unified,
        backend=backend_for(gpus), probed_at=now, warnings=tuple(warnings),
    )


def _probe_nvidia(env: ProbeEnvironment, warnings: list[str]) -> tuple[ParsedGpu, ...]:
    nvml_error = ""
    if env.nvml is not None:
        try:
            return env.nvml()
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ImportError…
            nvml_error = f"{type(exc).__name__}: {exc}"
    try:
        return parse_nvidia_smi_csv(env.run(NVIDIA_SMI_QUERY))
    except FileNotFoundError:
        return ()  # no NVIDIA driver tools: a CPU box, not a failure
    except (OSError, subprocess.SubprocessError, ProbeParseError) as exc:
        via = f" (NVML: {nvml_error})" if nvml_error else ""
        warnings.append(f"NVIDIA probe failed: {exc}{via}; ranking for CPU only")
        return ()


def _probe_apple(env: ProbeEnvironment, warnings: list[str]) -> HardwareProfile | None:
    try:
        hardware = parse_system_profiler_hardware(env.run(SYSTEM_PROFILER_QUERY))
    except (OSError, subprocess.SubprocessError, ProbeParseError) as exc:
        warnings.append(f"macOS probe failed: {exc}; ranking for CPU only")
        return None
    try:
        sysctl = parse_sysctl(env.run(SYSCTL_QUERY))
    except (OSError, subprocess.SubprocessError, ProbeParseError) as exc:
        warnings.append(f"sysctl failed: {exc}; using macOS's default GPU memory limit")
        sysctl = {}
    memory = int(sysctl["hw.memsize"]) if sysctl.get("hw.memsize", "").isdigit() \
        else hardware.memory_bytes
    cores = apple_cpu_cores(sysctl) or hardware.cpu_cores or 1
    if not hardware.chip.lower().startswith("apple"):
        return _profile((), memory, CpuDescription(hardware.chip, cores), False, 0.0, warnings)
    wired = sysctl.get("iogpu.wired_limit_mb", "")
    limit = apple_gpu_limit_bytes(memory, int(wired) if wired.isdigit() else None)
    gpu = resolve_gpu(hardware.chip, limit, cpu_cores=cores)
    return _profile((gpu,), memory, CpuDescription(hardware.chip, cores), True, 0.0, warnings)


def _probe_cpu(env: ProbeEnvironment, warnings: list[str]) -> CpuDescription:
    if env.platform.startswith("linux"):
        try:
            return parse_lscpu(env.run(("lscpu",)))
        except (OSError, subprocess.SubprocessError, ProbeParseError):
            pass
        try:
            return parse_proc_cpuinfo(env.read_text("/proc/cpuinfo"))
        except (OSError, ProbeParseError) as exc:
            warnings.append(f"could not read the CPU model ({exc})")
    name = _safe(env.fallback_cpu_name, "") or "unknown CPU"
    return CpuDescription(name, os.cpu_count() or 1)


def _probe_ram(env: ProbeEnvironment, warnings: list[str]) -> int:
    try:
        return env.total_ram()
    except Exception:
        pass
    try:
        return parse_meminfo(env.read_text("/proc/meminfo"))
    except (OSError, ProbeParseError) as exc:
        warnings.append(f"could not read the RAM size ({exc})")
        return 0


def _safe(read: Callable[[], _T], default: _T) -> _T:
    try:
        return read()
    except Exception:
        return default


# --------------------------------------------------------------------------- cache


def load_hardware_profile(
    cache_dir: Path,
    *,
    now: float,
    override: HardwareOverride | None = None,
    env: ProbeEnvironment | None = None,
    max_age_s: float = CACHE_MAX_AGE_S,
) -> HardwareProfile:
    """Cached probe (≤ 24 h old) or a fresh one, with the user's override on top. Never raises."""
    path = cache_dir / CACHE_FILE
    profile = _read_cache(path, now, max_age_s)
    if profile is None:
        profile = probe_hardware(now, env)
        problem = _write_cache(path, profile)
        if problem:
            profile = replace(profile, warnings=(*profile.warnings, problem))
    return apply_override(profile, override)


def _read_cache(path: Path, now: float, max_age_s: float) -> HardwareProfile | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            return None
        profile = profile_from_json(data, str(path))
    except (OSError, ValueError):
        return None  # missing, unreadable or corrupt: probe again
    age = now - profile.probed_at
    return profile if 0 <= age < max_age_s else None


def _write_cache(path: Path, profile: HardwareProfile) -> str | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(profile_to_json(profile), indent=2), encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        return f"could not cache the hardware profile at {path} ({exc.strerror})"
    return None
