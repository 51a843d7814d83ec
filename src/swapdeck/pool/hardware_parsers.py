"""Pure parsers for what the hardware probes print. No subprocesses here: each function takes
the text a command printed and returns values, or raises `ProbeParseError` saying what was
wrong with the text. The tests feed them recorded outputs from real machines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MIB = 1024**2
GIB = 1024**3

NVIDIA_SMI_QUERY = ("nvidia-smi", "--query-gpu=name,memory.total",
                    "--format=csv,noheader,nounits")
SYSTEM_PROFILER_QUERY = ("system_profiler", "SPHardwareDataType", "-json")
SYSCTL_QUERY = ("sysctl", "hw.memsize", "hw.ncpu", "hw.perflevel0.physicalcpu",
                "hw.perflevel1.physicalcpu", "machdep.cpu.brand_string", "iogpu.wired_limit_mb")


class ProbeParseError(ValueError):
    """The probe's output was not what that command prints; the message says how."""


@dataclass(frozen=True, slots=True)
class ParsedGpu:
    name: str
    vram_bytes: int | None
    """None when the driver reports no dedicated memory (unified, e.g. GB10 / DGX Spark)."""


@dataclass(frozen=True, slots=True)
class AppleHardware:
    chip: str
    memory_bytes: int
    machine_model: str | None
    cpu_cores: int | None


@dataclass(frozen=True, slots=True)
class CpuDescription:
    name: str
    cores: int
    """Physical cores across all sockets."""
    sockets: int = 1


def parse_nvidia_smi_csv(text: str) -> tuple[ParsedGpu, ...]:
    """`nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`, one GPU a line."""
    gpus: list[ParsedGpu] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, memory = line.rpartition(",")
        name, memory = name.strip(), memory.strip()
        if not sep or not name:
            raise ProbeParseError(f"nvidia-smi line {number}: expected 'name, MiB', got {line!r}")
        if memory.startswith("[") and memory.endswith("]"):  # [N/A], [Not Supported]
            gpus.append(ParsedGpu(name, None))
            continue
        try:
            mib = float(memory)
        except ValueError:
            raise ProbeParseError(
                f"nvidia-smi line {number}: expected memory in MiB, got {memory!r}") from None
        if mib <= 0:
            raise ProbeParseError(f"nvidia-smi line {number}: memory {mib:g} MiB is not positive")
        gpus.append(ParsedGpu(name, int(mib * MIB)))
    if not gpus:
        raise ProbeParseError("nvidia-smi printed no GPU rows")
    return tuple(gpus)


def parse_system_profiler_hardware(text: str) -> AppleHardware:
    """`system_profiler SPHardwareDataType -json`: the chip, its memory and core count."""
    try:
        data = json.loads(text)
        overview = data["SPHardwareDataType"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ProbeParseError(
            "system_profiler: expected JSON with an SPHardwareDataType entry") from None
    if not isinstance(overview, dict):
        raise ProbeParseError("system_profiler: SPHardwareDataType[0] is not an object")
    chip = overview.get("chip_type") or overview.get("cpu_type")
    if not isinstance(chip, str) or not chip.strip():
        raise ProbeParseError("system_profiler: no chip_type in the hardware overview")
    memory = overview.get("physical_memory")
    if not isinstance(memory, str):
        raise ProbeParseError("system_profiler: no physical_memory in the hardware overview")
    model = overview.get("machine_model")
    return AppleHardware(
        chip=chip.strip(),
        memory_bytes=parse_size_text(memory),
        machine_model=model if isinstance(model, str) else None,
        cpu_cores=_apple_core_count(overview.get("number_processors")),
    )


def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl name1 name2 …` printed as `name: value` lines (unknown oids go to stderr)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and "." in key and " " not in key:  # oids are dotted; skips "sysctl: unknown oid"
            values[key] = value.strip()
    if not values:
        raise ProbeParseError("sysctl printed no 'name: value' lines")
    return values


def apple_cpu_cores(sysctl: dict[str, str]) -> int | None:
    """Performance + efficiency cores, the count Apple's spec sheets quote."""
    total = 0
    for key in ("hw.perflevel0.physicalcpu", "hw.perflevel1.physicalcpu"):
        if sysctl.get(key, "").isdigit():
            total += int(sysctl[key])
    if total:
        return total
    ncpu = sysctl.get("hw.ncpu", "")
    return int(ncpu) if ncpu.isdigit() else None


def apple_gpu_limit_bytes(memory_bytes: int, wired_limit_mb: int | None) -> int:
    """How much of unified memory the GPU may wire.

    `iogpu.wired_limit_mb` when the user raised it (0 = default). Otherwise macOS's default
    working-set limit, about two thirds of RAM up to 36 GiB and three quarters above (the
    `recommendedMaxWorkingSetSize` llama.cpp logs at start-up).
    """
    if wired_limit_mb and wired_limit_mb > 0:
        return min(memory_bytes, wired_limit_mb * MIB)
    share = 2 / 3 if memory_bytes <= 36 * GIB else 3 / 4
    return int(memory_bytes * share)


def parse_lscpu(text: str) -> CpuDescription:
    """`lscpu` (util-linux): model name, cores per socket × sockets."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    name = fields.get("Model name")
    if not name:
        raise ProbeParseError("lscpu: no 'Model name' line")
    try:
        per_socket = int(fields["Core(s) per socket"])
        sockets = int(fields.get("Socket(s)", "1"))
    except (KeyError, ValueError):
        raise ProbeParseError(
            "lscpu: expected numeric 'Core(s) per socket' and 'Socket(s)'") from None
    return CpuDescription(name=name, cores=max(1, per_socket * max(1, sockets)),
                          sockets=max(1, sockets))


def parse_proc_cpuinfo(text: str) -> CpuDescription:
    """Linux `/proc/cpuinfo`: physical cores = distinct (physical id, core id) pairs."""
    name = ""
    cores: set[tuple[str, str]] = set()
    sockets: set[str] = set()
    processors = 0
    physical_id = core_id = ""
    for line in [*text.splitlines(), ""]:
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "processor":
            processors += 1
        elif key == "model name" and not name:
            name = value
        elif key == "physical id":
            physical_id = value
            sockets.add(value)
        elif key == "core id":
            core_id = value
        elif not line.strip() and (physical_id or core_id):
            cores.add((physical_id, core_id))
            physical_id = core_id = ""
    if not name or processors == 0:
        raise ProbeParseError("/proc/cpuinfo: expected 'processor' and 'model name' lines")
    return CpuDescription(name=name, cores=len(cores) or processors, sockets=max(1, len(sockets)))


def parse_meminfo(text: str) -> int:
    """Linux `/proc/meminfo` MemTotal in bytes."""
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    if match is None:
        raise ProbeParseError("/proc/meminfo: no 'MemTotal: N kB' line")
    return int(match.group(1)) * 1024


def parse_size_text(text: str) -> int:
    """`32 GB` / `1 TB` / `16384 MB` as Apple and vendors write memory sizes: binary units."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT])i?B\s*", text, re.IGNORECASE)
    if match is None:
        raise ProbeParseError(f"expected a memory size like '32 GB', got {text!r}")
    power = "KMGT".index(match.group(2).upper()) + 1
    return int(float(match.group(1)) * 1024**power)


def _apple_core_count(raw: object) -> int | None:
    """`number_processors` is `"proc 12:8:4"` (total:performance:efficiency) on Apple chips."""
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        match = re.match(r"(?:proc\s+)?(\d+)", raw)
        if match:
            return int(match.group(1))
    return None
