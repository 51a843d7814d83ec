"""The pure probe parsers on recorded outputs (tests/pool/fixtures/hardware/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapdeck.pool.hardware_parsers import (
    GIB,
    MIB,
    ParsedGpu,
    ProbeParseError,
    apple_cpu_cores,
    apple_gpu_limit_bytes,
    parse_lscpu,
    parse_meminfo,
    parse_nvidia_smi_csv,
    parse_proc_cpuinfo,
    parse_size_text,
    parse_sysctl,
    parse_system_profiler_hardware,
)

HARDWARE = Path(__file__).parent / "fixtures" / "hardware"


def recorded(name: str) -> str:
    return (HARDWARE / name).read_text(encoding="utf-8")


def test_nvidia_smi_single_rtx3090() -> None:
    assert parse_nvidia_smi_csv(recorded("nvidia_smi_rtx3090.csv")) == (
        ParsedGpu("NVIDIA GeForce RTX 3090", 24576 * MIB),
    )


def test_nvidia_smi_two_rtx4090_keeps_one_row_per_card() -> None:
    gpus = parse_nvidia_smi_csv(recorded("nvidia_smi_2x_rtx4090.csv"))
    assert [gpu.name for gpu in gpus] == ["NVIDIA GeForce RTX 4090"] * 2
    assert all(gpu.vram_bytes == 24564 * MIB for gpu in gpus)


def test_nvidia_smi_a100_and_unknown_gpu() -> None:
    (a100,) = parse_nvidia_smi_csv(recorded("nvidia_smi_a100_sxm4_80gb.csv"))
    assert a100 == ParsedGpu("NVIDIA A100-SXM4-80GB", 80 * GIB)
    (unknown,) = parse_nvidia_smi_csv(recorded("nvidia_smi_unknown_gpu.csv"))
    assert unknown == ParsedGpu("NVIDIA Graphics Device", 16303 * MIB)


def test_nvidia_smi_unified_memory_reports_no_vram() -> None:
    assert parse_nvidia_smi_csv("NVIDIA GB10, [N/A]\n") == (ParsedGpu("NVIDIA GB10", None),)


@pytest.mark.parametrize("name", ["nvidia_smi_driver_failure.txt", "nvidia_smi_garbled.txt"])
def test_nvidia_smi_broken_outputs_raise_a_parse_error(name: str) -> None:
    with pytest.raises(ProbeParseError, match="nvidia-smi"):
        parse_nvidia_smi_csv(recorded(name))


def test_nvidia_smi_empty_output_is_an_error() -> None:
    with pytest.raises(ProbeParseError, match="no GPU rows"):
        parse_nvidia_smi_csv("\n")


def test_system_profiler_m2_max() -> None:
    apple = parse_system_profiler_hardware(recorded("system_profiler_m2_max.json"))
    assert apple.chip == "Apple M2 Max"
    assert apple.memory_bytes == 32 * GIB
    assert apple.machine_model == "Mac14,6"
    assert apple.cpu_cores == 12


def test_system_profiler_truncated_json_is_an_error() -> None:
    with pytest.raises(ProbeParseError, match="system_profiler"):
        parse_system_profiler_hardware(recorded("system_profiler_truncated.json"))


def test_sysctl_m2_max_cores_and_default_gpu_limit() -> None:
    values = parse_sysctl(recorded("sysctl_m2_max.txt"))
    assert values["hw.memsize"] == str(32 * GIB)
    assert values["machdep.cpu.brand_string"] == "Apple M2 Max"
    assert apple_cpu_cores(values) == 12
    # wired limit 0 = macOS default: two thirds of 32 GiB
    assert apple_gpu_limit_bytes(32 * GIB, int(values["iogpu.wired_limit_mb"])) == \
        int(32 * GIB * 2 / 3)


def test_apple_gpu_limit_uses_a_raised_wired_limit_and_three_quarters_above_36_gib() -> None:
    assert apple_gpu_limit_bytes(64 * GIB, 57344) == 56 * GIB
    assert apple_gpu_limit_bytes(64 * GIB, None) == 48 * GIB
    assert apple_gpu_limit_bytes(16 * GIB, 999_999) == 16 * GIB  # never past physical memory


def test_sysctl_without_name_value_lines_is_an_error() -> None:
    with pytest.raises(ProbeParseError):
        parse_sysctl("sysctl: unknown oid 'iogpu.wired_limit_mb'")


def test_lscpu_dual_socket_epyc_nested_layout() -> None:
    cpu = parse_lscpu(recorded("lscpu_epyc_7763_2s.txt"))
    assert cpu.name == "AMD EPYC 7763 64-Core Processor"
    assert (cpu.cores, cpu.sockets) == (128, 2)


def test_lscpu_and_proc_cpuinfo_agree_on_the_laptop() -> None:
    from_lscpu = parse_lscpu(recorded("lscpu_i7_1165g7.txt"))
    from_proc = parse_proc_cpuinfo(recorded("cpuinfo_i7_1165g7.txt"))
    assert from_lscpu.name == from_proc.name == "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz"
    assert from_lscpu.cores == from_proc.cores == 4  # 8 threads, 4 physical cores


def test_lscpu_without_model_name_is_an_error() -> None:
    with pytest.raises(ProbeParseError, match="Model name"):
        parse_lscpu("Architecture: x86_64\n")


def test_meminfo() -> None:
    assert parse_meminfo(recorded("meminfo_epyc_512g.txt")) == 528157880 * 1024
    assert parse_meminfo(recorded("meminfo_laptop_16g.txt")) == 16165456 * 1024
    with pytest.raises(ProbeParseError):
        parse_meminfo("MemFree: 1 kB\n")


@pytest.mark.parametrize(("text", "expected"), [
    ("32 GB", 32 * GIB), ("1 TB", 1024 * GIB), ("16384 MB", 16 * GIB), ("24GiB", 24 * GIB),
])
def test_size_text(text: str, expected: int) -> None:
    assert parse_size_text(text) == expected


def test_size_text_rejects_garbage() -> None:
    with pytest.raises(ProbeParseError, match="memory size"):
        parse_size_text("lots")
