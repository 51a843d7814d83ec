"""The published-bandwidth table: exact names, variants told apart, no invented figures."""

from __future__ import annotations

import pytest

from swapdeck.pool.bandwidth import (
    default_table,
    lookup_cpu_bandwidth,
    lookup_gpu_bandwidth,
    normalize_gpu_name,
)
from swapdeck.pool.hardware_parsers import GIB


@pytest.mark.parametrize(("name", "expected"), [
    ("NVIDIA GeForce RTX 3090", "rtx 3090"),
    ("NVIDIA A100-SXM4-80GB", "a100 sxm4 80gb"),
    ("NVIDIA GeForce RTX 4090 Laptop GPU", "rtx 4090 laptop gpu"),
    ("AMD Radeon RX 7900 XTX", "rx 7900 xtx"),
])
def test_names_normalise_to_the_table_key(name: str, expected: str) -> None:
    assert normalize_gpu_name(name) == expected


@pytest.mark.parametrize(("name", "vram_gib", "gbs"), [
    ("NVIDIA GeForce RTX 3090", 24, 936.2),
    ("NVIDIA GeForce RTX 4090", 24, 1008),
    ("NVIDIA GeForce RTX 4090 Laptop GPU", 16, 576),
    ("NVIDIA GeForce RTX 4070 Ti SUPER", 16, 672),
    ("NVIDIA A100-PCIE-40GB", 40, 1555),
    ("NVIDIA A100 80GB PCIe", 80, 1935),
    ("NVIDIA H100 80GB HBM3", 80, 3350),
    ("NVIDIA H100 PCIe", 80, 2000),
    ("Tesla T4", 15, 320),
])
def test_known_gpus(name: str, vram_gib: int, gbs: float) -> None:
    figure = lookup_gpu_bandwidth(name, vram_bytes=vram_gib * GIB)
    assert figure is not None and figure.gbs == gbs and figure.note is None


def test_rtx_3060_variants_are_told_apart_by_vram() -> None:
    twelve = lookup_gpu_bandwidth("NVIDIA GeForce RTX 3060", vram_bytes=12 * GIB)
    eight = lookup_gpu_bandwidth("NVIDIA GeForce RTX 3060", vram_bytes=8 * GIB)
    assert twelve is not None and twelve.gbs == 360
    assert eight is not None and eight.gbs == 240
    # a VRAM size no variant has is an unknown card, not the nearest one
    assert lookup_gpu_bandwidth("NVIDIA GeForce RTX 3060", vram_bytes=16 * GIB) is None


def test_ambiguous_variant_takes_the_lower_figure_and_says_so() -> None:
    unsure = lookup_gpu_bandwidth("Apple M3 Max")
    assert unsure is not None and unsure.gbs == 300 and unsure.note is not None
    sixteen = lookup_gpu_bandwidth("Apple M3 Max", cpu_cores=16)
    assert sixteen is not None and sixteen.gbs == 400 and sixteen.note is None


@pytest.mark.parametrize("name", [
    "NVIDIA Graphics Device", "NVIDIA H100", "RTX 3060 Ti Super Ultra", "P104-100", "",
])
def test_unlisted_or_partial_names_resolve_to_unknown(name: str) -> None:
    assert lookup_gpu_bandwidth(name, vram_bytes=8 * GIB) is None


@pytest.mark.parametrize(("cpu", "gbs"), [
    ("AMD EPYC 7763 64-Core Processor", 204.8),
    ("AMD EPYC 9654 96-Core Processor", 460.8),
    ("AMD EPYC 9755 128-Core Processor", 576),
    ("Intel(R) Xeon(R) Platinum 8480+", 307.2),
    ("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", 204.8),
    ("13th Gen Intel(R) Core(TM) i9-13900K", 89.6),
    ("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", 51.2),
    ("AMD Ryzen 9 7950X 16-Core Processor", 83.2),
    ("AMD Ryzen 7 5800X3D 8-Core Processor", 51.2),
    ("AMD RYZEN AI MAX+ 395 w/ Radeon 8060S", 256),
])
def test_cpu_families(cpu: str, gbs: float) -> None:
    figure = lookup_cpu_bandwidth(cpu)
    assert figure.gbs == gbs and figure.note is None


def test_unknown_cpu_gets_the_stated_assumption_with_a_note() -> None:
    figure = lookup_cpu_bandwidth("Intel(R) Xeon(R) Processor @ 2.50GHz")
    assert figure.gbs == default_table().cpu_unknown.gbs
    assert figure.note is not None and "cpu_bandwidth_gbs" in figure.note
    assert "assumed" in figure.source


def test_every_table_entry_cites_a_source() -> None:
    table = default_table()
    assert all(entry.source and entry.gbs > 0 for entry in table.gpus)
    assert all(entry.source and entry.gbs > 0 for entry in table.cpus)
