"""What this box has to run models on: GPUs, RAM, CPU and their memory bandwidth.

This module holds the values, their JSON form (the cache file and `swapdeck rank --hardware`)
and the user's override; probing and the 24 h cache are in `hardware_probe`, whose
`load_hardware_profile` is the entry point and never raises. The raw probe is cached; the
user's `HardwareOverride` is applied after the cache, field by field, so editing the config
takes effect at once. Bandwidth comes from the published-figures table (`bandwidth.py`), never
from a timing loop, so two runs on one box give the same profile.

Multi-GPU is kept as a per-GPU list here; `estimate.memory_budget` pools it (per-card reserve,
layer-split loss) and `estimate.estimate_speed` applies the split-layer penalty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from swapdeck.pool.bandwidth import lookup_cpu_bandwidth, lookup_gpu_bandwidth
from swapdeck.pool.hardware_parsers import GIB
from swapdeck.pool.settings import GpuOverride, HardwareOverride

SCHEMA = 1
OVERRIDE_SOURCE = "user override (config [pool.hardware])"


class Backend(StrEnum):
    CUDA = "cuda"
    METAL = "metal"
    ROCM = "rocm"
    OTHER_GPU = "other-gpu"
    CPU = "cpu"


@dataclass(frozen=True, slots=True)
class GpuInfo:
    name: str
    vram_bytes: int
    """Dedicated memory; on unified-memory boxes, what the GPU may wire."""
    bandwidth_gbs: float | None
    bandwidth_source: str | None
    bandwidth_warning: str | None = None
    """Why the figure is missing or was a choice between variants."""


@dataclass(frozen=True, slots=True)
class HardwareProfile:
    gpus: tuple[GpuInfo, ...]
    ram_bytes: int
    cpu_name: str
    cpu_cores: int
    cpu_bandwidth_gbs: float
    cpu_bandwidth_source: str
    unified_memory: bool
    backend: Backend
    probed_at: float
    warnings: tuple[str, ...] = ()
    """What went wrong while probing (a failed probe, an unreadable output)."""
    cpu_bandwidth_warning: str | None = None

    @property
    def all_warnings(self) -> tuple[str, ...]:
        """Probe warnings plus every bandwidth assumption, for the UI."""
        gpu = tuple(gpu.bandwidth_warning for gpu in self.gpus if gpu.bandwidth_warning)
        cpu = (self.cpu_bandwidth_warning,) if self.cpu_bandwidth_warning else ()
        return self.warnings + gpu + cpu

    @property
    def total_vram_bytes(self) -> int:
        return sum(gpu.vram_bytes for gpu in self.gpus)

    @property
    def fingerprint(self) -> str:
        """Stable id of the box's compute (not of when it was probed), for measured results."""
        parts = [f"{gpu.name}|{round(gpu.vram_bytes / GIB)}" for gpu in self.gpus]
        parts += [f"ram|{round(self.ram_bytes / GIB)}", f"cpu|{self.cpu_name}"]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class HardwareFileError(ValueError):
    """A hardware profile JSON that cannot be read; the message names the file and key."""


# --------------------------------------------------------------------------- JSON


def profile_to_json(profile: HardwareProfile) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "probed_at": profile.probed_at,
        "gpus": [
            {"name": g.name, "vram_bytes": g.vram_bytes, "bandwidth_gbs": g.bandwidth_gbs,
             "bandwidth_source": g.bandwidth_source, "bandwidth_warning": g.bandwidth_warning}
            for g in profile.gpus
        ],
        "ram_bytes": profile.ram_bytes,
        "cpu_name": profile.cpu_name,
        "cpu_cores": profile.cpu_cores,
        "cpu_bandwidth_gbs": profile.cpu_bandwidth_gbs,
        "cpu_bandwidth_source": profile.cpu_bandwidth_source,
        "cpu_bandwidth_warning": profile.cpu_bandwidth_warning,
        "unified_memory": profile.unified_memory,
        "backend": profile.backend.value,
        "warnings": list(profile.warnings),
        "fingerprint": profile.fingerprint,
    }


def profile_from_json(data: Any, origin: str = "<hardware>") -> HardwareProfile:
    """Read the cache format. Bandwidth keys may be left out (looked up from the table)."""
    if not isinstance(data, dict):
        raise HardwareFileError(f"{origin}: expected a JSON object")
    raw_gpus = data.get("gpus", [])
    if not isinstance(raw_gpus, list):
        raise HardwareFileError(f"{origin}: gpus: expected a list")
    gpus = []
    for index, raw in enumerate(raw_gpus):
        where = f"{origin}: gpus[{index}]"
        if not isinstance(raw, dict):
            raise HardwareFileError(f"{where}: expected an object")
        name = _field(raw, "name", str, where)
        vram = int(_field(raw, "vram_bytes", (int, float), where))
        if vram <= 0:
            raise HardwareFileError(f"{where}.vram_bytes: expected a positive number of bytes")
        gbs = raw.get("bandwidth_gbs")
        if gbs is None and "bandwidth_gbs" not in raw:
            gpus.append(resolve_gpu(name, vram))
            continue
        if gbs is not None and (not isinstance(gbs, int | float) or gbs <= 0):
            raise HardwareFileError(f"{where}.bandwidth_gbs: expected a positive number or null")
        gpus.append(GpuInfo(name, vram, float(gbs) if gbs is not None else None,
                            raw.get("bandwidth_source"), raw.get("bandwidth_warning")))
    cpu_name = _field(data, "cpu_name", str, origin)
    ram = int(_field(data, "ram_bytes", (int, float), origin))
    if ram <= 0:
        raise HardwareFileError(f"{origin}: ram_bytes: expected a positive number of bytes")
    cores = int(_optional(data, "cpu_cores", (int, float), origin, 1))
    if "cpu_bandwidth_gbs" in data:
        cpu_gbs = float(_field(data, "cpu_bandwidth_gbs", (int, float), origin))
        cpu_source = str(data.get("cpu_bandwidth_source") or "hardware file")
        cpu_warning = data.get("cpu_bandwidth_warning")
    else:
        figure = lookup_cpu_bandwidth(cpu_name, cpu_cores=cores)
        cpu_gbs, cpu_source, cpu_warning = figure.gbs, figure.source, figure.note
    backend_raw = data.get("backend") or backend_for(gpus).value
    try:
        backend = Backend(backend_raw)
    except ValueError:
        allowed = ", ".join(b.value for b in Backend)
        raise HardwareFileError(f"{origin}: backend: expected one of {allowed}") from None
    warnings = data.get("warnings", [])
    return HardwareProfile(
        gpus=tuple(gpus), ram_bytes=ram, cpu_name=cpu_name, cpu_cores=max(1, cores),
        cpu_bandwidth_gbs=cpu_gbs, cpu_bandwidth_source=cpu_source,
        cpu_bandwidth_warning=str(cpu_warning) if cpu_warning else None,
        unified_memory=_optional(data, "unified_memory", bool, origin, False), backend=backend,
        probed_at=float(_optional(data, "probed_at", (int, float), origin, 0.0)),
        warnings=tuple(str(w) for w in warnings) if isinstance(warnings, list) else (),
    )


def load_profile_file(path: Path) -> HardwareProfile:
    """`swapdeck rank --hardware FILE`: raises HardwareFileError with a one-line message."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HardwareFileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise HardwareFileError(f"{path}: expected JSON ({exc})") from None
    return profile_from_json(data, str(path))


def _field(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise HardwareFileError(f"{where}: {key}: expected a {_kind_name(kind)}")
    return value


def _optional(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str,
              default: Any) -> Any:
    if data.get(key) is None:
        return default
    if kind is bool:
        if not isinstance(data[key], bool):
            raise HardwareFileError(f"{where}: {key}: expected true or false")
        return data[key]
    return _field(data, key, kind, where)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return "string" if kind is str else "number"


# --------------------------------------------------------------------------- resolution


def resolve_gpu(name: str, vram_bytes: int, *, cpu_cores: int | None = None,
                bandwidth_gbs: float | None = None, source: str | None = None) -> GpuInfo:
    """A GPU with its bandwidth: the figure given, else the published one, else None + why."""
    if bandwidth_gbs is not None:
        return GpuInfo(name, vram_bytes, bandwidth_gbs, source or OVERRIDE_SOURCE)
    figure = lookup_gpu_bandwidth(name, vram_bytes=vram_bytes, cpu_cores=cpu_cores)
    if figure is None:
        return GpuInfo(name, vram_bytes, None, None,
                       f"GPU {name!r} ({vram_bytes / GIB:.0f} GiB) has no published bandwidth in "
                       "swapdeck's table: its speeds are shown as lower bounds; set "
                       "pool.hardware.gpus[].bandwidth_gbs")
    return GpuInfo(name, vram_bytes, figure.gbs, f"published: {figure.source}", figure.note)


def backend_for(gpus: Sequence[GpuInfo]) -> Backend:
    """The runtime the first GPU implies, from its vendor (named by the table or the name)."""
    if not gpus:
        return Backend.CPU
    text = f"{gpus[0].bandwidth_source or ''} {gpus[0].name}".lower()
    for words, backend in (
        (("apple",), Backend.METAL),
        (("nvidia", "geforce", "rtx", "gtx", "tesla", "quadro"), Backend.CUDA),
        (("amd", "radeon", "instinct"), Backend.ROCM),
    ):
        if any(word in text for word in words):
            return backend
    return Backend.OTHER_GPU


def apply_override(profile: HardwareProfile, override: HardwareOverride | None) -> HardwareProfile:
    """The user's statement wins, field by field; anything left unset keeps the probe's value."""
    if override is None:
        return profile
    result = profile
    if override.gpus is not None:
        gpus = tuple(_override_gpu(gpu) for gpu in override.gpus)
        result = replace(result, gpus=gpus, backend=backend_for(gpus))
    if override.ram_gb is not None:
        result = replace(result, ram_bytes=int(override.ram_gb * GIB))
    if override.cpu_name is not None and override.cpu_bandwidth_gbs is None:
        figure = lookup_cpu_bandwidth(override.cpu_name, cpu_cores=result.cpu_cores)
        result = replace(result, cpu_name=override.cpu_name, cpu_bandwidth_gbs=figure.gbs,
                         cpu_bandwidth_source=figure.source, cpu_bandwidth_warning=figure.note)
    elif override.cpu_name is not None:
        result = replace(result, cpu_name=override.cpu_name)
    if override.cpu_bandwidth_gbs is not None:
        result = replace(result, cpu_bandwidth_gbs=override.cpu_bandwidth_gbs,
                         cpu_bandwidth_source=OVERRIDE_SOURCE, cpu_bandwidth_warning=None)
    if override.unified_memory is not None:
        result = replace(result, unified_memory=override.unified_memory)
    return result


def _override_gpu(gpu: GpuOverride) -> GpuInfo:
    # "24 GB" on a card's box is 24 GiB; vram_gb is read as GiB so the two agree.
    return resolve_gpu(gpu.name, int(gpu.vram_gb * GIB), bandwidth_gbs=gpu.bandwidth_gbs)
