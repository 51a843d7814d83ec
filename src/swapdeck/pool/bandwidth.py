"""Published memory-bandwidth figures, looked up by GPU or CPU name.

The table (`data/bandwidth.json`) carries the source of every figure. GPU names match
*exactly* after normalisation: whichllm's longest-substring match turns "RTX 3060" into the
8 GB card's 240 GB/s and "H100" into the H100 CNX; an unlisted name here resolves to None, and
the caller says so instead of inventing a number. Where one driver name covers two memory
systems (RTX 3060 8/12 GB, M3 Max 14/16-core), the entry carries the VRAM or core count that
tells them apart; if we cannot tell, the lower figure is used and a note says why.

CPUs always get a figure: a CPU-only box must still be ranked. An unlisted CPU gets the
table's stated assumption (dual-channel DDR4-2666) with a note the UI shows as a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

GIB = 1024**3
APPLE_CPU_SHARE = 0.6

_VENDOR_WORDS = frozenset({"nvidia", "geforce", "amd", "radeon", "(r)", "(tm)"})


@dataclass(frozen=True, slots=True)
class BandwidthFigure:
    gbs: float
    source: str
    note: str | None = None
    """Set when the figure is an assumption or a choice between variants."""


@dataclass(frozen=True, slots=True)
class GpuEntry:
    names: frozenset[str]
    gbs: float
    source: str
    vram_gib: tuple[float, float] | None = None
    cpu_cores: int | None = None


@dataclass(frozen=True, slots=True)
class CpuEntry:
    pattern: re.Pattern[str]
    gbs: float
    source: str


@dataclass(frozen=True, slots=True)
class BandwidthTable:
    gpus: tuple[GpuEntry, ...]
    cpus: tuple[CpuEntry, ...]
    cpu_unknown: BandwidthFigure


def normalize_gpu_name(name: str) -> str:
    """`NVIDIA A100-SXM4-80GB` → `a100 sxm4 80gb`; `NVIDIA GeForce RTX 3090` → `rtx 3090`."""
    text = name.lower().replace("(r)", " ").replace("(tm)", " ")
    text = re.sub(r"[-_/(),]+", " ", text)
    return " ".join(word for word in text.split() if word not in _VENDOR_WORDS)


def lookup_gpu_bandwidth(
    name: str,
    *,
    vram_bytes: int | None = None,
    cpu_cores: int | None = None,
    table: BandwidthTable | None = None,
) -> BandwidthFigure | None:
    """The published figure for this exact GPU, or None when the name is not in the table."""
    table = table or default_table()
    key = normalize_gpu_name(name)
    entries = [entry for entry in table.gpus if key in entry.names]
    if not entries:
        return None
    if len(entries) == 1 and entries[0].vram_gib is None and entries[0].cpu_cores is None:
        return BandwidthFigure(entries[0].gbs, entries[0].source)
    matching = [entry for entry in entries if _variant_matches(entry, vram_bytes, cpu_cores)]
    if len(matching) == 1:
        return BandwidthFigure(matching[0].gbs, matching[0].source)
    if vram_bytes is not None and not matching and all(e.cpu_cores is None for e in entries):
        return None  # a VRAM size no known variant has: an unknown card under a known name
    lowest = min(matching or entries, key=lambda entry: entry.gbs)
    return BandwidthFigure(
        lowest.gbs, lowest.source,
        note=f"{name}: more than one variant shares this name; the lower figure is used",
    )


def lookup_cpu_bandwidth(
    cpu_name: str, *, cpu_cores: int | None = None, table: BandwidthTable | None = None
) -> BandwidthFigure:
    """Published per-socket peak for the CPU family; the stated assumption when unlisted."""
    table = table or default_table()
    if normalize_gpu_name(cpu_name).startswith("apple m"):
        # Apple's CPU clusters share the unified memory but cannot saturate it on their own.
        unified = lookup_gpu_bandwidth(cpu_name, cpu_cores=cpu_cores, table=table)
        if unified is not None:
            return BandwidthFigure(
                round(unified.gbs * APPLE_CPU_SHARE, 1),
                f"{APPLE_CPU_SHARE:.0%} of the unified memory's {unified.gbs:g} GB/s "
                f"({unified.source}): the CPU clusters alone reach about that share "
                "(AnandTech measured ~243 of 400 GB/s from the M1 Max's CPU cores)",
                unified.note)
    for entry in table.cpus:
        if entry.pattern.search(cpu_name):
            return BandwidthFigure(entry.gbs, entry.source)
    unknown = table.cpu_unknown
    label = cpu_name.strip() or "unknown CPU"
    return BandwidthFigure(
        unknown.gbs, unknown.source,
        note=f"CPU {label!r} has no published bandwidth in the table; "
             f"assuming {unknown.gbs:g} GB/s (set pool.hardware.cpu_bandwidth_gbs)",
    )


def _variant_matches(entry: GpuEntry, vram_bytes: int | None, cpu_cores: int | None) -> bool:
    if entry.vram_gib is not None:
        if vram_bytes is None:
            return False
        low, high = entry.vram_gib
        if not low <= vram_bytes / GIB <= high:
            return False
    return entry.cpu_cores is None or entry.cpu_cores == cpu_cores


@lru_cache(maxsize=1)
def default_table() -> BandwidthTable:
    """The table shipped in the package (read once; it never changes at run time)."""
    text = resources.files("swapdeck.pool").joinpath("data/bandwidth.json").read_text("utf-8")
    return parse_table(json.loads(text))


def parse_table(data: Mapping[str, Any]) -> BandwidthTable:
    gpus = tuple(_gpu_entry(raw) for raw in _list(data, "gpus"))
    cpus = tuple(
        CpuEntry(re.compile(str(raw["pattern"]), re.IGNORECASE), float(raw["bandwidth_gbs"]),
                 str(raw["source"]))
        for raw in _list(data, "cpus")
    )
    unknown = data["cpu_unknown"]
    return BandwidthTable(gpus, cpus,
                          BandwidthFigure(float(unknown["bandwidth_gbs"]), str(unknown["source"])))


def _gpu_entry(raw: Mapping[str, Any]) -> GpuEntry:
    vram = raw.get("vram_gib")
    cores = raw.get("cpu_cores")
    return GpuEntry(
        names=frozenset(normalize_gpu_name(str(name)) for name in raw["names"]),
        gbs=float(raw["bandwidth_gbs"]),
        source=str(raw["source"]),
        vram_gib=(float(vram[0]), float(vram[1])) if vram is not None else None,
        cpu_cores=int(cores) if cores is not None else None,
    )


def _list(data: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"bandwidth table: {key}: expected a list")
    return value
