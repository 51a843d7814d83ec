"""Local truth for a host that runs on this machine: NVML (GPUs) and psutil (CPU, RAM).

A llama-swap host on loopback reports its own `/api/performance`, but only every 5 s and
only from v212 on; NVML and psutil say what the card and the box are doing right now.

Split in two: pure conversions from raw NVML/psutil numbers to the shared `GpuSample` /
`SysSample` values (tested without a GPU), and `LocalProbe`, the I/O edge, whose `read`
never raises — no driver, no GPU, a GPU that fell off the bus all become words in
`LocalReading.gpu_error` ("no NVIDIA driver"), never a traceback and never fake zeros.
It blocks (NVML calls take milliseconds), so callers run it in a thread.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from swapdeck.config import HostConfig
from swapdeck.events import UNKNOWN, GpuSample, SysSample

MIB = 1024 * 1024
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})

NO_DRIVER = "no NVIDIA driver"
CPU_MIN_INTERVAL_S = 0.2
"""psutil's CPU percentages compare with the previous call; closer than this they are noise."""


@dataclass(frozen=True, slots=True)
class LocalReading:
    at: float
    gpus: tuple[GpuSample, ...] = ()
    sys: SysSample | None = None
    gpu_error: str = ""
    """Why there are no GPU numbers, for a person (empty when `gpus` is the whole truth)."""
    sys_error: str = ""


# --------------------------------------------------------------------------- pure


def is_local_url(url: str, local_names: Collection[str] = ()) -> bool:
    """True when `url` points at this machine: loopback or one of `local_names`."""
    try:
        hostname = urlsplit(url).hostname
    except ValueError:
        return False
    if not hostname:
        return False
    name = hostname.lower().rstrip(".")
    if name in LOOPBACK_NAMES or name in {n.lower() for n in local_names}:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def gpu_sample_from_nvml(at: float, index: int, *, name: str | bytes, uuid: str | bytes = "",
                         mem_used_bytes: int | None, mem_total_bytes: int | None,
                         util_pct: int | None, mem_util_pct: int | None, temp_c: int | None,
                         power_mw: int | None, fan_pct: int | None) -> GpuSample:
    """NVML's units (bytes, milliwatts, `None` for "not supported") → a `GpuSample`."""

    def known(value: float | None, scale: float = 1.0) -> float:
        return float(UNKNOWN) if value is None else value / scale

    return GpuSample(
        at=at, index=index, name=_text(name), uuid=_text(uuid),
        temp_c=known(temp_c), util_pct=known(util_pct), mem_util_pct=known(mem_util_pct),
        mem_used_mb=known(mem_used_bytes, MIB), mem_total_mb=known(mem_total_bytes, MIB),
        power_w=known(power_mw, 1000.0), fan_pct=known(fan_pct),
    )


def sys_sample_from_psutil(at: float, *, per_core_pct: Sequence[float], mem_total_bytes: int,
                           mem_used_bytes: int, swap_total_bytes: int, swap_used_bytes: int,
                           load_avg: tuple[float, float, float] | None) -> SysSample:
    """psutil's bytes and percentages → a `SysSample` (an empty core tuple = CPU unknown)."""
    load = load_avg if load_avg is not None else (0.0, 0.0, 0.0)
    return SysSample(
        at=at, cpu_util_per_core=tuple(float(p) for p in per_core_pct),
        mem_total_mb=mem_total_bytes / MIB, mem_used_mb=mem_used_bytes / MIB,
        swap_total_mb=swap_total_bytes / MIB, swap_used_mb=swap_used_bytes / MIB,
        load_avg_1=load[0], load_avg_5=load[1], load_avg_15=load[2],
    )


def describe_nvml_error(error: BaseException) -> str:
    """Words for a person from an NVML failure (the class names are pynvml's)."""
    kind = type(error).__name__
    if kind in ("NVMLError_LibraryNotFound", "NVMLError_DriverNotLoaded"):
        return NO_DRIVER
    if kind == "NVMLError_NoPermission":
        return "NVIDIA driver refused access (permission denied)"
    if kind == "NVMLError_LibRmVersionMismatch":
        return "NVIDIA driver and library versions differ (reboot after a driver update?)"
    if kind == "NVMLError_GpuIsLost":
        return "a GPU fell off the bus (GPU is lost)"
    if kind == "ModuleNotFoundError":
        return "NVML bindings not installed (nvidia-ml-py)"
    text = str(error).strip()
    return f"NVML error: {text}" if text else f"NVML error ({kind})"


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


# --------------------------------------------------------------------------- I/O edge


def runs_here(host: HostConfig, local_names: Collection[str]) -> bool:
    """The config's `local` when it says (simulated hosts are not local), else whether the
    host's URL is loopback or one of `local_names`."""
    return host.local if host.local is not None else is_local_url(host.url, local_names)


def this_machine(hosts: Iterable[HostConfig]) -> list[HostConfig]:
    """The configured hosts that run on this machine."""
    names = local_host_names()
    return [host for host in hosts if runs_here(host, names)]


def local_host_names() -> frozenset[str]:
    """This machine's own name, for `is_local_url`.

    Only `gethostname()`: it is a system call, while `getfqdn()` may wait on DNS for
    seconds, and this runs when a screen mounts."""
    try:
        name = socket.gethostname()
    except OSError:
        return frozenset()
    return frozenset({name, name.split(".")[0]} - {""})


class LocalProbe:
    """Reads NVML and psutil; `read` never raises. Create once, `close` at the end."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._nvml_error = ""
        self._cpu_since: float | None = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
        except Exception as exc:  # no library, no driver, no permission: say which
            self._nvml_error = describe_nvml_error(exc)
        self._prime_cpu()

    def _prime_cpu(self) -> None:
        # psutil's first cpu_percent() call has nothing to compare with and returns 0.0;
        # prime it so the next reading is a measurement, not a fake zero.
        try:
            import psutil

            psutil.cpu_percent(percpu=True)
            self._cpu_since = time.monotonic()
        except Exception:
            self._cpu_since = None

    def read(self, now: float) -> LocalReading:
        gpus, gpu_error = self._read_gpus(now)
        sys_sample, sys_error = self._read_sys(now)
        return LocalReading(at=now, gpus=gpus, sys=sys_sample, gpu_error=gpu_error,
                            sys_error=sys_error)

    def _read_gpus(self, now: float) -> tuple[tuple[GpuSample, ...], str]:
        nvml = self._nvml
        if nvml is None:
            return (), self._nvml_error or NO_DRIVER
        try:
            count = nvml.nvmlDeviceGetCount()
        except Exception as exc:
            return (), describe_nvml_error(exc)
        if count == 0:
            return (), "NVIDIA driver found, but no GPU"
        samples: list[GpuSample] = []
        for index in range(count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                samples.append(self._read_gpu(nvml, handle, index, now))
            except Exception as exc:
                return tuple(samples), f"gpu{index}: {describe_nvml_error(exc)}"
        return tuple(samples), ""

    @staticmethod
    def _read_gpu(nvml: Any, handle: Any, index: int, now: float) -> GpuSample:
        def optional(call: Any, *args: Any) -> Any:
            # Consumer cards and vGPUs answer NotSupported for some counters: unknown, not 0.
            try:
                return call(handle, *args)
            except Exception:
                return None

        memory = optional(nvml.nvmlDeviceGetMemoryInfo)
        rates = optional(nvml.nvmlDeviceGetUtilizationRates)
        return gpu_sample_from_nvml(
            now, index,
            name=nvml.nvmlDeviceGetName(handle),
            uuid=optional(nvml.nvmlDeviceGetUUID) or "",
            mem_used_bytes=None if memory is None else int(memory.used),
            mem_total_bytes=None if memory is None else int(memory.total),
            util_pct=None if rates is None else int(rates.gpu),
            mem_util_pct=None if rates is None else int(rates.memory),
            temp_c=optional(nvml.nvmlDeviceGetTemperature, nvml.NVML_TEMPERATURE_GPU),
            power_mw=optional(nvml.nvmlDeviceGetPowerUsage),
            fan_pct=optional(nvml.nvmlDeviceGetFanSpeed),
        )

    def _read_sys(self, now: float) -> tuple[SysSample | None, str]:
        try:
            import psutil

            # Too soon after the previous call the percentages are noise (0 or 100):
            # report the CPU as unknown this once rather than a made-up number.
            since = self._cpu_since
            measured = since is not None and time.monotonic() - since >= CPU_MIN_INTERVAL_S
            cores: list[float] = psutil.cpu_percent(percpu=True)
            self._cpu_since = time.monotonic()
            if not measured:
                cores = []
            memory = psutil.virtual_memory()
            swap = psutil.swap_memory()
            try:
                load: tuple[float, float, float] | None = psutil.getloadavg()
            except (AttributeError, OSError):
                load = None
            return sys_sample_from_psutil(
                now, per_core_pct=cores, mem_total_bytes=int(memory.total),
                mem_used_bytes=int(memory.total - memory.available),
                swap_total_bytes=int(swap.total), swap_used_bytes=int(swap.used),
                load_avg=load), ""
        except Exception as exc:
            return None, f"psutil could not read this machine ({type(exc).__name__}: {exc})"

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
            self._nvml = None
            self._nvml_error = "closed"
